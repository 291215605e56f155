/**
 * A full disk, for real: a small tmpfs mounted where the workspace writes (root only; skipped with
 * the reason elsewhere — the unit test test/unit/atomic-file.test.ts simulates ENOSPC everywhere).
 * The write that fails keeps the previous good files, and the error names the path that failed, the
 * bytes it needed and the bytes free.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  it('train: a checkpoint that does not fit keeps the previous checkpoint and names the file', () => {
    const ckpt = join(ws, 'checkpoints');
    const saved = join(base, 'saved-checkpoints');
    cpSync(ckpt, saved, { recursive: true });
    const lastBytes = statSync(join(saved, 'last.safetensors')).size;
    const bestBytes = statSync(join(saved, 'best_model.safetensors')).size;
    // Room for the previous checkpoints plus half of a new last.safetensors.
    rmSync(ckpt, { recursive: true });
    expect(mountTmpfs(ckpt, lastBytes + bestBytes + 64_000 + Math.floor(lastBytes / 2))).toBeNull();
    cpSync(saved, ckpt, { recursive: true });
    const before = readFileSync(join(ckpt, 'last.json'), 'utf8');
    const r = kfashion(['train', '--workspace', ws, '--quick'], { timeoutMs: 180_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `Could not write ${join(ckpt, 'last.safetensors')}: the disk is full (ENOSPC)`,
    );
    expect(r.stderr).toMatch(/It needed [\d.]+ MB \([\d,]+ bytes\); [\d.]+ MB \([\d,]+ bytes\) free there/);
    // The previous checkpoint pair is intact and still loads for --resume.
    expect(readFileSync(join(ckpt, 'last.json'), 'utf8')).toBe(before);
    expect(
      readFileSync(join(ckpt, 'last.safetensors')).equals(readFileSync(join(saved, 'last.safetensors'))),
    ).toBe(true);
    expect(
      execFileSync('ls', ['-A', ckpt], { encoding: 'utf8' })
        .split('\n')
        .filter((n) => n.endsWith('.tmp')),
    ).toEqual([]);
  }, 200_000);
});
