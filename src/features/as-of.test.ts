/** `features --as-of X --out F`: its build in tmp/ (the size of the features table) is gone when a
 * signal (Ctrl-C) ends the command, not left for a later sweep. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fetchContext, silentLog, tempWorkspace } from '../../test/helpers/workspace.js';
import { silentProgress } from '../core/progress.js';
import { Workspace } from '../core/workspace.js';
import { ingest } from '../etl/ingest.js';
import { syntheticSource } from '../sources/synthetic.js';
import { featuresAsOf } from './build.js';

it('Ctrl-C during the build deletes tmp/features-as-of-<pid>/ (it stayed until a sweep an hour later)', async () => {
  const dir = await tempWorkspace();
  const ws = new Workspace(dir);
  const { manifest } = await syntheticSource({ seed: 7, symbols: 4, years: 1, start: '2010-01-04' }).fetch(fetchContext(dir));
  await ingest({ ws, lanes: 1, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
  const scratch = join(ws.tmpDir, `features-as-of-${process.pid}`);
  const seen: boolean[] = [];
  // A listener of the test's own keeps the process alive; the signal's handler runs as it would under Ctrl-C.
  const keep = (): void => {};
  process.on('SIGINT', keep);
  try {
    const progress = {
      start() {},
      update() {
        if (seen.length > 0) return;
        seen.push(existsSync(scratch));
        process.emit('SIGINT', 'SIGINT');
        seen.push(existsSync(scratch));
      },
      stop() {},
    };
    await featuresAsOf({ ws, window: 5, asOf: '1', out: join(dir, 'out', 'f.parquet'), log: silentLog, progress }).catch(() => undefined); // the build goes on without its files (no real Ctrl-C: the test's listener kept the process)
  } finally {
    process.off('SIGINT', keep);
  }
  expect(seen).toEqual([true, false]);
  expect(existsSync(scratch)).toBe(false);
});
