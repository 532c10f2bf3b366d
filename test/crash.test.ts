/** A run killed half-way (SIGKILL while the new table is being written) leaves the previous
 * outputs intact; the next run clears the dead run's temp file and produces the same table. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { ingest } from '../src/etl/ingest.js';
import { syntheticSource } from '../src/sources/synthetic.js';
import { startCli } from './helpers/cli.js';
import { fetchContext, silentLog, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a killed ingest', () => {
  it('leaves the previous prices.parquet byte for byte, and the next run recovers', async () => {
    const ws = await tempWorkspace();
    const { manifest } = await syntheticSource({ seed: 7, symbols: 400, years: 10, start: '2010-01-04' }).fetch(fetchContext(ws));
    const first = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    const before = await readFile(new Workspace(ws).pricesTable);
    const tables = join(ws, 'tables');
    let killedMidWrite = false;
    for (let attempt = 0; attempt < 5 && !killedMidWrite; attempt++) {
      const { child, done: exited } = startCli(['ingest', '--force', '--quiet', '-w', ws]);
      // Wait (bounded polling of a real child) until the new table's temp file exists, then kill it without warning.
      for (let i = 0; i < 2000 && child.exitCode === null; i++) {
        if ((await readdir(tables)).some((f) => f.startsWith('.prices.parquet.tmp-'))) {
          child.kill('SIGKILL');
          killedMidWrite = true;
          break;
        }
        await sleep(5);
      }
      await exited;
    }
    expect(killedMidWrite).toBe(true);
    expect(Buffer.compare(await readFile(new Workspace(ws).pricesTable), before)).toBe(0);
    expect((await readdir(tables)).some((f) => f.startsWith('.prices.parquet.tmp-'))).toBe(true);
    const again = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), manifest, strict: false, force: true, log: silentLog, progress: silentProgress });
    expect(again.rows_kept).toBe(first.rows_kept);
    expect((await readdir(tables)).filter((f) => f.includes('.tmp-'))).toEqual([]);
    // Same input, same (single-threaded, ordered) writer: the rebuilt table is identical.
    expect(Buffer.compare(await readFile(new Workspace(ws).pricesTable), before)).toBe(0);
  });
});
