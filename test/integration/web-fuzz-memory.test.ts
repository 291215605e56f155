/**
 * The API fuzzer's memory verdict at CI size, on the real `kfashion web` in a child process
 * (`node dist/bench-cli.js fuzz api --servers web`): a few thousand hostile requests, the jobs they
 * start ended at each quiet point, and the quiet RSS must neither grow by a third nor pass a bound
 * ([Note: Quiet RSS] in bench/api-fuzz.ts). The same run with a deliberate leak loaded into the server
 * (test/fixtures/leak-preload.mjs keeps 64 KB per request) must fail, so the verdict can still see one.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LEAK = join(ROOT, 'test', 'fixtures', 'leak-preload.mjs');
// malloc_trim through gdb where gdb exists (see the note; where it cannot attach, the fuzzer judges
// the bare quiet RSS).
const TRIM =
  process.platform === 'linux' && spawnSync('gdb', ['--version'], { stdio: 'ignore' }).status === 0;

interface FuzzLine {
  verdict: string;
  fiveXx: number;
  crashed: boolean;
  quiet: { rssMb: number; rssTrimmedMb: number | null; jobsStillRunning: number }[];
  memoryVerdict: { judged: number[]; grew: boolean; measured: string };
}

function fuzzWeb(env: NodeJS.ProcessEnv = {}): { line: FuzzLine; status: number | null; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      join(ROOT, 'dist', 'bench-cli.js'),
      'fuzz',
      'api',
      '--servers',
      'web',
      '--requests',
      '6000',
      '--seed',
      '11',
      '--quiet-every',
      '1000',
      ...(TRIM ? ['--trim'] : []),
    ],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', ...env }, timeout: 170_000 },
  );
  const json = r.stdout.split('\n').find((l) => l.includes('"fuzz-api"'));
  expect(json, `no result line; stderr:\n${r.stderr.slice(-3000)}`).toBeDefined();
  return { line: JSON.parse(json!) as FuzzLine, status: r.status, stderr: r.stderr };
}

describe.skipIf(process.platform !== 'linux')('web server memory under the API fuzzer (CI size)', () => {
  let clean: ReturnType<typeof fuzzWeb> | null = null;
  const cleanRun = () => {
    clean ??= fuzzWeb();
    return clean;
  };

  it('3,000 hostile requests: no 5xx, no crash, every job the fuzz started ends at each quiet point', () => {
    const { line } = cleanRun();
    expect(line.fiveXx).toBe(0);
    expect(line.crashed).toBe(false);
    expect(line.quiet.length).toBe(4);
    expect(line.quiet.every((q) => q.jobsStillRunning === 0)).toBe(true);
  }, 180_000);

  // [Note: quiet memory of jobs] This was an `it.fails` until the jobs that load a model runtime or
  // train (tuning studies above all) moved from worker threads to child processes ([Note: Jobs in a
  // child process] in src-main/jobs/job-host.ts): a finished thread left its freed native memory
  // resident in glibc's arenas, and quiet RSS rose 189, 211, 251, 271 MB over these 3,000 requests
  // (trimmed 181 → 257: FAIL); with children it goes 197, 214, 216, 218 (trimmed 181 → 206).
  it('... and the quiet RSS stays flat and bounded', () => {
    const { line, status, stderr } = cleanRun();
    expect(line.memoryVerdict.grew, JSON.stringify(line.memoryVerdict)).toBe(false);
    // The quiet bound: the server idles near 190 MB after start-up; 400 MB leaves room for a loaded
    // machine's timing and none for a leak of a few hundred bytes per request kept over the run.
    expect(Math.max(...line.memoryVerdict.judged)).toBeLessThan(400);
    expect(line.verdict, stderr.slice(-2000)).toBe('PASS');
    expect(status).toBe(0);
  }, 180_000);

  it('the same run with a deliberate leak in the server fails the memory verdict', () => {
    const options = [process.env.NODE_OPTIONS, `--import=${LEAK}`].filter(Boolean).join(' ');
    const { line, status } = fuzzWeb({ NODE_OPTIONS: options });
    expect(line.fiveXx).toBe(0);
    expect(line.memoryVerdict.grew, JSON.stringify(line.memoryVerdict)).toBe(true);
    expect(line.verdict).toBe('FAIL');
    expect(status).toBe(1);
  }, 180_000);
});
