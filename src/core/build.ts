/** @module core/build
 * This program's build: a hash of the bundled command line (every script of dist/bin/), which
 * tools/build-cli writes to dist/bin/build.json. The package version stays 0.1.0 across commits, so
 * it cannot tell two builds apart; the runner puts this id in every job it queues and a worker
 * refuses a job of another build (queue/worker): its commands could compute other results under the
 * same cache keys. Null where no build.json is found (the sources run directly): no check then. */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The file's name beside the bundle. */
export const BUILD_FILE = 'build.json';

let cached: string | null | undefined;

/** The build id (16 hex digits), or null. Read once: beside the bundle (dist/bin/), from tsc's
 * output (dist/core/ → dist/bin/), or from the sources (src/core/ → dist/bin/, the tests). */
export function buildId(): string | null {
  if (cached !== undefined) return cached;
  const here = dirname(fileURLToPath(import.meta.url));
  cached = null;
  for (const p of [join(here, BUILD_FILE), join(here, '..', 'bin', BUILD_FILE), join(here, '..', '..', 'dist', 'bin', BUILD_FILE)]) {
    if (!existsSync(p)) continue;
    cached = /"id"\s*:\s*"([0-9a-f]{16})"/.exec(readFileSync(p, 'utf8'))?.[1] ?? null;
    break;
  }
  return cached;
}
