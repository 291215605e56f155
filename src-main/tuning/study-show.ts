/**
 * A stored study's results for `kfashion study show` and the API: the results as data, and the three
 * charts written to results/studies/<name>/ (each written to a temporary name and renamed, so a reader
 * never sees half a PNG).
 */
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { StudyResults } from '../../src-shared/tuning.ts';
import { writeFileAtomic } from '../store/atomic-file.ts';
import { StudiesStore } from '../store/studies-store.ts';
import type { Workspace } from '../store/workspace.ts';
import { type FieldStudyReport, fieldRows, fieldStudyReport } from './field-study.ts';
import { studyChartsPng } from './study-charts.ts';
import { studyResults } from './study-results.ts';

export interface StudyShow {
  results: StudyResults;
  /** Chart name → path relative to the workspace. */
  charts: Record<string, string>;
  fieldStudy: FieldStudyReport | null;
}

export async function showStudy(
  ws: Workspace,
  name: string,
  opts: { charts?: boolean } = {},
): Promise<StudyShow> {
  const store = new StudiesStore(ws.db);
  const study = store.requireStudy(name);
  const trials = store.trials(study.id);
  const results = studyResults(study, trials);
  const settings = study.settings as { defaults?: string[]; fieldSeeds?: number[] };
  const fieldStudy =
    settings.fieldSeeds && settings.defaults ? fieldStudyReport(settings.defaults, fieldRows(trials)) : null;
  const charts: Record<string, string> = {};
  if (opts.charts !== false && results.history.length > 0) {
    const dir = join(ws.root, 'results', 'studies', study.name);
    mkdirSync(dir, { recursive: true });
    const png = await studyChartsPng(results);
    for (const [k, file] of [
      ['history', 'optimisation_history.png'],
      ['parallel', 'parallel_coordinates.png'],
      ['slice', 'slice.png'],
    ] as const) {
      const path = join(dir, file);
      writeFileAtomic(path, png[k]);
      charts[k] = relative(ws.root, path);
    }
  }
  return { results, charts, fieldStudy };
}

export function listStudies(
  ws: Workspace,
): { name: string; status: string; metric: string; trials: number; best: number | null }[] {
  const store = new StudiesStore(ws.db);
  return store.listStudies().map((s) => {
    const trials = store.trials(s.id);
    const done = trials.filter((t) => t.state === 'COMPLETE' && t.value !== null).map((t) => t.value!);
    return {
      name: s.name,
      status: s.status,
      metric: s.metric,
      trials: trials.length,
      best: done.length ? Math.max(...done) : null,
    };
  });
}
