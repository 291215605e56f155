/**
 * One user action that calls the contract: whether it is running, its last result, its last error.
 * Every button in the UI goes through one of these, so a failure always shows its message (the
 * contract keeps the thrower's message across the boundary) and a double click never starts twice.
 */
import { errorMessage } from './format.ts';

export class Task<T> {
  running = $state(false);
  error = $state<string | null>(null);
  result = $state<T | null>(null);

  /** Runs `work` unless already running; resolves to its result, or undefined when it failed. */
  async run(work: () => Promise<T>): Promise<T | undefined> {
    if (this.running) return undefined;
    this.running = true;
    this.error = null;
    try {
      const value = await work();
      this.result = value;
      return value;
    } catch (thrown) {
      this.error = errorMessage(thrown);
      return undefined;
    } finally {
      this.running = false;
    }
  }

  clearError(): void {
    this.error = null;
  }
}
