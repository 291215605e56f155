/** The `kfashion` command tree. Every command has --help; bad flags exit with code 2 and say why. */
import { Command } from 'commander';
import { registerDatasetCommands } from './commands/dataset-commands.ts';
import { registerDemoCommand } from './commands/demo-command.ts';
import { registerEmbedCommand } from './commands/embed-command.ts';
import { registerSanityCommand } from './commands/sanity-command.ts';
import { registerTrainCommand } from './commands/train-command.ts';

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
  registerSanityCommand(program);
  // Subcommands inherit neither exitOverride nor the help hint; set them on each.
  for (const c of program.commands) c.exitOverride().showHelpAfterError('(add --help for usage)');
  return program;
}
