/**
 * The job host: jobs on real worker threads (the bundled dist/job-worker.js), progress streamed back,
 * cancel mid-job keeping what was written, crashes reported as such.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobHost } from '../../src-main/jobs/job-host.ts';
import { runJobSpec } from '../../src-main/services/job-table.ts';
import { Workspace } from '../../src-main/store/workspace.ts';
import { LOCK_FILE, processAlive } from '../../src-main/store/workspace-lock.ts';
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

/**
 * After a cancelled scan: what was stored before the cancel is there (at least the first batch of
 * 1000, plus what was parsed in flight), the scan did stop short of the end, and running it again
 * completes it.
 */
async function expectCancelledScanKeptAndRerun(host: JobHost, workspace: string): Promise<void> {
  const afterCancel = countRows(workspace);
  expect(afterCancel.scans).toEqual(['cancelled']);
  expect(afterCancel.images).toBeGreaterThanOrEqual(1000);
  expect(afterCancel.images).toBeLessThan(LABELS);
  const report = (await host.run({ kind: 'scan', workspace, input: { data: fixture.root } })) as {
    total: { labels: number };
  };
  expect(report.total.labels).toBe(LABELS);
  expect(countRows(workspace)).toEqual({ images: LABELS, scans: ['cancelled', 'done'] });
}

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

    await expectCancelledScanKeptAndRerun(host, workspace);
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

/** The lock's holder while a job runs, read at its first progress event. */
function lockHolderPid(workspace: string): { pid: number; thread?: number } {
  return JSON.parse(readFileSync(join(workspace, LOCK_FILE), 'utf8')) as { pid: number; thread?: number };
}

const failure = (p: Promise<unknown>) =>
  p.then(
    () => null,
    (e: unknown) => e as Error,
  );

describe('JobHost in child processes ([Note: Jobs in a child process])', () => {
  const childHost = (options: { cancelGraceMs?: number; workerScript?: string } = {}) =>
    new JobHost({ workerScript: JOB_WORKER, processKinds: new Set(['scan', 'train']), ...options });

  it('runs a job in a child: progress, a cancel that keeps what was stored, the lock names the child', async () => {
    const host = childHost();
    expect(host.placement('scan')).toBe('process');
    expect(host.placement('split')).toBe('thread');
    const workspace = join(base, 'child-cancel');
    const record = host.start({ kind: 'scan', workspace, input: { data: fixture.root } });
    let holder: { pid: number; thread?: number } | null = null;
    host.onEvent((e) => {
      if (e.type !== 'progress' || holder) return;
      holder = lockHolderPid(workspace);
      expect(host.cancel(record.job)).toBe(true);
    });
    const error = await failure(host.wait(record.job));
    expect(error).toBeInstanceOf(CancelledError);
    expect(error!.message).toMatch(/Scan cancelled after \d+ of 4000 label files; what was read is stored/);
    // The writer was another process, and it is gone once its job has ended.
    expect(holder!.pid).not.toBe(process.pid);
    expect(holder!.thread).toBe(0);
    await expect.poll(() => processAlive(holder!.pid, null)).toBe(false);
    expect(existsSync(join(workspace, LOCK_FILE))).toBe(false);
    await expectCancelledScanKeptAndRerun(host, workspace);
  }, 60_000);

  it('a child killed with -9 mid-job fails it as a crash, frees the lock, and keeps what it stored', async () => {
    const host = childHost();
    const workspace = join(base, 'child-kill');
    const record = host.start({ kind: 'scan', workspace, input: { data: fixture.root } });
    let pid = 0;
    host.onEvent((e) => {
      if (e.type !== 'progress' || pid) return;
      pid = lockHolderPid(workspace).pid;
      process.kill(pid, 'SIGKILL');
    });
    const error = await failure(host.wait(record.job));
    expect(error).toMatchObject({
      name: 'JobCrashedError',
      message: expect.stringMatching(/The scan job's child process exited \(code 137\) before finishing/),
    });
    expect(pid).not.toBe(process.pid);
    expect(existsSync(join(workspace, LOCK_FILE))).toBe(false);
    // The batches committed before the kill are there; the workspace takes a new writer at once.
    expect(countRows(workspace).images).toBeGreaterThanOrEqual(1000);
    const report = (await host.run({ kind: 'scan', workspace, input: { data: fixture.root } })) as {
      total: { labels: number };
    };
    expect(report.total.labels).toBe(LABELS);
    expect(countRows(workspace).images).toBe(LABELS);
  }, 60_000);

  it('kills a child that ignores the cancel after the grace period, and says so', async () => {
    // A worker entry speaking the protocol's call messages that never answers and ignores the cancel.
    const deaf = join(base, 'deaf.mjs');
    const pidFile = join(base, 'deaf.pid');
    writeFileSync(
      deaf,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(pidFile)}, String(process.pid));\nprocess.on('message', () => {});\n`,
    );
    const host = childHost({ workerScript: deaf, cancelGraceMs: 500 });
    const record = host.start({ kind: 'train', workspace: null, input: {} });
    await expect.poll(() => existsSync(pidFile)).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const t0 = Date.now();
    host.cancel(record.job);
    const error = await failure(host.wait(record.job));
    expect(error).toBeInstanceOf(CancelledError);
    expect(error!.message).toMatch(/The train job did not stop within 0\.5 s of the cancel and was ended/);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(host.get(record.job).status).toBe('cancelled');
    expect(processAlive(pid, null)).toBe(false);
  }, 30_000);

  it("the desktop app's bundled job-worker.js (out/main) serves a child too", async () => {
    // The global set-up builds out/ when it is stale; the app forks the same file it runs threads on.
    const host = childHost({
      workerScript: join(import.meta.dirname, '..', '..', 'out', 'main', 'job-worker.js'),
    });
    await expect(host.run({ kind: 'train', workspace: null, input: {} })).rejects.toThrow(
      /No workspace is open/,
    );
  }, 30_000);

  it('carries a job error back from a child, and says what a child costs to start', async () => {
    const host = childHost();
    const ms = { process: [] as number[], thread: [] as number[] };
    for (let i = 0; i < 5; i++) {
      for (const kind of ['train', 'crops'] as const) {
        const t0 = performance.now();
        const e = await failure(host.run({ kind, workspace: null, input: {} }));
        (kind === 'train' ? ms.process : ms.thread).push(performance.now() - t0);
        expect(e?.message).toMatch(/No workspace is open/);
      }
    }
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[v.length >> 1]!;
    // Shown, not judged (the machine's load sets it): the round trip of a job that fails at once.
    console.log(
      `job start-to-answer, median of 5: child process ${median(ms.process).toFixed(0)} ms, worker thread ${median(ms.thread).toFixed(0)} ms`,
    );
  }, 60_000);
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
