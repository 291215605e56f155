/** `kfashion centrality`: the best-seller proxy by embedding centrality (EVALUATION.md). */
import type { Command } from 'commander';
import type { CentralityReport, CentralityStats } from '../../../src-shared/evaluation.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';
import { table } from '../terminal-text.ts';

export function registerCentralityCommand(program: Command): void {
  program
    .command('centrality')
    .description(
      "Best-seller proxy: cosine of every item's image embedding to the centre of all of them; stores it per item, marks the top 10 % as the anchor set, reports overall / anchor / per-style statistics.",
    )
    .requiredOption('--workspace <dir>', 'a workspace with image embeddings')
    .option('--model <id>', "image-embedding model (default: the trained checkpoint's, else the only one)")
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion centrality --workspace ws/demo\n  kfashion centrality --workspace ws/demo --json',
    )
    .action((o: { workspace: string; model?: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const r = await wb.centrality({ model: o.model }, controls);
          if (o.json) printJson(r);
          else console.log(formatCentrality(r));
        }),
      ),
    );
}

const f4 = (v: number) => v.toFixed(4);
const row = (name: string, s: CentralityStats, extra = '') => [
  name,
  String(s.count),
  f4(s.mean),
  f4(s.min),
  f4(s.max),
  f4(s.std),
  extra,
];

export function formatCentrality(r: CentralityReport): string {
  const out: string[] = [];
  if (r.synthetic) out.push(r.note ?? 'SYNTHETIC', '');
  out.push(
    `Centrality ${r.run_id}: cosine of each of ${r.items} "${r.model}" image embeddings to their normalised mean (stored in the workspace).`,
    `Anchor set (best-seller proxy): the top ${r.anchor.fraction * 100} % = ${r.anchor.count} items, centrality ≥ ${f4(r.anchor.threshold)}.`,
    '',
    table(
      ['set', 'items', 'mean', 'min', 'max', 'std', 'anchors'],
      [
        row('overall', r.overall),
        row('anchor (top 10 %)', r.anchor),
        ...Object.entries(r.per_style).map(([s, v]) => row(s, v, String(v.anchors))),
      ],
    ),
    '',
    r.statement,
    '',
    `Most central: ${r.anchor.top
      .slice(0, 5)
      .map((t) => `${t.id} (${f4(t.centrality)})`)
      .join(', ')}`,
    '',
    `Written: ${r.files.json}, ${r.files.chart} (in ${r.workspace})`,
  );
  return out.join('\n');
}
