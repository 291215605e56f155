/** `kfashion report` / Workbench.report(): what was written (the HTML itself is the result). */

export interface ReportSection {
  /** e.g. "config", "training", "evaluation", "centrality", "temperature-study", "searches". */
  name: string;
  included: boolean;
  /** The source file(s), relative to the workspace, or why the section is missing. */
  detail: string;
}

export interface ResearchReportSummary {
  kind: 'research-report';
  run_id: string;
  timestamp: string;
  synthetic: boolean;
  note?: string;
  workspace: string;
  /** Absolute path of results/report_<stamp>.html. */
  file: string;
  bytes: number;
  sections: ReportSection[];
  /** The training run the report is about (the current run) and its best checkpoint's epoch. */
  training_run?: { id: string; epoch: number } | null;
  /** Demo searches run for the report because none were saved (their run id), else null. */
  ran_searches: string | null;
}
