/** A run killed half-way (SIGKILL while the new table is being written) leaves the previous
 * outputs intact; the next run clears the dead run's temp file and produces the same table. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { ingest } from '../src/etl/ingest.js';
import { syntheticSource } from '../src/sources/synthetic.js';
import { DIST, startCli } from './helpers/cli.js';
import { fetchContext, silentLog, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { tableDigest } from './helpers/store.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('a killed ingest', () => {
  it('leaves the previous snapshot intact (head and content), and the next run recovers', async () => {
    const ws = await tempWorkspace();
    const { manifest } = await syntheticSource({ seed: 7, symbols: 200, years: 10, start: '2010-01-04' }).fetch(fetchContext(ws));
    const first = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    const head = new Workspace(ws).tableHead('prices');
    const before = await readFile(head);
    const digest = await tableDigest(ws, 'prices');
    const store = new Workspace(ws).storeTableDir('prices');
    const files = async (): Promise<string[]> => (await readdir(store, { recursive: true })).map(String).filter((f) => f.endsWith('.parquet'));
    const committed = new Set(await files());
    let killedMidWrite = false;
    for (let attempt = 0; attempt < 5 && !killedMidWrite; attempt++) {
      const { child, done: exited } = startCli(['ingest', '--force', '--quiet', '-w', ws]);
      // Wait (bounded polling of a real child) until the new snapshot's first data file exists, then kill it without warning.
      for (let i = 0; i < 2000 && child.exitCode === null; i++) {
        if ((await files()).some((f) => !committed.has(f))) {
          child.kill('SIGKILL');
          killedMidWrite = true;
          break;
        }
        await sleep(5);
      }
      await exited;
    }
    expect(killedMidWrite).toBe(true);
    expect(Buffer.compare(await readFile(head), before)).toBe(0);
    expect(await tableDigest(ws, 'prices')).toBe(digest);
    expect((await files()).some((f) => !committed.has(f))).toBe(true); // unreferenced: vacuum's to delete
    const again = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: false, force: true, log: silentLog, progress: silentProgress });
    expect(again.rows_kept).toBe(first.rows_kept);
    // Same input: the rebuilt table holds the same rows.
    expect(await tableDigest(ws, 'prices')).toBe(digest);
  });
});

describe('an output interrupted by a signal', () => {
  // A child that writes `out` through withAtomicOutput and never finishes: it prints its temp's path once written.
  const writer = (out: string, ownListener: boolean | 'once'): string => `
    const { withAtomicOutput } = await import(${JSON.stringify(join(DIST, 'core', 'fs.js'))});
    const { writeFileSync } = await import('node:fs');
    ${ownListener ? `process.${ownListener === 'once' ? 'once' : 'on'}('SIGINT', () => { console.log('own listener'); setTimeout(() => process.exit(0), 50); });` : ''}
    setInterval(() => {}, 1000);
    await withAtomicOutput(${JSON.stringify(out)}, async (tmp) => { writeFileSync(tmp, 'x'.repeat(1 << 20)); console.log(tmp); await new Promise(() => {}); });`;

  async function interrupt(ownListener: boolean | 'once'): Promise<{ signal: NodeJS.Signals | null; code: number | null; tmp: string; stdout: string; left: string[]; dir: string }> {
    const dir = await tempWorkspace();
    const child = spawn(process.execPath, ['--input-type=module', '-e', writer(join(dir, 'prices.csv'), ownListener)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    const ended = new Promise<[number | null, NodeJS.Signals | null]>((r) => child.on('close', (code, signal) => r([code, signal])));
    // Until it names its temp, bounded by time (1,000 polls, about 10 s, are little for a start on a loaded machine).
    for (const until = Date.now() + 60_000; !stdout.includes('\n') && child.exitCode === null && Date.now() < until; ) await sleep(10);
    const tmp = stdout.split('\n')[0]!;
    expect(existsSync(tmp), `the temp ${tmp} is written before the signal`).toBe(true);
    child.kill('SIGINT');
    const [code, signal] = await ended;
    return { code, signal, tmp, stdout, left: await readdir(dir), dir };
  }

  it('Ctrl-C ends the process as before and leaves no temp beside the output', async () => {
    const r = await interrupt(false);
    expect([r.signal, r.left]).toEqual(['SIGINT', []]);
  });

  it('a command that handles the signal itself (serve) goes on; the temp is still removed', async () => {
    const r = await interrupt(true);
    expect([r.code, r.signal, r.stdout.includes('own listener'), r.left]).toEqual([0, null, true, []]);
  });

  it('a handler registered with process.once (serve\'s) goes on too (the signal was raised again: killed mid-drain, exit 143)', async () => {
    const r = await interrupt('once');
    expect([r.code, r.signal, r.stdout.includes('own listener'), r.left]).toEqual([0, null, true, []]);
  });
});
