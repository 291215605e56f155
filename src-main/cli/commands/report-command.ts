/** `kfashion report`: one self-contained HTML page of the workspace's run, evaluation and searches. */
import { relative } from 'node:path';
import type { Command } from 'commander';
import type { ResearchReportSummary } from '../../../src-shared/report.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';

interface ReportFlags {
  workspace: string;
  searches: boolean;
  json?: boolean;
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "Write results/report_<timestamp>.html: one self-contained page (images inline, no external requests) with the run's config, training charts, the latest evaluation beside its ceilings, per-category and query-aware tables, centrality, the temperature study and example searches.",
    )
    .requiredOption('--workspace <dir>', 'a workspace (ideally trained, evaluated and searched)')
    .option('--no-searches', 'do not run demo searches when none are saved')
    .option('--json', 'print what was written as JSON')
    .addHelpText('after', '\nExamples:\n  kfashion report --workspace ws/demo')
    .action((o: ReportFlags) =>
      withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const r = await wb.report({ runSearches: o.searches }, controls);
          if (o.json) printJson(r);
          else console.log(formatReport(r));
        }),
      ),
    );
}

export function formatReport(r: ResearchReportSummary): string {
  const out: string[] = [];
  if (r.synthetic)
    out.push(r.note?.startsWith('SYNTHETIC') ? r.note : `SYNTHETIC: ${r.note ?? 'synthetic data'}`, '');
  out.push(
    `Report ${r.run_id}: ${relative(r.workspace, r.file)} (${(r.bytes / 1024).toFixed(0)} KiB, self-contained) in ${r.workspace}`,
  );
  for (const s of r.sections) out.push(`  ${s.included ? '✓' : '–'} ${s.name}: ${s.detail}`);
  if (r.ran_searches) out.push(`Ran demo searches for the report: ${r.ran_searches}.`);
  return out.join('\n');
}
