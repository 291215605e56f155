/** How the CLI turns failures into a message and an exit code. */
import { CommanderError } from 'commander';
import { CancelledError } from '../../src-shared/jobs.ts';

/** Bad flags or flag values: exit code 2, like commander's own usage errors. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** Prints the error for a person and returns the exit code. */
export function reportError(e: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (e instanceof CommanderError) {
    // Commander has already printed its message (and the help hint) to stderr.
    return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  if (e instanceof CancelledError) {
    stderr.write(`kfashion: ${e.message}\n`);
    return EXIT.cancelled;
  }
  if (e instanceof UsageError) {
    stderr.write(`kfashion: ${e.message}\n`);
    return EXIT.usage;
  }
  const err = e instanceof Error ? e : new Error(String(e));
  stderr.write(`kfashion: ${err.message}\n`);
  if (process.env.KFASHION_DEBUG) stderr.write(`${err.stack ?? ''}\n`);
  else if (!isExpected(err)) stderr.write('(set KFASHION_DEBUG=1 to see where this came from)\n');
  return EXIT.failed;
}

/** Errors raised on purpose with a message for the user; anything else is a bug worth a stack. */
function isExpected(e: Error): boolean {
  return /Error$/.test(e.name) && e.name !== 'Error' && e.name !== 'TypeError' && e.name !== 'RangeError';
}
