/**
 * `npm run bench -- <name>`: benchmarks of the heavy paths, printed as JSON lines (PERFORMANCE.md).
 * Bundled to dist/bench-cli.js like the CLI.
 */
import { isMainThread, workerData } from 'node:worker_threads';
import { apiFuzz } from './api-fuzz.ts';
import { embedBench } from './embed-bench.ts';
import { labelFuzz } from './label-fuzz.ts';
import { qualityBench } from './quality-bench.ts';
import { scaleBench, scaleSearchChild, scaleTrainChild, scaleValidateChild } from './scale-bench.ts';
import { type FloorMode, floorOnce, floorWorker, scanBench, scanOnce, writeBenchTree } from './scan-bench.ts';
import { searchBench } from './search-bench.ts';
import { serveBench } from './serve-bench.ts';
import { trainBench } from './train-bench.ts';
import { tuneBench } from './tune-bench.ts';

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  scan: scanBench,
  train: trainBench,
  embed: embedBench,
  search: searchBench,
  serve: serveBench,
  quality: qualityBench,
  scale: scaleBench,
  tune: tuneBench,
};

const [name, ...args] = process.argv.slice(2);
if (!isMainThread && workerData?.scanFloorWorker) {
  // The scan floor's worker threads run this bundle too (Note: scan floor).
  floorWorker();
} else if (name === 'scan-once') {
  await scanOnce(args[0]!, args[1]!, args[2] ?? 'workers');
} else if (name === 'scan-tree') {
  // A bench tree kept on disk, for profiling one scan by hand (`scan-once DATA WS`).
  writeBenchTree(args[0]!, Number(args[1] ?? 10_000));
} else if (name === 'scan-floor') {
  await floorOnce(args[0]!, args[1] as FloorMode);
} else if (name === 'fuzz' && args[0] === 'labels') {
  // `npm run fuzz -- labels [--files N]`: the fuzz runs share the benchmarks' bundle.
  await labelFuzz(args.slice(1));
} else if (name === 'scale-train') {
  await scaleTrainChild(args[0]!, Number(args[1]));
} else if (name === 'scale-validate') {
  await scaleValidateChild(args[0]!, Number(args[1]));
} else if (name === 'scale-search') {
  await scaleSearchChild(args[0]!);
} else if (name === 'fuzz' && args[0] === 'api') {
  // `npm run fuzz -- api [--requests N]`: hostile requests to the real `web` and `serve`.
  await apiFuzz(args.slice(1));
} else if (name && BENCHES[name]) {
  await BENCHES[name](args);
} else {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]`);
  console.error(
    '       npm run fuzz -- labels [--files N] [--seed S]   hostile label files through the real CLI scan (default N = 10000)',
  );
  console.error(
    '       npm run fuzz -- api [--requests N] [--seed S] [--concurrency C] [--quiet-every N] [--trim] [--servers web,serve]   hostile requests to the real web and serve (default N = 10000); memory judged at quiet points (jobs ended; --trim: after malloc_trim through gdb)',
  );
  console.error(
    '  scan [--files N] [--rounds R]   parse + store N and 3N generated label files (default N = 10000), beside the read + JSON.parse floor on all cores, R interleaved rounds (default 3)',
  );
  console.error(
    '  scan-tree DIR [N]; scan-once DIR WORKSPACE [workers|inline]   keep a bench tree, then time one scan of it (one JSON line: files, CPU, writer CPU, peak RSS and heap)',
  );
  console.error(
    '  train [--steps N] [--warmup N] [--batch 64,256] [--backend B] [--no-reference] [--only interleaved]   JSON encoder training step vs PyTorch (--only interleaved: just the ONNX Runtime engine, PyTorch and the tfjs model in alternating rounds)',
    '  train --memory-epochs 100 [--epoch-items 2048] [--batch 64]   RSS, heap and tfjs tensors at epochs 1 and N of a long run, both engines (node --expose-gc for exact heap figures)',
  );
  console.error(
    '  embed [--model vit|tiny] [--threads N] [--batches 1,8,32] [--items val|all] [--repeat N] [--breakdown] [--cold-only] [--spin-check]   image-embedding pipeline vs bare ONNX Runtime (--breakdown: ms per stage of a cold crop beside bare ORT CPU per image; --cold-only: cold crops only, at the first batch size, both schedules; --spin-check: bare ORT with vs without spinning threads)',
  );
  console.error(
    '  search [--sizes 10000,100000,1000000] [--k 10] [--batch 100] [--rounds 3] [--scan both|int8|float32] [--thread worker|main] [--js] [--no-reference] [--ann-sizes 1000000] [--ann-ef 32,64,128] [--ann-cache DIR] [--no-ann]   exact cosine top-k latency and queries/s vs PyTorch in alternating rounds (int8 scan and float32 MatMul); ANN (HNSW) p50 and recall@10 beside it on clustered and uniform vectors',
  );
  console.error(
    '  serve [--products 10000] [--duration 10] [--connections 10] [--upload-connections N] [--encoder vit|standin] [--log-keep-rows N] [--log-keep-days N]   customer_input requests/s and p50/p99 over HTTP, database growth per 100k requests',
  );
  console.error(
    '  quality [--seeds 7,11,23] [--scale seed|small] [--no-reference] [--augmentation]   default training vs the earlier settings in PyTorch (and vs each JSON augmentation)',
  );
  console.error(
    '  scale [--items 1200000] [--train-steps 300] [--val-sample 24000] [--dir DIR] [--keep]   the whole pipeline at K-Fashion size on generated labels + vectors: times, peak RSS per phase',
    '  tune [--trials N] [--scale small|seed]   trials per minute of a quick-preset study, locally and with two local queue workers (Redis), and the tuning overhead per trial',
  );
  process.exitCode = 2;
}
