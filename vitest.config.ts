import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

/** Every `*.test.ts` under `dir`, as a path from the repository root. */
function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.test.ts')).map((f) => join(dir, f));
}

// The unit tests (src/) share one module graph per worker process: a fresh process and module graph for
// each file cost about a third of their time. Files that replace a module (vi.mock) need a graph of
// their own, and files that fake the clock (vi.useFakeTimers) a process of their own (a timer another
// file left running, such as a Redis client's reconnect, would run on their fake clock), so they run
// isolated, with the integration tests (test/).
const OWN_PROCESS = /\bvi\.(mock|doMock|useFakeTimers)\(/;
const mocking = testFiles('src').filter((f) => OWN_PROCESS.test(readFileSync(f, 'utf8')));

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two test files at a time: most of the suite waits on the CLI processes it starts (Vitest's
    // default on a 2-core machine is one file at a time).
    maxWorkers: 2,
    // reports /tmp/sp-* folders a run leaves behind (test/helpers/temp.ts makes them; the setup file removes them after each file)
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-file.ts'],
    projects: [
      { extends: true, test: { name: 'unit', include: ['src/**/*.test.ts'], exclude: mocking, isolate: false } },
      { extends: true, test: { name: 'integration', include: ['test/**/*.test.ts', ...mocking] } },
    ],
  },
});
