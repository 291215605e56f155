/**
 * `kfashion runs …`, replay, kill and resume, the writer lock and eval's data check, through the
 * real CLI with the tfjs JSON encoder on the small demo workspace.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

const figures = (h: Record<string, number>[]) =>
  h.map(({ epoch, valLoss, top1, top5, mrr, trainLoss }) => ({ epoch, valLoss, top1, top5, mrr, trainLoss }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('kfashion runs (tfjs encoder)', () => {
  it('lists, compares, tags, notes, promotes and refuses to remove the current run; replay is bit for bit', () => {
    const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'cli-runs'));
    const a = kfashion(['train', '--workspace', ws, '--quick', '--json'], { timeoutMs: 120_000 });
    expect(a.code, a.stderr).toBe(0);
    const b = kfashion(['train', '--workspace', ws, '--quick', '--lr', '0.0003', '--json'], {
      timeoutMs: 120_000,
    });
    expect(b.code, b.stderr).toBe(0);
    const ra = JSON.parse(a.stdout);
    const rb = JSON.parse(b.stdout);

    const list = kfashion(['runs', 'list', '--workspace', ws]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(ra.runId);
    expect(list.stdout).toMatch(new RegExp(`#2 +│? *${rb.runId}.*done \\*current\\*`));
    expect(list.stdout).toContain('Top-1 / Top-5 / R@10 / MRR: best epoch');
    const listed = JSON.parse(kfashion(['runs', 'list', '--workspace', ws, '--json']).stdout);
    expect(listed.map((r: { seq: number; current: boolean }) => [r.seq, r.current])).toEqual([
      [1, false],
      [2, true],
    ]);

    const cmp = kfashion(['runs', 'compare', '1', '2', '--workspace', ws]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.stdout).toContain('Settings that differ:');
    expect(cmp.stdout).toMatch(/lr\s.*0\.001.*0\.0003/);
    expect(cmp.stdout).toContain('◀');
    const chart = /Validation curves overlaid: (\S+)/.exec(cmp.stdout)?.[1];
    expect(chart && existsSync(join(ws, chart))).toBe(true);

    expect(kfashion(['runs', 'tag', '1', 'stage-1', '--workspace', ws]).stdout).toContain('tags stage-1');
    expect(kfashion(['runs', 'note', '1', 'first try', '--workspace', ws]).code).toBe(0);
    const show = kfashion(['runs', 'show', '1', '--workspace', ws]);
    expect(show.stdout).toContain('note: first try');
    expect(show.stdout).toContain('Validation per epoch');
    expect(kfashion(['runs', 'promote', '1', '--workspace', ws]).stdout).toContain('is now the current run');
    const best = JSON.parse(readFileSync(join(ws, 'checkpoints', 'best_model.json'), 'utf8'));
    expect(best.runId).toBe(ra.runId);
    const rm = kfashion(['runs', 'remove', '1', '--workspace', ws]);
    expect(rm.code).toBe(1);
    expect(rm.stderr).toContain('is the current run');
    expect(kfashion(['runs', 'show', '9', '--workspace', ws]).stderr).toContain('"9": no such run');

    // Replay on the same workspace and backend: the same validation figures, bit for bit.
    const replay = kfashion(['train', '--workspace', ws, '--from-run', '1', '--json'], {
      timeoutMs: 120_000,
    });
    expect(replay.code, replay.stderr).toBe(0);
    const rr = JSON.parse(replay.stdout);
    expect(rr.replayOf).toBe(ra.runId);
    expect(rr.backend).toBe(ra.backend);
    expect(figures(rr.history)).toEqual(figures(ra.history));

    // A run bundle replays on a fresh workspace built from the same demo data: the same figures.
    const zip = join(fixture.root, 'run-1.zip');
    const exp = kfashion(['export', '--workspace', ws, '--run', '1', '--out', zip, '--json']);
    expect(exp.code, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout).runId).toBe(ra.runId);
    const freshWs = copyWorkspace(fixture.workspace, join(fixture.root, 'cli-bundle'));
    const fromBundle = kfashion(['train', '--workspace', freshWs, '--from-bundle', zip, '--json'], {
      timeoutMs: 120_000,
    });
    expect(fromBundle.code, fromBundle.stderr).toBe(0);
    expect(fromBundle.stderr).not.toContain('WARNING');
    const rf = JSON.parse(fromBundle.stdout);
    expect(rf.replayOf).toBe(ra.runId);
    expect(figures(rf.history)).toEqual(figures(ra.history));
  }, 300_000);

  it('a killed training shows interrupted and resumes; a second writer is refused while it runs', async () => {
    const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'cli-kill'));
    const child = spawn(process.execPath, [BIN, 'train', '--workspace', ws, '--quick', '--epochs', '6'], {
      stdio: 'ignore',
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let runId = '';
    try {
      // Wait until the first epoch is saved.
      const deadline = Date.now() + 90_000;
      for (;;) {
        const runs = JSON.parse(kfashion(['runs', 'list', '--workspace', ws, '--json']).stdout || '[]');
        const r = runs[0];
        if (r && (r.epochsRun ?? 0) >= 1) {
          runId = r.id;
          expect(r.status).toBe('running');
          break;
        }
        if (Date.now() > deadline) throw new Error('the training did not finish an epoch in time');
        await sleep(200);
      }
      const second = kfashion(['train', '--workspace', ws, '--quick']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`is busy: train (process ${child.pid}) has been writing to it since`);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const after = JSON.parse(kfashion(['runs', 'list', '--workspace', ws, '--json']).stdout);
    expect(after[0]).toMatchObject({ id: runId, status: 'interrupted', hasLast: true });
    expect(JSON.parse(readFileSync(join(ws, 'runs', runId, 'run.json'), 'utf8')).status).toBe('interrupted');
    expect(kfashion(['runs', 'list', '--workspace', ws]).stdout).toContain('interrupted (resumable)');
    const resumed = kfashion(['train', '--workspace', ws, '--resume', '--json'], { timeoutMs: 180_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const r = JSON.parse(resumed.stdout);
    expect(r.runId).toBe(runId);
    expect(r.resumedFromEpoch).toBeGreaterThanOrEqual(1);
    expect(r.status).toBe('done');
    expect(r.epochsRun).toBe(6);
  }, 300_000);

  it('eval after a re-split warns with how many validation items the run trained on; --strict refuses', () => {
    const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'cli-split'));
    expect(kfashion(['train', '--workspace', ws, '--quick'], { timeoutMs: 120_000 }).code).toBe(0);
    expect(kfashion(['split', '--workspace', ws, '--seed', '9']).code).toBe(0);
    const e = kfashion(['eval', '--workspace', ws, '--json'], { timeoutMs: 120_000 });
    expect(e.code, e.stderr).toBe(0);
    const j = JSON.parse(e.stdout);
    expect(e.stderr).toMatch(
      /WARNING: The workspace's data differs from what run train-\S+ trained on: .*split seeded \(seed 42, val 20 %\) then, seeded \(seed 9, val 20 %\) now/,
    );
    expect(e.stderr).toContain(
      `${j.data_check.val_items_trained_on} of the ${j.queries} validation items here`,
    );
    expect(j.data_check.val_items_trained_on).toBeGreaterThan(0);
    const human = kfashion(['eval', '--workspace', ws], { timeoutMs: 120_000 });
    expect(human.stdout).toContain("WARNING: The workspace's data differs");
    const strict = kfashion(['eval', '--workspace', ws, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stderr).toContain('Refused (--strict)');
  }, 300_000);
});
