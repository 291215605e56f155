/**
 * `npm run faults [-- --rounds N] [--ops scan,train] [--seed S] [--after-first-save] [--keep] [--json FILE]`: the fault
 * campaign (fault-campaign.ts) as one command. Prints each round as it ends, then the summary table
 * (the one in README.md), and exits 1 when any round failed. Bundled to dist/faults-cli.js.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { OPERATIONS, type Operation, runCampaign, summaryTable } from './fault-campaign.ts';

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

const args = process.argv.slice(2);
const rounds = Number(flag(args, '--rounds') ?? 50);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds expects a whole number ≥ 1, got "${flag(args, '--rounds')}"`);
  process.exit(2);
}
const seed = Number(flag(args, '--seed') ?? 1);
const opsRaw = flag(args, '--ops');
const ops = opsRaw ? (opsRaw.split(',') as Operation[]) : [...OPERATIONS];
const unknown = ops.filter((o) => !(OPERATIONS as readonly string[]).includes(o));
if (unknown.length > 0) {
  console.error(
    `--ops: unknown operation(s) ${unknown.join(', ')}; expected some of ${OPERATIONS.join(', ')}`,
  );
  process.exit(2);
}
const started = Date.now();
const { results, summary } = await runCampaign({
  rounds,
  ops,
  seed,
  keep: args.includes('--keep'),
  afterFirstSave: args.includes('--after-first-save'),
  log: (s) => console.log(s),
});
const out = flag(args, '--json');
if (out) writeFileSync(out, `${JSON.stringify({ rounds, seed, results, summary }, null, 2)}\n`);
console.log('');
console.log(summaryTable(summary));
console.log(
  `\n${results.length} rounds, seed ${seed}, ${((Date.now() - started) / 60000).toFixed(1)} min on ${cpus().length} × ${cpus()[0]?.model.trim()}`,
);
const failed = results.filter((r) => r.problems.length > 0);
if (failed.length > 0) {
  console.log(`\n${failed.length} round(s) FAILED:`);
  for (const r of failed)
    console.log(`- ${r.op} round ${r.round} (kill at ${r.killAtMs} ms): ${r.problems.join(' | ')}`);
  process.exitCode = 1;
}
