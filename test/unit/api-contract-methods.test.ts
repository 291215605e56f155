/**
 * The product's contract, method by method and event by event: a sample input and output for each
 * goes through dispatch, JSON (as over either transport) and the client, and comes back equal. The
 * sample table must cover the contract exactly, so a method added without a sample fails here.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  type ApiEvent,
  type ApiMethod,
  api,
  apiEvents,
  createClient,
  dispatch,
  type EventListener,
  type Handlers,
  parseJobResult,
  type Transport,
} from '../../src-shared/api.ts';
import { API_ERROR_CODES, type Envelope } from '../../src-shared/api-errors.ts';

const info = {
  name: 'K-Fashion Workbench',
  version: '0.1.0',
  platform: 'linux',
  workspace: '/ws/데모',
  synthetic: true,
  mode: 'browser' as const,
  canPickFolder: false,
  preparing: null,
};
const handle = { job: 'scan-1234abcd', kind: 'scan' as const };
const progress = {
  job: 'train-1',
  phase: 'epoch 1/2',
  step: 3,
  total: 10,
  elapsedMs: 120,
  etaMs: 280,
  metrics: { loss: 2.3 },
};
const epoch = {
  epoch: 1,
  step: 10,
  trainLoss: 2.1,
  valLoss: 2.2,
  lr: 1e-4,
  gradNorm: 0.5,
  top1: 0.1,
  top5: 0.4,
  mrr: 0.25,
  posSim: 0.3,
  negSim: 0.01,
  meanNorm: 1,
  epochMs: 900,
  msPerStep: 80,
  finishedAt: '2026-11-24T04:00:00.000Z',
};
const split = {
  method: 'seeded' as const,
  seed: 42,
  valRatio: 0.2,
  trainImages: 8,
  valImages: 2,
  trainItems: 12,
  valItems: 3,
  warnings: [],
};
const jobInfo = {
  job: 'scan-1',
  kind: 'scan' as const,
  workspace: '/ws',
  status: 'done' as const,
  startedAt: '2026-11-24T04:00:00.000Z',
  finishedAt: '2026-11-24T04:00:01.000Z',
  progress,
  error: null,
  result: { anything: 1 },
};

const encoderLabel = {
  model: 'demo-standin',
  kind: 'demo-standin' as const,
  synthetic: true,
  label: 'demo-standin (SYNTHETIC)',
};
const product = {
  id: 'p1',
  name: '신상품',
  style: '로맨틱',
  category: null,
  image: 'catalog/ab.jpg',
  imageUrl: '/api/files/catalog/ab.jpg',
  imageSha256: 'ab',
  width: 10,
  height: 10,
  attributes: null,
  synthetic: false,
  createdAt: '2026-11-24T04:00:00.000Z',
  embeddings: ['demo-standin'],
};
const match = {
  productId: 'p1',
  name: '신상품',
  style: '로맨틱',
  category: null,
  score: 0.5,
  imageUrl: '/x.jpg',
};
const recommendMeta = {
  runId: 'rec-1',
  timestamp: '2026-11-24T04:00:00.000Z',
  encoder: encoderLabel,
  k: 3,
  catalogSize: 1,
  latencyMs: 12,
};
const kpi = {
  timestamp: '2026-11-24T04:00:00.000Z',
  count: 2,
  errors: 0,
  byEndpoint: { customer_input: 2 },
  latencyMs: { p50: 10, p95: 20, p99: 20, mean: 12 },
  meanTop1Similarity: 0.5,
  lastEvaluation: null,
  embeddingHealth: [],
  catalog: { products: 1, withVectors: 1 },
  encoder: encoderLabel,
};
const stats = { count: 3, mean: 0.3, min: 0.1, max: 0.5, std: 0.1 };
const centralityReport = {
  kind: 'centrality',
  run_id: 'centrality-1',
  timestamp: '2026-11-24T04:00:00.000Z',
  synthetic: true,
  workspace: '/ws',
  model: 'synthetic-demo',
  items: 3,
  overall: stats,
  anchor: { ...stats, fraction: 0.1, threshold: 0.4, top: [{ id: 'a', centrality: 0.5 }] },
  per_style: { 레트로: { ...stats, anchors: 1 } },
  anchor_mean_exceeds_overall: true,
  statement: 'x',
  histogram: { edges: [0, 1], counts: [3] },
  files: { json: 'results/centrality_1.json', chart: 'results/centrality_1.png' },
};

/** [input, output] per method: realistic values, Korean text included. */
const runView = {
  id: 'train-x',
  seq: 1,
  kind: 'train',
  status: 'done' as const,
  config: { epochs: 2 },
  backend: 'wasm (1 thread)',
  startedAt: '2026-11-24T04:00:00.000Z',
  finishedAt: '2026-11-24T04:01:00.000Z',
  summary: null,
  parentId: null,
  replayOf: null,
  study: null,
  tags: ['stage-1'],
  note: '',
  folder: 'runs/train-x',
  pid: 123,
  host: 'box',
  bestEpoch: 2,
  epochsRun: 2,
  headline: {
    epoch: 2,
    valLoss: 2.1,
    top1: 0.1,
    top5: 0.4,
    mrr: 0.25,
    protocol: 'gallery, N=3 (training validation)',
  },
  current: true,
  dir: '/ws/runs/train-x',
  hasBest: true,
  hasLast: true,
  recall10: null,
};

const SAMPLES: { [K in ApiMethod]: [unknown, unknown] } = {
  'app.info': [{}, info],
  'workspace.summary': [
    {},
    {
      workspace: '/ws',
      synthetic: false,
      schemaVersion: 4,
      dataRoots: [{ path: '/data', synthetic: false }],
      images: 10,
      items: 15,
      perStyle: { 레트로: { images: 10, items: 15, trainItems: 12, valItems: 3 } },
      split: { method: 'seeded', seed: 42 },
      vocabularySizes: { category: 5 },
      crops: 0,
      lastScan: null,
      embeddings: [{ model: 'synthetic-demo', dim: 512, source: 'synthetic', count: 15 }],
    },
  ],
  'workspace.open': [{ path: 'C:/sample', create: true }, info],
  'workspace.pick': [{ create: false }, { path: 'C:/sample', openedAs: 'dataset', scan: handle, info }],
  'dataset.pick': [{}, { path: null }],
  'demo.open': [{}, { job: 'demo-1', kind: 'demo' }],
  'demo.generate': [
    { outDir: '/tmp/demo', seed: 7, scale: 'small' },
    { job: 'demo-2', kind: 'demo' },
  ],
  'dataset.scan': [{ data: 'C:/sample', styles: ['레트로', '로맨틱'], seed: 3 }, handle],
  'dataset.split': [{ seed: 3 }, split],
  'dataset.crops': [
    { split: 'val', concurrency: 2 },
    { job: 'crops-1', kind: 'crops' },
  ],
  'dataset.sampleCrops': [
    { style: '레트로', limit: 2, seed: 1 },
    {
      total: 15,
      items: [
        {
          id: '레트로/1/상의',
          styleFolder: '레트로',
          part: '상의',
          split: 'train',
          attributes: { category: '블라우스', material: ['우븐'] },
          crop: 'crops/레트로/1__상의.jpg',
          width: 40,
          height: 50,
          error: null,
        },
      ],
    },
  ],
  'dataset.photo': [
    { id: '레트로/1/outer' },
    {
      id: '레트로/1/outer',
      photo: 'crops/photos/0123456789abcdef01234567.jpg',
      width: 640,
      height: 480,
      box: { x: 10, y: 20, w: 100, h: 200 },
      boxSource: 'polygon',
      original: { width: 1280, height: 960 },
    },
  ],
  'dataset.excluded': [
    { reason: 'no-box', limit: 10, offset: 0 },
    {
      total: 1,
      byReason: { 'no-box': 1 },
      byStyle: { 레트로: 1 },
      rows: [
        { imageKey: '레트로/2', styleFolder: '레트로', part: '하의', reason: 'no-box', labelPath: 'x.json' },
      ],
      skippedFiles: { total: 0, rows: [] },
    },
  ],
  'dataset.vocabulary': [
    { fields: ['category'] },
    { fields: { category: [{ value: '블라우스', count: 3, known: true }] } },
  ],
  'embed.start': [
    { model: 'fashion-clip', batch: 8, download: false },
    { job: 'embed-1', kind: 'embed' },
  ],
  'embed.import': [
    { npy: '/e.npy', ids: '/ids.json', model: 'fashion-clip' },
    { model: 'fashion-clip', source: 'import', synthetic: false, rows: 3, dim: 512, stored: 3, notes: [] },
  ],
  'train.presets': [
    {},
    {
      defaults: { epochs: 60 },
      stages: { 1: { epochs: 5 } },
      quick: { epochs: 2 },
      backends: ['auto'],
      fields: ['category'],
    },
  ],
  'train.start': [
    { stage: 2, quick: true, overrides: { epochs: 3, fields: ['category', 'style'], backend: 'wasm' } },
    { job: 'train-1', kind: 'train' },
  ],
  'train.stop': [{}, { stopped: true, job: 'train-1' }],
  'train.status': [
    {},
    {
      running: { job: 'train-1', startedAt: '2026-11-24T04:00:00.000Z', progress },
      results: {
        runId: 'train-x',
        timestamp: '2026-11-24T04:00:00.000Z',
        status: 'running',
        synthetic: true,
        note: 'SYNTHETIC',
        backend: 'wasm (1 thread)',
        imageEmbedding: { model: 'synthetic-demo', source: 'synthetic', synthetic: true },
        data: { train: 12, val: 3, stepsPerEpoch: 3 },
        config: { epochs: 2 },
        startedAt: '2026-11-24T04:00:00.000Z',
        history: [epoch],
      },
      canResume: true,
      charts: 'results/training_charts.png',
    },
  ],
  'runs.list': [{ tag: 'stage-1', status: 'done' }, [runView]],
  'runs.show': [
    { run: '1' },
    {
      run: runView,
      config: { format: 'kfashion-run-config', config: { epochs: 2 } },
      status: { status: 'done' },
      history: [epoch],
      evaluations: [{ runId: 'eval-1', stale: false }],
      files: { dir: 'runs/train-x', charts: 'runs/train-x/results/training_charts.png' },
    },
  ],
  'runs.compare': [
    { runs: ['1', '2'], chart: true },
    {
      runs: [runView, { ...runView, id: 'train-y', seq: 2, current: false }],
      configDiff: [{ key: 'lr', values: [0.001, 0.0003] }],
      configSame: { epochs: 2 },
      metrics: [
        { name: 'Top-5', protocol: 'gallery', higherIsBetter: true, values: [0.4, 0.5], best: 'train-y' },
      ],
      sameData: true,
      curves: [{ runId: 'train-x', points: [{ epoch: 1, valLoss: 2.2, top1: 0.1, top5: 0.4, mrr: 0.25 }] }],
      chart: 'results/runs_compare_1.png',
      timestamp: '2026-11-24T04:00:00.000Z',
    },
  ],
  'runs.promote': [{ run: 'train-x' }, runView],
  'runs.remove': [
    { run: '2', force: true },
    { removed: 'train-y', current: 'train-x' },
  ],
  'runs.note': [
    { run: '1', note: 'stage 1 baseline' },
    { ...runView, note: 'stage 1 baseline' },
  ],
  'runs.tag': [
    { run: '1', tag: 'stage-1', remove: false },
    { ...runView, tags: ['stage-1'] },
  ],
  'eval.run': [
    { protocol: 'in-batch', batchSize: 64, seed: 1 },
    { job: 'evaluate-1', kind: 'evaluate' },
  ],
  'eval.centrality': [{ model: 'synthetic-demo' }, { job: 'centrality-1', kind: 'centrality' }],
  'eval.sweep': [
    { temperatures: [0.05, 0.07, 0.1], quick: true, overrides: { seed: 3 } },
    { job: 'sweep-1', kind: 'sweep' },
  ],
  'eval.list': [
    { kind: 'evaluation' },
    [
      {
        runId: 'eval-1',
        kind: 'evaluation',
        createdAt: '2026-11-24T04:00:00.000Z',
        checkpoint: 'checkpoints/best_model.json',
        protocol: 'gallery',
        synthetic: true,
        file: 'results/evaluation_20261124T0400Z.json',
        summary: { top1: 0.1 },
      },
    ],
  ],
  'eval.report': [{ file: 'results/centrality_1.json' }, centralityReport],
  'search.run': [
    { query: { category: '블라우스', style: ['로맨틱'] }, k: 2 },
    {
      kind: 'similarity-search',
      run_id: 'search-1',
      timestamp: '2026-11-24T04:00:00.000Z',
      synthetic: true,
      note: 'SYNTHETIC',
      workspace: '/ws',
      mode: 'query',
      k: 2,
      gallery: { model: 'synthetic-demo', items: 10, source: 'synthetic', synthetic: true, engine: 'exact' },
      searches: [
        {
          query: { direction: 'json-to-image', label: 'category 블라우스' },
          hits: [
            {
              rank: 1,
              id: '로맨틱/1/상의',
              score: 0.8,
              style: '로맨틱',
              category: '블라우스',
              part: '상의',
              split: 'val',
              attributes: {},
              crop: 'crops/로맨틱/1__상의.jpg',
            },
          ],
          grid: 'grid_01.png',
          timing: { encode_ms: 1, search_ms: 2 },
        },
      ],
      files: { dir: '/ws/results/similarity_search/x', query: 'q.json', results: 'r.json', grids: [] },
      workspaceDir: 'results/similarity_search/x',
    },
  ],
  'report.write': [
    { maxSearches: 3, runSearches: false },
    { job: 'report-1', kind: 'report' },
  ],
  'recommend.encoder': [{}, encoderLabel],
  'catalog.list': [
    { limit: 10 },
    { total: 1, products: [product], missingVectors: 0, encoder: encoderLabel },
  ],
  'catalog.add': [
    {
      image: { name: '신상품.jpg', dataBase64: 'iVBORw0KGgoAAAANSUhEUg==' },
      name: '신상품',
      style: '로맨틱',
    },
    { product, created: true },
  ],
  'catalog.get': [{ id: 'p1' }, product],
  'catalog.remove': [{ ids: ['p1'] }, { removed: ['p1'] }],
  'catalog.import': [
    { folder: 'C:/new products', synthetic: false },
    { job: 'ci-1', kind: 'catalog-import' },
  ],
  'catalog.embed': [{}, { job: 'ce-1', kind: 'catalog-embed' }],
  'recommend.top10ToNew': [
    { useCentralityProxy: true, k: 3 },
    {
      ...recommendMeta,
      inputs: [{ input: { kind: 'anchor', id: '레트로/1/상의', centrality: 0.4 }, matches: [match] }],
      trend: {
        styleDistribution: { 로맨틱: 1 },
        categoryDistribution: { 블라우스: 1 },
        meanSimilarity: 0.5,
        maxSimilarity: 0.5,
        mostMatched: [],
        matches: 1,
      },
      inputSource: 'centrality proxy',
    },
  ],
  'recommend.customerInput': [
    { productId: 'p1', k: 5 },
    { ...recommendMeta, input: { kind: 'catalog', id: 'p1' }, matches: [match] },
  ],
  'kpi.summary': [{}, kpi],
  'dashboard.get': [
    {},
    {
      kpi,
      loss_curve: { runId: 'train-1', epochs: [1], trainLoss: [2], valLoss: [2.1], source: 'results' },
      top_k_images: [{ productId: 'p1', name: 'x', count: 2, imageUrl: '/api/files/catalog/a.jpg' }],
      hyperparams: { lr: 1e-4 },
      augmented_samples: [{ itemId: 'i', augmentation: 'flip', dataUrl: 'data:image/jpeg;base64,AA==' }],
    },
  ],
  'job.list': [{}, [jobInfo]],
  'job.get': [{ job: 'scan-1' }, jobInfo],
  'job.cancel': [{ job: 'scan-1' }, { cancelled: true }],
  'export.bundle': [{ name: 'run 1.zip' }, { job: 'export-1', kind: 'export' }],
  'dataset.check': [
    { path: '/data/K-Fashion' },
    {
      path: '/data/K-Fashion',
      ok: true,
      problem: null,
      message: null,
      roots: [],
      accepted: ['<root>/라벨링데이터/<style>/<id>.json'],
      sources: [
        { labelDir: '/data/K-Fashion/라벨링데이터', imageDir: null, split: null, styles: ['레트로'] },
      ],
    },
  ],
  'embed.models': [
    {},
    {
      models: [
        {
          id: 'fashion-clip',
          description: 'FashionCLIP',
          repo: 'patrickjohncyh/fashion-clip',
          precisions: ['fp32'],
          files: {
            fp32: {
              present: false,
              files: [{ path: '/m/fashion-clip/onnx/model.onnx', url: 'https://x/y', present: false }],
            },
          },
        },
      ],
      defaultModel: 'fashion-clip',
      devices: ['cpu', 'cuda', 'dml'],
      modelsDir: '/m',
      exportFiles: ['vision_model.onnx'],
      itemsWithImage: 15,
      embedded: [{ model: 'synthetic-demo', count: 15, source: 'synthetic' }],
      current: null,
    },
  ],
  'search.tag': [
    { image: { name: '사진.jpg', dataBase64: 'AAAAAAAAAAAA' }, k: 3 },
    {
      kind: 'image-tagging',
      timestamp: '2026-11-24T04:00:00.000Z',
      synthetic: true,
      image: '사진.jpg',
      k: 3,
      image_encoder: { model: 'demo-standin', label: 'x', synthetic: true },
      checkpoint: {
        run_id: 'run-1',
        path: '/ws/checkpoints/best_model.json',
        epoch: 2,
        fields: ['category'],
      },
      per_field: [{ field: 'category', values: [{ value: '블라우스', score: 0.4 }] }],
      vocabulary: [{ rank: 1, score: 0.4, attributes: { category: '블라우스' }, label: 'category 블라우스' }],
      training: [
        {
          rank: 1,
          score: 0.3,
          attributes: { category: '블라우스' },
          label: 'category 블라우스',
          items: 4,
          example: { id: '레트로/1/상의', crop: null, style: '레트로' },
        },
      ],
      training_combinations: 9,
      timing: { encode_ms: 1, score_ms: 2 },
    },
  ],
  'centrality.items': [
    { limit: 2 },
    {
      model: 'synthetic-demo',
      runId: 'centrality-1',
      computedAt: '2026-11-24T04:00:00.000Z',
      current: true,
      total: 15,
      most: [
        { id: 'a', rank: 1, centrality: 0.5, anchor: true, style: '레트로', category: null, crop: null },
      ],
      least: [
        { id: 'b', rank: 15, centrality: 0.1, anchor: false, style: '레트로', category: null, crop: null },
      ],
    },
  ],
  'map.start': [{ method: 'umap' }, { job: 'map-1', kind: 'map' }],
  'map.get': [
    { method: 'pca' },
    {
      kind: 'embedding-map',
      key: 'pca-x',
      method: 'pca',
      timestamp: '2026-11-24T04:00:00.000Z',
      model: 'synthetic-demo',
      synthetic: true,
      split: 'val',
      checkpoint: { run_id: 'run-1', epoch: 2 },
      items: [{ id: 'a', style: '레트로', category: null, crop: null, centrality: 0.5, anchor: true }],
      image: [{ id: 'a', x: 0.1, y: -0.2 }],
      json: [{ id: 'a', x: 0.2, y: -0.1 }],
      total: 1,
      explained: [0.3, 0.2],
      elapsedMs: 5,
    },
  ],
  'tuning.list': [
    {},
    [{ name: 'p1', status: 'done', metric: 'top5', metricLabel: 'Top-5 (gallery)', trials: 3, best: 0.8 }],
  ],
  'tuning.show': [
    { name: 'p1', charts: false },
    {
      results: {
        name: 'p1',
        metric: 'top5',
        metricLabel: 'Top-5 (gallery)',
        direction: 'maximize',
        status: 'done',
        sampler: 'tpe',
        pruner: 'asha',
        counts: { WAITING: 0, RUNNING: 0, COMPLETE: 1, PRUNED: 0, FAIL: 0 },
        trials: [
          {
            number: 0,
            state: 'COMPLETE',
            value: 0.8,
            params: { lr: 0.001 },
            runId: 'tune-x',
            error: null,
            steps: 2,
            startedAt: '2026-11-24T04:00:00.000Z',
            finishedAt: '2026-11-24T04:01:00.000Z',
            attrs: { ceiling: 1 },
          },
        ],
        best: null,
        history: [{ number: 0, value: 0.8, best: 0.8 }],
        importance: [],
        importanceMethod: 'first-order variance share',
      },
      ceiling: 1,
      params: [{ name: 'lr', type: 'log-uniform', low: 1e-4, high: 1e-2, log: true, choices: null }],
      stages: [],
      baseline: {
        runId: 'baseline-x',
        value: 0.7,
        figures: { top1: 0.3, top5: 0.7, mrr: 0.5, recall10: 0.8 },
        protocol: 'gallery, N=800',
        fields: ['category'],
      },
      base: { epochs: 2 },
      charts: {},
      running: false,
    },
  ],
  'tuning.start': [
    {
      name: 'p2',
      space: { parameters: { lr: { type: 'log-uniform', low: 1e-4, high: 1e-2 } } },
      quick: true,
    },
    { job: 'tune-1', kind: 'tune', study: 'p2' },
  ],
};

const EVENT_SAMPLES: { [K in ApiEvent]: unknown } = {
  'job.started': { job: 'scan-1', kind: 'scan', workspace: '/ws', startedAt: '2026-11-24T04:00:00.000Z' },
  'job.progress': { ...progress, kind: 'train' },
  'job.done': { job: 'scan-1', kind: 'scan', finishedAt: '2026-11-24T04:00:00.000Z', result: { n: 1 } },
  'job.failed': {
    job: 'train-1',
    kind: 'train',
    finishedAt: '2026-11-24T04:00:00.000Z',
    cancelled: true,
    error: { name: 'CancelledError', message: 'training stopped after epoch 1' },
  },
  'workspace.changed': { workspace: '/ws', synthetic: false, reason: 'scan' },
};

/** Handlers answering each method's sample output and recording what they were given. */
function sampleHandlers(seen: Map<string, unknown>): Handlers {
  return Object.fromEntries(
    Object.entries(SAMPLES).map(([name, [, output]]) => [
      name,
      async (input: unknown) => {
        seen.set(name, input);
        return output;
      },
    ]),
  ) as unknown as Handlers;
}

/** Through JSON both ways, like IPC's structured clone or HTTP; events through a listener set. */
function loopback(handlers: Handlers): Transport & { emit: EventListener } {
  const listeners = new Set<EventListener>();
  return {
    async invoke(method, input) {
      const envelope = await dispatch(api, handlers, method, JSON.parse(JSON.stringify(input)));
      return JSON.parse(JSON.stringify(envelope)) as Envelope;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(event, payload) {
      for (const l of listeners) l(event, JSON.parse(JSON.stringify(payload)));
    },
  };
}

describe('the product contract', () => {
  it('has a sample for every method and event, and nothing else', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(api).sort());
    expect(Object.keys(EVENT_SAMPLES).sort()).toEqual(Object.keys(apiEvents).sort());
  });

  it.each(Object.keys(SAMPLES) as ApiMethod[])(
    '%s: input and output survive the round trip',
    async (name) => {
      const seen = new Map<string, unknown>();
      const client = createClient(loopback(sampleHandlers(seen)));
      const [input, output] = SAMPLES[name];
      const result = await client.call(name, input as never);
      expect(result).toEqual(output);
      // The handler got the parsed input: what was sent, plus any defaults.
      expect(seen.get(name)).toMatchObject(input as object);
    },
  );

  it.each(Object.keys(SAMPLES) as ApiMethod[])('%s: an unexpected key is refused and named', async (name) => {
    const [input] = SAMPLES[name];
    const envelope = await dispatch(api, sampleHandlers(new Map()), name, {
      ...(input as object),
      unexpectedKey: 1,
    });
    expect(envelope).toMatchObject({ ok: false, error: { code: API_ERROR_CODES.invalidInput } });
    expect(!envelope.ok && envelope.error.message).toContain('unexpectedKey');
  });

  it('names the field of a wrongly typed input, for every method that has fields', async () => {
    let checked = 0;
    for (const [name, def] of Object.entries(api)) {
      if (!(def.input instanceof z.ZodObject)) continue;
      for (const field of Object.keys(def.input.shape)) {
        // A Symbol-free wrong value for every kind of field: no field accepts a nested array of null.
        const envelope = await dispatch(api, sampleHandlers(new Map()), name, {
          ...(SAMPLES[name as ApiMethod][0] as object),
          [field]: [[null]],
        });
        expect(envelope.ok, `${name}.${field}`).toBe(false);
        expect(!envelope.ok && envelope.error.message, `${name}.${field}`).toMatch(
          new RegExp(`^Invalid input to ${name.replace('.', '\\.')}: ${field}\\b`),
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('refuses an unknown method with its name', async () => {
    const envelope = await dispatch(api, sampleHandlers(new Map()), 'train.explode', {});
    expect(envelope).toEqual({
      ok: false,
      error: {
        name: 'ApiError',
        message: 'Unknown method: train.explode',
        code: API_ERROR_CODES.unknownMethod,
      },
    });
  });

  it('checks rules beyond types: split takes exactly one of seed and file; bundle names stay plain', async () => {
    const h = sampleHandlers(new Map());
    const both = await dispatch(api, h, 'dataset.split', { seed: 1, file: 'v.json' });
    expect(!both.ok && both.error.message).toMatch(/exactly one of seed or file/);
    const neither = await dispatch(api, h, 'dataset.split', {});
    expect(neither.ok).toBe(false);
    for (const name of ['../x.zip', 'a/b.zip', '.hidden.zip', 'x.tar']) {
      const e = await dispatch(api, h, 'export.bundle', { name });
      expect(!e.ok && e.error.message, name).toMatch(/^Invalid input to export\.bundle: name: /);
    }
    const both2 = await dispatch(api, h, 'recommend.customerInput', {
      productId: 'p',
      image: { dataBase64: 'AAAAAAAA' },
    });
    expect(!both2.ok && both2.error.message).toMatch(/exactly one of image or productId/);
    const badB64 = await dispatch(api, h, 'catalog.add', {
      image: { dataBase64: 'data:image/png;base64,AAAA' },
    });
    expect(!badB64.ok && badB64.error.message).toMatch(/image\.dataBase64: must be base64/);
    const noQuery = await dispatch(api, h, 'search.run', { k: 3 });
    expect(!noQuery.ok && noQuery.error.message).toMatch(/exactly one of query, image or demo/);
    const smallBatch = await dispatch(api, h, 'eval.run', { batchSize: 16 });
    expect(!smallBatch.ok && smallBatch.error.message).toMatch(/batchSize: must be at least 32/);
    const empty = await dispatch(api, h, 'workspace.open', { path: '   ' });
    expect(!empty.ok && empty.error.message).toMatch(/path: path must not be empty/);
  });
});

describe('contract events', () => {
  it.each(Object.keys(EVENT_SAMPLES) as ApiEvent[])('%s: the payload reaches a subscriber parsed', (name) => {
    const transport = loopback(sampleHandlers(new Map()));
    const client = createClient(transport);
    const got: unknown[] = [];
    const off = client.on(name, (p) => got.push(p));
    transport.emit(name, EVENT_SAMPLES[name]);
    transport.emit('some.other', EVENT_SAMPLES[name]);
    off();
    transport.emit(name, EVENT_SAMPLES[name]);
    expect(got).toEqual([EVENT_SAMPLES[name]]);
  });

  it('reports a misshapen payload instead of delivering it', () => {
    const transport = loopback(sampleHandlers(new Map()));
    const invalid: Error[] = [];
    const client = createClient(transport, { onInvalidEvent: (e) => invalid.push(e) });
    const got: unknown[] = [];
    client.on('job.progress', (p) => got.push(p));
    transport.emit('job.progress', { job: 'x', phase: 'scan', step: 'three' });
    expect(got).toEqual([]);
    expect(invalid[0]?.message).toMatch(/^Invalid payload of event job\.progress: .*step/);
  });

  it('refuses to subscribe to an event the contract does not declare', () => {
    const client = createClient(loopback(sampleHandlers(new Map())));
    expect(() => client.on('job.nope' as ApiEvent, () => {})).toThrow(/Unknown event: job\.nope/);
  });

  it('types a job result by its kind and names a missing field', () => {
    const report = parseJobResult('split', split);
    expect(report.valItems).toBe(3);
    expect(() => parseJobResult('split', { ...split, valItems: undefined })).toThrow(/valItems/);
  });
});
