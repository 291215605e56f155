/** `kfashion eval`: retrieval evaluation of a trained JSON encoder (EVALUATION.md). */
import type { Command } from 'commander';
import {
  DEFAULT_EVAL_BATCH,
  type EmbeddingHealth,
  type EvalProtocol,
  type EvaluationReport,
  MIN_EVAL_BATCH,
  type RetrievalFigures,
} from '../../../src-shared/evaluation.ts';
import { formatNum, formatPct, headlineRows, protocolLabels } from '../../evaluation/figure-rows.ts';
import { BACKEND_NAMES } from '../../training/train-config.ts';
import { UsageError } from '../errors.ts';
import { integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { table } from '../terminal-text.ts';

interface EvalFlags {
  workspace: string;
  checkpoint?: string;
  run?: string;
  strict?: boolean;
  protocol: EvalProtocol;
  batchSize?: number;
  seed: number;
  backend?: (typeof BACKEND_NAMES)[number];
  json?: boolean;
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description(
      'Evaluate the trained JSON encoder on the validation split: JSON → image and image → JSON, Top-K/Recall@K, Precision@K, MRR beside their ceilings, similarities, embedding health, per style and category, query-aware subsets.',
    )
    .requiredOption('--workspace <dir>', 'a workspace with a trained encoder (kfashion train)')
    .option(
      '--run <run>',
      "evaluate this run's best checkpoint (id, number, start of the id; default: the current run)",
    )
    .option(
      '--checkpoint <path>',
      'a checkpoint .json/.safetensors file or a folder holding one (instead of --run)',
    )
    .option(
      '--strict',
      "refuse when the run's data (split items, image vectors) differs from the workspace's instead of warning",
    )
    .option(
      '--protocol <name>',
      'gallery = rank against the whole validation gallery (honest); in-batch = rank within shuffled batches of B (comparable to earlier PyTorch figures)',
      oneOf('--protocol', ['gallery', 'in-batch'] as const),
      'gallery',
    )
    .option(
      '--batch-size <n>',
      `B for --protocol in-batch (default ${DEFAULT_EVAL_BATCH}, at least ${MIN_EVAL_BATCH})`,
      integer('--batch-size', 1),
    )
    .option(
      '--seed <n>',
      'seed of the in-batch shuffle and the category-balanced draw',
      integer('--seed', 0),
      42,
    )
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_NAMES.join(', ')} (default auto)`,
      oneOf('--backend', BACKEND_NAMES),
    )
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion eval --workspace ws/demo\n  kfashion eval --workspace ws/demo --protocol in-batch --batch-size 64\n  kfashion eval --workspace ws/demo --run 3 --json\n  kfashion eval --workspace ws/demo --checkpoint ws/demo/runs/<id>/checkpoints --strict',
    )
    .action((o: EvalFlags) => {
      if (o.batchSize !== undefined && o.protocol !== 'in-batch') {
        throw new UsageError(
          '--batch-size applies to --protocol in-batch only (the gallery protocol ranks against every validation image).',
        );
      }
      if (o.batchSize !== undefined && o.batchSize < MIN_EVAL_BATCH) {
        throw new UsageError(
          `--batch-size expects a whole number >= ${MIN_EVAL_BATCH} (smaller batches inflate every in-batch figure), got "${o.batchSize}".`,
        );
      }
      return withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const r = await wb.evaluate(
            {
              checkpoint: o.checkpoint,
              run: o.run,
              strict: o.strict,
              // Every face says it: stderr here (also with --json), the report's data_check.warning.
              onWarning: (m) => process.stderr.write(`WARNING: ${m}\n`),
              protocol: o.protocol,
              batchSize: o.batchSize,
              seed: o.seed,
              backend: o.backend,
            },
            controls,
          );
          if (o.json) printJson(r);
          else console.log(formatEvaluation(r));
        }),
      );
    });
}

const pct = formatPct;
const num = (v: number) => formatNum(v);
const headline = headlineRows;

function groupTable(groups: Record<string, RetrievalFigures>, what: string): string {
  return table(
    [what, 'queries', 'Top-1', 'Top-5', 'R@10', 'R@10 ceiling', 'MRR', 'MRR ceiling', 'pos sim', 'neg sim'],
    Object.entries(groups).map(([k, f]) => [
      k,
      String(f.queries),
      pct(f.recall['1']),
      pct(f.recall['5']),
      pct(f.recall['10']),
      pct(f.ceiling.recall['10']),
      num(f.mrr),
      num(f.ceiling.mrr),
      num(f.positive_similarity),
      num(f.negative_similarity),
    ]),
  );
}

function health(name: string, h: EmbeddingHealth): string {
  const v = h.per_dimension_variance;
  return `${name}: ${h.vectors} vectors; norms ${h.norm.min.toFixed(6)}..${h.norm.max.toFixed(6)} (${h.norm.ok ? `all 1 within ${h.norm.tolerance}` : `${h.norm.off} NOT 1 within ${h.norm.tolerance}`}); per-dimension variance mean ${v.mean.toExponential(2)} (min ${v.min.toExponential(2)}, max ${v.max.toExponential(2)}, ${v.near_zero} near zero); mean pairwise cosine ${h.mean_pairwise_cosine.toFixed(3)}${h.mean_pairwise_cosine > 0.9 ? ' — COLLAPSE?' : ''}`;
}

export function formatEvaluation(r: EvaluationReport): string {
  const out: string[] = [];
  if (r.synthetic) out.push(r.note ?? 'SYNTHETIC', '');
  const c = r.checkpoint;
  if (r.data_check?.warning) out.push(`WARNING: ${r.data_check.warning}`, '');
  if (r.stale && r.run) {
    out.push(
      `STALE: run ${r.run.id} is not the workspace's current run (${r.run.current_run ?? 'none'}); these figures are not the current model's.`,
      '',
    );
  }
  out.push(
    `Evaluation ${r.run_id} of checkpoint ${c.run_id} (${c.kind}, epoch ${c.epoch}, T ${c.temperature}); image embeddings ${c.image_embedding.model}${c.image_embedding.synthetic ? ' (SYNTHETIC)' : ''}.`,
    r.protocol === 'gallery'
      ? `Protocol: gallery — each of the ${r.queries} validation JSON queries is ranked against all ${r.candidates} validation images.`
      : `Protocol: in-batch, B=${r.batch_size} — the ${r.queries} validation items shuffled (seed ${r.batch_seed}) into ${r.batches} batches of exactly ${r.batch_size} candidates; each query ranked within its batch. Quote these figures with the batch size, e.g. "${r.labels['5']}".`,
    r.tie_rule,
    '',
    'JSON → image (main direction):',
    table(['metric', 'value', 'ceiling', '% of ceiling'], headline(r, r.labels)),
    `Precision@1/5/10: strict (all encoder fields equal) ${pct(r.precision.strict['1'])} / ${pct(r.precision.strict['5'])} / ${pct(r.precision.strict['10'])}; loose (category and style equal) ${pct(r.precision.loose['1'])} / ${pct(r.precision.loose['5'])} / ${pct(r.precision.loose['10'])}.`,
    `Similarity: positive pairs ${num(r.positive_similarity)}, negative pairs ${num(r.negative_similarity)} (gap ${num(r.positive_similarity - r.negative_similarity)}).`,
  );
  if (r.ceiling_note) out.push('', r.ceiling_note);
  const rev = r.image_to_json;
  out.push(
    '',
    `image → JSON (${rev.description}):`,
    table(['metric', 'value', 'ceiling', '% of ceiling'], headline(rev, protocolLabels(r.protocol_label))),
    '',
    'Per style folder (JSON → image):',
    groupTable(r.per_style, 'style'),
    '',
    'Per garment category (JSON → image):',
    groupTable(r.per_category, 'category'),
    '',
    `Query-aware evaluation (JSON → image, ${r.protocol_label}):`,
    table(
      ['queries', 'n', 'Top-1', 'Top-1 ceiling', 'Recall@5', 'R@5 ceiling', 'Recall@10', 'R@10 ceiling'],
      Object.entries(r.query_aware.subsets).map(([k, f]) => [
        k.replace('_', '-'),
        String(f.queries),
        pct(f.recall['1']),
        pct(f.ceiling.recall['1']),
        pct(f.recall['5']),
        pct(f.ceiling.recall['5']),
        pct(f.recall['10']),
        pct(f.ceiling.recall['10']),
      ]),
    ),
    r.query_aware.statement,
    '',
    'Embedding health:',
    `  ${health('JSON encoder outputs', r.health.json)}`,
    `  ${health('image embeddings', r.health.image)}`,
    '',
    `Written: ${r.files.json}, ${r.files.chart} (in ${r.workspace})`,
  );
  return out.join('\n');
}
