/** `kfashion sanity`: checks the JSON encoder's properties before anyone trusts a training run. */
import type { Command } from 'commander';
import { isFieldName } from '../../../src-shared/fields.ts';
import { sanityCheck } from '../../services/workbench.ts';
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
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExamples:\n  kfashion sanity\n  kfashion sanity --workspace ws/demo')
    .action(
      async (o: {
        workspace?: string;
        seed: number;
        backend?: (typeof BACKEND_NAMES)[number];
        fields?: string[];
        model?: string;
        json?: boolean;
      }) => {
        const bad = o.fields?.filter((f) => !isFieldName(f)) ?? [];
        if (bad.length > 0) throw new UsageError(`--fields: unknown field ${bad.join(', ')}.`);
        const result = await sanityCheck({
          workspace: o.workspace,
          seed: o.seed,
          backend: o.backend,
          fields: o.fields?.filter(isFieldName),
          model: o.model,
          onCheck: o.json
            ? undefined
            : (c) => console.log(`${c.pass ? 'PASS' : 'FAIL'}  ${c.name}: ${c.detail}`),
        });
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
