/**
 * Tuning studies through the shared handler table (what Electron IPC and browser mode serve):
 * tuning.start runs a study as a job, tuning.list and tuning.show read it back with the ridge
 * baseline's figure beside it; bad requests are refused before any trial runs; a cancelled study
 * keeps its finished trials and resume finishes the rest without repeating them. Jobs run inline with
 * the JS test encoder (the worker would use the real one: same table, slower).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { createHandlers } from '../../src-main/services/api-handlers.ts';
import { ApiSession } from '../../src-main/services/api-session.ts';
import { type JobInputs, runJobSpec } from '../../src-main/services/job-table.ts';
import { Workbench } from '../../src-main/services/workbench.ts';
import { api, createClient, dispatch } from '../../src-shared/api.ts';
import type { Envelope } from '../../src-shared/api-errors.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';
import { buildDemoTrainingWorkspace } from '../helpers/training-fixture.ts';

let fixture: { root: string; workspace: string; data: string };
let session: ApiSession;
let host: JobHost;
let baseline: { runId: string; top5: number };

beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
  const wb = Workbench.open(fixture.workspace, { create: false });
  try {
    const b = await wb.baseline();
    baseline = { runId: b.runId, top5: b.figures.recall['5'] };
    // A trained, evaluated current run: the report shows its gallery figures beside the baseline's.
    await wb.train({
      overrides: { batchSize: 16, epochs: 2, seed: 5 },
      createEncoder: linearEncoderFactory(),
    });
    await wb.evaluate({ createEncoder: linearEncoderFactory() });
  } finally {
    wb.close();
  }
  host = new JobHost({
    workerScript: null,
    inline: (spec, controls) => {
      if (spec.kind !== 'tune') return runJobSpec(spec, controls);
      // The tune job as job-table.ts runs it, with the fast JS encoder for training and evaluation.
      const wbJob = Workbench.open(spec.workspace!, { create: false });
      return wbJob
        .tune(
          {
            ...(spec.input as JobInputs['tune']),
            createEncoder: linearEncoderFactory(),
            evalEncoder: linearEncoderFactory(),
          },
          controls,
        )
        .then((r) => ({ ...r, trials: r.trials.length }))
        .finally(() => wbJob.close());
    },
  });
  session = new ApiSession({
    mode: 'browser',
    appName: 'K-Fashion Workbench',
    version: 'test',
    dataDir: join(fixture.root, 'userData'),
    jobs: host,
    pickFolder: async () => null,
  });
  session.openWorkspace(fixture.workspace);
}, 120_000);

afterAll(async () => {
  await session?.close();
  rmSync(fixture.root, { recursive: true, force: true });
});

const client = () =>
  createClient({
    invoke: async (method, input) =>
      JSON.parse(JSON.stringify(await dispatch(api, createHandlers(session), method, input))) as Envelope,
  });

const lrSpace = { parameters: { lr: { type: 'log-uniform' as const, low: 1e-3, high: 3e-2 } } };

async function settle(job: string): Promise<{ ok: boolean; error?: Error }> {
  try {
    await host.wait(job);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: e as Error };
  }
}

describe('tuning over the contract', () => {
  it('refuses bad requests before any trial runs, naming the field', async () => {
    const c = client();
    expect(await c.call('tuning.list', {})).toEqual([]);
    await expect(c.call('tuning.start', { trials: 2 } as never)).rejects.toThrow(/preset or space/);
    await expect(
      c.call('tuning.start', {
        space: { parameters: { learningRate: { type: 'uniform', low: 0, high: 1 } } },
      }),
    ).rejects.toMatchObject({ code: 'bad_request', message: expect.stringMatching(/learningRate/) });
    await expect(
      c.call('tuning.start', { space: { parameters: { lr: { type: 'uniform', low: 0.1, high: 0.01 } } } }),
    ).rejects.toThrow(/lr/);
    await expect(c.call('tuning.start', { resume: 'nope' })).rejects.toMatchObject({ code: 'unknown_id' });
    await expect(c.call('tuning.show', { name: 'nope' })).rejects.toMatchObject({ code: 'unknown_id' });
    expect(await c.call('tuning.list', {})).toEqual([]);
  });

  it('runs a study as a job and shows trials, best, history, importance, baseline and charts', async () => {
    const c = client();
    const h = await c.call('tuning.start', {
      name: 's1',
      space: {
        parameters: { ...lrSpace.parameters, temperature: { type: 'categorical', choices: [0.05, 0.1] } },
      },
      trials: 4,
      sampler: 'random',
      pruner: 'none',
      quick: true,
    });
    expect(h).toMatchObject({ kind: 'tune', study: 's1' });
    expect((await settle(h.job)).ok).toBe(true);

    const list = await c.call('tuning.list', {});
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 's1', status: 'done', trials: 4, metricLabel: 'Top-5 (gallery)' });

    const v = await c.call('tuning.show', { name: 's1', charts: true });
    expect(v.results.trials.map((t) => t.state)).toEqual(['COMPLETE', 'COMPLETE', 'COMPLETE', 'COMPLETE']);
    const values = v.results.trials.map((t) => t.value!);
    expect(v.results.best?.value).toBe(Math.max(...values));
    expect(list[0]!.best).toBe(Math.max(...values));
    expect(v.results.history.map((p) => p.best)).toEqual(
      values.map((_, i) => Math.max(...values.slice(0, i + 1))),
    );
    expect(v.results.importance.map((i) => i.name).sort()).toEqual(['lr', 'temperature']);
    expect(v.results.importanceMethod).toMatch(/variance share/);
    expect(v.ceiling).toBeGreaterThan(0);
    expect(v.ceiling).toBeLessThanOrEqual(1);
    expect(v.params).toEqual([
      { name: 'lr', type: 'log-uniform', low: 1e-3, high: 3e-2, log: true, choices: null },
      { name: 'temperature', type: 'categorical', low: null, high: null, log: false, choices: [0.05, 0.1] },
    ]);
    // The baseline beside the study: the newest baseline run's Top-5 under the same protocol.
    expect(v.baseline).toMatchObject({ runId: baseline.runId, value: baseline.top5 });
    expect(v.baseline!.protocol).toMatch(/^gallery, N=\d+/);
    expect(v.running).toBe(false);
    expect(v.base.epochs).toBe(2); // the quick preset every trial shared
    // Each trial is a run of kind tune tagged with the study (what the run links open).
    const runs = await c.call('runs.list', { tag: 'study:s1' });
    expect(v.results.trials.map((t) => t.runId).sort()).toEqual(runs.map((r) => r.id).sort());
    expect(Object.keys(v.charts).sort()).toEqual(['history', 'parallel', 'slice']);
    for (const p of Object.values(v.charts)) expect(existsSync(join(fixture.workspace, p))).toBe(true);

    // A second study of the same name is refused: resume it instead.
    await expect(c.call('tuning.start', { name: 's1', preset: 'priority1' })).rejects.toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/resume/),
    });
  }, 120_000);

  it('a cancelled study keeps its finished trials; resume finishes the rest without repeating them', async () => {
    const c = client();
    const h = await c.call('tuning.start', {
      name: 's2',
      space: lrSpace,
      trials: 5,
      sampler: 'random',
      pruner: 'none',
      quick: true,
      overrides: { epochs: 4 },
    });
    // Cancel once the first trial is stored.
    for (let i = 0; i < 600; i++) {
      const v = await c.call('tuning.show', { name: 's2' });
      if (v.results.counts.COMPLETE >= 1) break;
      await new Promise((r) => setTimeout(r, 25));
    }
    expect((await c.call('job.cancel', { job: h.job })).cancelled).toBe(true);
    const end = await settle(h.job);
    expect(end.ok).toBe(false);
    expect(end.error?.name).toBe('CancelledError');
    const stopped = await c.call('tuning.show', { name: 's2' });
    const kept = stopped.results.trials.filter((t) => t.state === 'COMPLETE');
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(5);
    expect((await c.call('tuning.list', {})).find((s) => s.name === 's2')?.status).not.toBe('done');

    const r = await c.call('tuning.start', { resume: 's2' });
    expect(r.study).toBe('s2');
    expect((await settle(r.job)).ok).toBe(true);
    const done = await c.call('tuning.show', { name: 's2' });
    expect(done.results.status).toBe('done');
    expect(done.results.counts.COMPLETE).toBe(5);
    // The trials finished before the cancel are the same trials (same runs), not run again.
    for (const t of kept) {
      expect(done.results.trials.find((x) => x.number === t.number)).toMatchObject({
        state: 'COMPLETE',
        runId: t.runId,
        value: t.value,
      });
    }
  }, 180_000);

  it('the report has a tuning section (newest study, charts, stages) and the baseline beside the model', async () => {
    const c = client();
    const h = await c.call('report.write', { runSearches: false });
    expect((await settle(h.job)).ok).toBe(true);
    const r = (await host.wait(h.job)) as { file: string; sections: { name: string; included: boolean }[] };
    expect(r.sections.find((x) => x.name === 'tuning')).toMatchObject({ included: true });
    const html = readFileSync(r.file, 'utf8');
    const tuning = html.slice(
      html.indexOf('<section id="tuning">'),
      html.indexOf('</section>', html.indexOf('<section id="tuning">')),
    );
    // s2 changed last; its best trial, both charts inline, the importance method named.
    expect(tuning).toContain('Study <code>s2</code>');
    expect(tuning).toMatch(/Best trial \d+: Top-5 \(gallery\)/);
    expect(tuning).toMatch(/(above|below) the ridge baseline/);
    expect(tuning.match(/data:image\/png;base64,/g)).toHaveLength(2);
    expect(tuning).toContain('first-order variance share');
    const evaluation = html.slice(html.indexOf('<section id="evaluation">'));
    expect(evaluation).toContain(`Beside the ridge baseline (run ${baseline.runId}`);
    expect(evaluation).toContain(`${(baseline.top5 * 100).toFixed(1)} %`);
  }, 120_000);
});
