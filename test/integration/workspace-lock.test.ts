/**
 * The workspace writer lock across real processes: a second writer is refused at once with a
 * WorkspaceBusyError naming the job, process and time; a lock left by a dead process is taken over;
 * when several processes race to take over the same stale lock, exactly one wins.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workbench } from '../../src-main/services/workbench.ts';
import {
  acquireWriterLock,
  LOCK_FILE,
  thisHost,
  WorkspaceBusyError,
} from '../../src-main/store/workspace-lock.ts';
import { linearEncoderFactory } from '../helpers/linear-json-encoder.ts';

let root: string;
let lockModule: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'kf-lock-'));
  // The lock module as plain JS, so child processes (no TypeScript loader) can race with it.
  lockModule = join(root, 'workspace-lock.mjs');
  await build({
    entryPoints: [join(import.meta.dirname, '..', '..', 'src-main', 'store', 'workspace-lock.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: lockModule,
    logLevel: 'warning',
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const deadPid = () =>
  Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
      .stdout,
  );

function staleLock(dir: string, pid = deadPid()): void {
  writeFileSync(
    join(dir, LOCK_FILE),
    JSON.stringify({
      job: 'train',
      pid,
      hostname: thisHost(),
      since: '2026-01-01T00:00:00.000Z',
      token: 'dead',
    }),
  );
}

/** A live process of another program holding the lock (as a CLI training would). */
function holder(dir: string, job: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `const m = await import(${JSON.stringify(lockModule)}); m.acquireWriterLock(${JSON.stringify(dir)}, ${JSON.stringify(job)}); console.log('held'); setTimeout(() => {}, 60000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
  });
}

describe('workspace writer lock', () => {
  it('refuses a second writer at once, naming the job, its process and since when', async () => {
    const dir = mkdtempSync(join(root, 'ws-'));
    const child = await holder(dir, 'train');
    try {
      const t0 = performance.now();
      let err: unknown;
      try {
        acquireWriterLock(dir, 'scan');
      } catch (e) {
        err = e;
      }
      expect(performance.now() - t0).toBeLessThan(500);
      expect(err).toBeInstanceOf(WorkspaceBusyError);
      const busy = err as WorkspaceBusyError;
      expect(busy.name).toBe('WorkspaceBusyError');
      expect(busy.code).toBe('workspace_busy');
      const since = JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).since as string;
      expect(busy.message).toContain(`train (process ${child.pid}) has been writing to it since ${since}`);
      expect(busy.message).toContain('so scan cannot start');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // Its process is gone: the lock is stale and the next writer takes it over.
    const lock = acquireWriterLock(dir, 'scan');
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({
      job: 'scan',
      pid: process.pid,
    });
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  }, 30_000);

  it('in one process too: a second job is refused while the first holds the lock', () => {
    const dir = mkdtempSync(join(root, 'ws-'));
    const first = acquireWriterLock(dir, 'embed');
    expect(() => acquireWriterLock(dir, 'train')).toThrow(`embed (process ${process.pid})`);
    first.release();
    acquireWriterLock(dir, 'train').release();
    // A lock file that cannot be read yet (a writer between create and write) is respected for a
    // moment; an old unreadable one is a dead writer's and is taken over.
    writeFileSync(join(dir, LOCK_FILE), '');
    expect(() => acquireWriterLock(dir, 'train')).toThrow(
      'a writer that is starting (process not yet known)',
    );
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, LOCK_FILE), old, old);
    acquireWriterLock(dir, 'train').release();
  });

  it('when several processes take over the same stale lock at once, exactly one wins', async () => {
    const dir = mkdtempSync(join(root, 'ws-'));
    for (let round = 0; round < 3; round++) {
      staleLock(dir);
      const go = Date.now() + 1500;
      const racers = Array.from(
        { length: 6 },
        () =>
          new Promise<string>((resolve) => {
            const c = spawn(
              process.execPath,
              [
                '--input-type=module',
                '-e',
                `const m = await import(${JSON.stringify(lockModule)});
               while (Date.now() < ${go}) {}
               try { const l = m.acquireWriterLock(${JSON.stringify(dir)}, 'racer'); console.log('won'); setTimeout(() => { l.release(); }, 800); }
               catch (e) { console.log(e.name); }`,
              ],
              { stdio: ['ignore', 'pipe', 'inherit'] },
            );
            let out = '';
            c.stdout!.on('data', (d) => {
              out += d;
            });
            c.on('exit', () => resolve(out.trim()));
          }),
      );
      const results = await Promise.all(racers);
      expect(
        results.filter((r) => r === 'won'),
        results.join(','),
      ).toHaveLength(1);
      expect(results.filter((r) => r === 'WorkspaceBusyError')).toHaveLength(5);
      expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    }
  }, 60_000);

  it('the workbench writers take it (train, scan, split, sweep) and readers do not', async () => {
    const { buildDemoTrainingWorkspace } = await import('../helpers/training-fixture.ts');
    const fx = await buildDemoTrainingWorkspace();
    try {
      const wb = Workbench.open(fx.workspace, { create: false });
      try {
        await wb.train({ quick: true, overrides: { epochs: 1 }, createEncoder: linearEncoderFactory() });
        const child = await holder(fx.workspace, 'embed');
        try {
          await expect(
            wb.train({ quick: true, createEncoder: linearEncoderFactory() }),
          ).rejects.toMatchObject({ name: 'WorkspaceBusyError', code: 'workspace_busy' });
          await expect(wb.scan({ data: fx.data })).rejects.toThrow(`embed (process ${child.pid})`);
          expect(() => wb.split({ seed: 3 })).toThrow(WorkspaceBusyError);
          await expect(wb.sweep({ temperatures: [0.1], quick: true })).rejects.toThrow(WorkspaceBusyError);
          // Readers are never blocked.
          expect(wb.runs()).toHaveLength(1);
          const r = await wb.evaluate({ createEncoder: linearEncoderFactory() });
          expect(r.stale).toBe(false);
        } finally {
          child.kill('SIGKILL');
          await new Promise((res) => child.once('exit', res));
        }
        // The killed holder's lock is taken over by the next writer.
        const again = await wb.train({
          quick: true,
          overrides: { epochs: 1 },
          createEncoder: linearEncoderFactory(),
        });
        expect(again.seq).toBe(2);
        expect(existsSync(join(fx.workspace, LOCK_FILE))).toBe(false);
      } finally {
        wb.close();
      }
    } finally {
      rmSync(fx.root, { recursive: true, force: true });
    }
  }, 120_000);
});
