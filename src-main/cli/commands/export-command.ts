/** `kfashion export`: a workspace's run results as one zip (see services/export-bundle.ts). */
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description(
      'Write a result bundle: a zip with the config, best checkpoint (safetensors + json + README), results JSONs, charts, HTML reports, similarity-search folders and manifest.json (run id, time, SHA-256 per file, synthetic flag).',
    )
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option(
      '--run <run>',
      'bundle one run only (id, number or start of the id, or current): its config with the data fingerprint, split item ids, best checkpoint, results and evaluations',
    )
    .option('--out <file>', 'zip file to write (default <workspace>/exports/bundle-<run>-<time>.zip)')
    .option('--json', 'print the bundle summary as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion export --workspace ws/demo --out demo-run.zip\n  kfashion export --workspace ws/demo --run current --out run.zip   (replay: kfashion train --from-bundle run.zip --workspace WS)',
    )
    .action((o: { workspace: string; out?: string; run?: string; json?: boolean }) => {
      if (o.out !== undefined && !/\.zip$/i.test(o.out)) {
        throw new UsageError(`--out expects a file name ending in .zip, got "${o.out}"`);
      }
      return withWorkbench(o.workspace, false, (wb) =>
        withJobControls(Boolean(o.json), async (controls) => {
          const s = await wb.exportBundle({ out: o.out, run: o.run }, controls);
          if (o.json) {
            printJson(s);
            return;
          }
          const lines = [
            `${s.synthetic ? 'SYNTHETIC ' : ''}result bundle written: ${s.path} (${(s.bytes / 1e6).toFixed(2)} MB, ${s.files.length} files + manifest.json)`,
            `  run ${s.runId ?? '(none)'}, ${s.timestamp}`,
          ];
          for (const f of s.files) lines.push(`  ${f.path}  ${f.bytes} B`);
          for (const m of s.missing) lines.push(`  missing: ${m}`);
          if (s.synthetic) {
            lines.push(
              '  The workspace holds SYNTHETIC demo data: the bundle says so in manifest.json and config.json.',
            );
          }
          console.log(lines.join('\n'));
        }),
      );
    });
}
