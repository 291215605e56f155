import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kfashion } from '../helpers/run-cli.ts';
import { buildDemoTrainingWorkspace, copyWorkspace } from '../helpers/training-fixture.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'kfashion.js');

let fixture: { root: string; workspace: string; data: string };
beforeAll(async () => {
  fixture = await buildDemoTrainingWorkspace();
});
afterAll(() => rmSync(fixture.root, { recursive: true, force: true }));

interface ShownTrial {
  number: number;
  state: string;
  runId: string | null;
  steps: number;
  params: Record<string, unknown>;
  attrs: Record<string, unknown>;
  error: string | null;
}

const show = (ws: string, name: string) => {
  const r = kfashion(['study', 'show', name, '--workspace', ws, '--json']);
  return r.code === 0 ? (JSON.parse(r.stdout).results as { status: string; trials: ShownTrial[] }) : null;
};

describe('kfashion tune (CLI, tfjs)', () => {
  it('a study killed with SIGKILL mid-trial resumes with --resume: finished trials kept, the cut one run again', async () => {
    const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'cli-tune'));
    const space = join(fixture.root, 'space.json');
    writeFileSync(
      space,
      JSON.stringify({ parameters: { temperature: { type: 'uniform', low: 0.05, high: 0.1 } } }),
    );
    const args = [
      'tune',
      '--workspace',
      ws,
      '--space',
      space,
      '--trials',
      '3',
      '--quick',
      '--epochs',
      '4',
      '--pruner',
      'none',
      '--name',
      'k',
    ];
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: 'ignore',
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    try {
      const deadline = Date.now() + 150_000;
      for (;;) {
        const s = show(ws, 'k');
        const running = s?.trials.find((t) => t.state === 'RUNNING');
        if (s?.trials.some((t) => t.state === 'COMPLETE') && running && running.steps >= 1) break;
        if (Date.now() > deadline) throw new Error('the study did not reach its second trial in time');
        await sleep(200);
      }
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    const before = show(ws, 'k')!;
    expect(before.status).toBe('running');
    const done = before.trials.filter((t) => t.state === 'COMPLETE');
    const cut = before.trials.find((t) => t.state === 'RUNNING')!;
    const resumed = kfashion(['tune', '--workspace', ws, '--resume', 'k', '--json'], { timeoutMs: 240_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const after = show(ws, 'k')!;
    expect(after.status).toBe('done');
    for (const d of done)
      expect(after.trials.find((t) => t.number === d.number)).toMatchObject({
        state: 'COMPLETE',
        runId: d.runId,
      });
    const failed = after.trials.find((t) => t.number === cut.number)!;
    expect(failed.state).toBe('FAIL');
    expect(failed.error).toMatch(/interrupted/);
    const retry = after.trials.find((t) => t.attrs.retry_of === cut.number)!;
    expect(retry).toMatchObject({ state: 'COMPLETE', params: cut.params });
    expect(after.trials.filter((t) => t.state === 'COMPLETE')).toHaveLength(3);
    const text = kfashion(['study', 'show', 'k', '--workspace', ws]);
    expect(text.stdout).toMatch(/Best: trial \d+, Top-5 \(gallery\)/);
    expect(text.stdout).toContain('kfashion runs promote');
  }, 420_000);

  it('bad flags and spaces are refused with the flag or parameter named', () => {
    const ws = copyWorkspace(fixture.workspace, join(fixture.root, 'cli-bad'));
    const bad = join(fixture.root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ parameters: { dropout: { type: 'uniform', low: 0.3, high: 0.1 } } }));
    const r = kfashion(['tune', '--workspace', ws, '--space', bad]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/parameter "dropout": low \(0.3\) is greater than high \(0.1\)/);
    expect(kfashion(['tune', '--workspace', ws, '--sampler', 'cmaes']).stderr).toMatch(
      /--sampler expects one of tpe, random, grid/,
    );
    expect(kfashion(['study', 'show', 'nope', '--workspace', ws]).stderr).toMatch(/No study named "nope"/);
  });
});
