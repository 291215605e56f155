/** What every benchmark line says about where it ran (PERFORMANCE.md: compare side by side only). */
import { cpus, totalmem } from 'node:os';

export function machine(): Record<string, string | number> {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** One JSON line per figure, so a script can read the output (`npm run bench -- scan | jq`). */
export function emit(record: Record<string, unknown>): void {
  process.stdout.write(
    `${JSON.stringify({ ...record, machine: machine(), at: new Date().toISOString() })}\n`,
  );
}
