/**
 * `npm run bench -- scan [--files N]`: times parsing and storing a generated tree of label files
 * (realistic size: two garments per image, 30-point polygons, every attribute) and reports files/s and
 * peak memory. Each scan runs in a fresh child process so its peak RSS is its own; running at N and 3N
 * files shows whether memory stays flat as the number of files grows. Beside each figure, the floor:
 * the same files read and JSON.parse'd alone on all cores (Note: scan floor). Targets: ≥ 10,000 files/s
 * and ≥ 0.8 × the floor measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapStatistics } from 'node:v8';
import { parentPort, Worker } from 'node:worker_threads';
import { type ScanPhase, scanDataset } from '../src-main/dataset/scan.ts';
import { WorkerPool } from '../src-main/jobs/worker-pool.ts';
import { Workbench } from '../src-main/services/workbench.ts';
import { labelJson } from '../test/helpers/kfashion-fixture.ts';
import { emit } from './machine.ts';

const STYLES = ['레트로', '로맨틱', '리조트'];
const TARGET_FILES_PER_SECOND = 10_000;
/** The scan's throughput over the read + parse floor's (Note: scan floor), in the same run. */
const TARGET_RATIO_TO_FLOOR = 0.8;

function polygon(x0: number, y0: number, w: number, h: number, n = 30): [number, number][] {
  return Array.from({ length: n }, (_, i) => {
    const a = (2 * Math.PI * i) / n;
    return [x0 + w / 2 + (w / 2) * Math.cos(a) + 0.123, y0 + h / 2 + (h / 2) * Math.sin(a) + 0.456] as [
      number,
      number,
    ];
  });
}

export function writeBenchTree(root: string, files: number): void {
  for (const s of STYLES) mkdirSync(join(root, '라벨링데이터', s), { recursive: true });
  for (let i = 0; i < files; i++) {
    const id = 1_000_000 + i;
    const json = labelJson({
      id,
      width: 800,
      height: 1200,
      shopFile: i % 4 === 0 ? `Shop${i % 97}_${Math.floor(i / 4)}_0${(i % 3) + 1}.jpg` : `IMG_${id}.jpg`,
      style: { 스타일: STYLES[i % 3]!, 서브스타일: '페미닌' },
      labels: {
        상의: {
          기장: '노멀',
          색상: '화이트',
          서브색상: '실버',
          카테고리: '블라우스',
          옷깃: '보우칼라',
          소매기장: '캡',
          소재: ['우븐', '레이스'],
          프린트: ['도트'],
          넥라인: '브이넥',
          핏: '루즈',
          디테일: ['포켓', '셔링'],
        },
        하의: {
          기장: '니렝스',
          색상: '블랙',
          카테고리: '스커트',
          소재: ['데님'],
          프린트: ['무지'],
          핏: '노멀',
        },
      },
      polygons: { 상의: polygon(260, 59, 295, 335), 하의: polygon(321, 400, 183, 330) },
      rects: { 상의: { x: 260.1, y: 59.4, w: 295, h: 335 }, 하의: { x: 321.06, y: 400.2, w: 183, h: 330 } },
    });
    writeFileSync(join(root, '라벨링데이터', STYLES[i % 3]!, `${id}.json`), JSON.stringify(json, null, 1));
  }
}

/** One phase of a scan (ScanPhase): its wall time, its JS heap high-water mark and RSS at its end. */
export interface PhaseFigures {
  phase: ScanPhase;
  ms: number;
  peakHeapMB: number;
  /**
   * With --expose-gc: the largest JS heap left after a full collection, taken at the phase's end and,
   * while rows load, after every transaction (what the scan holds alive, garbage apart). Without it:
   * the heap in use at the phase's end.
   */
  liveHeapMB: number;
  rssMB: number;
}

/** Child side: one scan through the Workbench (as the CLI runs it), then timings and peak memory. */
export async function scanOnce(data: string, workspace: string, mode: string): Promise<void> {
  const wb = Workbench.open(workspace);
  const cpu0 = process.cpuUsage();
  // The JS heap's high-water mark beside peak RSS: says whether growth with N is in JS or in native
  // memory (SQLite, buffers). Sampled between the scan's transactions, when it yields, and at each
  // phase's start and end (the index, split and vocabulary phases never yield).
  let peakHeap = 0;
  const phases: PhaseFigures[] = [];
  let current: { phase: ScanPhase; t0: number; peak: number; live: number } | null = null;
  const gc = (globalThis as { gc?: () => void }).gc;
  /** After a full collection: what is alive (only when the child runs with --expose-gc). */
  const sampleLive = () => {
    if (!gc || !current) return;
    sample();
    gc();
    current.live = Math.max(current.live, getHeapStatistics().used_heap_size);
  };
  const sample = () => {
    // getHeapStatistics, not process.memoryUsage(): the latter reads /proc for the RSS on every call,
    // which cost the scanning thread 2-3 µs per file at 20 samples a second.
    const used = getHeapStatistics().used_heap_size;
    peakHeap = Math.max(peakHeap, used);
    if (current) current.peak = Math.max(current.peak, used);
    return used;
  };
  const endPhase = () => {
    if (!current) return;
    sample();
    const ms = performance.now() - current.t0;
    sampleLive();
    phases.push({
      phase: current.phase,
      ms: Math.round(ms),
      peakHeapMB: +(current.peak / 2 ** 20).toFixed(1),
      liveHeapMB: +((gc ? current.live : getHeapStatistics().used_heap_size) / 2 ** 20).toFixed(1),
      rssMB: Math.round(process.memoryUsage.rss() / 2 ** 20),
    });
    current = null;
  };
  const onPhase = (phase: ScanPhase) => {
    endPhase();
    current = { phase, t0: performance.now(), peak: 0, live: 0 };
    sample();
  };
  const sampler = setInterval(sample, 50);
  const main0 = threadCpuMs();
  const t0 = performance.now();
  const r =
    mode === 'inline'
      ? await scanDataset(wb.workspace, { data, onPhase, onProgress: sampleLive }) // parsing on this thread only
      : await wb.scan({ data, onPhase }, { onProgress: sampleLive });
  endPhase();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const main1 = threadCpuMs();
  clearInterval(sampler);
  wb.close();
  const files = r.total.labels + r.total.skippedFiles;
  const threads = mode === 'inline' ? 1 : 1 + WorkerPool.defaultSize();
  process.stdout.write(
    JSON.stringify({
      files,
      garments: r.total.garments,
      ms,
      // Every thread's CPU time: on a loaded machine it moves far less than the wall clock.
      cpuMs: (cpu.user + cpu.system) / 1000,
      // This thread's alone: the writing thread, the scan's bottleneck when it is busier than the rest.
      mainCpuMs: main0 !== null && main1 !== null ? main1 - main0 : undefined,
      threads,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      peakHeapMB: peakHeap / 2 ** 20,
      phases,
    }),
  );
}

/**
 * CPU time of the calling thread in ms, from /proc/thread-self/stat (Linux; null elsewhere): Node 20
 * has no per-thread CPU clock, and process.cpuUsage adds the parse workers and the GC helper threads.
 */
function threadCpuMs(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return null;
  }
}
/** USER_HZ: 100 on every Linux Node supports. */
const CLOCK_TICKS_PER_SECOND = 100;

/** How the floor spreads the files over the machine's cores (Note: scan floor). */
export type FloorMode = 'main+workers' | 'workers';

/**
 * [Note: scan floor]
 * The scan's reference: list the same label folders, read every file and `JSON.parse` it, nothing else,
 * on all cores. Two layouts are timed, since either can win: this thread plus (cores - 1) workers, or
 * one worker per core with this thread only waiting. The faster one is the floor. The files are handed
 * out in blocks of 250, as the scan does, so both sides finish together. Nothing parsed is kept, so the
 * floor's memory is flat too.
 */
export async function floorOnce(data: string, mode: FloorMode): Promise<void> {
  const cores = Math.max(1, availableParallelism());
  const self = fileURLToPath(import.meta.url);
  const workers = Array.from(
    { length: mode === 'workers' ? cores : cores - 1 },
    () => new Worker(self, { workerData: { scanFloorWorker: true } }),
  );
  // The clock starts once every worker is up: the floor leaves thread start-up out, the scan does not.
  // Each says 'ready' once its bundle is loaded.
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const files: string[] = [];
  const labelRoot = join(data, '라벨링데이터');
  for (const style of readdirSync(labelRoot)) {
    const dir = join(labelRoot, style);
    for (const name of readdirSync(dir)) if (name.endsWith('.json')) files.push(join(dir, name));
  }
  const blocks: string[][] = [];
  for (let i = 0; i < files.length; i += 250) blocks.push(files.slice(i, i + 250));
  let next = 0;
  let parsed = 0;
  const feed = (w: Worker) =>
    new Promise<void>((resolve, reject) => {
      const send = () => {
        const block = blocks[next++];
        if (block) w.postMessage(block);
        else resolve();
      };
      w.on('message', (n: number) => {
        parsed += n;
        send();
      });
      w.on('error', reject);
      send();
    });
  const done = Promise.all(workers.map(feed));
  if (mode === 'main+workers') {
    // This thread takes blocks between messages, yielding so replies to the workers go out.
    for (;;) {
      const block = blocks[next++];
      if (!block) break;
      parsed += readAndParse(block);
      await new Promise((r) => setImmediate(r));
    }
  }
  await done;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(workers.map((w) => w.terminate()));
  if (parsed !== files.length) throw new Error(`floor parsed ${parsed} of ${files.length} files`);
  process.stdout.write(
    JSON.stringify({
      files: files.length,
      ms,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

/** Reads and parses each file; returns how many parsed (all of them: the bench tree is valid). */
function readAndParse(paths: string[]): number {
  let n = 0;
  for (const p of paths) if (JSON.parse(readFileSync(p, 'utf8')) !== null) n++;
  return n;
}

/** The floor's worker thread: parses each block it is sent and answers with the count. */
export function floorWorker(): void {
  parentPort!.on('message', (paths: string[]) => parentPort!.postMessage(readAndParse(paths)));
  parentPort!.postMessage('ready');
}

interface ChildResult {
  files: number;
  garments?: number;
  ms: number;
  /** CPU time of every thread of the child over the timed part. */
  cpuMs: number;
  /** The writing thread's CPU time alone (Linux). */
  mainCpuMs?: number;
  peakHeapMB?: number;
  threads?: number;
  peakRssMB: number;
  phases?: PhaseFigures[];
}

function runChild(self: string, args: string[], nodeFlags: string[] = []): ChildResult {
  const child = spawnSync(process.execPath, [...nodeFlags, self, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0) throw new Error(`${args[0]} child failed: ${child.stderr}`);
  return JSON.parse(child.stdout) as ChildResult;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Per size (N and 3N files): one tree, then rounds of floor (both layouts) and real scan interleaved,
 * each in a fresh child process, medians over the rounds. The ratio to the floor is taken within the
 * run, so a loaded machine slows both sides alike. An inline scan (parsing on one thread) runs once at
 * N for comparison.
 */
export async function scanBench(args: string[]): Promise<void> {
  const flag = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    if (i < 0) return fallback;
    const v = Number(args[i + 1]);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name} expects a whole number, got ${args[i + 1]}`);
    return v;
  };
  const base = flag('--files', 10_000);
  const rounds = flag('--rounds', 3);
  // The bundle (dist/bench-cli.js) re-runs itself as the child.
  const self = fileURLToPath(import.meta.url);
  const load = () => loadavg().map((l) => +l.toFixed(2));
  /** Per size: peak RSS and heap of the timed scans, and the live heap the memory scan found. */
  const memory: { files: number; peakRssMB: number; peakHeapMB: number; maxLiveHeapMB: number }[] = [];
  for (const files of [base, base * 3]) {
    const dir = mkdtempSync(join(tmpdir(), 'kf-bench-scan-'));
    try {
      const t0 = performance.now();
      const data = join(dir, 'data');
      writeBenchTree(data, files);
      const genMs = performance.now() - t0;
      const loadBefore = load();
      const scans: ChildResult[] = [];
      const floors: Record<FloorMode, ChildResult[]> = { 'main+workers': [], workers: [] };
      for (let r = 0; r < rounds; r++) {
        // Alternate which layout goes first, so neither always runs on a warmer page cache.
        const order: FloorMode[] = r % 2 ? ['workers', 'main+workers'] : ['main+workers', 'workers'];
        for (const m of order) floors[m].push(runChild(self, ['scan-floor', data, m]));
        const ws = join(dir, `ws${r}`);
        scans.push(runChild(self, ['scan-once', data, ws, 'workers']));
        rmSync(ws, { recursive: true, force: true });
      }
      // [Note: scan memory figures] One more scan, untimed, with a full collection at the end of each
      // phase (--expose-gc): what each phase leaves alive. The peak heap of the timed scans includes
      // garbage, and V8 lets that grow up to a multiple of the live heap the longer a run lasts; the
      // live heap is what would grow with the number of files if anything were kept per file.
      const wsMem = join(dir, 'ws-memory');
      const memoryRun = runChild(self, ['scan-once', data, wsMem, 'workers'], ['--expose-gc']);
      rmSync(wsMem, { recursive: true, force: true });
      const livePhases = memoryRun.phases ?? [];
      const maxLiveHeapMB = Math.max(...livePhases.map((p) => p.liveHeapMB));
      let inlineRate: number | undefined;
      if (files === base) {
        const ws = join(dir, 'ws-inline');
        const r = runChild(self, ['scan-once', data, ws, 'inline']);
        inlineRate = Math.round(r.files / (r.ms / 1000));
      }
      const rate = (r: ChildResult) => r.files / (r.ms / 1000);
      const scanRate = median(scans.map(rate));
      const floorRates = {
        'main+workers': median(floors['main+workers'].map(rate)),
        workers: median(floors.workers.map(rate)),
      };
      const floorMode: FloorMode =
        floorRates['main+workers'] >= floorRates.workers ? 'main+workers' : 'workers';
      const floorRate = floorRates[floorMode];
      const filesPerSecond = Math.round(scanRate);
      const peakRssMB = Math.max(...scans.map((s) => s.peakRssMB));
      const peakHeapMB = Math.max(...scans.map((s) => s.peakHeapMB ?? 0));
      memory.push({ files, peakRssMB, peakHeapMB, maxLiveHeapMB });
      // Per phase: median time over the timed rounds, highest peak heap; live heap and RSS at the
      // phase's end from the memory scan.
      const phases = (scans[0]!.phases ?? []).map(({ phase }) => {
        const of = (r: ChildResult) => r.phases?.find((p) => p.phase === phase);
        const live = of(memoryRun);
        return {
          phase,
          ms: Math.round(median(scans.map((r) => of(r)?.ms ?? 0))),
          peakHeapMB: Math.round(Math.max(...scans.map((r) => of(r)?.peakHeapMB ?? 0))),
          liveHeapMB: live?.liveHeapMB,
          rssMB: live?.rssMB,
        };
      });
      emit({
        bench: 'scan',
        mode: 'workers',
        files: scans[0]!.files,
        garments: scans[0]!.garments,
        rounds,
        seconds: +(median(scans.map((s) => s.ms)) / 1000).toFixed(3),
        filesPerSecond,
        perRound: scans.map((s) => Math.round(rate(s))),
        floorFilesPerSecond: Math.round(floorRate),
        floorMode,
        floorByMode: {
          'main+workers': Math.round(floorRates['main+workers']),
          workers: Math.round(floorRates.workers),
        },
        ratioToFloor: +(scanRate / floorRate).toFixed(3),
        // CPU per file (all threads): on a loaded machine this moves far less than files/s does.
        cpuMicrosPerFile: Math.round((median(scans.map((s) => s.cpuMs)) * 1000) / files),
        ...(scans.every((s) => s.mainCpuMs !== undefined)
          ? { writerCpuMicrosPerFile: Math.round((median(scans.map((s) => s.mainCpuMs!)) * 1000) / files) }
          : {}),
        floorCpuMicrosPerFile: Math.round((median(floors[floorMode].map((s) => s.cpuMs)) * 1000) / files),
        peakRssMB: Math.round(peakRssMB),
        peakHeapMB: Math.round(peakHeapMB),
        maxLiveHeapMB,
        phases,
        floorPeakRssMB: Math.round(Math.max(...floors[floorMode].map((s) => s.peakRssMB))),
        target: TARGET_FILES_PER_SECOND,
        meetsTarget: filesPerSecond >= TARGET_FILES_PER_SECOND,
        targetRatioToFloor: TARGET_RATIO_TO_FLOOR,
        meetsRatioTarget: scanRate / floorRate >= TARGET_RATIO_TO_FLOOR,
        threads: scans[0]!.threads,
        ...(inlineRate
          ? { inlineFilesPerSecond: inlineRate, vsInline: +(scanRate / inlineRate).toFixed(2) }
          : {}),
        loadavg: { before: loadBefore, after: load() },
        note: `tree generated in ${(genMs / 1000).toFixed(1)} s (not timed); scan = read + parse + match images + SQLite + split + vocabulary; floor = list + read + JSON.parse only, on all cores; medians of ${rounds} interleaved rounds`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // Flat memory means these ratios stay near 1 while the files triple (Note: scan memory figures).
  const [n, n3] = memory as [(typeof memory)[0], (typeof memory)[0]];
  emit({
    bench: 'scan-memory',
    files: [n.files, n3.files],
    peakRssMB: [Math.round(n.peakRssMB), Math.round(n3.peakRssMB)],
    peakHeapMB: [Math.round(n.peakHeapMB), Math.round(n3.peakHeapMB)],
    maxLiveHeapMB: [n.maxLiveHeapMB, n3.maxLiveHeapMB],
    peakRssRatio3N: +(n3.peakRssMB / n.peakRssMB).toFixed(3),
    peakHeapRatio3N: +(n3.peakHeapMB / n.peakHeapMB).toFixed(3),
    liveHeapRatio3N: +(n3.maxLiveHeapMB / n.maxLiveHeapMB).toFixed(3),
    // Per 1,000 more files: what a per-file cost would show as.
    liveHeapKBPer1000Files: +(
      ((n3.maxLiveHeapMB - n.maxLiveHeapMB) * 1024 * 1000) /
      (n3.files - n.files)
    ).toFixed(2),
    peakRssKBPer1000Files: +(((n3.peakRssMB - n.peakRssMB) * 1024 * 1000) / (n3.files - n.files)).toFixed(2),
    loadavg: load(),
    note: 'peak RSS and heap: the timed scans; live heap: the largest JS heap left after a full collection at the end of a phase, in one more scan run with --expose-gc',
  });
}
