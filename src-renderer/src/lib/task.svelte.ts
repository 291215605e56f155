/**
 * One user action that calls the contract: whether it is running, its last result, its last error.
 * Every button in the UI goes through one of these, so a failure always shows its message (the
 * contract keeps the thrower's message across the boundary) and a double click never starts twice.
 */
import type { JobHandle } from '../../../src-shared/api-schemas.ts';
import { errorMessage } from './format.ts';
import type { Jobs, JobView } from './jobs.svelte.ts';
import { speakUi } from './ui-errors.ts';

export class Task<T> {
  running = $state(false);
  error = $state<string | null>(null);
  result = $state<T | null>(null);
  /** The API fields the last error is about, so their controls can be outlined (aria-invalid). */
  invalid = $state<string[]>([]);

  /**
   * `method`: the contract method this task calls, whose field names (and CLI flags) in an error are
   * replaced by the labels of the controls that set them (ui-errors.ts).
   */
  constructor(private readonly method?: string) {}

  /** 'true' when the last error is about `field` (for aria-invalid), else undefined. */
  invalidAttr(field: string): 'true' | undefined {
    return this.invalid.includes(field) ? 'true' : undefined;
  }

  protected fail(thrown: unknown): void {
    const ui = speakUi(this.method, errorMessage(thrown));
    this.error = ui.message;
    this.invalid = ui.fields;
  }

  /** Runs `work` unless already running; resolves to its result, or undefined when it failed. */
  async run(work: () => Promise<T>): Promise<T | undefined> {
    if (this.running) return undefined;
    this.running = true;
    this.error = null;
    this.invalid = [];
    try {
      const value = await work();
      this.result = value;
      return value;
    } catch (thrown) {
      this.fail(thrown);
      return undefined;
    } finally {
      this.running = false;
    }
  }

  private generation = 0;

  /**
   * For loading what a view shows: always runs, and only the newest call's outcome is kept, so a
   * filter changed while an answer is on its way never shows the older answer.
   */
  async load(work: () => Promise<T>): Promise<void> {
    const mine = ++this.generation;
    this.running = true;
    try {
      const value = await work();
      if (mine !== this.generation) return;
      this.result = value;
      this.error = null;
      this.invalid = [];
    } catch (thrown) {
      if (mine === this.generation) this.fail(thrown);
    } finally {
      if (mine === this.generation) this.running = false;
    }
  }

  clearError(): void {
    this.error = null;
    this.invalid = [];
  }
}

/**
 * A Task whose work is a job: `start` calls the method that starts it (which answers at once with a
 * handle), then waits for the job's result, parsed by the contract's schema for that kind of job.
 * `view` is the job's live state (progress bar) while it runs and after.
 */
export class JobTask<T> extends Task<T> {
  job = $state<string | null>(null);

  constructor(
    private readonly jobs: Jobs,
    private readonly parse: (result: unknown) => T,
    method?: string,
  ) {
    super(method);
  }

  get view(): JobView | undefined {
    return this.jobs.get(this.job);
  }

  start(begin: () => Promise<JobHandle>): Promise<T | undefined> {
    return this.run(async () => {
      const handle = await begin();
      this.job = handle.job;
      this.jobs.track(handle);
      return this.parse(await this.jobs.wait(handle.job));
    });
  }

  /** Follows a job started elsewhere (another window, before a reload) as if this task had started it. */
  adopt(job: string): Promise<T | undefined> {
    return this.run(async () => {
      this.job = job;
      return this.parse(await this.jobs.wait(job));
    });
  }
}
