import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Interop suites drive shared daemons (dockerd); files run in parallel, tests within a file do not.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
