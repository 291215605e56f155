/**
 * `node --import ./register.mjs out/main/index.js`: makes `import … from 'electron'` load the
 * stand-in electron.mjs beside this file, and records every worker thread the app starts (the job
 * host's job-worker.js), so the test can tell a job ran off the main thread.
 *
 * Worker threads inherit --import, so this also runs in each of them; only the main thread records.
 */
import { register, syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';

register('./hooks.mjs', import.meta.url);

if (workerThreads.isMainThread) {
  const started = [];
  globalThis.__fakeElectronWorkers = started;
  const { Worker } = workerThreads;
  workerThreads.Worker = class RecordedWorker extends Worker {
    constructor(filename, options) {
      started.push(String(filename));
      super(filename, options);
    }
  };
  // Makes `import { Worker } from 'node:worker_threads'` in the bundle see the recording class.
  syncBuiltinESMExports();
}
