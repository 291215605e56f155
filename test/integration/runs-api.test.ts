/**
 * Runs through the shared handler table (what Electron IPC and browser mode serve): runs.list,
 * show, compare, tag, note, promote, remove; eval.list marks a non-current run's evaluation stale;
 * a writer refused by the workspace lock arrives as WorkspaceBusyError with code workspace_busy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { createHandlers } from '../../src-main/services/api-handlers.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { acquireWriterLock } from '../../src-main/store/workspace-lock.ts';
import { api, createClient, dispatch } from '../../src-shared/api.ts';
import type { Envelope } from '../../src-shared/api-errors.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

const JOB_WORKER = join(import.meta.dirname, '..', '..', 'dist', 'job-worker.js');

let fixture: { root: string; workspace: string; data: string };
let base: string;
let session: ApiSession;
const ids: string[] = [];

beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
  const wb = Workbench.open(fixture.workspace, { create: false });
  try {
    for (const lr of [3e-3, 1e-3]) {
      const r = await wb.train({
        overrides: { batchSize: 16, epochs: 2, lr, seed: 5 },
        createEncoder: linearEncoderFactory(),
      });
      ids.push(r.runId);
    }
    // An evaluation of run 1, which is not current: run 2 finished last.
    await wb.evaluate({ run: '1', createEncoder: linearEncoderFactory() });
  } finally {
    wb.close();
  }
  base = mkdtempSync(join(tmpdir(), 'kf-runs-api-'));
  session = new ApiSession({
    mode: 'browser',
    appName: 'K-Fashion Workbench',
    version: 'test',
    dataDir: join(base, 'userData'),
    jobs: new JobHost({ workerScript: JOB_WORKER }),
    pickFolder: async () => null,
  });
  session.openWorkspace(fixture.workspace);
}, 120_000);

afterAll(async () => {
  await session?.close();
  rmSync(base, { recursive: true, force: true });
  rmSync(fixture.root, { recursive: true, force: true });
});

const client = () =>
  createClient({
    invoke: async (method, input) =>
      JSON.parse(JSON.stringify(await dispatch(api, createHandlers(session), method, input))) as Envelope,
  });

describe('runs over the contract', () => {
  it('lists, shows, compares, tags, notes, promotes and removes', async () => {
    const c = client();
    const list = await c.call('runs.list', {});
    expect(list.map((r) => [r.seq, r.id, r.current])).toEqual([
      [1, ids[0], false],
      [2, ids[1], true],
    ]);
    expect(list[0]!.headline?.protocol).toMatch(/^gallery, N=\d+ \(training validation\)$/);
    expect(typeof list[0]!.recall10).toBe('number');
    const show = await c.call('runs.show', { run: '1' });
    expect(show.run.id).toBe(ids[0]);
    expect(show.history).toHaveLength(2);
    expect(show.evaluations).toHaveLength(1);
    expect(show.evaluations[0]!.stale).toBe(true);
    const cmp = await c.call('runs.compare', { runs: ['1', '2'] });
    expect(cmp.configDiff).toEqual([{ key: 'lr', values: [0.003, 0.001] }]);
    expect(cmp.chart).toBeNull();
    expect(cmp.curves.map((x) => x.runId)).toEqual(ids);

    const evals = await c.call('eval.list', { kind: 'evaluation' });
    expect(evals[0]).toMatchObject({ checkpoint: ids[0], checkpointEpoch: 2, stale: true });
    const report = (await c.call('eval.report', { file: evals[0]!.file })) as { stale?: boolean };
    expect(report.stale).toBe(true);

    expect((await c.call('runs.tag', { run: '1', tag: 'stage-1' })).tags).toEqual(['stage-1']);
    expect((await c.call('runs.note', { run: '1', note: 'baseline' })).note).toBe('baseline');
    expect((await c.call('runs.list', { tag: 'stage-1' })).map((r) => r.id)).toEqual([ids[0]]);
    expect((await c.call('runs.promote', { run: '1' })).current).toBe(true);
    const nowFresh = await c.call('eval.list', { kind: 'evaluation' });
    expect(nowFresh[0]!.stale).toBe(false);
    await expect(c.call('runs.remove', { run: '1' })).rejects.toMatchObject({ name: 'RunError' });
    await expect(c.call('runs.show', { run: 'nope' })).rejects.toThrow('"nope": no such run');
    expect(await c.call('runs.remove', { run: '2' })).toEqual({ removed: ids[1], current: ids[0] });
  });

  it('a writer refused by the lock arrives as WorkspaceBusyError (code workspace_busy)', async () => {
    const lock = acquireWriterLock(fixture.workspace, 'train');
    try {
      await expect(client().call('dataset.split', { seed: 3 })).rejects.toMatchObject({
        name: 'WorkspaceBusyError',
        code: 'workspace_busy',
        message: expect.stringContaining(`train (process ${process.pid})`),
      });
      // Reading still works.
      expect(await client().call('runs.list', {})).toHaveLength(1);
    } finally {
      lock.release();
    }
  });
});
