/**
 * `kfashion report` / Workbench.report(): what was written (the HTML itself is the result). Declared
 * once, as a schema; the type is inferred ([Note: Result schemas own the types] in recommend.ts).
 */
import { z } from 'zod';

export const reportSectionSchema = z.object({
  /** e.g. "config", "training", "evaluation", "centrality", "temperature-study", "searches". */
  name: z.string(),
  included: z.boolean(),
  /** The source file(s), relative to the workspace, or why the section is missing. */
  detail: z.string(),
});
export type ReportSection = z.infer<typeof reportSectionSchema>;

export const researchReportSummarySchema = z.object({
  kind: z.literal('research-report'),
  run_id: z.string(),
  timestamp: z.string(),
  synthetic: z.boolean(),
  note: z.string().optional(),
  workspace: z.string(),
  /** Absolute path of results/report_<stamp>.html. */
  file: z.string(),
  bytes: z.number().int().min(0),
  sections: z.array(reportSectionSchema),
  /** The training run the report is about (the current run) and its best checkpoint's epoch. */
  training_run: z.object({ id: z.string(), epoch: z.number() }).nullable().optional(),
  /** Demo searches run for the report because none were saved (their run id), else null. */
  ran_searches: z.string().nullable(),
});
export type ResearchReportSummary = z.infer<typeof researchReportSummarySchema>;
