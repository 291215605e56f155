/** The `kfashion` command tree. Every command has --help; bad flags exit with code 2 and say why. */
import { Command } from 'commander';
import { registerCatalogCommand } from './commands/catalog-command.ts';
import { registerCentralityCommand } from './commands/centrality-command.ts';
import { registerDatasetCommands } from './commands/dataset-commands.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerEmbedCommand } from './commands/embed-command.ts';
import { registerEvalCommand } from './commands/eval-command.ts';
import { registerExportCommand } from './commands/export-command.ts';
import { registerImportCheckpointCommand } from './commands/import-checkpoint-command.ts';
import { registerReportCommand } from './commands/report-command.ts';
import { registerRunsCommand } from './commands/runs-command.ts';
import { registerSanityCommand } from './commands/sanity-command.ts';
import { registerSearchCommand } from './commands/search-command.ts';
import { registerServeCommand } from './commands/serve-command.ts';
import { registerSweepCommand } from './commands/sweep-command.ts';
import { registerTrainCommand } from './commands/train-command.ts';
import { registerWebCommand } from './commands/web-command.ts';

declare const __KFASHION_VERSION__: string | undefined;

export function buildProgram(): Command {
  const program = new Command('kfashion')
    .description(
      'K-Fashion Workbench: datasets, JSON-encoder training, evaluation, search and recommendation.',
    )
    .version(typeof __KFASHION_VERSION__ === 'string' ? __KFASHION_VERSION__ : 'dev')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureHelp({ sortSubcommands: true });
  registerDemoCommand(program);
  registerDatasetCommands(program);
  registerEmbedCommand(program);
  registerTrainCommand(program);
  registerRunsCommand(program);
  registerSanityCommand(program);
  registerEvalCommand(program);
  registerSearchCommand(program);
  registerReportCommand(program);
  registerCentralityCommand(program);
  registerSweepCommand(program);
  registerImportCheckpointCommand(program);
  registerExportCommand(program);
  registerWebCommand(program);
  registerCatalogCommand(program);
  registerServeCommand(program);
  // Subcommands inherit neither exitOverride nor the help hint; set them on each.
  for (const c of program.commands) c.exitOverride().showHelpAfterError('(add --help for usage)');
  return program;
}
