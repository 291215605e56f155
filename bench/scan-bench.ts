/**
 * `npm run bench -- scan [--files N]`: times parsing and storing a generated tree of label files
 * (realistic size: two garments per image, 30-point polygons, every attribute) and reports files/s and
 * peak memory. Each scan runs in a fresh child process so its peak RSS is its own; running at N and 3N
 * files shows whether memory stays flat as the number of files grows. Target (PERFORMANCE.md):
 * ≥ 5,000 files/s.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scanDataset } from '../src-main/dataset/scan.ts';
import { WorkerPool } from '../src-main/jobs/worker-pool.ts';
import { Workbench } from '../src-main/services/workbench.ts';
import { labelJson } from '../test/helpers/kfashion-fixture.ts';
import { emit } from './machine.ts';

const STYLES = ['레트로', '로맨틱', '리조트'];
const TARGET_FILES_PER_SECOND = 5000;

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

/** Child side: one scan through the Workbench (as the CLI runs it), then timings and peak memory. */
export async function scanOnce(data: string, workspace: string, mode: string): Promise<void> {
  const wb = Workbench.open(workspace);
  const t0 = performance.now();
  const r =
    mode === 'inline'
      ? await scanDataset(wb.workspace, { data }) // parsing on this thread only
      : await wb.scan({ data });
  const ms = performance.now() - t0;
  wb.close();
  const files = r.total.labels + r.total.skippedFiles;
  const threads = mode === 'inline' ? 1 : 1 + WorkerPool.defaultSize();
  process.stdout.write(
    JSON.stringify({
      files,
      garments: r.total.garments,
      ms,
      threads,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    }),
  );
}

export async function scanBench(args: string[]): Promise<void> {
  const i = args.indexOf('--files');
  const base = i >= 0 ? Number(args[i + 1]) : 10_000;
  if (!Number.isInteger(base) || base < 1)
    throw new Error(`--files expects a whole number, got ${args[i + 1]}`);
  // The bundle (dist/bench-cli.js) re-runs itself as the child.
  const self = fileURLToPath(import.meta.url);
  const runs: [number, 'workers' | 'inline'][] = [
    [base, 'workers'],
    [base, 'inline'],
    [base * 3, 'workers'],
  ];
  let inlineRate = 0;
  for (const [files, mode] of runs) {
    const dir = mkdtempSync(join(tmpdir(), 'kf-bench-scan-'));
    try {
      const t0 = performance.now();
      writeBenchTree(join(dir, 'data'), files);
      const genMs = performance.now() - t0;
      const child = spawnSync(
        process.execPath,
        [self, 'scan-once', join(dir, 'data'), join(dir, 'ws'), mode],
        {
          encoding: 'utf8',
          maxBuffer: 1 << 20,
        },
      );
      if (child.status !== 0) throw new Error(`scan child failed: ${child.stderr}`);
      const r = JSON.parse(child.stdout) as {
        files: number;
        garments: number;
        ms: number;
        threads: number;
        peakRssMB: number;
      };
      const filesPerSecond = Math.round(r.files / (r.ms / 1000));
      if (mode === 'inline') inlineRate = filesPerSecond;
      emit({
        bench: 'scan',
        mode,
        files: r.files,
        garments: r.garments,
        seconds: +(r.ms / 1000).toFixed(3),
        filesPerSecond,
        peakRssMB: Math.round(r.peakRssMB),
        target: TARGET_FILES_PER_SECOND,
        meetsTarget: filesPerSecond >= TARGET_FILES_PER_SECOND,
        threads: r.threads,
        ...(mode === 'workers' && inlineRate ? { vsInline: +(filesPerSecond / inlineRate).toFixed(2) } : {}),
        note: `tree generated in ${(genMs / 1000).toFixed(1)} s (not timed); scan = read + parse + match images + SQLite + split + vocabulary`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
