/**
 * `npm run fuzz -- api [--requests N] [--seed S] [--concurrency C]`: the API fuzzer's full run
 * (default 10,000 requests, half to each server). Builds a small real workspace (scan, embed with the
 * tiny CLIP-shaped model, a catalog), starts the real `kfashion web` and `kfashion serve` on it in
 * child processes on 127.0.0.1, and sends each one its share of generated hostile requests
 * (test/helpers/api-fuzzer.ts). Reports, per server: answers by status, findings (5xx, no answer,
 * refusals not in the JSON error shape, a server file quoted), whether the process survived, and its
 * resident memory (VmRSS from /proc) after a warm-up of 500 requests, every 1,000 requests and at the
 * end. Prints JSON lines; exits 1 on any finding, a crash, or memory that grew by more than a third
 * from the early samples to the late ones (rssTrend).
 */
import { type ChildProcess, spawn } from 'node:child_process';
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

export async function apiFuzz(args: string[]): Promise<void> {
  const total = intFlag(args, '--requests', 10_000);
  const seed = intFlag(args, '--seed', 1);
  const concurrency = intFlag(args, '--concurrency', 4);
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
      const server = await start(bin, p.args, p.pattern);
      servers.push(server);
      const pid = server.child.pid!;
      const openapi = (await (await fetch(new URL('/openapi.json', server.url))).json()) as OpenApiDoc;
      const gen = apiFuzzRequests(
        { mode: p.mode, openapi, uploadLimitBytes: 10 * 1024 * 1024, images: { jpeg } },
        seed + i,
      );
      const share = i === 0 ? Math.ceil(total / 2) : Math.floor(total / 2);
      const warm = Math.min(500, Math.floor(share / 10));
      const rssStart = rssMb(pid);
      const first = await runApiFuzz(server.url, gen, warm, { concurrency });
      const rssWarm = rssMb(pid);
      // RSS every 1,000 requests: a leak grows steadily, a heap that settled does not.
      const series: (number | null)[] = [rssWarm];
      const rest = await runApiFuzz(server.url, gen, share - warm, {
        concurrency,
        onProgress: (n) => {
          if (n % 1000 === 0) {
            series.push(rssMb(pid));
            process.stderr.write(`  ${p.mode}: ${warm + n}/${share}, RSS ${series.at(-1)} MB\n`);
          }
        },
      });
      const rssEnd = rssMb(pid);
      const alive = server.child.exitCode === null && server.child.signalCode === null;
      const health = alive
        ? (await fetch(new URL('/api/health', server.url)).catch(() => null))?.status
        : null;
      const s = merge(first, rest);
      const trend = rssTrend([...series, rssEnd]);
      const grew = trend !== null && trend.late > trend.early * 1.34;
      const bad = s.findings.length > 0 || !alive || health !== 200 || grew;
      failed ||= bad;
      emit({
        bench: 'fuzz-api',
        server: p.mode,
        requests: s.requests,
        concurrency,
        seed: seed + i,
        elapsedS: Math.round((first.elapsedMs + rest.elapsedMs) / 100) / 10,
        byStatus: s.byStatus,
        findings: s.findingCounts,
        retriedAfterReset: s.retriedAfterReset,
        fiveXx: Object.entries(s.byStatus)
          .filter(([st]) => Number(st) >= 500)
          .reduce((a, [, n]) => a + n, 0),
        crashed: !alive,
        healthAfter: health,
        rssMb: { start: rssStart, afterWarmup: rssWarm, end: rssEnd, every1000: series, trend },
        targets: Object.keys(s.byTarget).length,
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
