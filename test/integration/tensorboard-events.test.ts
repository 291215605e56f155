/**
 * The event files this product writes, read back by TensorBoard's own Python reader
 * (EventAccumulator, the loader behind `tensorboard --logdir`). Skipped, with the reason printed,
 * where the `tensorboard` Python package is not installed (.ci/run installs it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { openTensorBoardRun } from '../../src-main/training/tensorboard/event-file-writer.ts';
import { tensorBoardLogger } from '../../src-main/training/tensorboard/training-logger.ts';

const probe = spawnSync('python3', ['-c', 'import tensorboard; print(tensorboard.__version__)'], {
  encoding: 'utf8',
});
const tensorboardVersion = probe.status === 0 ? probe.stdout.trim() : null;
if (!tensorboardVersion) {
  console.log(
    `tensorboard-events: SKIPPED: the Python package "tensorboard" is not importable by python3 (${
      probe.error ? probe.error.message : (probe.stderr || '').trim().split('\n').pop()
    }); install it with "pip install tensorboard" to run these tests.`,
  );
}

// Prints, as JSON, what TensorBoard's EventAccumulator makes of an event file or folder.
const READER = `
import json, os, sys
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader
ea = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0, 'images': 0, 'tensors': 0})
ea.Reload()
tags = ea.Tags()
out = {
  'file_version': ea.file_version,
  'first_events': [],
  'scalars': {t: [[e.step, e.value, e.wall_time] for e in ea.Scalars(t)] for t in tags['scalars']},
  'images': {t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in ea.Images(t)] for t in tags['images']},
  'text': {},
  'text_tags': [],
}
try:
  out['text_tags'] = sorted(ea.PluginTagToContent('text').keys())
except KeyError:
  pass
for t in tags['tensors']:
  out['text'][t] = [[e.step, e.tensor_proto.string_val[0].decode('utf-8'), e.tensor_proto.dtype] for e in ea.Tensors(t)]
# What \`tensorboard --logdir\` itself serves: the plugin accumulator, after TensorBoard's data_compat
# migration, grouped by the dashboard (plugin) that shows each tag.
from tensorboard.backend.event_processing import plugin_event_accumulator
pa = plugin_event_accumulator.EventAccumulator(sys.argv[1], tensor_size_guidance={'scalars': 0, 'images': 0, 'text': 0})
pa.Reload()
out['dashboards'] = {p: sorted(pa.PluginTagToContent(p).keys()) for p in sorted(pa.ActivePlugins())}
files = [sys.argv[1]] if os.path.isfile(sys.argv[1]) else [os.path.join(sys.argv[1], f) for f in sorted(os.listdir(sys.argv[1]))]
for f in files:
  first = next(iter(EventFileLoader(f).Load()))
  out['first_events'].append([os.path.basename(f), first.file_version, first.step])
print(json.dumps(out))
`;

interface Read {
  /** EventAccumulator's reading of file_version ("brain.Event:2" → 2). */
  file_version: number;
  /** Per file: its name, the first event's file_version and step (EventFileLoader). */
  first_events: [string, string, number][];
  scalars: Record<string, [number, number, number][]>;
  images: Record<string, [number, number, number, number][]>;
  text: Record<string, [number, string, number][]>;
  text_tags: string[];
  /** Per TensorBoard dashboard (plugin), the tags it shows, as the server's own accumulator sees them. */
  dashboards: Record<string, string[]>;
}

function readWithTensorBoard(path: string): Read {
  const r = spawnSync('python3', ['-c', READER, path], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`TensorBoard's reader failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Read;
}

const dir = mkdtempSync(join(tmpdir(), 'kf-tb-events-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!tensorboardVersion)(`TensorBoard ${tensorboardVersion ?? ''} reads our event files`, () => {
  it('scalars, text and an image written directly', async () => {
    const png = await sharp({ create: { width: 40, height: 24, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const run = openTensorBoardRun(join(dir, 'direct'));
    const losses = [2.5, 1.75, 1.125, 0.8125];
    for (const [i, v] of losses.entries()) run.scalar('train/loss', v, i * 10, 1_700_000_000 + i);
    run.scalar('val/top1', 0.4, 3);
    run.text('notes', '## Run notes\n\n*stage 1* – 한글 text', 2);
    run.image('charts', png, 3);
    run.close();

    const tb = readWithTensorBoard(run.path);
    expect(tb.file_version).toBe(2);
    expect(tb.first_events).toEqual([[basename(run.path), 'brain.Event:2', 0]]);
    expect(basename(run.path)).toMatch(
      new RegExp(`^events\\.out\\.tfevents\\.\\d{10}\\..+\\.${process.pid}\\.\\d+$`),
    );
    expect(tb.scalars['train/loss']!.map(([s, v, w]) => [s, v, w])).toEqual(
      losses.map((v, i) => [i * 10, v, 1_700_000_000 + i]),
    );
    // simple_value is a 32-bit float: 0.4 comes back as float32(0.4).
    expect(tb.scalars['val/top1']).toEqual([[3, Math.fround(0.4), expect.any(Number)]]);
    expect(tb.text_tags).toEqual(['notes']);
    expect(tb.text['notes']).toEqual([[2, '## Run notes\n\n*stage 1* – 한글 text', 7]]);
    expect(tb.images['charts']).toEqual([[3, 40, 24, png.length]]);
    expect(tb.dashboards).toEqual({
      images: ['charts'],
      scalars: ['train/loss', 'val/top1'],
      text: ['notes'],
    });
  });

  it('the training logger: config text, per-step loss and lr, per-epoch metrics, the charts image', async () => {
    const png = await sharp({ create: { width: 64, height: 48, channels: 4, background: '#00000000' } })
      .png()
      .toBuffer();
    const log = tensorBoardLogger(join(dir, 'runs', 'run-1', 'tensorboard'));
    log.onStart({ temperature: 0.07, model: { hidden: 1024 }, fields: ['category', 'style'] });
    for (let step = 1; step <= 6; step++) log.onStep(step, 3 / step, 0.001 * step);
    log.onEpoch(1, { valLoss: 1.5, top1: 0.25 });
    log.onEpoch(2, { valLoss: 1.25, top1: 0.375 });
    log.onCharts(png);
    log.close();

    const tb = readWithTensorBoard(join(dir, 'runs', 'run-1', 'tensorboard'));
    expect(Object.keys(tb.scalars).sort()).toEqual(['epoch/top1', 'epoch/valLoss', 'train/loss', 'train/lr']);
    expect(tb.scalars['train/loss']!.map(([s, v]) => [s, v])).toEqual(
      [1, 2, 3, 4, 5, 6].map((s) => [s, Math.fround(3 / s)]),
    );
    expect(tb.scalars['train/lr']!.map(([s, v]) => [s, v])).toEqual(
      [1, 2, 3, 4, 5, 6].map((s) => [s, Math.fround(0.001 * s)]),
    );
    expect(tb.scalars['epoch/valLoss']!.map(([s, v]) => [s, v])).toEqual([
      [1, 1.5],
      [2, 1.25],
    ]);
    expect(tb.scalars['epoch/top1']!.map(([s, v]) => [s, v])).toEqual([
      [1, 0.25],
      [2, 0.375],
    ]);
    const [configStep, config] = tb.text['config']![0]!;
    expect(configStep).toBe(0);
    expect(config).toContain('| temperature | 0.07 |');
    expect(config).toContain('| model.hidden | 1024 |');
    expect(tb.images['charts']).toEqual([[2, 64, 48, png.length]]);
    expect(tb.dashboards).toEqual({
      images: ['charts'],
      scalars: ['epoch/top1', 'epoch/valLoss', 'train/loss', 'train/lr'],
      text: ['config'],
    });
  });

  it('a file cut in the middle of its last record (a crash) still reads up to that record', () => {
    const run = openTensorBoardRun(join(dir, 'crash'));
    for (let s = 0; s < 4; s++) run.scalar('loss', s + 0.5, s);
    run.flush();
    run.scalar('loss', 99, 4);
    run.close();
    truncateSync(run.path, readFileSync(run.path).length - 7);
    const tb = readWithTensorBoard(run.path);
    expect(tb.scalars['loss']!.map(([s, v]) => [s, v])).toEqual([
      [0, 0.5],
      [1, 1.5],
      [2, 2.5],
      [3, 3.5],
    ]);
  });
});
