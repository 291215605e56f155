/** `kfashion search`: similarity search, attribute JSON → images or image → images (exact cosine top-K). */
import { relative } from 'node:path';
import type { Command } from 'commander';
import {
  type ImageTagRun,
  SEARCH_DEFAULT_K,
  SEARCH_DEMO_DEFAULT_SAMPLES,
  SEARCH_DEMO_MAX_SAMPLES,
  SEARCH_MAX_K,
  type SimilaritySearchRun,
} from '../../../src-shared/search.ts';
import { BACKEND_NAMES } from '../../training/train-config.ts';
import { UsageError } from '../errors.ts';
import { integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { table } from '../terminal-text.ts';

interface SearchFlags {
  workspace: string;
  query?: string;
  image?: string;
  demo?: boolean;
  samples?: number;
  seed: number;
  k: number;
  checkpoint?: string;
  backend?: (typeof BACKEND_NAMES)[number];
  index?: 'exact' | 'ann';
  json?: boolean;
  to: 'image' | 'json';
}

export function registerSearchCommand(program: Command): void {
  program
    .command('search')
    .description(
      'Similarity search over every garment image of the workspace: attribute JSON → images with the trained JSON encoder, or a picture → images with the workspace image encoder. Exact cosine top-K; saves query, results and a grid PNG in results/similarity_search/<timestamp>/.',
    )
    .requiredOption(
      '--workspace <dir>',
      'a workspace with image embeddings (and a trained encoder for --query/--demo)',
    )
    .option(
      '--query <json>',
      'attributes as JSON, in the encoder field names or K-Fashion keys, e.g. \'{"category":"블라우스","style":["로맨틱"]}\' or \'{"카테고리":"블라우스","스타일":"로맨틱"}\'',
    )
    .option(
      '--image <path>',
      'a picture to search by (image → image, embedded with the workspace image encoder)',
    )
    .option(
      '--demo',
      'one query per (style folder, category) combination of the data, each from a sampled item',
    )
    .option(
      '--samples <n>',
      `--demo: number of queries (default ${SEARCH_DEMO_DEFAULT_SAMPLES}, at most ${SEARCH_DEMO_MAX_SAMPLES})`,
      integer('--samples', 1, SEARCH_DEMO_MAX_SAMPLES),
    )
    .option('--seed <n>', '--demo: seed of the item draw', integer('--seed', 0), 42)
    .option(
      '--k <n>',
      `results per query (default ${SEARCH_DEFAULT_K})`,
      integer('--k', 1, SEARCH_MAX_K),
      SEARCH_DEFAULT_K,
    )
    .option(
      '--checkpoint <path>',
      'a checkpoint .json/.safetensors file or a folder holding one (default: <workspace>/checkpoints best)',
    )
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_NAMES.join(', ')} (default auto)`,
      oneOf('--backend', BACKEND_NAMES),
    )
    .option(
      '--to <what>',
      'with --image: "image" finds the nearest garment pictures (default); "json" tags the picture: the nearest attribute combinations from the vocabulary and from the training items (image → JSON)',
      oneOf('--to', ['image', 'json'] as const),
      'image',
    )
    .option(
      '--index <kind>',
      'exact (default) or ann: an approximate HNSW index for big galleries, cached in <workspace>/ann/; its recall@10 against exact is measured when built and printed with the results',
      oneOf('--index', ['exact', 'ann'] as const),
    )
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `\nExamples:\n  kfashion search --workspace ws/demo --query '{"category":"블라우스","style":["로맨틱"]}'\n  kfashion search --workspace ws/demo --query '{"카테고리":"스커트","스타일":"로맨틱","소재":["레이스"]}' --k 10\n  kfashion search --workspace ws/demo --image photo.jpg\n  kfashion search --workspace ws/demo --image photo.jpg --to json\n  kfashion search --workspace ws/demo --demo --samples 20`,
    )
    .action((o: SearchFlags) => {
      const given = [o.query !== undefined, o.image !== undefined, Boolean(o.demo)].filter(Boolean).length;
      if (given !== 1) {
        throw new UsageError('search needs exactly one of --query <json>, --image <path> or --demo.');
      }
      if (o.samples !== undefined && !o.demo) throw new UsageError('--samples applies to --demo only.');
      if (
        o.image !== undefined &&
        o.to !== 'json' &&
        (o.checkpoint !== undefined || o.backend !== undefined)
      ) {
        throw new UsageError(
          '--checkpoint and --backend apply to JSON queries; --image uses the workspace image encoder.',
        );
      }
      if (o.to === 'json' && o.image === undefined) {
        throw new UsageError('--to json tags a picture: give it with --image <path>.');
      }
      if (o.to === 'json') {
        return withWorkbench(o.workspace, false, (wb) =>
          withJobControls(Boolean(o.json), async (controls) => {
            const run = await wb.tagImage(
              { image: o.image, k: o.k, backend: o.backend, checkpoint: o.checkpoint },
              controls,
            );
            if (o.json) printJson(run);
            else console.log(formatTagRun(run));
          }),
        );
      }
      return withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const run = await wb.search(
            {
              query: o.query,
              image: o.image,
              demo: o.demo,
              samples: o.samples,
              seed: o.seed,
              k: o.k,
              checkpoint: o.checkpoint,
              backend: o.backend,
              index: o.index,
            },
            controls,
          );
          if (o.json) printJson(run);
          else console.log(formatSearchRun(run));
        }),
      );
    });
}

export function formatSearchRun(r: SimilaritySearchRun): string {
  const out: string[] = [];
  if (r.note) out.push(r.note, '');
  const g = r.gallery;
  out.push(
    `Search ${r.run_id}: ${r.searches.length} quer${r.searches.length === 1 ? 'y' : 'ies'}, ${g.engine.startsWith('approximate') ? 'approximate' : 'exact'} cosine top-${r.k} over ${g.items} "${g.model}" image embeddings${g.synthetic ? ' (SYNTHETIC)' : ''} [${g.engine}].`,
  );
  if (r.checkpoint)
    out.push(
      `JSON encoder: checkpoint run ${r.checkpoint.run_id}, epoch ${r.checkpoint.epoch} (${r.checkpoint.fields.join(', ')})${r.checkpoint.stale ? ' — STALE: not the current run' : ''}.`,
    );
  if (r.image_encoder) out.push(`Image encoder: ${r.image_encoder.label}.`);
  for (const [i, s] of r.searches.entries()) {
    out.push('', `${r.searches.length > 1 ? `[${i + 1}] ` : ''}${s.query.direction}: ${s.query.label}`);
    if (s.query.ignored?.length) {
      out.push(`  ignored (not read by this checkpoint): ${s.query.ignored.join(', ')}`);
    }
    if (s.query.source_item) {
      out.push(
        `  from item ${s.query.source_item.id}; it ranks ${s.source_rank ? `#${s.source_rank}` : `below #${r.k}`} among the results`,
      );
    }
    out.push(
      table(
        ['rank', 'cosine', 'item', 'style', 'category', 'crop'],
        s.hits.map((h) => [
          `#${h.rank}${h.is_source ? '*' : ''}`,
          h.score.toFixed(4),
          h.id,
          h.style,
          h.category ?? '-',
          h.crop ?? '(no image)',
        ]),
      ),
    );
    out.push(`  encode ${s.timing.encode_ms.toFixed(1)} ms, search ${s.timing.search_ms.toFixed(2)} ms`);
  }
  if (r.files.dir) {
    out.push(
      '',
      `Written: ${relative(r.workspace, r.files.results)}, ${relative(r.workspace, r.files.query)}${r.files.grids.length ? `, ${r.files.grids.length === 1 ? relative(r.workspace, r.files.grids[0]!) : `${r.files.grids.length} grids`}` : ''} (in ${r.workspace})`,
    );
  }
  return out.join('\n');
}

export function formatTagRun(r: ImageTagRun): string {
  const out: string[] = [];
  if (r.note) out.push(r.note, '');
  out.push(
    `image → JSON for ${r.image}: picture embedded with ${r.image_encoder.label}; attributes by checkpoint run ${r.checkpoint.run_id}, epoch ${r.checkpoint.epoch} (${r.checkpoint.fields.join(', ')}).`,
    '',
    'Best values per field (each alone):',
  );
  for (const f of r.per_field) {
    out.push(`  ${f.field}: ${f.values.map((v) => `${v.value} ${v.score.toFixed(3)}`).join(', ')}`);
  }
  out.push('', `Nearest combinations composed from the vocabulary (top ${r.vocabulary.length}):`);
  out.push(
    table(
      ['rank', 'cosine', 'attributes'],
      r.vocabulary.map((c) => [`#${c.rank}`, c.score.toFixed(4), c.label]),
    ),
  );
  out.push(
    '',
    `Nearest combinations carried by training items (top ${r.training.length} of ${r.training_combinations}):`,
  );
  out.push(
    table(
      ['rank', 'cosine', 'items', 'example', 'attributes'],
      r.training.map((c) => [
        `#${c.rank}`,
        c.score.toFixed(4),
        String(c.items ?? ''),
        c.example?.id ?? '-',
        c.label,
      ]),
    ),
  );
  out.push('', `encode ${r.timing.encode_ms.toFixed(1)} ms, score ${r.timing.score_ms.toFixed(1)} ms`);
  return out.join('\n');
}
