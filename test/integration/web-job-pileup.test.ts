/**
 * Browser-mode memory under jobs started faster than they finish. Every job runs on a thread of its
 * own (its own V8 heap, ONNX Runtime, sharp, workspace handles); the API fuzzer's `map.start` and
 * `tuning.start` requests started one per request, and the real `kfashion web` grew from ~190 MB to
 * ~810 MB RSS in 20,000 requests. The session now runs at most MAX_RUNNING_READER_JOBS reader jobs
 * at once (more is a 409) and answers an identical map request with the job already computing it.
 * Here a real server in a child process gets 240 map starts in two halves: at no point may more than
 * the bound run, and its resident memory may not keep growing from the first half to the second.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MAX_RUNNING_READER_JOBS } from '../../src-main/services/api-session.ts';
import { buildRecommendFixture, type RecommendFixture } from '../helpers/recommend-fixture.ts';
import { startWeb, type WebProcess } from '../helpers/web-process.ts';

let fx: RecommendFixture;
let web: WebProcess;

beforeAll(async () => {
  fx = await buildRecommendFixture();
  web = await startWeb(['--workspace', fx.workspace]);
}, 120_000);

afterAll(async () => {
  await web?.stop();
  fx?.tree.cleanup();
  if (fx) rmSync(fx.base, { recursive: true, force: true });
});

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

async function rpc(name: string, body: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(new URL(`/api/rpc/${name}`, web.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

async function running(): Promise<number> {
  const { json } = await rpc('job.list', {});
  return (json as { result: { status: string }[] }).result.filter((j) => j.status === 'running').length;
}

/** `n` map starts, 8 at a time, with varied inputs (identical ones would all share one job). */
async function burst(n: number, offset: number): Promise<{ statuses: Record<number, number>; peak: number }> {
  const statuses: Record<number, number> = {};
  let peak = 0;
  for (let i = 0; i < n; i += 8) {
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, j) =>
        rpc('map.start', { method: (offset + i + j) % 2 ? 'umap' : 'pca', refresh: (i + j) % 3 === 0 }),
      ),
    );
    for (const a of answers) {
      statuses[a.status] = (statuses[a.status] ?? 0) + 1;
      if (a.status === 409)
        expect((a.json as { error: { message: string } }).error.message).toMatch(/already running/);
    }
    peak = Math.max(peak, await running());
  }
  return { statuses, peak };
}

it.skipIf(process.platform !== 'linux')(
  'map starts faster than maps finish: bounded running jobs, memory flat between halves',
  async () => {
    const pid = web.child.pid!;
    const first = await burst(120, 0);
    const rssFirst = rssMb(pid);
    const second = await burst(120, 1);
    const rssSecond = rssMb(pid);
    for (const s of [first, second]) {
      expect(Object.keys(s.statuses).every((st) => st === '200' || st === '409')).toBe(true);
      expect(s.peak).toBeLessThanOrEqual(MAX_RUNNING_READER_JOBS);
    }
    // Without the bound the second half's 120 extra threads added well over 100 MB; a few reader
    // threads at a time, started and ended, move RSS by tens of MB at most.
    expect(rssSecond - rssFirst, `RSS ${rssFirst.toFixed(0)} → ${rssSecond.toFixed(0)} MB`).toBeLessThan(80);
    // Still answering, and the jobs still end.
    await expect.poll(running, { timeout: 60_000, interval: 250 }).toBe(0);
  },
  120_000,
);
