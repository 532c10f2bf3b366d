/** The store under kill -9 and concurrent readers: an incremental ingest or features killed at
 * random moments leaves the previous snapshot readable (catalog, files and view agree) and the
 * next run completes it, equal to a full rebuild; two older snapshots read while a third is being
 * written give the same rows as before. */
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { allFiles, currentSnapshot } from '../src/registry/catalog.js';
import { openRegistry } from '../src/registry/store.js';
import { readTable } from '../src/store/read.js';
import { runCliAsync, startCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { sql } from './helpers/workspace.js';

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const day = (i: number): string => new Date(Date.UTC(1990, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

async function source(dir: string, symbols: number, rows: number): Promise<void> {
  await mkdir(join(dir, 'stocks'), { recursive: true });
  for (let s = 0; s < symbols; s++) {
    let text = HEADER;
    for (let i = 0; i < rows; i++) text += `${day(i)},${(10 + ((s * 7 + i) % 97) / 3).toPrecision(17)},11,9,10,${(9 + ((s + i) % 13) / 7).toPrecision(17)},${1000 + ((s * 31 + i) % 5000)}\n`;
    await writeFile(join(dir, 'stocks', `T${s}.csv`), text);
  }
}

async function appendDay(dir: string, symbols: number, i: number): Promise<void> {
  for (let s = 0; s < symbols; s++) await appendFile(join(dir, 'stocks', `T${s}.csv`), `${day(i)},10.5,11,9,10,${(9.5 + s / 1000).toPrecision(17)},${2000 + s}\n`);
}

/** Runs a command that must succeed (without blocking: a test may run independent commands side by side). */
const ok = async (args: string[]): Promise<Record<string, any>> => {
  const r = await runCliAsync(['--json', ...args]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r.json.data as Record<string, any>;
};

/** The catalog's current snapshot, every file it lists present, and the view's head naming it. */
async function consistent(ws: string, table: 'prices' | 'features'): Promise<number> {
  const w = new Workspace(ws);
  const t = readTable(w, table);
  for (const p of t.paths) expect((await stat(p)).size).toBeGreaterThan(0);
  const [n] = await sql(`SELECT count(*)::INT AS n FROM read_parquet([${t.paths.map((p) => `'${p}'`).join(', ')}])`);
  expect(n!.n).toBe(t.snapshot.rows);
  return t.snapshot.id;
}

const cols = `"Symbol", "Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"`;
const view = (ws: string, table: string): string => `read_parquet('${ws}/tables/${table}/*/*.parquet', hive_partitioning = false)`;

describe('store under kill -9', () => {
  it('keeps the previous snapshot readable and the next run completes the update', async () => {
    const root = await tempDir('store-crash');
    const src = join(root, 'src');
    const symbols = 120;
    await source(src, symbols, 3000);
    const ws = join(root, 'ws');
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    await ok(['ingest', '--workspace', ws]);
    await ok(['features', '--workspace', ws]);
    let next = 3000;
    const full = join(root, 'full');
    let rebuilt: Promise<unknown> = Promise.resolve();
    for (const [k, delayMs] of [50, 150, 300, 600].entries()) {
      await appendDay(src, symbols, next++);
      if (k === 2) await writeFile(join(src, 'stocks', 'T3.csv'), `${HEADER}${day(5)},1,1,1,1,1,1\n`); // a restatement too
      await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
      if (k === 3) {
        // The source is final: the full rebuild to compare with runs alongside the last round's kills.
        rebuilt = (async () => {
          await ok(['fetch', '--source', `dir:${src}`, '--workspace', full]);
          await ok(['ingest', '--workspace', full]);
          await ok(['features', '--workspace', full]);
        })();
        rebuilt.catch(() => undefined); // awaited after the loop (reported there), not unhandled if the loop fails first
      }
      for (const cmd of ['ingest', 'features']) {
        const before = await consistent(ws, cmd === 'ingest' ? 'prices' : 'features');
        const child = startCli(['--json', cmd, '--workspace', ws]);
        await new Promise((r) => setTimeout(r, delayMs));
        child.child.kill('SIGKILL');
        await child.done;
        const after = await consistent(ws, cmd === 'ingest' ? 'prices' : 'features');
        expect(after === before || after === before + 1 || after > before).toBe(true);
        await ok([cmd, '--workspace', ws]); // completes (or finds the update already committed)
      }
    }
    // Equal to a full rebuild; files of the killed writes are not in the catalog and not in the view.
    await rebuilt;
    for (const table of ['prices', 'features']) {
      const [d] = await sql(`SELECT (SELECT count(*) FROM (SELECT ${cols} FROM ${view(ws, table)} EXCEPT ALL SELECT ${cols} FROM ${view(full, table)}))
        + (SELECT count(*) FROM (SELECT ${cols} FROM ${view(full, table)} EXCEPT ALL SELECT ${cols} FROM ${view(ws, table)})) AS n`);
      expect(Number(d!.n)).toBe(0);
    }
    const reg = openRegistry(ws, { readonly: true });
    try {
      const live = allFiles(reg, 'prices').filter((f) => f.removed_snapshot === null).length;
      expect(currentSnapshot(reg, 'prices')!.files).toBe(live);
    } finally {
      reg.close();
    }
  }, 300_000);

  it('serves two older snapshots unchanged while a third is written', async () => {
    const root = await tempDir('store-readers');
    const src = join(root, 'src');
    const symbols = 80;
    await source(src, symbols, 2500);
    const ws = join(root, 'ws');
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const s1 = (await ok(['ingest', '--workspace', ws])).snapshot_id as number;
    await appendDay(src, symbols, 2500);
    await writeFile(join(src, 'stocks', 'T1.csv'), `${HEADER}${day(1)},2,2,2,2,2,2\n`);
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const s2 = (await ok(['ingest', '--workspace', ws])).snapshot_id as number;
    const w = new Workspace(ws);
    const count = async (snap: number): Promise<string> => {
      const t = readTable(w, 'prices', String(snap));
      const [r] = await sql(`SELECT count(*)::INT AS n, bit_xor(hash("Symbol", "Date", "Adj Close", "Volume"))::VARCHAR AS s, max("Date") AS d FROM read_parquet([${t.paths.map((p) => `'${p}'`).join(', ')}])`);
      return JSON.stringify(r);
    };
    const want = [await count(s1), await count(s2)];
    expect(want[0]).not.toBe(want[1]);
    await appendDay(src, symbols, 2501);
    await writeFile(join(src, 'stocks', 'T2.csv'), `${HEADER}${day(2)},3,3,3,3,3,3\n`);
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const writer = startCli(['--json', 'ingest', '--workspace', ws]);
    let reads = 0;
    while (writer.child.exitCode === null && reads < 200) {
      expect([await count(s1), await count(s2)]).toEqual(want);
      reads++;
    }
    expect((await writer.done).code).toBe(0);
    expect(reads).toBeGreaterThan(0);
    expect([await count(s1), await count(s2)]).toEqual(want);
  }, 300_000);

  it('repairs a view left one snapshot behind (killed between the commit and the view update)', async () => {
    const root = await tempDir('store-view');
    const src = join(root, 'src');
    await source(src, 5, 50);
    const ws = join(root, 'ws');
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const first = await ok(['ingest', '--workspace', ws]);
    const headPath = join(ws, 'tables', 'prices', '_snapshot.json');
    const oldHead = await readFile(headPath, 'utf8');
    const oldFiles = await readdir(join(ws, 'tables', 'prices'), { recursive: true });
    await appendDay(src, 5, 50);
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const second = await ok(['ingest', '--workspace', ws]);
    expect(second.snapshot_id).toBe(first.snapshot_id + 1);
    // As a kill after the catalog commit leaves it: the old head, the new snapshot's files not linked.
    await writeFile(headPath, oldHead);
    for (const f of await readdir(join(ws, 'tables', 'prices'), { recursive: true })) {
      if (String(f).endsWith('.parquet') && !oldFiles.includes(f)) await rm(join(ws, 'tables', 'prices', String(f)));
    }
    const again = await ok(['ingest', '--workspace', ws]);
    expect(again.snapshot_id).toBe(second.snapshot_id);
    expect(JSON.parse(await readFile(headPath, 'utf8')).snapshot_id).toBe(second.snapshot_id);
    const [n] = await sql(`SELECT count(*)::INT AS n FROM ${view(ws, 'prices')}`);
    expect(n!.n).toBe(second.table_rows);
  }, 120_000);

  it('features killed after its commit, before its report: the next run finds nothing to do (was a full rebuild and a new snapshot of the same rows)', async () => {
    const root = await tempDir('store-features-report');
    const src = join(root, 'src');
    await source(src, 6, 80);
    const ws = join(root, 'ws');
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    await ok(['ingest', '--workspace', ws]);
    await ok(['features', '--workspace', ws]);
    await appendDay(src, 6, 80);
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    await ok(['ingest', '--workspace', ws]);
    const built = await ok(['features', '--workspace', ws]);
    expect(built.mode).toBe('incremental');
    // As a kill after the catalog commit leaves it: the snapshot committed, the report the previous build's.
    const reportPath = join(ws, 'tables', 'features.report.json');
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Record<string, unknown>;
    await writeFile(reportPath, JSON.stringify({ ...report, snapshot_id: built.snapshot_id - 2 }));
    const again = await ok(['features', '--workspace', ws]);
    const same = ['snapshot_id', 'prices_snapshot', 'mode', 'rows', 'rows_computed', 'symbols_changed', 'symbols', 'rows_with_features'];
    expect({ ...again, cached: undefined, seconds: undefined }).toMatchObject(Object.fromEntries(same.map((k) => [k, built[k]])));
    expect(again.cached).toBe(true);
    // The report is made again: the next run answers from it.
    expect(JSON.parse(await readFile(reportPath, 'utf8')).snapshot_id).toBe(built.snapshot_id);
  }, 120_000);
});

