/**
 * The study runner's queue mode without Redis: several trials in flight at once, and a resumed study
 * adopting a trial its dead process left RUNNING (its job goes on in the queue) instead of failing it
 * and training its settings again under a new number.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src-main/store/database.ts';
import { StudiesStore } from '../../src-main/store/studies-store.ts';
import { NopPruner } from '../../src-main/tuning/pruners.ts';
import { RandomSampler } from '../../src-main/tuning/samplers.ts';
import { checkSearchSpace } from '../../src-main/tuning/search-space.ts';
import { type Objective, runStudy } from '../../src-main/tuning/study-runner.ts';

let dir: string;
let db: Db;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kf-runner-'));
  db = openDatabase(join(dir, 'workspace.db'));
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const space = checkSearchSpace(
  { parameters: { lr: { type: 'log-uniform', low: 1e-4, high: 1e-2 } } },
  'test',
);

describe('study runner with trials in flight (queue mode)', () => {
  it('keeps `parallel` trials running at once and finishes exactly `trials`', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('p', 'top5', 'gallery', {});
    let running = 0;
    let most = 0;
    const objective: Objective = async (t) => {
      running++;
      most = Math.max(most, running);
      await sleep(30 + (t.number % 3) * 20);
      running--;
      return { value: t.number };
    };
    const r = await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 7,
      objective,
      parallel: () => 3,
      adoptRunning: true,
    });
    expect(r.finished).toBe(7);
    expect(most).toBe(3);
    const trials = store.trials(study.id);
    expect(trials.map((t) => t.number)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(trials.every((t) => t.state === 'COMPLETE')).toBe(true);
    expect(store.requireStudy('p').status).toBe('done');
  });

  it('a resume adopts a RUNNING trial of a dead process (same number, same settings) instead of repeating it', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('a', 'top5', 'gallery', {});
    const done = store.addTrial(study.id, { lr: 1e-3 }, { state: 'RUNNING', pid: 999_999 });
    store.finishTrial(done.id, 'COMPLETE', 0.5);
    const cut = store.addTrial(study.id, { lr: 2e-3 }, { state: 'RUNNING', pid: 999_999 });
    const seen: { number: number; lr: unknown }[] = [];
    const r = await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 3,
      objective: async (t) => {
        seen.push({ number: t.number, lr: t.params.lr });
        return { value: 0.1 };
      },
      parallel: () => 2,
      adoptRunning: true,
      isAlive: () => false,
    });
    expect(r.requeued).toBe(1);
    // The cut trial ran again under its own number; trial 0 was not touched; one new trial made 3.
    expect(seen[0]).toEqual({ number: cut.number, lr: 2e-3 });
    expect(seen.map((s) => s.number).sort()).toEqual([1, 2]);
    const trials = store.trials(study.id);
    expect(trials.map((t) => [t.number, t.state])).toEqual([
      [0, 'COMPLETE'],
      [1, 'COMPLETE'],
      [2, 'COMPLETE'],
    ]);
    expect(trials.find((t) => t.number === 0)!.value).toBe(0.5);
    expect(trials.some((t) => t.interrupted)).toBe(false);
  });

  it('a cancel in queue mode leaves in-flight trials RUNNING for a later resume', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('c', 'top5', 'gallery', {});
    const ctl = new AbortController();
    const r = await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 4,
      signal: ctl.signal,
      objective: (t) =>
        new Promise((_res, rej) => {
          t.signal?.addEventListener('abort', () => rej(new Error('cancelled')));
          setTimeout(() => ctl.abort(), 20);
        }),
      parallel: () => 2,
      adoptRunning: true,
    });
    expect(r.stoppedBy).toBe('signal');
    const trials = store.trials(study.id);
    expect(trials.map((t) => t.state)).toEqual(['RUNNING', 'RUNNING']);
    expect(store.requireStudy('c').status).toBe('stopped');
  });

  it('a stage adopts only its own interrupted trials (another stage adopts its own when it runs)', async () => {
    const store = new StudiesStore(db);
    const study = store.createStudy('st', 'top5', 'gallery', {});
    const later = store.addTrial(
      study.id,
      { lr: 1e-3 },
      { state: 'RUNNING', pid: 999_999, attrs: { stage: 'b' } },
    );
    const seen: number[] = [];
    await runStudy({
      store,
      study,
      space,
      sampler: new RandomSampler(1),
      pruner: new NopPruner(),
      trials: 1,
      stage: 'a',
      objective: async (t) => {
        seen.push(t.number);
        return { value: 0.2 };
      },
      adoptRunning: true,
      isAlive: () => false,
    });
    expect(seen).not.toContain(later.number);
    expect(store.trial(later.id).pid).toBe(999_999);
    expect(
      store
        .adoptRunning(
          study.id,
          () => false,
          (a) => a.stage === 'b',
        )
        .map((t) => t.number),
    ).toEqual([later.number]);
  });
});
