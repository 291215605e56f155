/** `kfashion scan`, `split`, `crop` and `info`: building and inspecting a workspace's dataset. */
import type { Command } from 'commander';
import { resolveLayout } from '../../dataset/layout.ts';
import { readSplitFile } from '../../dataset/split.ts';
import { UsageError } from '../errors.ts';
import { formatCropSummary, formatScanReport, formatSplit, formatSummary } from '../format-reports.ts';
import { commaList, integer, oneOf } from '../options.ts';
import { printJson, withJobControls, withWorkbench } from '../run.ts';

export function registerDatasetCommands(program: Command): void {
  program
    .command('scan')
    .description(
      'Read K-Fashion label files, match their images, and store garment items, the split and the vocabulary in a workspace.',
    )
    .requiredOption('--data <dir>', 'dataset root, a 라벨링데이터 folder, or a Training/Validation folder')
    .requiredOption('--workspace <dir>', 'workspace folder (created if missing)')
    .option(
      '--styles <list>',
      'only these style folders, comma-separated (e.g. 레트로,로맨틱,리조트)',
      commaList('--styles'),
    )
    .option('--split <file>', 'take the validation images from a JSON file {"val": ["<label stem>", ...]}')
    .option('--seed <n>', "seed of the 80/20 split (default 42, or the workspace's)", integer('--seed', 0))
    .option('--crops', 'also cut and cache every garment crop after the scan')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion scan --data ~/kfashion-sample --workspace ws/sample --styles 레트로,로맨틱,리조트\n  kfashion scan --data C:/sample --workspace C:/kf-ws --split val_stems.json',
    )
    .action(
      async (o: {
        data: string;
        workspace: string;
        styles?: string[];
        split?: string;
        seed?: number;
        crops?: boolean;
        json?: boolean;
      }) => {
        if (o.split !== undefined && o.seed !== undefined) {
          throw new UsageError(
            '--split and --seed exclude each other: a split file fixes the split, a seed draws one.',
          );
        }
        // Check the inputs before the workspace folder is created, so a typo leaves nothing behind.
        resolveLayout(o.data);
        if (o.split !== undefined) readSplitFile(o.split);
        await withWorkbench(o.workspace, true, (wb) =>
          withJobControls(Boolean(o.json), async (controls) => {
            const report = await wb.scan(
              { data: o.data, styles: o.styles, splitFile: o.split, seed: o.seed },
              controls,
            );
            const crops = o.crops ? await wb.crops({}, controls) : undefined;
            if (o.json) printJson(crops ? { ...report, crops } : report);
            else {
              console.log(formatScanReport(report));
              if (crops) console.log(formatCropSummary(crops));
            }
            if (crops && crops.failed.length > 0) process.exitCode = 1;
          }),
        );
      },
    );

  program
    .command('split')
    .description('Redraw the train/validation split of a scanned workspace (seeded), or take it from a file.')
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--seed <n>', 'seed of the 80/20 split', integer('--seed', 0))
    .option('--file <file>', 'JSON file {"val": ["<label stem>", ...]}; every other image is train')
    .option('--json', 'print the split summary as JSON')
    .action((o: { workspace: string; seed?: number; file?: string; json?: boolean }) => {
      if (o.file === undefined && o.seed === undefined) throw new UsageError('give --seed N or --file FILE.');
      if (o.file !== undefined && o.seed !== undefined)
        throw new UsageError('give either --seed or --file, not both.');
      return withWorkbench(o.workspace, false, (wb) => {
        const s = wb.split({ file: o.file, seed: o.seed });
        if (o.json) printJson(s);
        else console.log(formatSplit(s));
      });
    });

  program
    .command('crop')
    .description(
      'Cut and cache the garment crops of a scanned workspace (only new or changed ones are redone).',
    )
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--split <side>', 'only train or val items', oneOf('--split', ['train', 'val'] as const))
    .option('--styles <list>', 'only these style folders, comma-separated', commaList('--styles'))
    .option('--concurrency <n>', 'crops in flight at once', integer('--concurrency', 1, 64), 4)
    .option('--json', 'print the summary as JSON')
    .action(
      (o: {
        workspace: string;
        split?: 'train' | 'val';
        styles?: string[];
        concurrency: number;
        json?: boolean;
      }) =>
        withWorkbench(o.workspace, false, (wb) =>
          withJobControls(Boolean(o.json), async (controls) => {
            const s = await wb.crops(
              { filter: { split: o.split, styleFolders: o.styles }, concurrency: o.concurrency },
              controls,
            );
            if (o.json) printJson(s);
            else console.log(formatCropSummary(s));
            if (s.failed.length > 0) process.exitCode = 1;
          }),
        ),
    );

  program
    .command('info')
    .description('Summarise a workspace: data roots, garments per style and split, vocabulary, crops.')
    .requiredOption('--workspace <dir>', 'an existing workspace folder')
    .option('--json', 'print the summary as JSON')
    .action((o: { workspace: string; json?: boolean }) =>
      withWorkbench(o.workspace, false, (wb) => {
        const s = wb.summary();
        if (o.json) printJson(s);
        else console.log(formatSummary(s));
      }),
    );
}
