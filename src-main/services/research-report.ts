/**
 * `kfashion report`: gathers the workspace's results — checkpoints/best_model.json,
 * results/training_*.{json,png}, the latest evaluation per protocol, centrality and temperature study,
 * saved similarity searches (running a few demo searches when none are saved) — and writes one
 * self-contained HTML page, results/report_<stamp>.html (rendering in evaluation/report-html.ts).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { WorkspaceSummary } from '../../src-shared/dataset.ts';
import type { CentralityReport, EvaluationReport, TemperatureStudy } from '../../src-shared/evaluation.ts';
import type { WorkOptions } from '../../src-shared/jobs.ts';
import type { ReportSection, ResearchReportSummary } from '../../src-shared/report.ts';
import type { SimilaritySearchRun } from '../../src-shared/search.ts';
import { type ReportInput, renderReportHtml } from '../evaluation/report-html.ts';
import { fileStamp, listEvaluations, uniqueResultPath } from '../evaluation/results.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import type { Workspace } from '../store/workspace.ts';
import type { CheckpointInfo, EpochRecord } from '../training/checkpoints.ts';
import { currentRunId } from '../training/runs.ts';
import type { SearchRequest } from './similarity-search.ts';

export class ResearchReportError extends Error {
  override name = 'ResearchReportError';
}

export interface ReportOptions extends WorkOptions {
  /** At most this many example searches on the page (default 6). */
  maxSearches?: number;
  /** Run demo searches when none are saved (default true). */
  runSearches?: boolean;
  now?: Date;
}

export interface ReportDeps {
  summary: WorkspaceSummary;
  /** Runs (and saves) a similarity search: Workbench.search. */
  search: (req: SearchRequest) => Promise<SimilaritySearchRun>;
}

function readJson<T>(path: string): T {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new ResearchReportError(`${path}: cannot read it as JSON (${(e as Error).message}).`);
  }
}

/** A PNG/JPEG file as a data URL, or null when it does not exist. */
function dataUrl(path: string | null): string | null {
  if (!path || !existsSync(path)) return null;
  const b = readFileSync(path);
  const type = b[0] === 0xff && b[1] === 0xd8 ? 'jpeg' : 'png';
  return `data:image/${type};base64,${b.toString('base64')}`;
}

/** results/<prefix>*.json, parsed, newest first (by the ISO timestamp inside, then by name). */
function resultFiles<T extends { timestamp: string }>(
  ws: Workspace,
  prefix: string,
): { file: string; data: T }[] {
  const dir = ws.paths.results;
  if (!existsSync(dir)) return [];
  const out: { file: string; data: T }[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix) || !name.endsWith('.json')) continue;
    const data = readJson<T>(join(dir, name));
    out.push({ file: join('results', name), data });
  }
  return out.sort((a, b) => b.data.timestamp.localeCompare(a.data.timestamp) || b.file.localeCompare(a.file));
}

export async function writeResearchReport(
  ws: Workspace,
  deps: ReportDeps,
  opts: ReportOptions = {},
): Promise<ResearchReportSummary> {
  const now = opts.now ?? new Date();
  const stamp = fileStamp(now);
  const runId = `report-${stamp}`;
  const maxSearches = opts.maxSearches ?? 6;
  const missing: Record<string, string> = {};
  const sections: ReportSection[] = [];
  const notes = new Set<string>();
  let synthetic = deps.summary.synthetic;
  const rel = (p: string) => relative(ws.root, p).split('\\').join('/');
  opts.onProgress?.('report', 0, 4);

  // Config: the best checkpoint's JSON (config, vocabulary, fields, image embeddings).
  let checkpoint: ReportInput['checkpoint'] = null;
  const bestPath = join(ws.paths.checkpoints, 'best_model.json');
  if (existsSync(bestPath)) {
    const info = readJson<CheckpointInfo>(bestPath);
    checkpoint = { info, path: rel(bestPath) };
    if (info.imageEmbedding?.synthetic) synthetic = true;
    sections.push({ name: 'config', included: true, detail: rel(bestPath) });
  } else {
    missing.config = `No trained encoder yet (${rel(bestPath)} is missing): run "kfashion train --workspace ${ws.root}".`;
    sections.push({ name: 'config', included: false, detail: missing.config });
  }

  // Training figures and charts.
  let training: ReportInput['training'] = null;
  const tSummary = join(ws.paths.results, 'training_summary.json');
  const tResults = join(ws.paths.results, 'training_results.json');
  if (existsSync(tSummary) || existsSync(tResults)) {
    const summary = existsSync(tSummary) ? readJson<Record<string, unknown>>(tSummary) : null;
    const results = existsSync(tResults)
      ? readJson<{ history?: EpochRecord[]; protocol?: string; note?: string; synthetic?: boolean }>(tResults)
      : null;
    training = {
      summary,
      history: results?.history ?? [],
      protocol: results?.protocol ?? (summary?.protocol as string | undefined) ?? null,
      chart: dataUrl(join(ws.paths.results, 'training_charts.png')),
    };
    const note = (summary?.note as string | undefined) ?? results?.note;
    if (note) notes.add(note);
    if (summary?.synthetic === true || results?.synthetic === true) synthetic = true;
    sections.push({
      name: 'training',
      included: true,
      detail: [tSummary, tResults].filter(existsSync).map(rel).join(', '),
    });
  } else {
    missing.training = `No training results in results/: run "kfashion train --workspace ${ws.root}".`;
    sections.push({ name: 'training', included: false, detail: missing.training });
  }
  opts.onProgress?.('report', 1, 4);

  // The latest evaluation of each protocol (gallery first: the honest one).
  // Evaluations live in their run's folder (runs/<id>/evaluations/; results/ for older ones): the
  // current run's first, so a figure of another run is shown only when the current one has none —
  // and then marked stale.
  const current = currentRunId(ws);
  const evals = [
    ...listEvaluations(ws, 'evaluation')
      .filter((e) => existsSync(join(ws.root, e.file)))
      .map((e) => ({ file: e.file, data: readJson<EvaluationReport>(join(ws.root, e.file)) })),
    ...resultFiles<EvaluationReport>(ws, 'evaluation_'),
  ]
    .filter((e, i, all) => e.data.kind === 'evaluation' && all.findIndex((x) => x.file === e.file) === i)
    .sort(
      (a, b) =>
        Number(b.data.checkpoint?.run_id === current) - Number(a.data.checkpoint?.run_id === current) ||
        b.data.timestamp.localeCompare(a.data.timestamp),
    );
  const evaluations: ReportInput['evaluations'] = [];
  for (const protocol of ['gallery', 'in-batch'] as const) {
    const e = evals.find((x) => x.data.protocol === protocol);
    if (!e) continue;
    evaluations.push({
      report: e.data,
      file: e.file,
      chart: dataUrl(e.data.files?.chart ? join(ws.root, e.data.files.chart) : null),
    });
    if (e.data.synthetic) synthetic = true;
    if (e.data.note) notes.add(e.data.note);
  }
  if (evaluations.length > 0) {
    sections.push({ name: 'evaluation', included: true, detail: evaluations.map((e) => e.file).join(', ') });
  } else {
    missing.evaluation = `No evaluation in results/: run "kfashion eval --workspace ${ws.root}" (and "--protocol in-batch" for figures comparable with the earlier PyTorch pipeline).`;
    sections.push({ name: 'evaluation', included: false, detail: missing.evaluation });
  }

  const cent = resultFiles<CentralityReport>(ws, 'centrality_').find((c) => c.data.kind === 'centrality');
  const centrality: ReportInput['centrality'] = cent
    ? {
        report: cent.data,
        file: cent.file,
        chart: dataUrl(cent.data.files?.chart ? join(ws.root, cent.data.files.chart) : null),
      }
    : null;
  if (cent) sections.push({ name: 'centrality', included: true, detail: cent.file });
  else {
    missing.centrality = `No centrality run: "kfashion centrality --workspace ${ws.root}".`;
    sections.push({ name: 'centrality', included: false, detail: missing.centrality });
  }

  const temp = resultFiles<TemperatureStudy>(ws, 'temperature_study_').find(
    (t) => t.data.kind === 'temperature-study',
  );
  const temperature: ReportInput['temperature'] = temp
    ? {
        report: temp.data,
        file: temp.file,
        chart: dataUrl(temp.data.files?.chart ? join(ws.root, temp.data.files.chart) : null),
      }
    : null;
  if (temp) sections.push({ name: 'temperature-study', included: true, detail: temp.file });
  else {
    missing['temperature-study'] =
      `No temperature study (optional): "kfashion sweep --workspace ${ws.root} --quick".`;
    sections.push({ name: 'temperature-study', included: false, detail: missing['temperature-study'] });
  }
  // The newest tuning study (charts drawn now, so they show its latest trials) and the ridge baseline
  // every model must beat, shown beside the model's gallery figures.
  const { latestBaseline, newestStudy, studyView } = await import('../tuning/study-view.ts');
  const { studyReportPng } = await import('../tuning/study-charts.ts');
  const baseline = latestBaseline(ws, 'top5');
  let tuning: ReportInput['tuning'] = null;
  const newest = newestStudy(ws);
  if (newest) {
    const view = await studyView(ws, newest, { charts: false });
    const base = latestBaseline(ws, view.results.metric);
    const png = await studyReportPng(view.results, base?.value ?? null);
    const url = (b: Buffer) => `data:image/png;base64,${b.toString('base64')}`;
    tuning = {
      view: { ...view, baseline: base },
      history: view.results.history.length ? url(png.history) : null,
      importance: view.results.importance.length ? url(png.importance) : null,
    };
    sections.push({ name: 'tuning', included: true, detail: `study ${newest}` });
  } else {
    missing.tuning = `No tuning study (optional): "kfashion tune --workspace ${ws.root} --preset staged".`;
    sections.push({ name: 'tuning', included: false, detail: missing.tuning });
  }
  opts.onProgress?.('report', 2, 4);

  // Example searches: the latest saved runs; a few demo searches when there are none.
  let saved = savedSearches(ws);
  let ranSearches: string | null = null;
  if (saved.length === 0 && opts.runSearches !== false && checkpoint) {
    try {
      const run = await deps.search({ demo: true, samples: Math.min(maxSearches, 6), k: 5 });
      ranSearches = run.run_id;
      saved = savedSearches(ws);
    } catch (e) {
      missing.searches = `No saved searches, and the demo searches could not run: ${(e as Error).message}`;
    }
  }
  const searches: ReportInput['searches'] = [];
  let shown = 0;
  for (const s of saved) {
    if (shown >= maxSearches) break;
    const run = { ...s.run, searches: s.run.searches.slice(0, maxSearches - shown) };
    shown += run.searches.length;
    searches.push({
      run,
      file: rel(s.path),
      grids: run.searches.map((x) => dataUrl(x.grid ? join(s.dir, x.grid) : null)),
    });
    if (run.synthetic) synthetic = true;
    if (run.note) notes.add(run.note);
  }
  if (searches.length > 0) {
    sections.push({
      name: 'searches',
      included: true,
      detail: `${searches.map((s) => s.file).join(', ')}${ranSearches ? ` (demo searches run for this report: ${ranSearches})` : ''}`,
    });
  } else {
    missing.searches ??= checkpoint
      ? 'No saved searches.'
      : `No saved searches, and no trained encoder to run demo searches with: run "kfashion train", then "kfashion search --workspace ${ws.root} --demo".`;
    sections.push({ name: 'searches', included: false, detail: missing.searches });
  }
  opts.onProgress?.('report', 3, 4);

  const s = deps.summary;
  const input: ReportInput = {
    runId,
    timestamp: now.toISOString(),
    workspace: ws.root,
    synthetic,
    notes: [...notes],
    dataset: s.items > 0 ? { items: s.items, images: s.images, perStyle: s.perStyle } : null,
    checkpoint,
    training,
    evaluations,
    centrality,
    temperature,
    searches,
    baseline,
    tuning,
    missing: { ...missing, ...(s.items > 0 ? {} : { dataset: 'The workspace has no scanned items.' }) },
  };
  if (synthetic && notes.size === 0) {
    input.notes.push(
      'the data or embeddings of this workspace are synthetic stand-ins; no figure here says anything about real K-Fashion images or FashionCLIP.',
    );
  }
  const html = renderReportHtml(input);
  const file = uniqueResultPath(ws.paths.results, `report_${stamp}`, '.html');
  writeFileAtomic(file, html);
  opts.onProgress?.('report', 4, 4);
  return {
    kind: 'research-report',
    run_id: runId,
    timestamp: input.timestamp,
    synthetic,
    ...(synthetic ? { note: input.notes.join(' ') } : {}),
    workspace: ws.root,
    file,
    bytes: Buffer.byteLength(html),
    sections,
    training_run: checkpoint ? { id: checkpoint.info.runId, epoch: checkpoint.info.epoch } : null,
    ran_searches: ranSearches,
  };
}

/** Saved similarity-search runs, newest first. */
function savedSearches(ws: Workspace): { run: SimilaritySearchRun; dir: string; path: string }[] {
  const root = ws.paths.similaritySearch;
  if (!existsSync(root)) return [];
  const out: { run: SimilaritySearchRun; dir: string; path: string }[] = [];
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    const path = join(dir, 'results.json');
    if (!statSync(dir).isDirectory() || !existsSync(path)) continue;
    const run = readJson<SimilaritySearchRun>(path);
    if (run.kind !== 'similarity-search' || !Array.isArray(run.searches)) continue;
    out.push({ run, dir, path });
  }
  return out.sort((a, b) => b.run.timestamp.localeCompare(a.run.timestamp));
}
