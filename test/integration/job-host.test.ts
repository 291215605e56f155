/**
 * The job host: jobs on real worker threads (the bundled dist/job-worker.js), progress streamed back,
 * cancel mid-job keeping what was written, crashes reported as such.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { runJobSpec } from '../../src-main/services/job-table.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import type { JobProgress } from '../../src-shared/jobs.ts';
import { CancelledError } from '../../src-shared/jobs.ts';
import { FixtureTree, simpleLabel } from '../helpers/kfashion-fixture.ts';

const JOB_WORKER = join(import.meta.dirname, '..', '..', 'dist', 'job-worker.js');
const LABELS = 4000;

let fixture: FixtureTree;
let base: string;

beforeAll(() => {
  fixture = new FixtureTree();
  for (let i = 1; i <= LABELS; i++) fixture.addLabel(i % 3 ? '레트로' : '리조트', simpleLabel(i));
  base = mkdtempSync(join(tmpdir(), 'kf-jobs-'));
});

afterAll(() => {
  fixture?.cleanup();
  if (base) rmSync(base, { recursive: true, force: true });
});

function countRows(workspace: string): { images: number; scans: string[] } {
  const ws = Workspace.open(workspace, { create: false });
  try {
    return {
      images: ws.db.prepare('SELECT COUNT(*) FROM images').pluck().get() as number,
      scans: ws.db.prepare('SELECT status FROM scans ORDER BY id').pluck().all() as string[],
    };
  } finally {
    ws.close();
  }
}

describe('JobHost on worker threads', () => {
  it('cancels a scan mid-way, keeps the batches it stored, and a re-run finishes', async () => {
    const host = new JobHost({ workerScript: JOB_WORKER });
    expect(host.mode).toBe('worker');
    const workspace = join(base, 'cancel');
    const events: string[] = [];
    host.onEvent((e) => events.push(e.type));
    const progress: JobProgress[] = [];
    const record = host.start({ kind: 'scan', workspace, input: { data: fixture.root } });
    host.onEvent((e) => {
      if (e.type !== 'progress') return;
      progress.push(e.progress);
      // Cancel as soon as the first batch is stored: the worker is then mid-scan.
      if (progress.length === 1) expect(host.cancel(record.job)).toBe(true);
    });
    const error = await host.wait(record.job).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CancelledError);
    expect((error as Error).message).toMatch(
      /Scan cancelled after \d+ of 4000 label files; what was read is stored/,
    );
    expect(host.get(record.job)).toMatchObject({ status: 'cancelled', error: { name: 'CancelledError' } });
    expect(events[0]).toBe('started');
    expect(events.at(-1)).toBe('failed');
    expect(progress[0]).toMatchObject({ job: record.job, phase: 'scan', total: LABELS });

    const afterCancel = countRows(workspace);
    expect(afterCancel.scans).toEqual(['cancelled']);
    // What was stored before the cancel is there (at least the first batch of 1000, plus what was
    // parsed in flight), and the scan did stop short of the end.
    expect(afterCancel.images).toBeGreaterThanOrEqual(1000);
    expect(afterCancel.images).toBeLessThan(LABELS);

    const report = (await host.run({ kind: 'scan', workspace, input: { data: fixture.root } })) as {
      total: { labels: number };
    };
    expect(report.total.labels).toBe(LABELS);
    expect(countRows(workspace)).toEqual({ images: LABELS, scans: ['cancelled', 'done'] });
    expect(host.cancel(record.job)).toBe(false); // already finished
  }, 60_000);

  it('reports a worker that crashes or exits as a crash, not a hang', async () => {
    const throws = join(base, 'throws.mjs');
    writeFileSync(throws, "throw new Error('boom in the worker');\n");
    const exits = join(base, 'exits.mjs');
    writeFileSync(exits, 'process.exit(3);\n');
    await expect(
      new JobHost({ workerScript: throws }).run({ kind: 'scan', workspace: null, input: {} }),
    ).rejects.toMatchObject({
      name: 'JobCrashedError',
      message: expect.stringContaining('boom in the worker'),
    });
    const host = new JobHost({ workerScript: exits });
    const r = host.start({ kind: 'scan', workspace: null, input: {} });
    await expect(host.wait(r.job)).rejects.toMatchObject({
      name: 'JobCrashedError',
      message: expect.stringContaining('exited (code 3)'),
    });
    expect(host.get(r.job).status).toBe('failed');
  });

  it('carries a job error name and message back (no workspace open)', async () => {
    const host = new JobHost({ workerScript: JOB_WORKER });
    await expect(host.run({ kind: 'crops', workspace: null, input: {} })).rejects.toThrow(
      /No workspace is open/,
    );
    await expect(host.run({ kind: 'no-such-kind', workspace: null, input: {} })).rejects.toThrow(
      /Unknown job kind "no-such-kind"/,
    );
  });
});

describe('JobHost inline (no bundled worker)', () => {
  it('runs the same job table on this thread with the same events', async () => {
    const host = new JobHost({ workerScript: null, inline: runJobSpec });
    expect(host.mode).toBe('inline');
    const types: string[] = [];
    host.onEvent((e) => types.push(e.type));
    const workspace = join(base, 'inline');
    Workspace.open(workspace).close();
    await expect(host.run({ kind: 'split', workspace, input: { seed: 1 } })).resolves.toMatchObject({
      method: 'seeded',
      trainImages: 0,
    });
    expect(types).toEqual(['started', 'done']);
  });
});
