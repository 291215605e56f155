/**
 * Runs end to end on the small demo workspace with the JS test encoder: two trainings keep both
 * runs; compare, promote, note, tag, remove; replay is bit for bit; --init-from starts at the
 * parent's best; evaluations belong to runs and are stale when their run is not current; a killed
 * run shows interrupted and resume names it; eval warns (or refuses) after a re-split; bundles replay.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readBundleRun } from '../../src-main/services/export-bundle.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { MIGRATIONS } from '../../src-main/store/migrations.ts';
import { RunsStore } from '../../src-main/store/runs-store.ts';
import { thisHost } from '../../src-main/store/workspace-lock.ts';
import type { EpochRecord } from '../../src-main/training/checkpoints.ts';
import { resolveTrainConfig } from '../../src-main/training/train-config.ts';
import type { TrainResult } from '../../src-main/training/trainer.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let n = 0;
const fresh = () => copyWorkspace(fixture.workspace, join(fixture.root, `runs-${++n}`));
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const small = { batchSize: 16, epochs: 2, lr: 3e-3, seed: 5 };
const enc = () => linearEncoderFactory();

async function withWb<T>(dir: string, fn: (wb: Workbench) => Promise<T> | T): Promise<T> {
  const wb = Workbench.open(dir, { create: false });
  try {
    return await fn(wb);
  } finally {
    wb.close();
  }
}

const figures = (h: EpochRecord[]) =>
  h.map(({ epoch, valLoss, top1, top5, mrr, trainLoss, posSim, negSim }) => ({
    epoch,
    valLoss,
    top1,
    top5,
    mrr,
    trainLoss,
    posSim,
    negSim,
  }));
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

describe('runs', () => {
  it('keeps every run; compare, promote, note, tag, remove; evaluations belong to runs and go stale', async () => {
    const dir = fresh();
    await withWb(dir, async (wb) => {
      const a = await wb.train({ overrides: small, createEncoder: enc() });
      const b = await wb.train({ overrides: { ...small, lr: 1e-3 }, createEncoder: enc() });
      expect([a.seq, b.seq]).toEqual([1, 2]);
      // Both runs keep their checkpoints and histories.
      for (const r of [a, b]) {
        for (const f of ['best.safetensors', 'best.json', 'last.safetensors', 'last.json'])
          expect(existsSync(join(r.runDir, 'checkpoints', f)), f).toBe(true);
        expect(json(join(r.runDir, 'results', 'training_results.json')).history).toHaveLength(2);
      }
      expect(figures(a.history)).not.toEqual(figures(b.history));
      // The newest finished run is current: the seed's paths name it.
      // Each was current when it finished; now the newer one is.
      expect([a.current, b.current]).toEqual([true, true]);
      expect(json(join(dir, 'checkpoints', 'best_model.json')).runId).toBe(b.runId);
      expect(json(join(dir, 'results', 'training_summary.json')).runId).toBe(b.runId);
      const listed = wb.runs();
      expect(listed.map((r) => [r.seq, r.status, r.current])).toEqual([
        [1, 'done', false],
        [2, 'done', true],
      ]);
      expect(listed[1]!.headline).toMatchObject({ epoch: b.bestEpoch, top5: b.best!.top5 });

      // Compare: the differing setting, figures with the best marked, the overlay chart.
      const c = await wb.runsCompare(['1', b.runId]);
      expect(c.configDiff).toEqual([{ key: 'lr', values: [0.003, 0.001] }]);
      expect(c.sameData).toBe(true);
      const top5 = c.metrics.find((m) => m.name === 'Top-5')!;
      expect(top5.values).toEqual([a.best!.top5, b.best!.top5]);
      expect(top5.best).toBe(a.best!.top5 >= b.best!.top5 ? a.runId : b.runId);
      const loss = c.metrics.find((m) => m.name === 'validation loss')!;
      expect(loss.best).toBe(a.best!.valLoss <= b.best!.valLoss ? a.runId : b.runId);
      expect(c.curves.map((x) => x.points.length)).toEqual([2, 2]);
      expect(await sharp(join(dir, c.chart!)).metadata()).toMatchObject({ format: 'png', width: 1600 });

      // An evaluation of the current run is not stale; after promoting the other run, it is.
      const evalB = await wb.evaluate({ createEncoder: enc() });
      expect(evalB.run).toMatchObject({ id: b.runId, seq: 2, checkpoint_epoch: b.bestEpoch, current: true });
      expect(evalB.stale).toBe(false);
      expect(evalB.files.json.startsWith(`runs/${b.runId}/evaluations/evaluation_`)).toBe(true);
      expect(evalB.data_check).toMatchObject({ same: true, warning: null });
      wb.runPromote('1');
      expect(json(join(dir, 'checkpoints', 'best_model.json')).runId).toBe(a.runId);
      expect(json(join(dir, 'results', 'training_results.json')).runId).toBe(a.runId);
      const evals = await wb.evaluations('evaluation');
      expect(evals.find((e) => e.runId === evalB.run_id)).toMatchObject({
        checkpoint: b.runId,
        checkpointEpoch: b.bestEpoch,
        stale: true,
      });
      const evalOld = await wb.evaluate({ run: '2', createEncoder: enc() });
      expect(evalOld.stale).toBe(true);
      expect(wb.runShow('2').evaluations.every((e) => e.stale)).toBe(true);

      // Note and tag land in the row and in run.json.
      wb.runNote('2', 'lower lr');
      wb.runTag('2', 'lr-study');
      expect(json(join(b.runDir, 'run.json'))).toMatchObject({ note: 'lower lr', tags: ['lr-study'] });
      expect(() => wb.runTag('2', 'bad tag!')).toThrow('tag "bad tag!": expected');

      // The current run is removed only with --force; the newest other finished run becomes current.
      expect(() => wb.runRemove('1')).toThrow(`Run ${a.runId} is the current run`);
      expect(wb.runRemove('1', { force: true })).toEqual({ removed: a.runId, current: b.runId });
      expect(existsSync(a.runDir)).toBe(false);
      expect(json(join(dir, 'checkpoints', 'best_model.json')).runId).toBe(b.runId);
      expect(() => wb.runShow(a.runId)).toThrow(`no such run`);
    });
  }, 120_000);

  it('calls run loggers at the start, every step, every epoch and the end (the TensorBoard hook)', async () => {
    const dir = fresh();
    const calls: string[] = [];
    const steps: { step: number; loss: number; lr: number }[] = [];
    let end: { status: string; chartsPng: Uint8Array | null; history: EpochRecord[] } | null = null;
    const r = await withWb(dir, (wb) =>
      wb.train({
        overrides: small,
        createEncoder: enc(),
        loggers: [
          {
            start: (s) => {
              calls.push(`start ${s.runId === undefined ? '?' : 'run'} ${s.startEpoch}`);
            },
            step: (s) => steps.push(s),
            epoch: (_id, rec) => {
              calls.push(`epoch ${rec.epoch}`);
            },
            end: (e) => {
              end = e;
              calls.push(`end ${e.status}`);
            },
          },
        ],
      }),
    );
    expect(calls).toEqual(['start run 0', 'epoch 1', 'epoch 2', 'end done']);
    expect(steps).toHaveLength(2 * r.data.stepsPerEpoch);
    expect(steps.at(-1)!.step).toBe(r.history.at(-1)!.step);
    expect(steps.every((s) => Number.isFinite(s.loss) && s.lr > 0)).toBe(true);
    expect(end!.history).toHaveLength(2);
    expect(Buffer.from(end!.chartsPng!).subarray(1, 4).toString()).toBe('PNG');
  }, 120_000);

  it("writes every run's TensorBoard log, read back by TensorBoard's own reader where it is installed", async () => {
    const dir = fresh();
    const r = await withWb(dir, (wb) => wb.train({ overrides: small, createEncoder: enc() }));
    const tbDir = join(r.runDir, 'tensorboard');
    const files = readdirSync(tbDir);
    expect(files.some((f) => f.startsWith('events.out.tfevents.'))).toBe(true);
    const probe = spawnSync('python3', ['-c', 'import tensorboard'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      console.log(
        'runs: TensorBoard read-back SKIPPED: python3 cannot import tensorboard (pip install tensorboard)',
      );
      return;
    }
    const reader = [
      'import json, sys',
      'from tensorboard.backend.event_processing.event_accumulator import EventAccumulator',
      "ea = EventAccumulator(sys.argv[1], size_guidance={'scalars': 0, 'images': 0, 'tensors': 0})",
      'ea.Reload()',
      "print(json.dumps({t: [[e.step, e.value] for e in ea.Scalars(t)] for t in ea.Tags()['scalars']} | {'images': ea.Tags()['images']}))",
    ].join('\n');
    const out = spawnSync('python3', ['-c', reader, tbDir], { encoding: 'utf8' });
    expect(out.status, out.stderr).toBe(0);
    const read = JSON.parse(out.stdout) as Record<string, number[][]> & { images: string[] };
    expect(read['train/loss']).toHaveLength(2 * r.data.stepsPerEpoch);
    expect(read['epoch/valLoss']!.map(([step]) => step)).toEqual([1, 2]);
    expect(read['epoch/valLoss']![1]![1]).toBeCloseTo(r.history[1]!.valLoss, 5);
    expect(read.images).toContain('charts');
  }, 120_000);

  it('replays a run bit for bit (--from-run, --config), and warns when the data differ', async () => {
    const dir = fresh();
    await withWb(dir, async (wb) => {
      const a = await wb.train({ overrides: small, createEncoder: enc() });
      const byRun = await wb.train({ fromRun: a.runId, createEncoder: enc() });
      const byFile = await wb.train({ configFile: join(a.runDir, 'config.json'), createEncoder: enc() });
      for (const r of [byRun, byFile]) {
        expect(r.replayOf).toBe(a.runId);
        expect(r.config).toEqual(a.config);
        expect(r.warnings).toEqual([]);
        expect(figures(r.history)).toEqual(figures(a.history));
      }
      // After a re-split the replay still runs, and says what differs.
      wb.split({ seed: 7 });
      const warned: string[] = [];
      const moved = await wb.train({
        fromRun: a.runId,
        onWarning: (m) => warned.push(m),
        createEncoder: enc(),
      });
      expect(warned).toHaveLength(1);
      expect(warned[0]).toContain(`The data differs from the data run ${a.runId} trained on`);
      expect(warned[0]).toContain('split seeded (seed 42, val 20 %) then, seeded (seed 7, val 20 %) now');
      expect(moved.warnings).toEqual(warned);
    });
  }, 120_000);

  it('--init-from starts at the parent best weights: the first validation equals its best', async () => {
    const dir = fresh();
    await withWb(dir, async (wb) => {
      const parent = await wb.train({ overrides: small, createEncoder: enc() });
      const child = await wb.train({
        initFrom: parent.runId,
        overrides: { ...small, lr: 1e-3, epochs: 1 },
        createEncoder: enc(),
      });
      expect(child.parent).toEqual({ runId: parent.runId, epoch: parent.bestEpoch });
      expect(child.initialValidation!.valLoss).toBe(parent.best!.valLoss);
      expect(child.initialValidation!.top5).toBe(parent.best!.top5);
      expect(json(join(child.runDir, 'config.json')).parent).toEqual(child.parent);
      expect(wb.runs().at(-1)!.parentId).toBe(parent.runId);
      await expect(
        wb.train({ initFrom: parent.runId, overrides: { ...small, hiddenDim: 32 }, createEncoder: enc() }),
      ).rejects.toThrow(`--init-from ${parent.runId}: that run's encoder has embedding`);
      await expect(wb.train({ resume: true, initFrom: parent.runId, createEncoder: enc() })).rejects.toThrow(
        '--resume continues a run with its own settings',
      );
      await expect(wb.train({ tags: ['no spaces'], overrides: small, createEncoder: enc() })).rejects.toThrow(
        '--tag "no spaces": expected',
      );
    });
  }, 120_000);

  it('a run whose process died shows interrupted; resume names it when it has no checkpoint', async () => {
    const dir = fresh();
    await withWb(dir, async (wb) => {
      const done = await wb.train({ overrides: small, createEncoder: enc() });
      // A real process that has exited: its pid is gone on this host.
      const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
        encoding: 'utf8',
      });
      const deadPid = Number(gone.stdout);
      new RunsStore(wb.workspace.db).insert({
        id: 'train-killed-0001',
        kind: 'train',
        config: done.config as never,
        backend: 'js-linear (test)',
        startedAt: new Date().toISOString(),
        folder: 'runs/train-killed-0001',
        pid: deadPid,
        host: thisHost(),
      });
      const killed = wb.runs().at(-1)!;
      expect(killed).toMatchObject({ id: 'train-killed-0001', status: 'interrupted', hasLast: false });
      await expect(wb.train({ resume: true, createEncoder: enc() })).rejects.toThrow(
        /Nothing to resume: run train-killed-0001 \(#2, interrupted, started .*\) has no checkpoint to resume from: its process was killed before its first epoch finished/,
      );
      // Naming the finished run instead gives its own answer.
      await expect(wb.train({ resume: '1', createEncoder: enc() })).rejects.toThrow(
        `Nothing to resume: run ${done.runId} finished all 2 epochs`,
      );
    });
  }, 120_000);

  it('eval compares the run data with the workspace: warns with the overlap after a re-split, refuses with strict', async () => {
    const dir = fresh();
    await withWb(dir, async (wb) => {
      const a = await wb.train({ overrides: small, createEncoder: enc() });
      wb.split({ seed: 11 });
      const warned: string[] = [];
      const r = await wb.evaluate({ run: a.runId, onWarning: (m) => warned.push(m), createEncoder: enc() });
      const trained = new Set(json(join(a.runDir, 'split.json')).train as string[]);
      const valNow = wb.workspace.db
        .prepare("SELECT it.id FROM items it JOIN images im ON im.key = it.image_key WHERE im.split = 'val'")
        .pluck()
        .all() as string[];
      const overlap = valNow.filter((id) => trained.has(id)).length;
      expect(overlap).toBeGreaterThan(0);
      expect(r.data_check).toMatchObject({ same: false, val_items_trained_on: overlap });
      expect(r.data_check!.warning).toContain(
        `${overlap} of the ${r.queries} validation items here were in that run's training set`,
      );
      expect(warned).toEqual([r.data_check!.warning]);
      await expect(wb.evaluate({ run: a.runId, strict: true, createEncoder: enc() })).rejects.toThrow(
        'Refused (--strict)',
      );
    });
  }, 120_000);

  it('a run bundle holds that run only and replays on a fresh workspace with the same figures', async () => {
    const dir = fresh();
    const other = fresh();
    let a!: TrainResult;
    let zip!: string;
    await withWb(dir, async (wb) => {
      a = await wb.train({ overrides: small, createEncoder: enc() });
      await wb.train({ overrides: { ...small, seed: 6 }, createEncoder: enc() });
      const s = await wb.exportBundle({ run: '1', out: join(fixture.root, `run-${n}.zip`) });
      zip = s.path;
      expect(s.runId).toBe(a.runId);
      const paths = s.files.map((f) => f.path);
      for (const p of [
        'run/config.json',
        'run/run.json',
        'run/split.json',
        'run/checkpoints/best.safetensors',
      ])
        expect(paths).toContain(p);
      expect(paths).toContain('run/results/training_results.json');
      // Never another run's files, nor the workspace's last.* (resume state).
      expect(paths.every((p) => p.startsWith('run/') || p === 'config.json')).toBe(true);
      expect(paths.some((p) => p.includes('last.'))).toBe(false);
    });
    const { replay, notes } = await readBundleRun(zip);
    expect(notes).toEqual([]);
    expect(replay.runId).toBe(a.runId);
    await withWb(other, async (wb) => {
      const again = await wb.train({ replay, createEncoder: enc() });
      expect(again.warnings).toEqual([]);
      expect(figures(again.history)).toEqual(figures(a.history));
      expect(again.replayOf).toBe(a.runId);
      // The same bundle on a workspace whose split differs: replayed, with a warning saying so.
      wb.split({ seed: 3 });
      const moved = await wb.train({ replay, createEncoder: enc() });
      expect(moved.warnings[0]).toContain('the validation items differ');
    });
    expect(resolveTrainConfig({ base: replay.config })).toEqual(a.config);
  }, 120_000);
});

describe('a workspace made before runs existed', () => {
  it('opens, migrates its database, and its checkpoint becomes a run with what can be recovered', async () => {
    // A trained run's files, laid out as the earlier version wrote them.
    const scratch = fresh();
    const made = await withWb(scratch, (wb) => wb.train({ overrides: small, createEncoder: enc() }));
    const dir = fresh();
    const ck = join(dir, 'checkpoints');
    const res = join(dir, 'results');
    mkdirSync(ck, { recursive: true });
    mkdirSync(res, { recursive: true });
    const oldJson = (from: string, to: string) => {
      // The earlier checkpoint JSON had no data fingerprint or parent.
      const { data: _d, parent: _p, ...info } = json(from);
      writeFileSync(
        to,
        `${JSON.stringify({ ...info, weights: { ...info.weights, file: basename(to).replace('.json', '.safetensors') } }, null, 2)}\n`,
      );
    };
    copyFileSync(join(made.runDir, 'checkpoints', 'best.safetensors'), join(ck, 'best_model.safetensors'));
    oldJson(join(made.runDir, 'checkpoints', 'best.json'), join(ck, 'best_model.json'));
    copyFileSync(join(made.runDir, 'checkpoints', 'last.safetensors'), join(ck, 'last.safetensors'));
    oldJson(join(made.runDir, 'checkpoints', 'last.json'), join(ck, 'last.json'));
    for (const f of ['training_results.json', 'training_summary.json', 'training_charts.png'])
      copyFileSync(join(made.runDir, 'results', f), join(res, f));
    // The database as schema version 4 left it: the old runs table, a row per training (one of them
    // killed long ago, without files), its metrics, and none of the later migrations' tables.
    const db = new Database(join(dir, 'workspace.db'));
    // Tables that later migrations add go too, whichever they are: a schema-4 database lacks them.
    const v4 = new Database(':memory:');
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) m.up(v4);
    const v4Tables = new Set(
      (v4.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
        (t) => t.name,
      ),
    );
    v4.close();
    for (const { name } of db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
      .all() as { name: string }[]) {
      if (!v4Tables.has(name)) db.exec(`DROP TABLE "${name}"`);
    }
    db.exec(`
      DROP TABLE run_metrics; DROP TABLE runs;
      ALTER TABLE evaluations DROP COLUMN checkpoint_epoch;
      CREATE TABLE runs (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('running', 'done', 'stopped', 'failed')),
        config TEXT NOT NULL, backend TEXT, started_at TEXT NOT NULL, finished_at TEXT, summary TEXT);
      CREATE TABLE run_metrics (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
        step INTEGER NOT NULL, name TEXT NOT NULL, value REAL NOT NULL,
        PRIMARY KEY (run_id, epoch, step, name)) WITHOUT ROWID;
      PRAGMA user_version = 4;
    `);
    const ins = db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    ins.run(
      'train-20200101T000000Z-dead',
      'train',
      'running',
      JSON.stringify(made.config),
      'wasm',
      '2020-01-01T00:00:00.000Z',
      null,
      null,
    );
    ins.run(
      made.runId,
      'train',
      'done',
      JSON.stringify(made.config),
      made.backend,
      made.startedAt,
      made.timestamp,
      '{}',
    );
    const metric = db.prepare('INSERT INTO run_metrics VALUES (?, ?, ?, ?, ?)');
    for (const h of made.history) metric.run(made.runId, h.epoch, h.step, 'top5', h.top5);
    db.close();
    expect(existsSync(join(dir, 'runs'))).toBe(false);

    await withWb(dir, async (wb) => {
      const runs = wb.runs();
      expect(runs.map((r) => [r.seq, r.id, r.status, r.current])).toEqual([
        [1, 'train-20200101T000000Z-dead', 'interrupted', false],
        [2, made.runId, 'done', true],
      ]);
      const adopted = runs[1]!;
      expect(adopted).toMatchObject({
        folder: `runs/${made.runId}`,
        hasBest: true,
        hasLast: true,
        bestEpoch: made.bestEpoch,
      });
      expect(adopted.headline).toMatchObject({
        epoch: made.bestEpoch,
        top5: made.best!.top5,
        mrr: made.best!.mrr,
      });
      expect(adopted.note).toContain('Adopted from a workspace made before runs existed');
      const p = join(dir, 'runs', made.runId);
      expect(json(join(p, 'config.json'))).toMatchObject({
        runId: made.runId,
        config: made.config,
        data: null,
      });
      expect(json(join(p, 'run.json'))).toMatchObject({ status: 'done', seq: 2 });
      expect(json(join(p, 'results', 'training_results.json')).history).toHaveLength(2);
      // The old metrics survived the table rebuild.
      expect(wb.workspace.db.prepare('SELECT COUNT(*) FROM run_metrics').pluck().get()).toBe(2);
      // It evaluates as the current run; its data cannot be compared (never recorded), and says so.
      const r = await wb.evaluate({ createEncoder: enc() });
      expect(r.run).toMatchObject({ id: made.runId, current: true });
      expect(r.data_check).toMatchObject({ same: null, warning: null });
      expect(r.data_check!.note).toContain('did not record its data');
      // And it resumes from its last checkpoint like any run.
      const more = await wb.train({ resume: true, overrides: { epochs: 3 }, createEncoder: enc() });
      expect(more).toMatchObject({ runId: made.runId, resumedFromEpoch: 2, epochsRun: 3 });
    });
  }, 120_000);
});
