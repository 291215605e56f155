import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { settleKilledSaves } from '../../src-main/training/checkpoints.ts';

// A PID far above Linux's default pid_max (4,194,304): no live process holds it.
const GONE = 9_999_999;

describe('settleKilledSaves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kf-settle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("removes a killed writer's temporary files and keeps a live writer's and the finished files", () => {
    writeFileSync(join(dir, 'last.json'), '{"kept":true}');
    writeFileSync(join(dir, `.last.json.${GONE}.tmp`), '{"cut short');
    writeFileSync(join(dir, `.best.safetensors.${GONE}.tmp`), 'partial');
    writeFileSync(join(dir, `.best.json.${process.pid}.tmp`), 'still being written');
    settleKilledSaves(dir);
    expect(readdirSync(dir).sort()).toEqual([`.best.json.${process.pid}.tmp`, 'last.json']);
    expect(readFileSync(join(dir, 'last.json'), 'utf8')).toBe('{"kept":true}');
    rmSync(join(dir, `.best.json.${process.pid}.tmp`));
    expect(existsSync(join(dir, `.last.json.${GONE}.tmp`))).toBe(false);
  });
});
