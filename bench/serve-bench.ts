/**
 * `npm run bench -- serve [--products N] [--duration S] [--connections C] [--upload-connections C]
 * [--encoder vit|standin]`: requests/s and latency (p50, p99) of POST /api/recommend/customer_input
 * against a catalog of N new products (default 10,000), by product id and by image upload, measured
 * with autocannon against the real `kfashion serve` in a child process (so the load generator does not
 * share the server's event loop).
 *
 * The catalog goes through the real import (`catalog.json` + an .npy of vectors): 10,000 products
 * share 24 generated pictures (stored once each, content-hashed) and get random unit vectors, since
 * embedding 10,000 pictures would only measure the encoder. An upload is embedded for real by the
 * workspace encoder: `--encoder vit` (default) a generated graph with CLIP ViT-B/32's shape and FLOPs
 * (bench/embed-bench.ts; random weights, so the matches mean nothing), `--encoder standin` the demo's
 * SYNTHETIC stand-in (almost no compute: the server's own overhead).
 *
 * Database growth: the workspace file is measured before the server starts and after it stopped (its
 * WAL checkpointed on close), and the growth is reported per 100,000 logged requests, in file bytes
 * and in bytes of used pages, with how many raw log rows and daily aggregate rows the log holds.
 * `--log-keep-rows N` / `--log-keep-days N` are passed to `kfashion serve`, so a short run can show
 * retention at work (rows past the cap rolled up, freed pages reused instead of the file growing).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import sharp from 'sharp';
import { Rng } from '../src-main/dataset/rng.ts';
import {
  DEMO_STANDIN_MODEL,
  demoStandinDir,
  ensureDemoStandinFiles,
} from '../src-main/encoders/image-encoder/demo-standin.ts';
import { setWorkspaceEncoder } from '../src-main/encoders/image-encoder/workspace-encoder.ts';
import { Workbench } from '../src-main/services/workbench.ts';
import { openDatabase } from '../src-main/store/database.ts';
import { writeNpySync } from '../src-main/store/npy.ts';
import { CLIP_PREPROCESSOR_CONFIG } from '../test/helpers/tiny-clip-onnx.ts';
import { vitB32ShapedModel } from './embed-bench.ts';
import { emit } from './machine.ts';

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const STYLES = ['레트로', '로맨틱', '리조트'];
const CATEGORIES = ['블라우스', '스커트', '재킷', '드레스', '팬츠', '니트웨어', '코트', '셔츠'];
const PICTURES = 24;

async function writeCatalogFolder(
  dir: string,
  n: number,
  model: string,
): Promise<{ npy: string; ids: string }> {
  mkdirSync(dir, { recursive: true });
  const rng = Rng.derive('serve-bench', n);
  for (let i = 0; i < PICTURES; i++) {
    const bg = { r: rng.int(0, 255), g: rng.int(0, 255), b: rng.int(0, 255) };
    await sharp({
      create: {
        width: 256,
        height: 320,
        channels: 3,
        background: bg,
        noise: { type: 'gaussian', mean: 128, sigma: 30 },
      },
    })
      .jpeg({ quality: 85 })
      .toFile(join(dir, `picture-${i}.jpg`));
  }
  const ids = Array.from({ length: n }, (_, i) => `p-${String(i).padStart(6, '0')}`);
  const products = ids.map((id, i) => ({
    file: `picture-${i % PICTURES}.jpg`,
    id,
    name: `Bench product ${i}`,
    style: STYLES[i % STYLES.length],
    category: CATEGORIES[i % CATEGORIES.length],
  }));
  writeFileSync(join(dir, 'catalog.json'), JSON.stringify({ synthetic: true, products }));
  const npy = join(dir, '..', `vectors-${model}.npy`);
  const idsFile = join(dir, '..', `vectors-${model}.json`);
  writeNpySync(npy, rng.unitRows(n, 512), [n, 512]);
  writeFileSync(idsFile, JSON.stringify(ids));
  return { npy, ids: idsFile };
}

function multipartBody(field: string, file: Buffer, name: string): { body: Buffer; type: string } {
  const boundary = '----kfashion-bench-boundary';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${name}"\r\nContent-Type: image/jpeg\r\n\r\n`,
  );
  const tail = Buffer.from(
    `\r\n--${boundary}\r\nContent-Disposition: form-data; name="k"\r\n\r\n10\r\n--${boundary}--\r\n`,
  );
  return { body: Buffer.concat([head, file, tail]), type: `multipart/form-data; boundary=${boundary}` };
}

async function startServer(
  workspace: string,
  extraArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const bin = join(import.meta.dirname, '..', 'bin', 'kfashion.js');
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--workspace', workspace, '--port', '0', ...extraArgs],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr!.setEncoding('utf8');
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (c: string) => {
      err += c;
      const m = /at (http:\/\/[^ ]+) \(/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`kfashion serve exited with ${code}: ${err}`)));
  });
  return { child, url };
}

interface DbSize {
  fileBytes: number;
  usedBytes: number;
  logRows: number;
  dailyRows: number;
  latencyRows: number;
  loggedCalls: number;
}

/** The workspace database's size and log rows (read-only; no server may hold it open for writing). */
function dbSize(wsDir: string): DbSize {
  const file = join(wsDir, 'workspace.db');
  const db = openDatabase(file, { readonly: true });
  try {
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    const size = db.pragma('page_size', { simple: true }) as number;
    const one = (sql: string) => db.prepare(sql).pluck().get() as number;
    const wal = existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0;
    return {
      fileBytes: statSync(file).size + wal,
      usedBytes: (pages - free) * size,
      logRows: one('SELECT COUNT(*) FROM recommendation_log'),
      dailyRows: one('SELECT COUNT(*) FROM recommendation_log_daily'),
      latencyRows: one('SELECT COUNT(*) FROM recommendation_latency_daily'),
      loggedCalls:
        one('SELECT COUNT(*) FROM recommendation_log') +
        one('SELECT COALESCE(SUM(calls), 0) FROM recommendation_log_daily'),
    };
  } finally {
    db.close();
  }
}

function stopServer(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function run(opts: autocannon.Options): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon(opts, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

export async function serveBench(args: string[]): Promise<void> {
  const n = Number(arg(args, '--products') ?? 10_000);
  const duration = Number(arg(args, '--duration') ?? 10);
  const connections = Number(arg(args, '--connections') ?? 10);
  const uploadConnections = Number(arg(args, '--upload-connections') ?? availableParallelism());
  const encoderKind = arg(args, '--encoder') ?? 'vit';
  const retentionArgs = (['--log-keep-rows', '--log-keep-days'] as const).flatMap((f) =>
    arg(args, f) !== undefined ? [f, arg(args, f)!] : [],
  );
  if (encoderKind !== 'vit' && encoderKind !== 'standin') throw new Error('--encoder expects vit or standin');
  const root = mkdtempSync(join(tmpdir(), 'kf-serve-bench-'));
  let server: { child: ChildProcess; url: string } | null = null;
  try {
    const wsDir = join(root, 'ws');
    const wb = Workbench.open(wsDir);
    let model: string;
    let encoderName: string;
    if (encoderKind === 'vit') {
      const modelDir = join(root, 'vit');
      mkdirSync(modelDir, { recursive: true });
      writeFileSync(join(modelDir, 'vision_model.onnx'), vitB32ShapedModel());
      writeFileSync(join(modelDir, 'preprocessor_config.json'), JSON.stringify(CLIP_PREPROCESSOR_CONFIG));
      model = 'bench-vit-b32-shaped';
      setWorkspaceEncoder(wb.workspace, { modelPath: modelDir, model }, model);
      encoderName = 'ViT-B/32-shaped graph (random weights, real FLOPs)';
    } else {
      ensureDemoStandinFiles(demoStandinDir(wsDir));
      model = DEMO_STANDIN_MODEL;
      setWorkspaceEncoder(wb.workspace, { modelPath: demoStandinDir(wsDir), model }, model);
      encoderName = 'demo-standin (SYNTHETIC stand-in, ~no compute)';
    }
    const catalogDir = join(root, 'catalog-src');
    const vectors = await writeCatalogFolder(catalogDir, n, model);
    const t0 = performance.now();
    const rep = await wb.catalogImport(catalogDir, { embeddings: { ...vectors, model } });
    const importMs = performance.now() - t0;
    const t1 = performance.now();
    const again = await wb.catalogImport(catalogDir, { embeddings: { ...vectors, model } });
    const reimportMs = performance.now() - t1;
    await wb.closeAsync();
    emit({
      bench: 'serve',
      case: 'catalog import (catalog.json + .npy vectors)',
      products: n,
      added: rep.added.length,
      importedVectors: rep.importedVectors,
      importMs: Math.round(importMs),
      reimportMs: Math.round(reimportMs),
      reimportChanged: again.added.length + again.updated.length + again.importedVectors,
    });

    const sizeBefore = dbSize(wsDir);
    server = await startServer(wsDir, retentionArgs);
    const url = server.url;
    const rng = Rng.derive('serve-bench-queries', 1);
    const byId = (): string =>
      JSON.stringify({ product_id: `p-${String(rng.int(0, n - 1)).padStart(6, '0')}`, k: 10 });
    const upload = multipartBody('image', readFileSync(join(catalogDir, 'picture-3.jpg')), 'photo.jpg');

    // Warm-up: the first calls open the encoder and build the index.
    for (let i = 0; i < 3; i++) {
      const a = await fetch(`${url}/api/recommend/customer_input`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: byId(),
      });
      if (a.status !== 200) throw new Error(`warm-up by id: ${a.status} ${await a.text()}`);
      const b = await fetch(`${url}/api/recommend/customer_input`, {
        method: 'POST',
        headers: { 'content-type': upload.type },
        body: upload.body,
      });
      if (b.status !== 200) throw new Error(`warm-up upload: ${b.status} ${await b.text()}`);
    }

    const cases: { name: string; opts: autocannon.Options }[] = [
      {
        name: 'customer_input by product id (JSON)',
        opts: {
          url: `${url}/api/recommend/customer_input`,
          method: 'POST',
          connections,
          duration,
          headers: { 'content-type': 'application/json' },
          requests: [{ setupRequest: (req) => ({ ...req, body: byId() }) }],
        },
      },
      {
        name: `customer_input by image upload (multipart, ${Math.round(upload.body.length / 1024)} KB JPEG)`,
        opts: {
          url: `${url}/api/recommend/customer_input`,
          method: 'POST',
          connections: uploadConnections,
          duration,
          headers: { 'content-type': upload.type },
          body: upload.body,
        },
      },
    ];
    for (const c of cases) {
      const r = await run(c.opts);
      emit({
        bench: 'serve',
        case: c.name,
        products: n,
        encoder: encoderName,
        connections: c.opts.connections,
        durationS: r.duration,
        requests: r.requests.total,
        rps: Math.round(r.requests.average * 10) / 10,
        latencyMs: {
          p50: r.latency.p50,
          p99: r.latency.p99,
          mean: Math.round(r.latency.average * 10) / 10,
          max: r.latency.max,
        },
        non2xx: r.non2xx,
        errors: r.errors,
        timeouts: r.timeouts,
      });
    }
    const kpi = (await (await fetch(`${url}/api/kpi`)).json()) as {
      count: number;
      latencyMs: Record<string, number>;
    };
    emit({
      bench: 'serve',
      case: 'server-side latency of all logged calls (GET /api/kpi)',
      calls: kpi.count,
      latencyMs: kpi.latencyMs,
      note: 'In-handler time (embed + search + log), without HTTP parsing; both cases together.',
    });
    await stopServer(server.child);
    server = null;
    const after = dbSize(wsDir);
    const calls = after.loggedCalls - sizeBefore.loggedCalls;
    const per100k = (bytes: number) => (calls > 0 ? Math.round((bytes / calls) * 100_000) : null);
    const rowBytes =
      calls > 0 && after.dailyRows === 0 ? (after.usedBytes - sizeBefore.usedBytes) / calls : null;
    emit({
      bench: 'serve',
      case: 'workspace database growth from the recommendation log',
      requestsLogged: calls,
      logRetention: retentionArgs.length ? retentionArgs.join(' ') : 'defaults (30 days, 1,000,000 rows)',
      fileBytes: { before: sizeBefore.fileBytes, after: after.fileBytes },
      usedBytes: { before: sizeBefore.usedBytes, after: after.usedBytes },
      rows: { rawLog: after.logRows, dailyAggregates: after.dailyRows, latencyHistogram: after.latencyRows },
      fileBytesPer100kRequests: per100k(after.fileBytes - sizeBefore.fileBytes),
      usedBytesPer100kRequests: per100k(after.usedBytes - sizeBefore.usedBytes),
      ...(rowBytes !== null
        ? { rawRowBytes: Math.round(rowBytes), rawLogBytesAtDefaultCap: Math.round(rowBytes * 1_000_000) }
        : {}),
      note: 'Until the raw log reaches its cap every request adds a row; past it, rows are rolled into daily aggregates (a few rows per day) and freed pages are reused, so the file stops growing.',
    });
  } finally {
    if (server) await stopServer(server.child);
    rmSync(root, { recursive: true, force: true });
  }
}
