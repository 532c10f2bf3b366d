import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // reports /tmp/sp-* folders a run leaves behind (test/helpers/temp.ts makes and removes them)
    globalSetup: ['test/global-setup.ts'],
  },
});
