/**
 * The fault campaign: run a real `kfashion` command, kill -9 it at a random moment, then check what a
 * user would find — the database passes `PRAGMA integrity_check`, no file under a visible name is
 * half-written (file-checks.ts), the same command (with `--resume` for training) runs again to the
 * end, and it redoes at most the work since the last saved step: crops, embeddings and catalog
 * products stored before the kill are reused, a training resumes from the epoch its last checkpoint
 * holds.
 *
 * Each round starts from a copy of a template workspace made once per campaign, and its kill moment
 * is drawn uniformly over the length of a clean run of the same command (measured on the template),
 * from a seeded generator so a failing round can be replayed (`--seed`).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { writeScaleTree } from '../../bench/scale-tree.ts';
import { tempDir } from '../helpers/kfashion-fixture.ts';
import { writeTinyClip } from '../helpers/tiny-clip-onnx.ts';
import { checkVisibleFiles, integrityCheck } from './file-checks.ts';

/** bin/kfashion.js of this checkout, from test/faults/ or from the bundle in dist/. */
function findBin(): string {
  let dir = import.meta.dirname;
  for (let i = 0; i < 4; i++) {
    const p = join(dir, 'bin', 'kfashion.js');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error(`bin/kfashion.js not found above ${import.meta.dirname}`);
}
const BIN = findBin();

export const OPERATIONS = ['scan', 'crop', 'embed', 'train', 'catalog-import', 'export', 'tune'] as const;
export type Operation = (typeof OPERATIONS)[number];

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `kfashion args`; with `killAfterMs`, sends SIGKILL at that moment if it is still running. */
/**
 * When to kill: a fixed moment (ms after the start), or `afterSaved`: poll the workspace until the
 * command has saved its first unit of work, then kill `delayMs` later (see runRound's late kills).
 */
type Kill = number | { afterSaved: () => boolean; delayMs: number };

function kfashionRun(
  args: string[],
  kill?: Kill,
  timeoutMs = 180_000,
): Promise<Run & { killedAtMs?: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killedAtMs: number | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr = (stderr + d).slice(-8000);
    });
    const killNow = () => {
      killedAtMs = Math.round(performance.now() - t0);
      child.kill('SIGKILL');
    };
    let killer: NodeJS.Timeout | null = null;
    if (typeof kill === 'number') killer = setTimeout(killNow, Math.max(0, kill));
    else if (kill) {
      const poll = setInterval(() => {
        if (!kill.afterSaved()) return;
        clearInterval(poll);
        killer = setTimeout(killNow, Math.max(0, kill.delayMs));
      }, 50);
      child.on('close', () => clearInterval(poll));
    }
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      if (killer) clearTimeout(killer);
      clearTimeout(guard);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0, killedAtMs });
    });
  });
}

function json<T>(r: Run, what: string): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(
      `${what}: expected JSON on stdout, got ${JSON.stringify(r.stdout.slice(0, 300))}; stderr: ${r.stderr.slice(-600)}`,
    );
  }
}

function ok(r: Run, what: string): void {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code ?? r.signal}: ${r.stderr.slice(-1200)}`);
}

/** mulberry32: seeded, so a campaign can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function count(ws: string, sql: string, ...params: unknown[]): number {
  const path = join(ws, 'workspace.db');
  if (!existsSync(path)) return 0;
  const db = new Database(path);
  try {
    return Number(
      db
        .prepare(sql)
        .pluck()
        .get(...params) ?? 0,
    );
  } catch {
    return 0; // the table does not exist yet (killed before the schema was made)
  } finally {
    db.close();
  }
}

const TINY_MODEL = 'tiny-clip';
const TRAIN_ARGS = ['--epochs', '4', '--batch-size', '32', '--json'];
/** A tuning study small enough for CI: two quick trials of two epochs, no pruning. */
const TUNE_TRIALS = 2;
const tuneArgs = (f: Fixture, ws: string) => [
  'tune',
  '--workspace',
  ws,
  '--space',
  f.tuneSpace,
  '--trials',
  String(TUNE_TRIALS),
  '--quick',
  '--epochs',
  '2',
  '--pruner',
  'none',
  '--name',
  'faults',
  '--json',
];

/** Templates made once: a label tree, the demo workspace at each stage, the tiny ONNX model. */
export interface Fixture {
  base: string;
  labels: string;
  labelsGarments: number;
  demoData: string;
  catalogDir: string;
  modelDir: string;
  /** The tuning study's search space file. */
  tuneSpace: string;
  /** Workspaces, each after the step its name says (copied per round, never changed). */
  scanned: string;
  embedded: string;
  trained: string;
  /** A clean run's length per operation (the kill moment is drawn within it). */
  cleanMs: Record<Operation, number>;
  expected: { crops: number; embeddings: number; products: number };
}

export async function makeFixture(
  opts: { scanGarments?: number; log?: (s: string) => void } = {},
): Promise<Fixture> {
  const log = opts.log ?? (() => {});
  const base = tempDir('kf-faults ');
  const labelsGarments = opts.scanGarments ?? 3000;
  const tree = writeScaleTree(join(base, 'labels'), labelsGarments);
  const modelDir = join(base, 'tiny model');
  writeTinyClip(modelDir);
  const demoData = join(base, 'demo-data');
  const scanned = join(base, 'tpl-scanned');
  const tuneSpace = join(base, 'tune-space.json');
  writeFileSync(
    tuneSpace,
    JSON.stringify({ parameters: { temperature: { type: 'uniform', low: 0.05, high: 0.1 } } }),
  );
  const cleanMs = {} as Record<Operation, number>;

  log('fixture: demo dataset + workspace');
  ok(await kfashionRun(['demo', '--out', demoData, '--workspace', scanned, '--json']), 'kfashion demo');
  const scanRef = await kfashionRun([
    'scan',
    '--data',
    tree.data,
    '--workspace',
    join(base, 'ref-scan'),
    '--json',
  ]);
  ok(scanRef, 'reference scan');
  cleanMs.scan = scanRef.ms;

  const cropped = join(base, 'ref-cropped');
  cpSync(scanned, cropped, { recursive: true });
  const cropRef = await kfashionRun(['crop', '--workspace', cropped, '--json']);
  ok(cropRef, 'reference crop');
  cleanMs.crop = cropRef.ms;
  const crops = json<{ made: number }>(cropRef, 'crop').made;

  const embedArgs = ['--model-path', modelDir, '--model', TINY_MODEL, '--json'];
  // Timed on a workspace without crops, like the rounds (which also cut the crops); the result is the
  // template the catalog import rounds start from (it has the tiny model as its image encoder).
  const embedded = join(base, 'tpl-embedded');
  cpSync(scanned, embedded, { recursive: true });
  const embedRef = await kfashionRun(['embed', '--workspace', embedded, ...embedArgs]);
  ok(embedRef, 'reference embed');
  cleanMs.embed = embedRef.ms;
  const embeddings = json<{ embedded: number }>(embedRef, 'embed').embedded;

  const catalogDir = join(demoData, '원천데이터');
  const catRef = join(base, 'ref-catalog');
  cpSync(embedded, catRef, { recursive: true });
  const catRun = await kfashionRun(['catalog', 'import', catalogDir, '--workspace', catRef, '--json']);
  ok(catRun, 'reference catalog import');
  cleanMs['catalog-import'] = catRun.ms;
  const products = json<{ added: string[] }>(catRun, 'catalog import').added.length;

  const trained = join(base, 'tpl-trained');
  cpSync(scanned, trained, { recursive: true });
  const trainRef = await kfashionRun(['train', '--workspace', trained, ...TRAIN_ARGS]);
  ok(trainRef, 'reference train');
  cleanMs.train = trainRef.ms;
  // The export template also has an evaluation and a report in it, so the bundle has every kind of file.
  ok(await kfashionRun(['eval', '--workspace', trained, '--json']), 'template eval');
  const exportRef = await kfashionRun([
    'export',
    '--workspace',
    trained,
    '--out',
    join(base, 'ref.zip'),
    '--json',
  ]);
  ok(exportRef, 'reference export');
  cleanMs.export = exportRef.ms;

  const tuneRef = join(base, 'ref-tune');
  cpSync(scanned, tuneRef, { recursive: true });
  const tuneRun = await kfashionRun(tuneArgs({ tuneSpace } as Fixture, tuneRef));
  ok(tuneRun, 'reference tune');
  cleanMs.tune = tuneRun.ms;

  return {
    base,
    labels: tree.data,
    labelsGarments,
    demoData,
    catalogDir,
    modelDir,
    tuneSpace,
    scanned,
    embedded,
    trained,
    cleanMs,
    expected: { crops, embeddings, products },
  };
}

export interface RoundResult {
  op: Operation;
  round: number;
  killAtMs: number;
  /** Whether the kill came while the command ran (false: it had finished first). */
  killed: boolean;
  integrity: string;
  /** Files checked after the kill. */
  filesChecked: number;
  problems: string[];
  /** Work found saved after the kill (crops, vectors, products, epochs; 0 for scan/export). */
  savedBeforeKill: number;
  /** What the second run redid that was already saved (must be 0). */
  redone: number;
  resumed: boolean;
  ms: number;
}

interface OpPlan {
  /** The workspace template a round starts from (null: an empty workspace). */
  template: (f: Fixture) => string | null;
  args: (f: Fixture, ws: string) => string[];
  /**
   * Work saved so far, read from the workspace after the kill. Absent for an operation that restarts
   * rather than resumes (scan, export): nothing of a killed run is kept, so there is nothing to count.
   */
  saved?: (f: Fixture, ws: string) => number;
  /** Runs the command again and returns what it redid that was already saved (problems throw). */
  again: (f: Fixture, ws: string, saved: number) => Promise<number>;
}

const PLANS: Record<Operation, OpPlan> = {
  scan: {
    template: () => null,
    args: (f, ws) => ['scan', '--data', f.labels, '--workspace', ws, '--json'],
    async again(f, ws) {
      const r = await kfashionRun(PLANS.scan.args(f, ws));
      ok(r, 'scan after the kill');
      const g = json<{ total: { garments: number } }>(r, 'scan').total.garments;
      const stored = count(ws, 'SELECT COUNT(*) FROM items');
      if (g !== f.labelsGarments || stored !== f.labelsGarments) {
        throw new Error(
          `the scan after the kill reports ${g} garments and stores ${stored}; expected ${f.labelsGarments}`,
        );
      }
      return 0;
    },
  },
  crop: {
    template: (f) => f.scanned,
    args: (_f, ws) => ['crop', '--workspace', ws, '--json'],
    saved: (_f, ws) => count(ws, 'SELECT COUNT(*) FROM crops'),
    async again(f, ws, saved) {
      const r = await kfashionRun(PLANS.crop.args(f, ws));
      ok(r, 'crop after the kill');
      const s = json<{ made: number; cached: number; failed: unknown[] }>(r, 'crop');
      if (s.made + s.cached !== f.expected.crops || s.failed.length > 0) {
        throw new Error(
          `crop after the kill: ${s.made} made + ${s.cached} cached, ${s.failed.length} failed; expected ${f.expected.crops} crops`,
        );
      }
      return Math.max(0, saved - s.cached);
    },
  },
  embed: {
    template: (f) => f.scanned,
    args: (f, ws) => [
      'embed',
      '--workspace',
      ws,
      '--model-path',
      f.modelDir,
      '--model',
      TINY_MODEL,
      '--json',
    ],
    saved: (_f, ws) => count(ws, 'SELECT COUNT(*) FROM image_embeddings WHERE model = ?', TINY_MODEL),
    async again(f, ws, saved) {
      const r = await kfashionRun(PLANS.embed.args(f, ws));
      ok(r, 'embed after the kill');
      const s = json<{ embedded: number; cached: number; failed: unknown[] }>(r, 'embed');
      if (s.embedded + s.cached !== f.expected.embeddings || s.failed.length > 0) {
        throw new Error(
          `embed after the kill: ${s.embedded} embedded + ${s.cached} cached, ${s.failed.length} failed; expected ${f.expected.embeddings}`,
        );
      }
      return Math.max(0, saved - s.cached);
    },
  },
  train: {
    template: (f) => f.scanned,
    args: (_f, ws) => ['train', '--workspace', ws, ...TRAIN_ARGS],
    saved: (_f, ws) => lastEpoch(ws),
    async again(f, ws, saved) {
      const planned = Number(TRAIN_ARGS[1]);
      if (saved >= planned) return 0; // the kill came after the last epoch was saved: nothing to resume
      const resume = saved > 0;
      const r = await kfashionRun([...PLANS.train.args(f, ws), ...(resume ? ['--resume'] : [])]);
      ok(r, `train${resume ? ' --resume' : ''} after the kill`);
      const s = json<{ resumedFromEpoch: number | null; epochsRun: number; stoppedEarly: boolean }>(
        r,
        'train',
      );
      if (resume && s.resumedFromEpoch !== saved) {
        throw new Error(
          `train --resume started from epoch ${s.resumedFromEpoch}, but epoch ${saved} was saved`,
        );
      }
      if (!s.stoppedEarly && s.epochsRun !== planned)
        throw new Error(`training ran ${s.epochsRun} of ${planned} epochs`);
      return resume ? saved - (s.resumedFromEpoch ?? 0) : 0;
    },
  },
  'catalog-import': {
    template: (f) => f.embedded,
    args: (f, ws) => ['catalog', 'import', f.catalogDir, '--workspace', ws, '--json'],
    saved: (_f, ws) => count(ws, 'SELECT COUNT(*) FROM catalog_products'),
    async again(f, ws, saved) {
      const r = await kfashionRun(PLANS['catalog-import'].args(f, ws));
      ok(r, 'catalog import after the kill');
      const s = json<{ added: string[]; unchanged: string[]; updated: string[] }>(r, 'catalog import');
      const stored = count(ws, 'SELECT COUNT(*) FROM catalog_products');
      if (stored !== f.expected.products) {
        throw new Error(
          `the catalog holds ${stored} products after the second import; expected ${f.expected.products}`,
        );
      }
      return Math.max(0, saved - s.unchanged.length);
    },
  },
  export: {
    template: (f) => f.trained,
    args: (_f, ws) => ['export', '--workspace', ws, '--out', join(ws, 'exports', 'bundle.zip'), '--json'],
    async again(f, ws) {
      const r = await kfashionRun(PLANS.export.args(f, ws));
      ok(r, 'export after the kill');
      return 0;
    },
  },
  tune: {
    template: (f) => f.scanned,
    args: (f, ws) => tuneArgs(f, ws),
    saved: (_f, ws) => finishedTrials(ws).length,
    async again(f, ws) {
      // What the kill left finished: the resumed study must keep it as it is, never train it again.
      const before = finishedTrials(ws);
      const started = count(ws, "SELECT COUNT(*) FROM studies WHERE name = 'faults'") > 0;
      const args = started
        ? ['tune', '--workspace', ws, '--resume', 'faults', '--json']
        : PLANS.tune.args(f, ws);
      const r = await kfashionRun(args);
      ok(r, `tune${started ? ' --resume' : ''} after the kill`);
      const after = finishedTrials(ws);
      if (after.length !== TUNE_TRIALS) {
        throw new Error(
          `the study holds ${after.length} finished trials after the resume; expected ${TUNE_TRIALS}`,
        );
      }
      if (count(ws, "SELECT status = 'done' FROM studies WHERE name = 'faults'") !== 1)
        throw new Error('the study is not done after the resume');
      for (const t of after) {
        if (t.state !== 'COMPLETE') throw new Error(`trial ${t.number} ended ${t.state}: ${t.error}`);
        if (!t.run_id || !existsSync(join(ws, 'runs', t.run_id, 'checkpoints', 'best.safetensors')))
          throw new Error(`trial ${t.number}: its run folder (${t.run_id}) has no best checkpoint`);
      }
      const numbers = after.map((t) => t.number);
      if (new Set(numbers).size !== numbers.length) throw new Error(`trial numbers repeat: ${numbers}`);
      // Redone: a trial finished before the kill whose record (run, value) the resume changed.
      return before.filter((b) => {
        const a = after.find((t) => t.number === b.number);
        return !a || a.run_id !== b.run_id || a.value !== b.value;
      }).length;
    },
  },
};

/** The study's finished trials (interrupted ones are not results: see the study runner). */
function finishedTrials(
  ws: string,
): { number: number; state: string; run_id: string | null; value: number | null; error: string | null }[] {
  const path = join(ws, 'workspace.db');
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        `SELECT t.number, t.state, t.run_id, t.value, t.error FROM study_trials t
         JOIN studies s ON s.id = t.study_id
         WHERE s.name = 'faults' AND (t.state IN ('COMPLETE', 'PRUNED') OR (t.state = 'FAIL' AND t.interrupted = 0))
         ORDER BY t.number`,
      )
      .all() as {
      number: number;
      state: string;
      run_id: string | null;
      value: number | null;
      error: string | null;
    }[];
  } catch {
    return []; // killed before the study's tables were made
  } finally {
    db.close();
  }
}

/** The epoch the newest `last.json` checkpoint holds (0 when there is none). */
function lastEpoch(ws: string): number {
  const p = join(ws, 'checkpoints', 'last.json');
  if (!existsSync(p)) return 0;
  try {
    return (JSON.parse(readFileSync(p, 'utf8')) as { resume?: { epoch?: number } }).resume?.epoch ?? 0;
  } catch {
    return 0; // reported by the file checks
  }
}

/** What a running command has saved so far; 0 while its tables or files are still being made. */
function savedSoFar(plan: OpPlan, f: Fixture, ws: string): number {
  if (!plan.saved) return 0;
  try {
    return plan.saved(f, ws);
  } catch {
    return 0;
  }
}

export async function runRound(
  f: Fixture,
  op: Operation,
  round: number,
  random: () => number,
  opts: { afterFirstSave?: boolean } = {},
): Promise<RoundResult> {
  const plan = PLANS[op];
  const ws = join(f.base, 'rounds', `${op}-${round}`);
  rmSync(ws, { recursive: true, force: true });
  mkdirSync(join(f.base, 'rounds'), { recursive: true });
  const template = plan.template(f);
  if (template) cpSync(template, ws, { recursive: true });
  const t0 = performance.now();
  // Anywhere in the first 80 % of a clean run's length, start-up included (a kill while modules load
  // is a fault too). A rerun often finishes faster than the measured clean run (warm caches), so a
  // moment drawn from the last stretch mostly lands after the command has ended and tests nothing.
  // [Note: late kills] Under load a run is slower than its clean reference, so moments drawn over the
  // reference mostly land before the first unit of work is saved (50 tune rounds on a loaded machine
  // all did), and what a resume must keep is never tested. With `afterFirstSave` the kill waits for
  // the first saved unit (polled from the workspace), then comes up to 40 % of a clean run later.
  const late = opts.afterFirstSave === true && plan.saved !== undefined;
  const drawn = random();
  const kill: Kill = late
    ? { afterSaved: () => savedSoFar(plan, f, ws) > 0, delayMs: Math.round(drawn * 0.4 * f.cleanMs[op]) }
    : Math.round(drawn * 0.8 * f.cleanMs[op]);
  const first = await kfashionRun(plan.args(f, ws), kill);
  const killed = first.signal === 'SIGKILL';
  const result: RoundResult = {
    op,
    round,
    killAtMs: first.killedAtMs ?? (typeof kill === 'number' ? kill : -1),
    killed,
    integrity: '',
    filesChecked: 0,
    problems: [],
    savedBeforeKill: 0,
    redone: 0,
    resumed: false,
    ms: 0,
  };
  if (!killed && first.code !== 0)
    result.problems.push(`the first run failed by itself: ${first.stderr.slice(-400)}`);
  result.integrity = integrityCheck(join(ws, 'workspace.db'));
  if (!result.integrity.startsWith('ok')) result.problems.push(`integrity_check: ${result.integrity}`);
  const files = await checkVisibleFiles(ws);
  result.filesChecked = files.checked;
  for (const p of files.problems) result.problems.push(`after the kill: ${p.file}: ${p.problem}`);
  result.savedBeforeKill = plan.saved ? plan.saved(f, ws) : 0;
  try {
    result.redone = await plan.again(f, ws, result.savedBeforeKill);
    result.resumed = true;
    if (result.redone > 0) result.problems.push(`the second run redid ${result.redone} saved units of work`);
  } catch (e) {
    result.problems.push((e as Error).message.slice(0, 1500));
  }
  const after = await checkVisibleFiles(ws);
  for (const p of after.problems) result.problems.push(`after the second run: ${p.file}: ${p.problem}`);
  for (const t of after.hiddenTemps)
    result.problems.push(`after the second run: ${t}: a killed writer's temporary file was left behind`);
  const integrity2 = integrityCheck(join(ws, 'workspace.db'));
  if (!integrity2.startsWith('ok'))
    result.problems.push(`integrity_check after the second run: ${integrity2}`);
  result.ms = Math.round(performance.now() - t0);
  if (result.problems.length === 0) rmSync(ws, { recursive: true, force: true });
  return result;
}

export interface OperationSummary {
  op: Operation;
  rounds: number;
  killedMidRun: number;
  integrityOk: number;
  halfWrittenFiles: number;
  resumedCleanly: number;
  redoneUnits: number;
  failures: number;
  /** Mean of the work found saved after the kill (crops, vectors, products, epochs). */
  meanSaved: number;
}

export function summarise(results: RoundResult[]): OperationSummary[] {
  const ops = [...new Set(results.map((r) => r.op))];
  return ops.map((op) => {
    const rs = results.filter((r) => r.op === op);
    return {
      op,
      rounds: rs.length,
      killedMidRun: rs.filter((r) => r.killed).length,
      integrityOk: rs.filter((r) => r.integrity.startsWith('ok')).length,
      halfWrittenFiles: rs.reduce(
        (a, r) => a + r.problems.filter((p) => p.startsWith('after the kill')).length,
        0,
      ),
      resumedCleanly: rs.filter((r) => r.resumed).length,
      redoneUnits: rs.reduce((a, r) => a + r.redone, 0),
      failures: rs.filter((r) => r.problems.length > 0).length,
      meanSaved: +(rs.reduce((a, r) => a + r.savedBeforeKill, 0) / rs.length).toFixed(1),
    };
  });
}

export function summaryTable(rows: OperationSummary[]): string {
  const head =
    '| operation | rounds | killed mid-run | integrity_check ok | half-written files | re-ran cleanly | saved work redone | failed rounds |';
  const sep = '| --- | --- | --- | --- | --- | --- | --- | --- |';
  const body = rows.map(
    (r) =>
      `| ${r.op} | ${r.rounds} | ${r.killedMidRun} | ${r.integrityOk} | ${r.halfWrittenFiles} | ${r.resumedCleanly} | ${r.redoneUnits} | ${r.failures} |`,
  );
  return [head, sep, ...body].join('\n');
}

export async function runCampaign(opts: {
  rounds: number;
  ops?: readonly Operation[];
  seed?: number;
  fixture?: Fixture;
  log?: (s: string) => void;
  keep?: boolean;
  /** Kill only after the first unit of work is saved (resumable operations; see runRound). */
  afterFirstSave?: boolean;
}): Promise<{ results: RoundResult[]; summary: OperationSummary[]; fixture: Fixture }> {
  const log = opts.log ?? (() => {});
  const f = opts.fixture ?? (await makeFixture({ log }));
  const random = rng(opts.seed ?? 1);
  const results: RoundResult[] = [];
  try {
    for (const op of opts.ops ?? OPERATIONS) {
      for (let i = 1; i <= opts.rounds; i++) {
        const r = await runRound(f, op, i, random, { afterFirstSave: opts.afterFirstSave });
        results.push(r);
        log(
          `${op} round ${i}: kill at ${r.killAtMs} ms${r.killed ? '' : ' (had finished)'}, saved ${r.savedBeforeKill}, ${r.problems.length ? `FAILED: ${r.problems.join(' | ')}` : 'ok'} (${(r.ms / 1000).toFixed(1)} s)`,
        );
      }
    }
  } finally {
    const failed = results.some((r) => r.problems.length > 0);
    if (!opts.keep && !failed && !opts.fixture) rmSync(f.base, { recursive: true, force: true });
    else if (failed) log(`failed rounds kept under ${join(f.base, 'rounds')}`);
  }
  return { results, summary: summarise(results), fixture: f };
}
