/**
 * A queue study end to end with the real CLI: a Redis server on 127.0.0.1 at a random port, `kfashion
 * tune --queue` and two `kfashion worker` processes; one worker is killed with SIGKILL mid-trial, and
 * the study must still finish with every trial recorded exactly once (the killed worker's trial is put
 * back in the queue by BullMQ's stalled-job check and trained again by the other worker).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');
const haveRedis = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
if (!haveRedis)
  console.warn('tune-queue.test.ts skipped: redis-server is not on PATH (apt-get install redis-server)');

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((r) => c.once('exit', () => r()));

let fixture: { root: string; workspace: string; data: string };
let redis: ChildProcess | null = null;
let url = '';
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!haveRedis) return;
  fixture = await buildDemoTrainingWorkspace();
  const port = await freePort();
  redis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  url = `redis://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const r = spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' });
    if (r.stdout?.trim() === 'PONG') break;
    if (i > 100) throw new Error('redis-server did not answer');
    await sleep(100);
  }
}, 120_000);

afterAll(async () => {
  for (const c of children) {
    c.kill('SIGKILL');
    await exited(c);
  }
  redis?.kill('SIGKILL');
  if (redis) await exited(redis);
  if (fixture) rmSync(fixture.root, { recursive: true, force: true });
});

interface ShownTrial {
  number: number;
  state: string;
  runId: string | null;
  steps: number;
  error: string | null;
}

const show = (ws: string, name: string) => {
  const r = kfashion(['study', 'show', name, '--workspace', ws, '--json']);
  return r.code === 0 ? (JSON.parse(r.stdout).results as { status: string; trials: ShownTrial[] }) : null;
};

function trialStates(ws: string, study: string): string[] {
  if (!existsSync(join(ws, 'workspace.db'))) return [];
  const db = new Database(join(ws, 'workspace.db'), { readonly: true, fileMustExist: true });
  try {
    return db
      .prepare(
        'SELECT t.state FROM study_trials t JOIN studies s ON s.id = t.study_id WHERE s.name = ? ORDER BY t.number',
      )
      .pluck()
      .all(study) as string[];
  } catch {
    return []; // the study's tables may not exist yet
  } finally {
    db.close();
  }
}

function startWorker(ws: string, log: string[]): ChildProcess {
  const c = spawn(
    process.execPath,
    [BIN, 'worker', '--queue', url, '--workspace', ws, '--stall-seconds', '10'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    },
  );
  c.stderr?.on('data', (d) => log.push(String(d)));
  children.push(c);
  return c;
}

describe.skipIf(!haveRedis)(
  'kfashion tune --queue with two kfashion worker processes (Redis, BullMQ)',
  () => {
    it('bad --queue URLs and an unreachable Redis are clear errors naming the flag', async () => {
      const ws = fixture.workspace;
      const bad = kfashion([
        'tune',
        '--workspace',
        ws,
        '--preset',
        'priority1',
        '--queue',
        'http://127.0.0.1:6379',
      ]);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('--queue "http://127.0.0.1:6379": expected a redis://');
      const down = kfashion([
        'worker',
        '--workspace',
        ws,
        '--queue',
        `redis://127.0.0.1:${await freePort()}`,
      ]);
      expect(down.code).not.toBe(0);
      expect(down.stderr).toMatch(/--queue redis:\/\/127\.0\.0\.1:\d+: cannot reach Redis .*ECONNREFUSED/);
    });

    it('a worker killed mid-trial: its trial goes back to the queue, and every trial is recorded exactly once', async () => {
      const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'queue-ws'));
      const space = join(fixture.root, 'space.json');
      writeFileSync(
        space,
        JSON.stringify({ parameters: { temperature: { type: 'uniform', low: 0.05, high: 0.1 } } }),
      );
      const logs: string[][] = [[], []];
      const workers = [startWorker(ws, logs[0]!), startWorker(ws, logs[1]!)];
      let tuneErr = '';
      const tune = spawn(
        process.execPath,
        [
          BIN,
          'tune',
          '--workspace',
          ws,
          '--space',
          space,
          '--trials',
          '4',
          '--quick',
          '--epochs',
          '2',
          '--pruner',
          'none',
          '--name',
          'q',
          '--queue',
          url,
          '--parallel',
          '2',
          '--json',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } },
      );
      tune.stderr?.on('data', (d) => {
        tuneErr += String(d);
      });
      children.push(tune);

      // Wait until a worker is inside a trial (an epoch reported), then SIGKILL that worker. Polled
      // through a read-only connection: a `study show` process per poll would load the machine.
      let killed: { trial: number; runId: string; worker: number } | null = null;
      const deadline = Date.now() + 60_000;
      while (!killed) {
        let running: { number: number; run_id: string }[] = [];
        if (existsSync(join(ws, 'workspace.db'))) {
          const db = new Database(join(ws, 'workspace.db'), { readonly: true, fileMustExist: true });
          try {
            running = db
              .prepare(
                `SELECT t.number, t.run_id FROM study_trials t JOIN studies s ON s.id = t.study_id
               WHERE s.name = 'q' AND t.state = 'RUNNING' AND t.run_id IS NOT NULL
                 AND EXISTS (SELECT 1 FROM study_trial_values v WHERE v.trial_id = t.id)`,
              )
              .all() as { number: number; run_id: string }[];
          } catch {
            // the study's tables may not exist yet
          } finally {
            db.close();
          }
        }
        for (const t of running) {
          const runJson = join(ws, 'runs', t.run_id, 'run.json');
          if (!existsSync(runJson)) continue;
          const pid = (JSON.parse(readFileSync(runJson, 'utf8')) as { pid: number }).pid;
          const w = workers.findIndex((c) => c.pid === pid);
          if (w < 0) continue;
          workers[w]!.kill('SIGKILL');
          killed = { trial: t.number, runId: t.run_id, worker: w };
          break;
        }
        if (Date.now() > deadline) throw new Error(`no trial reached an epoch in time\n${tuneErr}`);
        if (!killed) await sleep(100);
      }
      const code = await new Promise<number | null>((r) => {
        if (tune.exitCode !== null) r(tune.exitCode);
        tune.once('exit', (c) => r(c));
      });
      expect(code, `${tuneErr}\n${logs.flat().join('')}`).toBe(0);
      const survivor = workers[1 - killed.worker]!;
      survivor.kill('SIGTERM');
      await exited(survivor);

      const s = show(ws, 'q')!;
      expect(s.status).toBe('done');
      // Every trial once, by number; each finished (none lost, none FAIL), each with its own run.
      expect(s.trials.map((t) => t.number).sort()).toEqual([0, 1, 2, 3]);
      for (const t of s.trials) {
        expect(t.state, `trial ${t.number}: ${t.error}`).toBe('COMPLETE');
        expect(t.runId).toBeTruthy();
        expect(existsSync(join(ws, 'runs', t.runId!, 'checkpoints', 'best.safetensors'))).toBe(true);
      }
      expect(new Set(s.trials.map((t) => t.runId)).size).toBe(4);
      // The killed attempt: trained again under a new run; its own run is recorded as interrupted.
      const again = s.trials.find((t) => t.number === killed!.trial)!;
      expect(again.runId).not.toBe(killed.runId);

      const db = new Database(join(ws, 'workspace.db'), { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const runs = db.prepare("SELECT id, status, tags FROM runs WHERE study = 'q' ORDER BY seq").all() as {
          id: string;
          status: string;
          tags: string;
        }[];
        const byTrial = new Map<string, string[]>();
        for (const r of runs) {
          const trial = (JSON.parse(r.tags) as string[]).find((x) => x.startsWith('trial:'))!;
          byTrial.set(trial, [...(byTrial.get(trial) ?? []), r.status]);
        }
        // One done run per trial. Any other run of a trial is an attempt given up (the killed worker's,
        // or one of a worker this loaded machine made look dead): interrupted, never a second result.
        for (let n = 0; n < 4; n++) {
          const statuses = byTrial.get(`trial:${n}`) ?? [];
          expect(
            statuses.filter((x) => x === 'done'),
            `trial ${n}: ${statuses}`,
          ).toHaveLength(1);
          expect(
            statuses.filter((x) => x !== 'done' && x !== 'interrupted'),
            `trial ${n}: ${statuses}`,
          ).toEqual([]);
          if (n === killed.trial) expect(statuses).toContain('interrupted');
        }
        const cut = runs.find((r) => r.id === killed!.runId);
        expect(cut?.status).toBe('interrupted');
      } finally {
        db.close();
      }
      // The run.json of each recorded run names the number the workspace gave it.
      const listed = kfashion(['runs', 'list', '--workspace', ws, '--json']);
      expect(listed.code).toBe(0);
      // The snapshot the workers trained from is removed once the study is done.
      expect(existsSync(join(ws, 'studies', 'q'))).toBe(true);
      expect(
        (await import('node:fs')).readdirSync(join(ws, 'studies', 'q')).filter((n) => n.endsWith('.db')),
      ).toEqual([]);
    }, 300_000);

    it('kill -9 of tune mid-study: tune --resume --queue adopts the trials the workers hold and records each once', async () => {
      const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'queue-resume-ws'));
      const space = join(fixture.root, 'space-r.json');
      writeFileSync(
        space,
        JSON.stringify({ parameters: { temperature: { type: 'uniform', low: 0.05, high: 0.1 } } }),
      );
      const logs: string[][] = [[], []];
      const workers = [startWorker(ws, logs[0]!), startWorker(ws, logs[1]!)];
      const args = ['tune', '--workspace', ws, '--space', space, '--trials', '3', '--quick', '--epochs', '2'];
      const tune = spawn(
        process.execPath,
        [BIN, ...args, '--pruner', 'none', '--name', 'r', '--queue', url, '--parallel', '2', '--json'],
        { stdio: 'ignore', env: { ...process.env, FORCE_COLOR: '0' } },
      );
      children.push(tune);
      // Kill tune once one trial is complete and another is in a worker's hands.
      const deadline = Date.now() + 120_000;
      for (;;) {
        const states = trialStates(ws, 'r');
        if (states.includes('COMPLETE') && states.includes('RUNNING')) break;
        if (Date.now() > deadline) throw new Error(`the study did not get going in time: ${states}`);
        await sleep(100);
      }
      tune.kill('SIGKILL');
      await exited(tune);
      const resumed = kfashion(['tune', '--workspace', ws, '--resume', 'r', '--queue', url, '--json'], {
        timeoutMs: 240_000,
      });
      expect(resumed.code, `${resumed.stderr}\n${logs.flat().join('')}`).toBe(0);
      for (const w of workers) {
        w.kill('SIGTERM');
        await exited(w);
      }
      const s = show(ws, 'r')!;
      expect(s.status).toBe('done');
      expect(s.trials.map((t) => [t.number, t.state])).toEqual([
        [0, 'COMPLETE'],
        [1, 'COMPLETE'],
        [2, 'COMPLETE'],
      ]);
      const db = new Database(join(ws, 'workspace.db'), { readonly: true });
      try {
        expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
        const done = db.prepare("SELECT tags FROM runs WHERE study = 'r' AND status = 'done'").all() as {
          tags: string;
        }[];
        const trials = done.map((r) => (JSON.parse(r.tags) as string[]).find((x) => x.startsWith('trial:')));
        expect(trials.sort()).toEqual(['trial:0', 'trial:1', 'trial:2']);
      } finally {
        db.close();
      }
    }, 300_000);
  },
);
