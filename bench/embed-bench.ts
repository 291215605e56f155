/**
 * `npm run bench -- embed [--model vit|tiny] [--threads N] [--batches 1,8,32] [--items val|all]
 * [--repeat N] [--breakdown] [--cold-only] [--spin-check]`: image-embedding throughput of bare ONNX Runtime against the whole `kfashion embed`
 * pipeline (read, crop, preprocess, infer, store) on the synthetic demo dataset, at each batch size. Target (PERFORMANCE.md): the
 * pipeline at ≥ 95 % of bare ONNX Runtime's throughput at its best batch size with cached crops (cut
 * and already at the model's input size), ≥ 90 % with cold crops (cut, resized and cached in the run).
 *
 * No real FashionCLIP weights can be downloaded here, so `--model vit` (the default) generates a graph
 * with CLIP ViT-B/32's shape: 32×32 patch embedding, 12 pre-LN blocks of 12-head attention and a
 * QuickGELU MLP (768 → 3072 → 768), final LN and a 768 → 512 projection. Its FLOPs are those of
 * ViT-B/32 (≈ 8.7 GFLOP per image; it has 49 patch tokens and no class token, ≈ 2 % fewer); its
 * weights are random and shared by the 12 blocks, which keeps the file at ≈ 40 MB and changes nothing
 * in the arithmetic. `--model tiny` uses the test model (no real compute: it measures the pipeline's
 * own overhead only). `--breakdown` instead times each stage of the cold path alone beside bare ORT's
 * CPU per image (embed-breakdown.ts), at the first `--batches` size; `--cold-only` runs only cold sandwiches at
 * that size, alternating the pipeline's schedule with cold batches prepared between inferences. `--spin-check`: bare ORT with and without spinning threads
 * (embed-spin.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDemoDataset } from '../src-main/dataset/synthetic/generate-demo.ts';
import { embedImages } from '../src-main/encoders/embed-images.ts';
import { INPUT_CACHE_DIR } from '../src-main/encoders/image-encoder/input-pixel-cache.ts';
import { openImageEncoder } from '../src-main/encoders/image-encoder/open-encoder.ts';
import { preprocessImage } from '../src-main/encoders/image-encoder/preprocess.ts';
import { type NodeSpec, onnxModel, type TensorSpec } from '../src-main/encoders/onnx-model-writer.ts';
import { Workbench } from '../src-main/services/workbench.ts';
import { EmbeddingStore } from '../src-main/store/embedding-store.ts';
import { CLIP_PREPROCESSOR_CONFIG, writeTinyClip } from '../test/helpers/tiny-clip-onnx.ts';
import { embedBreakdown } from './embed-breakdown.ts';
import { embedSpinCheck } from './embed-spin.ts';
import { emit } from './machine.ts';

/** Cached crops (already at the model's input size) against bare ORT, and cold crops (cut and resized in the run). */
const TARGET_RATIO = 0.95;
const COLD_TARGET_RATIO = 0.9;

function arg(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

function randn(n: number, scale: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = (a / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/** A graph with CLIP ViT-B/32's shape and FLOPs (see the header comment). */
export function vitB32ShapedModel(): Uint8Array {
  const D = 768;
  const H = 12;
  const T = 49;
  const init: TensorSpec[] = [];
  const f = (name: string, dims: number[], scale: number, seed: number) =>
    init.push({
      name,
      dims,
      data: randn(
        dims.reduce((a, b) => a * b, 1),
        scale,
        seed,
      ),
    });
  const ones = (name: string, n: number) => init.push({ name, dims: [n], data: new Float32Array(n).fill(1) });
  const zeros = (name: string, n: number) => init.push({ name, dims: [n], data: new Float32Array(n) });
  const i64 = (name: string, values: number[], dims = [values.length]) =>
    init.push({ name, dims, data: BigInt64Array.from(values.map(BigInt)) });
  f('patch_w', [D, 3, 32, 32], 0.02, 1);
  f('pos', [T, D], 0.02, 2);
  f('w_qkv', [D, 3 * D], 0.02, 3);
  zeros('b_qkv', 3 * D);
  f('w_o', [D, D], 0.02, 4);
  zeros('b_o', D);
  f('w_1', [D, 4 * D], 0.02, 5);
  zeros('b_1', 4 * D);
  f('w_2', [4 * D, D], 0.02, 6);
  zeros('b_2', D);
  ones('ln_s', D);
  zeros('ln_b', D);
  f('proj', [D, 512], 0.02, 7);
  init.push({ name: 'scale', dims: [], data: new Float32Array([1 / Math.sqrt(D / H)]) });
  init.push({ name: 'gelu_k', dims: [], data: new Float32Array([1.702]) });
  i64('shape_tokens', [0, D, T]);
  i64('shape_qkv', [0, 0, 3, H, D / H]);
  i64('shape_merge', [0, 0, D]);
  i64('split3', [1, 1, 1]);
  i64('axis0', [0]);
  i64('cls_index', [0], []);

  const nodes: NodeSpec[] = [
    {
      op: 'Conv',
      inputs: ['pixel_values', 'patch_w'],
      outputs: ['patches'],
      attrs: { strides: [32, 32], kernel_shape: [32, 32] },
    },
    { op: 'Reshape', inputs: ['patches', 'shape_tokens'], outputs: ['tokens_cf'] },
    { op: 'Transpose', inputs: ['tokens_cf'], outputs: ['tokens'], attrs: { perm: [0, 2, 1] } },
    { op: 'Add', inputs: ['tokens', 'pos'], outputs: ['x0'] },
  ];
  const ln = (x: string, y: string) =>
    nodes.push({ op: 'LayerNormalization', inputs: [x, 'ln_s', 'ln_b'], outputs: [y], attrs: { axis: -1 } });
  let x = 'x0';
  for (let l = 0; l < 12; l++) {
    const p = (s: string) => `l${l}_${s}`;
    ln(x, p('h'));
    nodes.push(
      { op: 'MatMul', inputs: [p('h'), 'w_qkv'], outputs: [p('qkv0')] },
      { op: 'Add', inputs: [p('qkv0'), 'b_qkv'], outputs: [p('qkv1')] },
      { op: 'Reshape', inputs: [p('qkv1'), 'shape_qkv'], outputs: [p('qkv2')] },
      { op: 'Transpose', inputs: [p('qkv2')], outputs: [p('qkv3')], attrs: { perm: [2, 0, 3, 1, 4] } },
      {
        op: 'Split',
        inputs: [p('qkv3'), 'split3'],
        outputs: [p('q0'), p('k0'), p('v0')],
        attrs: { axis: 0 },
      },
      { op: 'Squeeze', inputs: [p('q0'), 'axis0'], outputs: [p('q')] },
      { op: 'Squeeze', inputs: [p('k0'), 'axis0'], outputs: [p('k')] },
      { op: 'Squeeze', inputs: [p('v0'), 'axis0'], outputs: [p('v')] },
      { op: 'Transpose', inputs: [p('k')], outputs: [p('kt')], attrs: { perm: [0, 1, 3, 2] } },
      { op: 'MatMul', inputs: [p('q'), p('kt')], outputs: [p('s0')] },
      { op: 'Mul', inputs: [p('s0'), 'scale'], outputs: [p('s1')] },
      { op: 'Softmax', inputs: [p('s1')], outputs: [p('a')], attrs: { axis: -1 } },
      { op: 'MatMul', inputs: [p('a'), p('v')], outputs: [p('o0')] },
      { op: 'Transpose', inputs: [p('o0')], outputs: [p('o1')], attrs: { perm: [0, 2, 1, 3] } },
      { op: 'Reshape', inputs: [p('o1'), 'shape_merge'], outputs: [p('o2')] },
      { op: 'MatMul', inputs: [p('o2'), 'w_o'], outputs: [p('o3')] },
      { op: 'Add', inputs: [p('o3'), 'b_o'], outputs: [p('o4')] },
      { op: 'Add', inputs: [x, p('o4')], outputs: [p('r1')] },
    );
    ln(p('r1'), p('h2'));
    nodes.push(
      { op: 'MatMul', inputs: [p('h2'), 'w_1'], outputs: [p('m0')] },
      { op: 'Add', inputs: [p('m0'), 'b_1'], outputs: [p('m1')] },
      // CLIP's QuickGELU: x · sigmoid(1.702 x)
      { op: 'Mul', inputs: [p('m1'), 'gelu_k'], outputs: [p('g0')] },
      { op: 'Sigmoid', inputs: [p('g0')], outputs: [p('g1')] },
      { op: 'Mul', inputs: [p('m1'), p('g1')], outputs: [p('m2')] },
      { op: 'MatMul', inputs: [p('m2'), 'w_2'], outputs: [p('m3')] },
      { op: 'Add', inputs: [p('m3'), 'b_2'], outputs: [p('m4')] },
      { op: 'Add', inputs: [p('r1'), p('m4')], outputs: [p('x')] },
    );
    x = p('x');
  }
  ln(x, 'final');
  nodes.push(
    { op: 'Gather', inputs: ['final', 'cls_index'], outputs: ['pooled'], attrs: { axis: 1 } },
    { op: 'MatMul', inputs: ['pooled', 'proj'], outputs: ['image_embeds'] },
  );
  return onnxModel({
    opset: 17,
    inputs: [{ name: 'pixel_values', type: 'float', dims: ['batch_size', 3, 224, 224] }],
    outputs: [{ name: 'image_embeds', type: 'float', dims: ['batch_size', 512] }],
    nodes,
    initializers: init,
  });
}

export async function embedBench(args: string[]): Promise<void> {
  const modelKind = arg(args, '--model') ?? 'vit';
  const threads = Number(arg(args, '--threads') ?? availableParallelism());
  const batches = (arg(args, '--batches') ?? '1,8,32').split(',').map(Number);
  // The validation garments of the demo (65) keep a ViT-sized run to minutes; `--items all` uses 363.
  const repeat = Math.max(1, Number(arg(args, '--repeat') ?? 2));
  const items = arg(args, '--items') ?? (modelKind === 'tiny' ? 'all' : 'val');
  const filter = items === 'val' ? { split: 'val' as const } : {};
  if (args.includes('--spin-check')) {
    // Bare ORT with and without spinning threads, alternating (embed-spin.ts), then stop.
    await embedSpinCheck(vitB32ShapedModel(), threads, batches[0]!, Math.max(3, repeat));
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'kf-embed-bench-'));
  try {
    const modelDir = join(root, 'model');
    if (modelKind === 'tiny') writeTinyClip(modelDir);
    else {
      mkdirSync(modelDir, { recursive: true });
      writeFileSync(join(modelDir, 'vision_model.onnx'), vitB32ShapedModel());
      writeFileSync(join(modelDir, 'preprocessor_config.json'), JSON.stringify(CLIP_PREPROCESSOR_CONFIG));
    }
    const modelName = modelKind === 'tiny' ? 'tiny test model (no real compute)' : 'ViT-B/32-shaped graph';
    const { encoder, origin } = await openImageEncoder({ modelPath: modelDir, model: 'bench', threads });
    try {
      // Bare ONNX Runtime on the same kind of input (real preprocessed crops, prepared beforehand):
      // no reading, cropping, preprocessing or storing, for ≥ 3 s.
      let crops = new Float32Array(0);
      const measureBare = async (b: number): Promise<number> => {
        const floats = 3 * 224 * 224;
        const have = crops.length / floats;
        const px = new Float32Array(b * floats);
        for (let i = 0; i < b; i++) {
          const k = i % have;
          px.set(crops.subarray(k * floats, (k + 1) * floats), i * floats);
        }
        await encoder.embed(px);
        let images = 0;
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        while (images < Math.max(16, 2 * b) || performance.now() - t0 < 3000) {
          await encoder.embed(px);
          images += b;
        }
        lastCpuMsPerImage = cpuMs(process.cpuUsage(cpu0)) / images;
        return images / ((performance.now() - t0) / 1000);
      };
      // CPU time of the whole process (every thread: ORT's, libuv's, this one) per image of the last
      // run: the pipeline's excess over bare ORT is what decoding, copying and storing cost the model
      // on a machine whose cores it needs, and unlike throughput it hardly moves with the neighbours' load.
      let lastCpuMsPerImage = 0;
      // The whole pipeline on the demo dataset (800×1200 JPEGs, several garments each).
      const data = join(root, 'demo');
      await generateDemoDataset({ outDir: data, seed: 7, scale: 'small' });
      const wb = Workbench.open(join(root, 'ws'));
      try {
        await wb.scan({ data });
        const store = new EmbeddingStore(wb.workspace.db);
        // 'cached': crops cut and kept at the model's input size; 'cached-jpeg': crops cut, but decoded
        // and resized again (no input cache: how every run worked before it); 'cold': nothing cached.
        type Mode = 'cold' | 'cold-between' | 'cached' | 'cached-jpeg';
        const pipeline = async (b: number, crops: Mode) => {
          store.remove('bench');
          if (crops === 'cold' || crops === 'cold-between') {
            // Cold: every crop is cut again and brought to the model's input size again.
            wb.workspace.db.exec('DELETE FROM crops');
            rmSync(join(wb.workspace.root, INPUT_CACHE_DIR), { recursive: true, force: true });
          }
          const cpu0 = process.cpuUsage();
          const summary = await embedImages(wb.workspace, encoder, origin, {
            batch: b,
            filter,
            inputCache: crops !== 'cached-jpeg',
            // The other schedule (cold batches prepared between inferences), for comparison.
            coldBatchesBetweenInferences: crops === 'cold-between',
          });
          lastCpuMsPerImage = cpuMs(process.cpuUsage(cpu0)) / Math.max(1, summary.embedded);
          return summary;
        };
        /** `runs` sandwiches of bare, pipeline, bare at batch `b`; medians of the rates and ratios. */
        const sandwiches = async (b: number, mode: Mode, runs: number) => {
          const bares: number[] = [];
          const pipes: number[] = [];
          const ratios: number[] = [];
          const bareCpu: number[] = [];
          const pipeCpu: number[] = [];
          let images = 0;
          for (let r = 0; r < runs; r++) {
            const before = await measureBare(b);
            const beforeCpu = lastCpuMsPerImage;
            const s = await pipeline(b, mode);
            pipeCpu.push(lastCpuMsPerImage);
            const after = await measureBare(b);
            bareCpu.push((beforeCpu + lastCpuMsPerImage) / 2);
            bares.push((before + after) / 2);
            pipes.push(s.imgPerSec);
            ratios.push(s.imgPerSec / ((before + after) / 2));
            images = s.embedded;
          }
          return {
            b,
            images,
            bares,
            pipes,
            ratios,
            bare: median(bares),
            pipe: median(pipes),
            // The ratio is taken per sandwich, then the median: load shifts between sandwiches cancel.
            ratio: median(ratios),
            bareCpuMsPerImage: median(bareCpu),
            pipeCpuMsPerImage: median(pipeCpu),
          };
        };
        // Machines here are shared: each pipeline run is sandwiched between two bare runs at the same
        // batch size, and compared with their mean, so a neighbour's load hits both sides alike.
        await pipeline(batches[0]!, 'cold'); // cuts the crops once; reported below as the cold figure
        if (args.includes('--breakdown')) {
          // Only the cold path's stages beside bare ORT (embed-breakdown.ts), then stop.
          await embedBreakdown(wb.workspace, encoder, filter, batches[0]!, repeat);
          return;
        }
        const paths = wb.workspace.db
          .prepare('SELECT path FROM crops ORDER BY item_id LIMIT 32')
          .pluck()
          .all() as string[];
        crops = new Float32Array(paths.length * 3 * 224 * 224);
        for (const [i, p] of paths.entries()) {
          await preprocessImage(join(wb.workspace.root, p), encoder.preprocess, {
            out: crops,
            offset: i * 3 * 224 * 224,
          });
        }
        /** One pipeline line: a `sandwiches` result for `crops` at `batch`, beside its bare runs. */
        const emitPipeline = (crops: string, batch: number, r: Awaited<ReturnType<typeof sandwiches>>) =>
          emit({
            bench: 'embed',
            kind: 'pipeline',
            crops,
            model: modelName,
            device: 'cpu',
            threads,
            batch,
            images: r.images,
            imgPerSec: round(r.pipe),
            runs: r.pipes,
            ratioToBareSameBatch: round(r.ratio, 3),
            ratioRuns: r.ratios.map((v) => round(v, 3)),
            cpuMsPerImage: round(r.pipeCpuMsPerImage),
            bareCpuMsPerImage: round(r.bareCpuMsPerImage),
          });
        if (args.includes('--cold-only')) {
          // Only cold crops at the first `--batches` size: the product's schedule and the other one
          // (cold batches prepared between inferences) in alternating sandwiches, `--repeat` of each.
          const runs: Record<'cold' | 'cold-between', Awaited<ReturnType<typeof sandwiches>>[]> = {
            cold: [],
            'cold-between': [],
          };
          for (let r = 0; r < repeat; r++) {
            for (const mode of r % 2
              ? (['cold-between', 'cold'] as const)
              : (['cold', 'cold-between'] as const))
              runs[mode].push(await sandwiches(batches[0]!, mode, 1));
          }
          for (const [mode, rs] of Object.entries(runs)) {
            emit({
              bench: 'embed',
              kind: 'pipeline',
              crops: mode,
              model: modelName,
              device: 'cpu',
              threads,
              batch: batches[0],
              images: rs[0]!.images,
              imgPerSec: round(median(rs.map((x) => x.pipe))),
              bareImgPerSec: round(median(rs.map((x) => x.bare))),
              ratioToBareSameBatch: round(median(rs.map((x) => x.ratio)), 3),
              ratioRuns: rs.map((x) => round(x.ratio, 3)),
              cpuMsPerImage: round(median(rs.map((x) => x.pipeCpuMsPerImage))),
              bareCpuMsPerImage: round(median(rs.map((x) => x.bareCpuMsPerImage))),
            });
          }
          return;
        }
        const rows: Awaited<ReturnType<typeof sandwiches>>[] = [];
        for (const b of batches) {
          // `--repeat` sandwiches per batch size; the medians are reported.
          const row = await sandwiches(b, 'cached', repeat);
          const { bare, bares } = row;
          rows.push(row);
          emit({
            bench: 'embed',
            kind: 'bare-ort',
            model: modelName,
            device: 'cpu',
            threads,
            batch: b,
            imgPerSec: round(bare),
            runs: bares.map((v) => round(v)),
            cpuMsPerImage: round(row.bareCpuMsPerImage),
          });
          emitPipeline('cached', b, row);
        }
        const best = rows.reduce((a, r) => (r.bare > a.bare ? r : a));
        const bestPipe = rows.reduce((a, r) => (r.pipe > a.pipe ? r : a));
        // Cold crops, and crops cached only as JPEGs (no input cache, as before it existed), at the best
        // batch size, sandwiched between bare runs like the cached ones.
        const others: Record<'cold' | 'cached-jpeg', Awaited<ReturnType<typeof sandwiches>>> = {
          cold: await sandwiches(best.b, 'cold', repeat),
          'cached-jpeg': await sandwiches(best.b, 'cached-jpeg', repeat),
        };
        for (const [mode, r] of Object.entries(others)) emitPipeline(mode, best.b, r);
        const coldRatio = others.cold.ratio;
        // Pipeline vs bare ORT at the batch size where bare ORT is fastest, from the same sandwiches.
        const ratio = best.ratio;
        emit({
          bench: 'embed',
          kind: 'summary',
          model: modelName,
          threads,
          bestBareBatch: best.b,
          bestBareImgPerSec: round(best.bare),
          pipelineAtThatBatchImgPerSec: round(best.pipe),
          ratioToBestBare: round(ratio, 3),
          bestPipelineBatch: bestPipe.b,
          bestPipelineImgPerSec: round(bestPipe.pipe),
          coldRatioToBestBare: round(coldRatio, 3),
          cachedJpegRatioToBestBare: round(others['cached-jpeg'].ratio, 3),
          target: TARGET_RATIO,
          coldTarget: COLD_TARGET_RATIO,
          meetsTarget: ratio >= TARGET_RATIO && coldRatio >= COLD_TARGET_RATIO,
        });
      } finally {
        wb.close();
      }
    } finally {
      await encoder.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function cpuMs(u: NodeJS.CpuUsage): number {
  return (u.user + u.system) / 1000;
}

function round(v: number, digits = 1): number {
  const k = 10 ** digits;
  return Math.round(v * k) / k;
}
