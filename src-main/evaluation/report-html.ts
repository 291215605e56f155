/**
 * The research report (`kfashion report`) as ONE self-contained HTML page: the run's config, training
 * figures and charts, the latest evaluation with every Recall@K and MRR beside its ceiling, per-style
 * and per-category tables, the query-aware table, centrality, the temperature study and example
 * searches with their grids — something a researcher pastes into a lab meeting or mails as one file.
 *
 * Self-contained on purpose: images are inlined as base64 `data:` URLs, the style sheet is inline,
 * there is no script and no external request, so the file shows the same offline, in a mail client or
 * years later. All text is HTML-escaped (labels, ids and values come from data files and user input).
 * This module only renders; services/research-report.ts gathers the inputs.
 */

import type { StudyBaseline, StudyView } from '../../src-shared/api-tuning.ts';
import type {
  CentralityReport,
  EvaluationReport,
  RetrievalFigures,
  TemperatureStudy,
} from '../../src-shared/evaluation.ts';
import type { SimilaritySearchRun } from '../../src-shared/search.ts';
import type { CheckpointInfo, EpochRecord } from '../training/checkpoints.ts';
import { formatNum, formatPct, headlineRows, protocolLabels } from './figure-rows.ts';

export interface ReportInput {
  runId: string;
  timestamp: string;
  workspace: string;
  synthetic: boolean;
  /** SYNTHETIC and other notes shown at the top. */
  notes: string[];
  dataset: {
    items: number;
    images: number;
    perStyle: Record<string, { images: number; items: number; trainItems: number; valItems: number }>;
  } | null;
  checkpoint: { info: CheckpointInfo; path: string } | null;
  training: {
    summary: Record<string, unknown> | null;
    history: EpochRecord[];
    protocol: string | null;
    chart: string | null;
  } | null;
  /** The latest evaluation per protocol, gallery first. */
  evaluations: { report: EvaluationReport; chart: string | null; file: string }[];
  centrality: { report: CentralityReport; chart: string | null; file: string } | null;
  temperature: { report: TemperatureStudy; chart: string | null; file: string } | null;
  searches: { run: SimilaritySearchRun; grids: (string | null)[]; file: string }[];
  /** The newest ridge baseline run, shown beside the model's gallery figures (absent: none fitted). */
  baseline?: StudyBaseline | null;
  /** The newest tuning study with its history (baseline line) and importance charts as data URLs. */
  tuning?: { view: StudyView; history: string | null; importance: string | null } | null;
  /** Why a section is absent, by section name. */
  missing: Record<string, string>;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: unknown): string {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
const h = escapeHtml;

const pct = formatPct;
const num = formatNum;
const headline = headlineRows;

const NUMERIC = /^[-–+#]?\d|^–$/;

function table(headers: string[], rows: (string | number)[][], cls = ''): string {
  const head = headers.some((x) => x !== '')
    ? `<thead><tr>${headers.map((x) => `<th>${h(x)}</th>`).join('')}</tr></thead>`
    : '';
  return `<table${cls ? ` class="${h(cls)}"` : ''}>${head}<tbody>${rows
    // Figures align right, words left.
    .map(
      (r) =>
        `<tr>${r.map((c) => `<td${NUMERIC.test(String(c)) ? '' : ' class="t"'}>${h(c)}</td>`).join('')}</tr>`,
    )
    .join('')}</tbody></table>`;
}

/** Only inline PNG/JPEG data URLs are accepted: the page must make no request. */
function img(dataUrl: string | null, alt: string): string {
  if (!dataUrl) return `<p class="muted">(${h(alt)}: no image)</p>`;
  if (!/^data:image\/(png|jpeg);base64,[A-Za-z0-9+/=]+$/.test(dataUrl)) {
    throw new Error(`report image "${alt}" is not an inline PNG/JPEG data URL`);
  }
  return `<img src="${dataUrl}" alt="${h(alt)}">`;
}

function section(id: string, title: string, body: () => string, missing?: string): string {
  let inner: string;
  try {
    inner = missing !== undefined ? `<p class="muted">${h(missing)}</p>` : body();
  } catch (e) {
    // One malformed result file must not cost the whole report; say what went wrong instead.
    inner = `<p class="warn">This section could not be rendered: ${h(e instanceof Error ? e.message : String(e))}</p>`;
  }
  return `<section id="${h(id)}"><h2>${h(title)}</h2>${inner}</section>`;
}

function configSection(r: ReportInput): string {
  const c = r.checkpoint!;
  const info = c.info;
  const rows: (string | number)[][] = [
    ['checkpoint run', info.runId],
    ['checkpoint file', c.path],
    ['kind / epoch / step', `${info.kind} / ${info.epoch} / ${info.step}`],
    ['saved at', info.timestamp],
    [
      'image embeddings',
      `${info.imageEmbedding.model} (${info.imageEmbedding.source}${info.imageEmbedding.synthetic ? ', SYNTHETIC' : ''})`,
    ],
    ['backend', info.backend],
    ['encoder fields', info.fields.join(', ')],
    [
      'encoder',
      `${info.fields.length} fields × ${info.encoder.embedDim} → ${info.encoder.hiddenDim} → ${info.encoder.outputDim}, ${info.encoder.activation ?? 'relu'}, dropout ${info.encoder.dropout}`,
    ],
    [
      'vocabulary (values incl. <pad>, <unk>)',
      info.fields.map((f) => `${f} ${info.vocabulary[f]?.length ?? 0}`).join(', '),
    ],
  ];
  const cfg = Object.entries(info.config as unknown as Record<string, unknown>).map(([k, v]) => [
    k,
    Array.isArray(v) ? v.join(', ') : typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v),
  ]);
  return `${table(['', ''], rows, 'kv')}<h3>Training settings</h3>${table(['setting', 'value'], cfg, 'kv')}`;
}

function datasetSection(r: ReportInput): string {
  const d = r.dataset!;
  const rows = Object.entries(d.perStyle).map(([s, c]) => [s, c.images, c.items, c.trainItems, c.valItems]);
  rows.push([
    'total',
    d.images,
    d.items,
    Object.values(d.perStyle).reduce((a, c) => a + c.trainItems, 0),
    Object.values(d.perStyle).reduce((a, c) => a + c.valItems, 0),
  ]);
  return table(['style folder', 'images', 'garment items', 'train', 'val'], rows);
}

function trainingSection(r: ReportInput): string {
  const t = r.training!;
  const s = (t.summary ?? {}) as Record<string, unknown>;
  const best = (s.best ?? null) as EpochRecord | null;
  const parts: string[] = [];
  const kv: (string | number)[][] = [];
  for (const [label, key] of [
    ['run', 'runId'],
    ['status', 'status'],
    ['backend', 'backend'],
    ['epochs run / planned', null],
    ['best epoch', 'bestEpoch'],
    ['stopped early', 'stoppedEarly'],
    ['wall time (s)', null],
    ['ms per step', 'msPerStep'],
  ] as const) {
    if (key === null && label === 'epochs run / planned')
      kv.push([label, `${s.epochsRun ?? '–'} / ${s.epochsPlanned ?? '–'}`]);
    else if (key === null)
      kv.push([label, typeof s.wallMs === 'number' ? (s.wallMs / 1000).toFixed(1) : '–']);
    else if (s[key] !== undefined) {
      const v = s[key];
      kv.push([label, typeof v === 'number' && !Number.isInteger(v) ? num(v, 2) : String(v)]);
    }
  }
  if (best) {
    kv.push(
      ['best validation loss', num(best.valLoss, 4)],
      ['best epoch Top-1 / Top-5 / MRR', `${pct(best.top1)} / ${pct(best.top5)} / ${num(best.mrr)}`],
      ['positive / negative similarity', `${num(best.posSim)} / ${num(best.negSim)}`],
    );
  }
  parts.push(table(['', ''], kv, 'kv'));
  if (t.protocol) parts.push(`<p class="muted">${h(t.protocol)}</p>`);
  if (t.history.length > 0) {
    parts.push(
      '<h3>Per epoch</h3>',
      table(
        ['epoch', 'train loss', 'val loss', 'Top-1', 'Top-5', 'MRR', 'pos sim', 'neg sim', 'lr', 'ms/step'],
        t.history.map((e) => [
          e.epoch,
          num(e.trainLoss, 4),
          num(e.valLoss, 4),
          pct(e.top1),
          pct(e.top5),
          num(e.mrr),
          num(e.posSim),
          num(e.negSim),
          e.lr.toExponential(2),
          num(e.msPerStep, 1),
        ]),
      ),
    );
  }
  parts.push(img(t.chart, 'training charts'));
  return parts.join('');
}

function groupTable(groups: Record<string, RetrievalFigures>, what: string): string {
  return table(
    [
      what,
      'queries',
      'Top-1',
      'Top-5',
      'Recall@10',
      'R@10 ceiling',
      'MRR',
      'MRR ceiling',
      'MRR % of ceiling',
      'pos sim',
      'neg sim',
    ],
    Object.entries(groups).map(([k, f]) => [
      k,
      f.queries,
      pct(f.recall['1']),
      pct(f.recall['5']),
      pct(f.recall['10']),
      pct(f.ceiling.recall['10']),
      num(f.mrr),
      num(f.ceiling.mrr),
      pct(f.of_ceiling.mrr),
      num(f.positive_similarity),
      num(f.negative_similarity),
    ]),
  );
}

/** The model's gallery figures beside the ridge baseline's (same protocol), with the difference. */
function baselineBeside(r: EvaluationReport, b: StudyBaseline | null | undefined): string {
  if (!b)
    return '<p class="muted">No ridge baseline fitted ("kfashion baseline"): the linear map every model must beat is not shown.</p>';
  const rows: [string, number, number | null][] = [
    ['Top-1', r.recall['1'], b.figures.top1],
    ['Top-5', r.recall['5'], b.figures.top5],
    ['Recall@10', r.recall['10'], b.figures.recall10],
  ];
  const signed = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} points`;
  return [
    `<h4>Beside the ridge baseline (run ${h(b.runId)}, ${h(b.protocol)}; fields ${h(b.fields.join(', '))})</h4>`,
    table(
      ['metric', 'model', 'ridge baseline', 'model − baseline'],
      [
        ...rows.map(([k, m, v]) => [k, pct(m), v === null ? '–' : pct(v), v === null ? '–' : signed(m - v)]),
        [
          'MRR',
          num(r.mrr),
          num(b.figures.mrr),
          `${r.mrr - b.figures.mrr >= 0 ? '+' : ''}${num(r.mrr - b.figures.mrr)}`,
        ],
      ],
      'metrics',
    ),
  ].join('');
}

/** The newest tuning study: best trial, history and importance charts, the staged preset's stages. */
function tuningSection(r: ReportInput): string {
  const t = r.tuning!;
  const v = t.view;
  const res = v.results;
  const label = `${res.metricLabel}${v.ceiling === null ? '' : `, ceiling ${pct(v.ceiling)}`}`;
  const parts: string[] = [
    `<p>Study <code>${h(res.name)}</code> · ${h(res.status)} · maximises ${h(label)} · sampler ${h(res.sampler)}, pruner ${h(res.pruner)} · ${h(res.counts.COMPLETE)} complete, ${h(res.counts.PRUNED)} pruned, ${h(res.counts.FAIL)} failed.</p>`,
  ];
  const b = res.best;
  if (b && b.value !== null) {
    const vs = v.baseline
      ? ` — ${b.value >= v.baseline.value ? 'above' : 'below'} the ridge baseline's ${pct(v.baseline.value)} by ${Math.abs((b.value - v.baseline.value) * 100).toFixed(1)} points`
      : '';
    parts.push(
      `<h3>Best trial ${h(b.number)}: ${h(res.metricLabel)} ${h(pct(b.value))}${h(vs)}</h3>`,
      table(
        ['setting', 'value'],
        Object.entries(b.params).map(([k, x]) => [k, Array.isArray(x) ? x.join(', ') : String(x)]),
        'kv',
      ),
      `<p class="muted">Run ${h(b.runId ?? '–')}: "kfashion runs promote ${h(b.runId ?? '')}" makes it current; "kfashion study show ${h(res.name)}" prints the command to train it longer.</p>`,
    );
  } else parts.push('<p class="muted">No complete trial yet.</p>');
  if (v.stages.length > 0) {
    parts.push(
      '<h3>What each stage fixed and why</h3>',
      table(
        ['stage', 'trials', 'what it did', 'its best'],
        v.stages.map((s) => [
          s.name,
          s.trials,
          s.why,
          s.best ? `trial ${s.best.number}, ${pct(s.best.value)}` : '–',
        ]),
      ),
    );
  }
  parts.push(img(t.history, 'optimisation history'));
  parts.push(img(t.importance, 'parameter importance'));
  parts.push(`<p class="muted">Importance: ${h(res.importanceMethod)}.</p>`);
  return parts.join('');
}

function evaluationBlock(
  e: { report: EvaluationReport; chart: string | null; file: string },
  bestRun: string | null,
  baseline?: StudyBaseline | null,
): string {
  const r = e.report;
  const c = r.checkpoint;
  const parts: string[] = [];
  parts.push(
    `<h3>${h(r.protocol === 'gallery' ? 'Gallery protocol' : `In-batch protocol (B=${r.batch_size})`)} — ${h(r.run_id)}</h3>`,
    `<p>Evaluated ${h(r.timestamp)} · file <code>${h(e.file)}</code> · checkpoint ${h(c.run_id)} (${h(c.kind)}, epoch ${h(c.epoch)}, T ${h(c.temperature)}) · ${h(r.queries)} queries against ${h(r.candidates)} candidates (${h(r.protocol_label)}).</p>`,
  );
  if (bestRun && c.run_id !== bestRun) {
    parts.push(
      `<p class="warn">STALE: this evaluation is of run ${h(c.run_id)} (checkpoint epoch ${h(c.epoch)}), not of the current run ${h(bestRun)}. Run "kfashion eval" again to evaluate the current one.</p>`,
    );
  }
  if (r.note) parts.push(`<p class="warn">${h(r.note)}</p>`);
  parts.push(`<p class="muted">${h(r.tie_rule)}</p>`);
  parts.push(
    '<h4>JSON → image (main direction): each figure beside the ceiling no JSON-only model can pass</h4>',
    table(['metric', 'value', 'ceiling', '% of ceiling'], headline(r, r.labels), 'metrics'),
    r.protocol === 'gallery' ? baselineBeside(r, baseline) : '',
    table(
      ['Precision@K', 'K=1', 'K=5', 'K=10'],
      [
        [
          'strict (all encoder fields equal)',
          pct(r.precision.strict['1']),
          pct(r.precision.strict['5']),
          pct(r.precision.strict['10']),
        ],
        [
          'loose (category and style equal)',
          pct(r.precision.loose['1']),
          pct(r.precision.loose['5']),
          pct(r.precision.loose['10']),
        ],
      ],
    ),
    `<p>Similarity: positive pairs ${h(num(r.positive_similarity))}, negative pairs ${h(num(r.negative_similarity))} (gap ${h(num(r.positive_similarity - r.negative_similarity))}).</p>`,
  );
  if (r.ceiling_note) parts.push(`<p class="warn">${h(r.ceiling_note)}</p>`);
  const rev = r.image_to_json;
  if (rev) {
    parts.push(
      `<h4>image → JSON</h4><p class="muted">${h(rev.description)}</p>`,
      table(
        ['metric', 'value', 'ceiling', '% of ceiling'],
        headline(rev, protocolLabels(r.protocol_label)),
        'metrics',
      ),
    );
  }
  parts.push('<h4>Per style folder (JSON → image)</h4>', groupTable(r.per_style, 'style'));
  parts.push('<h4>Per garment category (JSON → image)</h4>', groupTable(r.per_category, 'category'));
  const qa = r.query_aware;
  if (qa) {
    parts.push(
      `<h4>Query-aware evaluation (${h(r.protocol_label)})</h4>`,
      table(
        [
          'queries',
          'n',
          'Top-1',
          'Top-1 ceiling',
          'Recall@5',
          'R@5 ceiling',
          'Recall@10',
          'R@10 ceiling',
          'description',
        ],
        Object.entries(qa.subsets).map(([k, f]) => [
          k.replace('_', '-'),
          f.queries,
          pct(f.recall['1']),
          pct(f.ceiling.recall['1']),
          pct(f.recall['5']),
          pct(f.ceiling.recall['5']),
          pct(f.recall['10']),
          pct(f.ceiling.recall['10']),
          f.description,
        ]),
      ),
      `<p>${h(qa.statement)}</p>`,
    );
  }
  const hl = r.health;
  if (hl) {
    parts.push(
      '<h4>Embedding health</h4>',
      table(
        [
          'vectors',
          'count',
          'norm min',
          'norm max',
          'all unit (±tol)',
          'per-dim variance mean',
          'near-zero dims',
          'mean pairwise cosine',
        ],
        (
          [
            ['JSON encoder outputs', hl.json],
            ['image embeddings', hl.image],
          ] as const
        ).map(([name, x]) => [
          name,
          x.vectors,
          num(x.norm.min, 6),
          num(x.norm.max, 6),
          x.norm.ok ? `yes (${x.norm.tolerance})` : `NO: ${x.norm.off} off`,
          x.per_dimension_variance.mean.toExponential(2),
          x.per_dimension_variance.near_zero,
          num(x.mean_pairwise_cosine),
        ]),
      ),
    );
  }
  parts.push(img(e.chart, `evaluation chart ${r.run_id}`));
  return parts.join('');
}

/** EVALUATION.md's figures of the earlier PyTorch pipeline, shown for comparison with their caveat. */
function earlierFigures(): string {
  return `<h3>Earlier PyTorch pipeline (for comparison)</h3><p class="muted">From EVALUATION.md: 2,172 items (레트로 196, 로맨틱 994, 리조트 998), split 80/20 (1,737 / 435); protocol unknown, likely in-batch — compare with this page's in-batch figures at the same B, not with the gallery figures.</p>${table(
    ['Top-5', 'Top-1', 'MRR', 'Recall@10 (all queries)', 'Recall@10 (anchor queries)', 'best temperature'],
    [['64.1 %', '22.2 %', '0.407', '31.9 %', '33.6 %', '0.1 (0.15 was 8.8 points worse)']],
  )}`;
}

function centralitySection(r: ReportInput): string {
  const c = r.centrality!;
  const x = c.report;
  const stat = (name: string, s: { count: number; mean: number; min: number; max: number; std: number }) => [
    name,
    s.count,
    num(s.mean, 4),
    num(s.min, 4),
    num(s.max, 4),
    num(s.std, 4),
  ];
  return [
    `<p>${h(x.run_id)} · ${h(x.timestamp)} · file <code>${h(c.file)}</code> · model ${h(x.model)} · ${h(x.items)} items.</p>`,
    x.note ? `<p class="warn">${h(x.note)}</p>` : '',
    table(
      ['set', 'count', 'mean', 'min', 'max', 'std'],
      [
        stat('all items', x.overall),
        stat(
          `anchor set (top ${Math.round(x.anchor.fraction * 100)} %, ≥ ${num(x.anchor.threshold, 4)})`,
          x.anchor,
        ),
        ...Object.entries(x.per_style).map(([s, v]) => stat(`style ${s}`, v)),
      ],
    ),
    `<p><strong>${h(x.statement)}</strong></p>`,
    img(c.chart, 'centrality histogram'),
  ].join('');
}

function temperatureSection(r: ReportInput): string {
  const t = r.temperature!;
  const x = t.report;
  return [
    `<p>${h(x.run_id)} · ${h(x.timestamp)} · file <code>${h(t.file)}</code> · ${h(x.protocol_label)} · ${h(x.queries)} queries.</p>`,
    x.note ? `<p class="warn">${h(x.note)}</p>` : '',
    table(
      [
        'temperature',
        'Top-1',
        'Top-5',
        'Recall@10',
        'MRR',
        'MRR % of ceiling',
        'R@10 % of ceiling',
        'best epoch',
        'epochs',
      ],
      x.runs.map((run) => [
        run.temperature,
        pct(run.top1),
        pct(run.top5),
        pct(run.recall10),
        num(run.mrr),
        pct(run.of_ceiling.mrr),
        pct(run.of_ceiling.recall10),
        run.best_epoch,
        `${run.epochs_run}${run.stopped_early ? ' (early stop)' : ''}`,
      ]),
    ),
    `<p><strong>${h(x.recommendation)}</strong></p>`,
    `<p>${h(x.earlier_finding.statement)}</p>`,
    `<p class="muted">Standard error of a Top-5 figure at ${h(x.queries)} queries: ${h(num(x.top5_standard_error_points, 1))} points; differences below about twice that are noise.</p>`,
    img(t.chart, 'temperature study chart'),
  ].join('');
}

function searchesSection(r: ReportInput): string {
  const parts: string[] = [];
  for (const { run, grids, file } of r.searches) {
    parts.push(
      `<h3>${h(run.run_id)} (${h(run.mode)})</h3><p>${h(run.timestamp)} · file <code>${h(file)}</code> · exact cosine top-${h(run.k)} over ${h(run.gallery.items)} "${h(run.gallery.model)}" image embeddings${run.gallery.synthetic ? ' (SYNTHETIC)' : ''} · ${h(run.gallery.engine)}${run.checkpoint ? ` · checkpoint ${h(run.checkpoint.run_id)}` : ''}${run.image_encoder ? ` · ${h(run.image_encoder.label)}` : ''}</p>`,
    );
    if (run.note) parts.push(`<p class="warn">${h(run.note)}</p>`);
    run.searches.forEach((s, i) => {
      parts.push(
        `<div class="search"><p><strong>${h(s.query.direction)}:</strong> ${h(s.query.label)}${
          s.query.source_item
            ? ` <span class="muted">(from item ${h(s.query.source_item.id)}; it ranks ${s.source_rank ? `#${h(s.source_rank)}` : `below #${h(run.k)}`})</span>`
            : ''
        }</p>`,
        img(grids[i] ?? null, `search grid ${i + 1}`),
        table(
          ['rank', 'cosine', 'item', 'style', 'category'],
          s.hits.map((x) => [
            `#${x.rank}${x.is_source ? ' (source)' : ''}`,
            x.score.toFixed(4),
            x.id,
            x.style,
            x.category ?? '–',
          ]),
        ),
        '</div>',
      );
    });
  }
  return parts.join('');
}

const STYLE = `
body{font-family:'Noto Sans CJK KR','Noto Sans KR','Malgun Gothic','Apple SD Gothic Neo',system-ui,sans-serif;margin:2rem auto;max-width:1280px;padding:0 1rem;color:#1a1a1a;line-height:1.45}
h1{font-size:1.7rem;margin-bottom:.2rem}h2{border-bottom:2px solid #1f77b4;padding-bottom:.2rem;margin-top:2.4rem}
h3{margin-top:1.6rem}h4{margin:1.2rem 0 .4rem}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.25rem .55rem;text-align:right;vertical-align:top}
th{background:#f3f6fa}td:first-child,th:first-child{text-align:left}table.kv td,td.t{text-align:left}
table.metrics td:nth-child(2){font-weight:bold}
img{max-width:100%;border:1px solid #ddd;margin:.5rem 0}
.muted{color:#666;font-size:.9rem}.warn{color:#b00020}.banner{background:#fdecea;border:2px solid #b00020;padding:.6rem 1rem;color:#b00020;font-weight:bold}
code{background:#f3f3f3;padding:0 .25rem}.search{margin-bottom:1.5rem}nav a{margin-right:1rem}
`;

export function renderReportHtml(r: ReportInput): string {
  const bestRun = r.checkpoint?.info.runId ?? null;
  const sections = [
    section(
      'config',
      'Run configuration',
      () => configSection(r),
      r.checkpoint ? undefined : (r.missing.config ?? 'No checkpoint.'),
    ),
    section(
      'dataset',
      'Dataset',
      () => datasetSection(r),
      r.dataset ? undefined : (r.missing.dataset ?? 'No dataset.'),
    ),
    section(
      'training',
      'Training',
      () => trainingSection(r),
      r.training ? undefined : (r.missing.training ?? 'No training results.'),
    ),
    section(
      'evaluation',
      'Evaluation',
      () => r.evaluations.map((e) => evaluationBlock(e, bestRun, r.baseline)).join('') + earlierFigures(),
      r.evaluations.length > 0 ? undefined : (r.missing.evaluation ?? 'No evaluation.'),
    ),
    section(
      'centrality',
      'Best-seller proxy: embedding centrality',
      () => centralitySection(r),
      r.centrality ? undefined : (r.missing.centrality ?? 'No centrality run.'),
    ),
    section(
      'temperature',
      'Temperature study',
      () => temperatureSection(r),
      r.temperature ? undefined : (r.missing['temperature-study'] ?? 'No temperature study.'),
    ),
    section(
      'tuning',
      'Tuning study',
      () => tuningSection(r),
      r.tuning ? undefined : (r.missing.tuning ?? 'No tuning study.'),
    ),
    section(
      'searches',
      'Example searches',
      () => searchesSection(r),
      r.searches.length > 0 ? undefined : (r.missing.searches ?? 'No searches.'),
    ),
  ];
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(`K-Fashion Workbench report ${r.runId}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>K-Fashion Workbench — research report</h1>
<p class="muted">Report ${h(r.runId)} · generated ${h(r.timestamp)} · workspace <code>${h(r.workspace)}</code></p>
${r.synthetic ? `<div class="banner">SYNTHETIC DATA — not K-Fashion images and/or not FashionCLIP embeddings; do not report these figures as results.<ul>${r.notes.map((n) => `<li>${h(n)}</li>`).join('')}</ul></div>` : r.notes.map((n) => `<p class="warn">${h(n)}</p>`).join('')}
<nav><a href="#config">Config</a><a href="#dataset">Dataset</a><a href="#training">Training</a><a href="#evaluation">Evaluation</a><a href="#centrality">Centrality</a><a href="#temperature">Temperature</a><a href="#tuning">Tuning</a><a href="#searches">Searches</a></nav>
${sections.join('\n')}
<footer><p class="muted">Written by K-Fashion Workbench (kfashion report). Every figure names its protocol; Recall@K and MRR are shown beside the ceiling that no JSON-only model can pass (EVALUATION.md). This page is self-contained: its images are inline and it makes no network request.</p></footer>
</body>
</html>
`;
}
