/** Entry point of the `kfashion` command (bundled to dist/cli.js by scripts/build-cli.js). */
import { reportError } from './errors.ts';
import { buildProgram } from './program.ts';

try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  process.exitCode = reportError(e);
}
