/**
 * `npm run bench -- <name>`: benchmarks of the heavy paths, printed as JSON lines (PERFORMANCE.md).
 * Bundled to dist/bench-cli.js like the CLI.
 */
import { scanBench, scanOnce } from './scan-bench.ts';

const BENCHES: Record<string, (args: string[]) => Promise<void>> = {
  scan: scanBench,
};

const [name, ...args] = process.argv.slice(2);
if (name === 'scan-once') {
  await scanOnce(args[0]!, args[1]!, args[2] ?? 'workers');
} else if (name && BENCHES[name]) {
  await BENCHES[name](args);
} else {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]`);
  console.error('  scan [--files N]   parse + store N and 3N generated label files (default N = 10000)');
  process.exitCode = 2;
}
