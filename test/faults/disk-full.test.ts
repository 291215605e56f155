/**
 * A full disk, for real: a small tmpfs mounted where the workspace writes (root only; skipped with
 * the reason elsewhere — the unit test test/unit/atomic-file.test.ts simulates ENOSPC everywhere).
 * The write that fails keeps the previous good files, and the error names the path that failed, the
 * bytes it needed and the bytes free.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { kfashion } from '../helpers/run-cli.ts';

const base = tempDir('kf-disk-full ');
const mounts: string[] = [];

function mountTmpfs(dir: string, bytes: number): string | null {
  mkdirSync(dir, { recursive: true });
  if (process.getuid?.() !== 0) return 'needs root to mount a tmpfs';
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
    mounts.push(dir);
    return null;
  } catch (e) {
    return `mount -t tmpfs failed: ${(e as Error).message.split('\n')[0]}`;
  }
}

const canMount = mountTmpfs(join(base, 'probe'), 65_536);
const ws = join(base, 'ws');

beforeAll(() => {
  if (canMount !== null) return;
  const r = kfashion(['demo', '--out', join(base, 'data'), '--workspace', ws, '--json'], {
    timeoutMs: 180_000,
  });
  expect(r.code, r.stderr).toBe(0);
  const t = kfashion(['train', '--workspace', ws, '--quick', '--json'], { timeoutMs: 180_000 });
  expect(t.code, t.stderr).toBe(0);
}, 400_000);

afterAll(() => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m], { stdio: 'pipe' });
    } catch {
      // already gone
    }
  }
  rmSync(base, { recursive: true, force: true });
});

describe.skipIf(canMount !== null)(`a full disk (${canMount ?? 'tmpfs'})`, () => {
  it('export: the previous bundle is kept and the error names the zip and the space it needed', () => {
    const dir = join(base, 'exports');
    expect(mountTmpfs(dir, 65_536)).toBeNull();
    const out = join(dir, 'bundle.zip');
    writeFileSync(out, 'the previous good bundle');
    const r = kfashion(['export', '--workspace', ws, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `Could not write ${out.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: the disk is full \\(ENOSPC\\)\\. It needed [\\d.]+ MB \\([\\d,]+ bytes\\); [\\d.]+ KB \\([\\d,]+ bytes\\) free there`,
      ),
    );
    expect(readFileSync(out, 'utf8')).toBe('the previous good bundle');
    expect(execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).trim()).toBe('bundle.zip');
  });

  it('train: a checkpoint that does not fit keeps the earlier runs intact and names the file', () => {
    // Every training writes a run folder under runs/; the disk that fills is the one holding them.
    const runs = join(ws, 'runs');
    const saved = join(base, 'saved-runs');
    cpSync(runs, saved, { recursive: true });
    const [first] = readdirSync(saved);
    const firstCk = join(saved, first!, 'checkpoints');
    const lastBytes = statSync(join(firstCk, 'last.safetensors')).size;
    const used = Number(execFileSync('du', ['-sb', saved], { encoding: 'utf8' }).split('\t')[0]);
    // Room for the earlier runs, the new run's small files and half of one new checkpoint.
    rmSync(runs, { recursive: true });
    expect(mountTmpfs(runs, used + 256_000 + Math.floor(lastBytes / 2))).toBeNull();
    cpSync(saved, runs, { recursive: true });
    const r = kfashion(['train', '--workspace', ws, '--quick'], { timeoutMs: 180_000 });
    expect(r.code).toBe(1);
    const esc = runs.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(r.stderr).toMatch(
      new RegExp(
        `Could not write ${esc}/[^/\\s]+/checkpoints/(best|last)\\.safetensors: the disk is full \\(ENOSPC\\)`,
      ),
    );
    expect(r.stderr).toMatch(
      /It needed [\d.]+ [KM]B \([\d,]+ bytes\); [\d.]+ [KM]?B \([\d,]+ bytes\) free there/,
    );
    // The earlier run's checkpoint pair is intact, and no temporary file is left under any run.
    for (const f of ['last.json', 'last.safetensors', 'best.json', 'best.safetensors']) {
      expect(readFileSync(join(runs, first!, 'checkpoints', f)).equals(readFileSync(join(firstCk, f)))).toBe(
        true,
      );
    }
    const leftovers = execFileSync('find', [runs, '-name', '*.tmp'], { encoding: 'utf8' }).trim();
    expect(leftovers).toBe('');
  }, 200_000);
});
