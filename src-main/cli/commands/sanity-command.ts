/** `kfashion sanity`: checks the JSON encoder's properties before anyone trusts a training run. */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { isFieldName } from '../../../src-shared/fields.ts';
import { sanityCheck } from '../../services/workbench.ts';
import { writeJsonAtomic } from '../../store/atomic-file.ts';
import type { SanityCheckResult } from '../../training/sanity-check.ts';
import { BACKEND_NAMES } from '../../training/train-config.ts';
import { UsageError } from '../errors.ts';
import { commaList, integer, oneOf } from '../options.ts';
import { printJson } from '../run.ts';

export function registerSanityCommand(program: Command): void {
  program
    .command('sanity')
    .description(
      'Sanity-check the JSON encoder: 512-d unit-norm output, every field matters, multi-valued fields are order-invariant and ignore padding, the InfoNCE loss falls, every tensor gets a gradient, batch-independent eval, frozen image embeddings. Prints SANITY CHECK PASS only when all pass.',
    )
    .option('--workspace <dir>', "check on this workspace's items and embeddings (default: synthetic inputs)")
    .option('--seed <n>', 'seed', integer('--seed', 0), 42)
    .option(
      '--backend <name>',
      `tfjs backend: ${BACKEND_NAMES.join(', ')} (default auto)`,
      oneOf('--backend', BACKEND_NAMES),
    )
    .option(
      '--fields <list>',
      'encoder fields, comma-separated (default: the five research fields)',
      commaList('--fields'),
    )
    .option('--model <id>', 'image-embedding model of the workspace to use')
    .option(
      '--out <dir>',
      'without --workspace: the folder that gets temp_logs/sanity_check_results.json (default: the current folder)',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  kfashion sanity                       (writes ./temp_logs/sanity_check_results.json)\n  kfashion sanity --out results/sanity\n  kfashion sanity --workspace ws/demo   (writes ws/demo/temp_logs/sanity_check_results.json)',
    )
    .action(
      async (o: {
        workspace?: string;
        seed: number;
        backend?: (typeof BACKEND_NAMES)[number];
        fields?: string[];
        model?: string;
        out?: string;
        json?: boolean;
      }) => {
        const bad = o.fields?.filter((f) => !isFieldName(f)) ?? [];
        if (bad.length > 0) throw new UsageError(`--fields: unknown field ${bad.join(', ')}.`);
        if (o.workspace !== undefined && o.out !== undefined) {
          throw new UsageError(
            '--out is for a check without --workspace; with one, the file goes to <workspace>/temp_logs/',
          );
        }
        // Without a workspace the file goes under the current folder (or --out), as the seed asks.
        // [Note: Sanity file written whole] The check writes its file in place, so it is pointed at a
        // temporary name beside the final one; once complete, it is written with its final path inside
        // to that path through store/atomic-file.ts, so no half-written sanity_check_results.json is
        // ever visible.
        const finalPath =
          o.workspace === undefined
            ? resolve(o.out ?? '.', 'temp_logs', 'sanity_check_results.json')
            : undefined;
        const tmpPath = finalPath
          ? join(dirname(finalPath), `.sanity_check_results.json.${process.pid}.tmp`)
          : undefined;
        const raw = await sanityCheck({
          ...(tmpPath ? { resultsPath: tmpPath } : {}),
          workspace: o.workspace,
          seed: o.seed,
          backend: o.backend,
          fields: o.fields?.filter(isFieldName),
          model: o.model,
          onCheck: o.json
            ? undefined
            : (c) => console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
        });
        const result = finalPath && tmpPath ? publish(raw, tmpPath, finalPath) : raw;
        if (o.json) printJson(result);
        else {
          // Imported here: the module pulls in tfjs, which other commands should not load.
          const { formatSanityCheck } = await import('../../training/sanity-check.ts');
          console.log(formatSanityCheck(result).split('\n').slice(result.checks.length).join('\n'));
        }
        if (!result.pass) process.exitCode = 1;
      },
    );
}

/** Writes the temporary results file, with its final path inside, whole to that path. */
function publish(result: SanityCheckResult, tmpPath: string, finalPath: string): SanityCheckResult {
  try {
    const file = JSON.parse(readFileSync(tmpPath, 'utf8')) as Record<string, unknown>;
    writeJsonAtomic(finalPath, { ...file, resultsPath: finalPath });
  } finally {
    rmSync(tmpPath, { force: true });
  }
  return { ...result, resultsPath: finalPath };
}
