import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests open real SQLite files and spawn the CLI; two cores, so two workers.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    // The slow-query log (store/statements.ts) is off in the suite and in the CLIs it spawns: on a
    // loaded machine any query may stall past 50 ms, and tests assert an empty stderr. Its own unit
    // test turns it on.
    env: { KFASHION_SLOW_QUERY_MS: 'off' },
    hookTimeout: 60_000,
  },
});
