/**
 * The atomic writer: a reader never sees half a file, a disk-full write keeps the previous good file
 * and names the path and the space it needed, and temporary files of killed writers are cleared.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

// Fails writes to temporary files while `diskFull` is set, the way a full disk does (ENOSPC).
const state = vi.hoisted(() => ({ diskFull: false }));
vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const writeFileSync: typeof fs.writeFileSync = (file, data, options) => {
    if (state.diskFull && String(file).endsWith('.tmp')) {
      // A full disk takes some bytes first: leave a partial temporary file, as the kernel would.
      fs.writeFileSync(file, 'partial');
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), {
        code: 'ENOSPC',
        errno: -28,
      });
    }
    return fs.writeFileSync(file, data, options);
  };
  return { ...fs, default: { ...fs, writeFileSync }, writeFileSync };
});

const { DiskSpaceError, removeStaleTempFiles, tempPathFor, writeFileAtomic } = await import(
  '../../src-main/store/atomic-file.ts'
);
const { writeSafetensors } = await import('../../src-main/training/safetensors.ts');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kf-atomic-'));
  state.diskFull = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeFileAtomic', () => {
  it('replaces the file and leaves no temporary file', () => {
    const p = join(dir, 'results.json');
    writeFileAtomic(p, '{"a":1}');
    writeFileAtomic(p, '{"a":2}');
    expect(readFileSync(p, 'utf8')).toBe('{"a":2}');
    expect(readdirSync(dir)).toEqual(['results.json']);
  });

  it('on a full disk keeps the previous good file and names the path and the bytes it needed', () => {
    const p = join(dir, 'training_summary.json');
    writeFileAtomic(p, '{"good":true}');
    state.diskFull = true;
    const big = 'x'.repeat(123_456);
    let err: unknown;
    try {
      writeFileAtomic(p, big);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DiskSpaceError);
    const e = err as InstanceType<typeof DiskSpaceError>;
    expect(e.path).toBe(p);
    expect(e.neededBytes).toBe(123_456);
    expect(e.message).toContain(p);
    expect(e.message).toContain('ENOSPC');
    expect(e.message).toContain('121 KB (123,456 bytes)');
    expect(e.message).toMatch(/free there|could not be read/);
    expect(readFileSync(p, 'utf8')).toBe('{"good":true}');
    // The partial temporary file is removed too.
    expect(readdirSync(dir)).toEqual(['training_summary.json']);
  });

  it('a checkpoint save on a full disk keeps the previous checkpoint intact', () => {
    const p = join(dir, 'best_model.safetensors');
    const tensor = (v: number) => ({ shape: [2], data: Float32Array.of(v, v) });
    writeSafetensors(p, [['w', tensor(1)]]);
    const before = readFileSync(p);
    state.diskFull = true;
    expect(() => writeSafetensors(p, [['w', tensor(2)]])).toThrow(
      /Could not write .*best_model\.safetensors.*disk is full/,
    );
    expect(readFileSync(p).equals(before)).toBe(true);
  });

  it('other errors pass through unchanged', () => {
    expect(() => writeFileAtomic(join(dir, 'missing', 'x.json'), '{}')).toThrow(/ENOENT/);
  });

  it("clears temporary files of writers that are gone, never a running one's", () => {
    const dead = join(dir, '.last.safetensors.999999999.tmp');
    const alive = tempPathFor(join(dir, 'best_model.json'), process.pid);
    writeFileSync(dead, 'half');
    writeFileSync(alive, 'in progress');
    writeFileSync(join(dir, 'keep.json'), '{}');
    expect(removeStaleTempFiles(dir)).toBe(1);
    expect(existsSync(dead)).toBe(false);
    expect(existsSync(alive)).toBe(true);
    expect(existsSync(join(dir, 'keep.json'))).toBe(true);
  });
});
