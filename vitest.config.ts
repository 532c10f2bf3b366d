import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two test files at a time: most of the suite waits on the CLI processes it starts (Vitest's
    // default on a 2-core machine is one file at a time).
    maxWorkers: 2,
    // reports /tmp/sp-* folders a run leaves behind (test/helpers/temp.ts makes and removes them)
    globalSetup: ['test/global-setup.ts'],
  },
});
