/** `kfashion demo`: writes the synthetic demo dataset, and optionally scans it into a workspace. */
import type { Command } from 'commander';
import { importDemoEmbeddings } from '../../services/demo-workspace.ts';
import { createDemoDataset } from '../../services/workbench.ts';
import { formatImportReport, formatScanReport } from '../format-reports.ts';
import { integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Write a SYNTHETIC dataset in the exact K-Fashion layout (label JSON with its quirks, JPEG images) plus stand-in FashionCLIP embeddings (image_embeddings.npy + image_embedding_ids.json).',
    )
    .requiredOption('--out <dir>', 'folder to write (created; an earlier demo there is replaced)')
    .option('--seed <n>', 'random seed', integer('--seed', 0), 7)
    .option(
      '--scale <scale>',
      'small (200 images) or seed (2,188 images like the earlier sample)',
      oneOf('--scale', ['small', 'seed'] as const),
      'small',
    )
    .option(
      '--workspace <dir>',
      'also scan the demo into this workspace and import its stand-in embeddings as model synthetic-demo',
    )
    .option('--json', 'print the summary as JSON')
    .action(
      async (o: {
        out: string;
        seed: number;
        scale: 'small' | 'seed';
        workspace?: string;
        json?: boolean;
      }) => {
        await withJobControls(Boolean(o.json), async (controls) => {
          const demo = await createDemoDataset({ outDir: o.out, seed: o.seed, scale: o.scale }, controls);
          const scanned = o.workspace
            ? await withWorkbench(o.workspace, true, async (wb) => {
                const scan = await wb.scan({ data: o.out }, controls);
                return { scan, embeddings: await importDemoEmbeddings(wb, o.out) };
              })
            : undefined;
          const scan = scanned?.scan;
          if (o.json) {
            printJson(scanned ? { demo, ...scanned } : { demo });
            return;
          }
          console.log(
            [
              `SYNTHETIC demo dataset written to ${demo.outDir} (seed ${demo.seed}, scale ${demo.scale}).`,
              `  ${demo.images} images, ${demo.garments} usable garments (${demo.excludedGarments} garments deliberately without a usable box).`,
              `  Stand-in embeddings (synthetic, not FashionCLIP): ${demo.embeddings.path} [${demo.embeddings.rows}, ${demo.embeddings.dim}]`,
              `  centrality mean ${demo.embeddings.centralityMean.toFixed(4)}, std ${demo.embeddings.centralityStd.toFixed(4)}, range [${demo.embeddings.centralityMin.toFixed(4)}, ${demo.embeddings.centralityMax.toFixed(4)}]`,
            ].join('\n'),
          );
          if (scanned) {
            console.log(`\n${formatScanReport(scanned.scan)}`);
            console.log(`\n${formatImportReport(scanned.embeddings)}`);
          }
          if (!scan) console.log(`\nNext: kfashion scan --data ${o.out} --workspace <workspace folder>`);
        });
      },
    );
}
