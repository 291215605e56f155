/**
 * `npm run fuzz -- api [--requests N] [--seed S] [--concurrency C] [--quiet-every N] [--trim]
 * [--servers web,serve] [--targets REGEX]`: the API fuzzer's full run
 * (default 10,000 requests, half to each server). Builds a small real workspace (scan, embed with the
 * tiny CLIP-shaped model, a catalog), starts the real `kfashion web` and `kfashion serve` on it in
 * child processes on 127.0.0.1, and sends each one its share of generated hostile requests
 * (test/helpers/api-fuzzer.ts). Reports, per server: answers by status, findings (5xx, no answer,
 * refusals not in the JSON error shape, a server file quoted), whether the process survived, and its
 * resident memory: busy (VmRSS from /proc every 1,000 requests, shown) and quiet (after the warm-up
 * and every `--quiet-every` requests, default 2,000, with the jobs the fuzz started ended; judged, see
 * [Note: Quiet RSS]). Prints JSON lines; exits 1 on any finding, a crash, a job that would not end,
 * or quiet memory that grew by more than a third from the early samples to the late ones (rssTrend).
 * `--targets REGEX` sends only the requests whose target (e.g. "rpc search.run", "POST /api/catalog",
 * "GET /media/*", "unknown route") matches: one family at a time, to find which kind of request a
 * memory trend comes from.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  apiFuzzRequests,
  type FuzzSummary,
  type OpenApiDoc,
  runApiFuzz,
} from '../test/helpers/api-fuzzer.ts';
import { buildRecommendFixture, solidJpeg } from '../test/helpers/recommend-fixture.ts';
import { emit } from './machine.ts';

function intFlag(args: string[], flag: string, fallback: number): number {
  const i = args.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`${flag} expects a whole number ≥ 1, got ${args[i + 1]}`);
  return n;
}

/** Resident memory of a process in MB (Linux /proc), or null where there is none. */
function rssMb(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : null;
  } catch {
    return null;
  }
}

/**
 * Early and late resident memory of a run: the medians of the first and the last third of the samples
 * (at least one each). [Note: RSS verdict] One sample against another reads a collection that
 * happened to run just before one of them (or a job thread that was alive at that moment) as growth
 * or as its absence; a leak moves the whole late third, a GC's timing moves one sample.
 */
export function rssTrend(samples: (number | null)[]): { early: number; late: number } | null {
  const xs = samples.filter((x): x is number => x !== null);
  if (xs.length < 2) return null;
  const third = Math.max(1, Math.floor(xs.length / 3));
  const median = (v: number[]) => {
    const s = [...v].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  return { early: median(xs.slice(0, third)), late: median(xs.slice(-third)) };
}

interface Server {
  child: ChildProcess;
  url: string;
  output: () => string;
}

function start(bin: string, args: string[], pattern: RegExp): Promise<Server> {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (text += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (text += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address within 120 s:\n${text}`)), 120_000);
    const poll = setInterval(() => {
      const m = pattern.exec(text);
      if (!m) return;
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ child, url: m[1]!, output: () => text });
    }, 50);
    child.once('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`exited with code ${code} before listening:\n${text}`));
    });
  });
}

/** Threads and anonymous (heap-like) resident memory of a process, for the diagnostic series. */
function procDetail(pid: number): { threads: number; anonMb: number; fileMb: number } | null {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8');
    const sm = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = (re: RegExp, t: string) => Number(re.exec(t)?.[1] ?? 0);
    return {
      threads: kb(/Threads:\s+(\d+)/, st),
      anonMb: Math.round(kb(/Anonymous:\s+(\d+) kB/, sm) / 1024),
      fileMb: Math.round((kb(/Rss:\s+(\d+) kB/, sm) - kb(/Anonymous:\s+(\d+) kB/, sm)) / 1024),
    };
  } catch {
    return null;
  }
}

/**
 * [Note: Quiet RSS]
 * What the memory verdict measures. RSS while the fuzz runs includes the jobs its valid requests
 * legitimately start (a tuning study trains models on a thread of its own; up to
 * MAX_RUNNING_READER_JOBS at once), so a busy sample says how much work was running, not whether
 * anything leaked. Every `--quiet-every` requests the fuzzer therefore pauses, cancels the jobs still
 * running (job.list, job.cancel: browser mode only; `serve` starts none), waits until the server
 * reports none running, lets it idle 3 s, and samples RSS there; the verdict judges the trend of these
 * quiet samples (rssTrend).
 *
 * What even a quiet sample holds besides live memory: glibc malloc keeps the memory a thread freed
 * inside that thread's arena (up to 8 arenas per core, each heap up to 64 MB) for the next thread to
 * reuse, and gives back only what lies at an arena's top. A job thread that trained a model and
 * ended leaves its arena mostly free but resident: measured after eight tuning studies, malloc_stats
 * reported 434 MB taken from the system and 23 MB in use, and malloc_trim(0) took RSS from 498 to
 * 227 MB. That is reuse, not a leak, but it moves RSS up for as long as new arenas get their turn.
 * With --trim (needs gdb and ptrace rights on Linux) each quiet sample is also taken after calling
 * malloc_trim(0) in the server, and the verdict judges those: memory still in use. A real leak (in
 * the JS heap, in Buffers, or in native memory still allocated) survives the trim and fails the run
 * just the same.
 */
interface QuietSample {
  /** Requests sent so far (the warm-up included). */
  at: number;
  /** Jobs the fuzzer cancelled to get here, and any still running when it gave up waiting. */
  cancelled: number;
  jobsStillRunning: number;
  waitS: number;
  rssMb: number | null;
  /** RSS after malloc_trim(0) (with --trim), else null. */
  rssTrimmedMb: number | null;
  threads: number | null;
  anonMb: number | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rpcCall(url: string, name: string, body: unknown): Promise<{ result?: unknown }> {
  const res = await fetch(new URL(`/api/rpc/${name}`, url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return (await res.json()) as { result?: unknown };
}

/** Calls glibc's malloc_trim(0) in process `pid` through gdb; false where that cannot be done. */
function mallocTrim(pid: number): boolean {
  const r = spawnSync(
    'gdb',
    ['-p', String(pid), '-batch', '-nx', '-ex', 'call (int)malloc_trim(0)', '-ex', 'detach'],
    { stdio: 'ignore', timeout: 60_000 },
  );
  return r.status === 0;
}

/** Cancels what runs, waits for it to end, idles, samples (see [Note: Quiet RSS]). */
async function quiesce(
  url: string,
  pid: number,
  mode: 'web' | 'serve',
  at: number,
  trim: boolean,
): Promise<QuietSample> {
  const t0 = Date.now();
  const asked = new Set<string>();
  let running: string[] = [];
  while (mode === 'web' && Date.now() - t0 < 120_000) {
    const list = (await rpcCall(url, 'job.list', {})).result as { job: string; status: string }[];
    running = list.filter((j) => j.status === 'running').map((j) => j.job);
    if (running.length === 0) break;
    for (const job of running.filter((j) => !asked.has(j))) {
      asked.add(job);
      await rpcCall(url, 'job.cancel', { job });
    }
    await sleep(250);
  }
  await sleep(3000);
  const d = procDetail(pid);
  const rss = rssMb(pid);
  let trimmed: number | null = null;
  if (trim && mallocTrim(pid)) {
    await sleep(500);
    trimmed = rssMb(pid);
  }
  return {
    at,
    cancelled: asked.size,
    jobsStillRunning: running.length,
    waitS: Math.round((Date.now() - t0) / 100) / 10,
    rssMb: rss,
    rssTrimmedMb: trimmed,
    threads: d?.threads ?? null,
    anonMb: d?.anonMb ?? null,
  };
}

export async function apiFuzz(args: string[]): Promise<void> {
  const total = intFlag(args, '--requests', 10_000);
  const only = args.includes('--servers') ? args[args.indexOf('--servers') + 1]!.split(',') : null;
  const every = intFlag(args, '--quiet-every', 2000);
  const trim = args.includes('--trim');
  const seed = intFlag(args, '--seed', 1);
  const concurrency = intFlag(args, '--concurrency', 4);
  const targets = args.includes('--targets') ? new RegExp(args[args.indexOf('--targets') + 1] ?? '') : null;
  const fx = await buildRecommendFixture();
  const jpeg = await solidJpeg('#884422');
  // dist/bench-cli.js → bin/kfashion.js: the CLI as users run it.
  const bin = join(dirname(process.argv[1]!), '..', 'bin', 'kfashion.js');
  const servers: Server[] = [];
  let failed = false;
  try {
    const plan: { mode: 'web' | 'serve'; args: string[]; pattern: RegExp }[] = [
      {
        mode: 'web',
        args: ['web', '--workspace', fx.workspace, '--host', '127.0.0.1', '--port', '0'],
        pattern: /\(browser mode\) at (http:\/\/127\.0\.0\.1:\d+\/)/,
      },
      {
        mode: 'serve',
        args: ['serve', '--workspace', fx.workspace, '--host', '127.0.0.1', '--port', '0'],
        pattern: /serving .* at (http:\/\/127\.0\.0\.1:\d+)/,
      },
    ];
    for (const [i, p] of plan.entries()) {
      if (only && !only.includes(p.mode)) continue;
      const server = await start(bin, p.args, p.pattern);
      servers.push(server);
      const pid = server.child.pid!;
      const openapi = (await (await fetch(new URL('/openapi.json', server.url))).json()) as OpenApiDoc;
      const all = apiFuzzRequests(
        { mode: p.mode, openapi, uploadLimitBytes: 10 * 1024 * 1024, images: { jpeg } },
        seed + i,
      );
      const gen = targets ? onlyTargets(all, targets) : all;
      const share = i === 0 ? Math.ceil(total / 2) : Math.floor(total / 2);
      const warm = Math.min(500, Math.floor(share / 10));
      const rssStart = rssMb(pid);
      const first = await runApiFuzz(server.url, gen, warm, { concurrency });
      const rssWarm = rssMb(pid);
      // Busy RSS every 1,000 requests (jobs the fuzzer started may be running): shown, not judged.
      const series: (number | null)[] = [rssWarm];
      // Quiet RSS after the warm-up and every `every` requests: the samples the verdict judges.
      const quiet: QuietSample[] = [await quiesce(server.url, pid, p.mode, warm, trim)];
      let rest: FuzzSummary | null = null;
      let done = 0;
      while (done < share - warm) {
        const n = Math.min(every, share - warm - done);
        const base = done;
        const part = await runApiFuzz(server.url, gen, n, {
          concurrency,
          onProgress: (k) => {
            if ((base + k) % 1000 !== 0) return;
            series.push(rssMb(pid));
            process.stderr.write(`  ${p.mode}: ${warm + base + k}/${share}, RSS ${series.at(-1)} MB\n`);
          },
        });
        rest = rest ? merge(rest, part) : part;
        done += n;
        const q = await quiesce(server.url, pid, p.mode, warm + done, trim);
        quiet.push(q);
        process.stderr.write(`  ${p.mode}: quiet ${JSON.stringify(q)}\n`);
      }
      const rssEnd = rssMb(pid);
      const alive = server.child.exitCode === null && server.child.signalCode === null;
      const health = alive
        ? (await fetch(new URL('/api/health', server.url)).catch(() => null))?.status
        : null;
      const s = rest ? merge(first, rest) : first;
      // The verdict reads the quiet samples ([Note: Quiet RSS]): after the trim when --trim could
      // trim, else as they are.
      // Trimmed only when every sample could be trimmed: a series mixing both would read as a trend.
      const trimmed = quiet.every((q) => q.rssTrimmedMb !== null);
      const judged = quiet.map((q) => (trimmed ? q.rssTrimmedMb : q.rssMb));
      const trend = rssTrend(judged);
      const grew = trend !== null && trend.late > trend.early * 1.34;
      const stuck = quiet.some((q) => q.jobsStillRunning > 0);
      const bad = s.findings.length > 0 || !alive || health !== 200 || grew || stuck;
      failed ||= bad;
      emit({
        bench: 'fuzz-api',
        server: p.mode,
        requests: s.requests,
        concurrency,
        seed: seed + i,
        elapsedS: Math.round((first.elapsedMs + (rest?.elapsedMs ?? 0)) / 100) / 10,
        byStatus: s.byStatus,
        findings: s.findingCounts,
        retriedAfterReset: s.retriedAfterReset,
        fiveXx: Object.entries(s.byStatus)
          .filter(([st]) => Number(st) >= 500)
          .reduce((a, [, n]) => a + n, 0),
        crashed: !alive,
        healthAfter: health,
        rssMb: { start: rssStart, afterWarmup: rssWarm, end: rssEnd, busyEvery1000: series },
        quiet,
        memoryVerdict: {
          measured: trimmed
            ? 'RSS at quiet points (running jobs cancelled and ended, then 3 s idle), after glibc malloc_trim(0) called through gdb'
            : `RSS at quiet points (running jobs cancelled and ended, then 3 s idle)${trim ? '; --trim asked but gdb could not call malloc_trim' : ''}`,
          judged,
          trend,
          limit: 'median of the late third of the quiet samples <= 1.34 x the early third',
          grew,
          jobsThatDidNotEnd: stuck,
        },
        targets: Object.keys(s.byTarget).length,
        ...(targets ? { byTarget: s.byTarget } : {}),
        firstFindings: [
          ...s.findings.filter((f) => f.kind === '5xx'),
          ...s.findings.filter((f) => f.kind !== '5xx'),
        ].slice(0, 10),
        verdict: bad ? 'FAIL' : 'PASS',
      });
      if (!alive) process.stderr.write(server.output().slice(-4000));
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    fx.tree.cleanup();
    rmSync(fx.base, { recursive: true, force: true });
  }
  if (failed) process.exitCode = 1;
}

/** The requests of `gen` whose target matches (gen is endless and visits every target in turn). */
function* onlyTargets<T extends { target: string }>(gen: Generator<T>, re: RegExp): Generator<T> {
  let misses = 0;
  for (const req of gen) {
    if (re.test(req.target)) {
      misses = 0;
      yield req;
    } else if (++misses > 100_000) {
      throw new Error(`--targets ${re.source}: no request target matches (e.g. "rpc search.run")`);
    }
  }
}

function merge(a: FuzzSummary, b: FuzzSummary): FuzzSummary {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    requests: a.requests + b.requests,
    byStatus: add(a.byStatus, b.byStatus),
    byTarget: add(a.byTarget, b.byTarget),
    findingCounts: add(a.findingCounts, b.findingCounts),
    retriedAfterReset: a.retriedAfterReset + b.retriedAfterReset,
    findings: [...a.findings, ...b.findings],
    elapsedMs: a.elapsedMs + b.elapsedMs,
  };
}
