/** Incremental ingest + features equal a full rebuild, value for value, after random edits of a
 * source folder: appended days, rewritten histories (a restated Adj Close), removed and new files,
 * a duplicated date, a malformed line. Each round compares the incrementally updated workspace with
 * one rebuilt from scratch (every column but the row lineage), and checks as-of reads still see the
 * first snapshot unchanged. */
import { execFileSync } from 'node:child_process';
import { appendFile, copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { bucketOf, partitionName } from '../src/store/partition.js';
import { readTable } from '../src/store/read.js';
import { currentSnapshot } from '../src/registry/catalog.js';
import { openRegistry } from '../src/registry/store.js';
import { runCli, runCliAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { sql } from './helpers/workspace.js';

/** A small deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const day = (i: number): string => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

function line(r: () => number, i: number): string {
  const p = (10 + r() * 90).toPrecision(17);
  return `${day(i)},${p},${p},${p},${p},${(Number(p) * 0.9).toPrecision(17)},${Math.floor(r() * 1e6)}\n`;
}

async function write(dir: string, sym: string, from: number, to: number, r: () => number): Promise<void> {
  let text = HEADER;
  for (let i = from; i < to; i++) text += line(r, i);
  await writeFile(join(dir, `${sym}.csv`), text);
}

const ok = (args: string[]): Record<string, any> => {
  const res = runCli(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return res.json.data as Record<string, any>;
};
/** `ok` without blocking: the incremental workspace and its full rebuild are updated side by side. */
const okAsync = async (args: string[]): Promise<Record<string, any>> => {
  const res = await runCliAsync(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return res.json.data as Record<string, any>;
};

const cols = `"Symbol", "Security Name", "Date", "Open", "High", "Low", "Close", "Adj Close", "Volume", "Asset"`;
const featureCols = `${cols}, vol_moving_avg, adj_close_rolling_med`;
const view = (ws: string, table: string): string => `read_parquet('${ws}/tables/${table}/*/*.parquet', hive_partitioning = false)`;

async function diff(a: string, b: string, table: string, c: string): Promise<number> {
  const [r] = await sql(`SELECT (SELECT count(*) FROM (SELECT ${c} FROM ${view(a, table)} EXCEPT ALL SELECT ${c} FROM ${view(b, table)}))
    + (SELECT count(*) FROM (SELECT ${c} FROM ${view(b, table)} EXCEPT ALL SELECT ${c} FROM ${view(a, table)})) AS n`);
  return Number(r!.n);
}

/** Rows of any file of any snapshot (both tables) that do not come after the row before them by Symbol, Date: files must be sorted (what readers may rely on within a file). */
async function unsortedRows(ws: string): Promise<number> {
  const [unsorted] = await sql(`SELECT count(*)::INT AS n FROM (SELECT filename, "Symbol", "Date", lag("Symbol") OVER w AS ps, lag("Date") OVER w AS pd
    FROM read_parquet('${ws}/store/*/*/*.parquet', filename = true, file_row_number = true, hive_partitioning = false) WINDOW w AS (PARTITION BY filename ORDER BY file_row_number))
    WHERE ps IS NOT NULL AND (ps > "Symbol" OR (ps = "Symbol" AND pd >= "Date"))`);
  return Number(unsorted!.n);
}

/** Builds `rebuilt` from scratch out of the source folder (fetch, ingest, features --window 5) and expects `ws`'s features to equal its. */
async function expectRebuildEqual(ws: string, src: string, rebuilt: string): Promise<void> {
  ok(['fetch', '--source', `dir:${src}`, '--workspace', rebuilt]);
  ok(['ingest', '--workspace', rebuilt]);
  ok(['features', '--workspace', rebuilt, '--window', '5']);
  expect(await diff(ws, rebuilt, 'features', featureCols)).toBe(0);
}

/** A source folder with 30 days of each of `symbols`, and a workspace `update` fetches and ingests it into. */
async function tailsFixture(name: string, seed: number, symbols: readonly string[]): Promise<{ root: string; src: string; stocks: string; ws: string; r: () => number; update: () => void }> {
  const root = await tempDir(name);
  const src = join(root, 'src');
  const stocks = join(src, 'stocks');
  await mkdir(stocks, { recursive: true });
  const r = rng(seed);
  for (const sym of symbols) await write(stocks, sym, 0, 30, r);
  const ws = join(root, 'ws');
  const update = (): void => {
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    ok(['ingest', '--workspace', ws]);
  };
  return { root, src, stocks, ws, r, update };
}

describe('incremental ingest and features', () => {
  it('equal a full rebuild after random appends, rewrites and deletions', async () => {
    const root = await tempDir('store-inc');
    const src = join(root, 'src');
    const stocks = join(src, 'stocks');
    await mkdir(stocks, { recursive: true });
    const r = rng(7);
    const len = new Map<string, number>();
    for (let s = 0; s < 12; s++) {
      const sym = `S${s}`;
      const n = 20 + Math.floor(r() * 80);
      len.set(sym, n);
      await write(stocks, sym, 0, n, r);
    }
    // G: a history, then a gap far longer than the lookback a changed row's window reads (its older
    // rows must be read whole); O: a single row (no older rows to look for).
    await write(stocks, 'G', 0, 30, r);
    await appendFile(join(stocks, 'G.csv'), line(r, 200) + line(r, 201) + line(r, 202));
    await write(stocks, 'O', 10, 11, r);
    // R: appended in round 0 (so its last rows are in the tails file), removed and written again
    // with a later history between two feature builds in round 1 (none of its old rows may stay).
    await write(stocks, 'R', 0, 40, r);
    const ws = join(root, 'ws');
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const first = ok(['ingest', '--workspace', ws]);
    expect(first.mode).toBe('full');
    const firstFeatures = ok(['features', '--workspace', ws, '--window', '5']);
    const firstRows = await sql(`SELECT count(*)::INT AS n FROM ${view(ws, 'prices')}`);
    for (let round = 0; round < 4; round++) {
      const names = (await readdir(stocks)).map((f) => f.slice(0, -4));
      for (const sym of names) {
        if (sym === 'G' || sym === 'O' || sym === 'R') continue;
        const x = r();
        const n = len.get(sym)!;
        if (x < 0.4) {
          let text = '';
          const k = 1 + Math.floor(r() * 3);
          for (let i = n; i < n + k; i++) text += line(r, i);
          await appendFile(join(stocks, `${sym}.csv`), text);
          len.set(sym, n + k);
        } else if (x < 0.55) {
          // A restatement: the whole history written again with new values from a random day on.
          const lines = (await readFile(join(stocks, `${sym}.csv`), 'utf8')).split('\n');
          const from = 1 + Math.floor(r() * (lines.length - 2));
          for (let i = from; i < lines.length - 1; i++) lines[i] = line(r, i - 1).trimEnd();
          await writeFile(join(stocks, `${sym}.csv`), lines.join('\n'));
        } else if (x < 0.6) {
          await rm(join(stocks, `${sym}.csv`));
          len.delete(sym);
        } else if (x < 0.65) {
          await appendFile(join(stocks, `${sym}.csv`), `${day(n - 1)},1,2,0.5,1.5,1.5,99\nnot,a,line\n`); // a duplicate date (the last wins) and a malformed line
        }
      }
      await appendFile(join(stocks, 'G.csv'), line(r, 303 + 100 * round));
      await appendFile(join(stocks, 'O.csv'), line(r, 11 + round));
      if (round === 0) await appendFile(join(stocks, 'R.csv'), line(r, 40));
      if (round === 1) {
        await rm(join(stocks, 'R.csv'));
        await okAsync(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
        await okAsync(['ingest', '--workspace', ws]);
        await write(stocks, 'R', 100, 110, r);
      }
      const fresh = `N${round}`;
      len.set(fresh, 15);
      await write(stocks, fresh, 3, 18, r);
      const full = join(root, `full-${round}`);
      const update = async (w: string): Promise<Record<string, any>[]> => {
        await okAsync(['fetch', '--source', `dir:${src}`, '--workspace', w]);
        const ingested = await okAsync(['ingest', '--workspace', w]);
        return [ingested, await okAsync(['features', '--workspace', w, '--window', '5'])];
      };
      const [[inc, f], [fr]] = await Promise.all([update(ws), update(full)]);
      expect(inc!.mode).toBe('incremental');
      expect(f!.mode).toBe('incremental');
      // Each build leaves the tails file (the full one too), and the next reads appended symbols' context from it.
      expect(f!.symbols_context_cached).toBeGreaterThan(0);
      expect(inc!.table_rows).toBe(fr!.table_rows);
      expect(await diff(ws, full, 'prices', cols)).toBe(0);
      expect(await diff(ws, full, 'features', featureCols)).toBe(0);
      expect(await unsortedRows(ws)).toBe(0);
    }
    // A tails file that is not Parquet: the build reads every context from the table, and still equals a rebuild.
    await writeFile(join(ws, 'tmp', 'features-tails.parquet'), 'not parquet');
    // Temporary copies a killed build left (a pid no process has), and one of a live process (this one).
    const orphan = join(ws, 'tmp', 'features-tails.parquet.2147483646.tmp');
    const live = join(ws, 'tmp', `features-tails.parquet.${process.pid}.read`);
    await writeFile(orphan, 'x');
    await writeFile(live, 'x');
    await appendFile(join(stocks, 'G.csv'), line(r, 1000));
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    ok(['ingest', '--workspace', ws]);
    const afterBad = ok(['features', '--workspace', ws, '--window', '5']);
    expect(afterBad.mode).toBe('incremental');
    expect(afterBad.symbols_context_cached).toBe(0);
    expect(existsSync(orphan)).toBe(false);
    expect(existsSync(live)).toBe(true);
    await rm(live);
    const rebuilt = join(root, 'full-bad-tails');
    await expectRebuildEqual(ws, src, rebuilt);
    // As of the first prices snapshot, after restatements: the features computed again equal the ones stored then.
    const asOf = join(root, 'as-of.parquet');
    const a = ok(['features', '--workspace', ws, '--window', '5', '--as-of', String(first.snapshot_id), '--out', asOf]);
    expect(a.prices_snapshot).toBe(first.snapshot_id);
    const stored = readTable(new Workspace(ws), 'features', String(firstFeatures.snapshot_id)).paths.map((p) => `'${p}'`).join(', ');
    const [d] = await sql(`SELECT (SELECT count(*) FROM (SELECT ${featureCols} FROM read_parquet([${stored}], hive_partitioning = false) EXCEPT ALL SELECT ${featureCols} FROM read_parquet('${asOf}')))
      + (SELECT count(*) FROM (SELECT ${featureCols} FROM read_parquet('${asOf}') EXCEPT ALL SELECT ${featureCols} FROM read_parquet([${stored}], hive_partitioning = false))) AS n, (SELECT count(*) FROM read_parquet('${asOf}'))::INT AS rows`);
    expect(Number(d!.n)).toBe(0);
    expect(d!.rows).toBe(firstRows[0]!.n);
    // The first snapshot is still readable as it was.
    const files = (await sql(`SELECT count(*)::INT AS n FROM read_parquet('${ws}/store/prices/*/s000001-*.parquet')`));
    expect(files[0]!.n).toBe(firstRows[0]!.n);
  }, 240_000);

  it('appended days of many symbols (more rows than one of DuckDB\'s chunks) go to files sorted by Symbol, Date', async () => {
    // The appended rows of every bucket are written in one go; DuckDB's partitioned COPY does not keep
    // an ORDER BY within each partition's file once the rows span several chunks (found at 8,000 symbols).
    const symbols = Array.from({ length: 400 }, (_, i) => `S${String((i * 7919) % 100_000).padStart(5, '0')}`);
    const { root, src, stocks, ws, r, update } = await tailsFixture('inc-append-order', 77, symbols);
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    for (const sym of symbols) {
      let text = '';
      for (let i = 30; i < 40; i++) text += line(r, i);
      await appendFile(join(stocks, `${sym}.csv`), text);
    }
    update();
    const f = ok(['features', '--workspace', ws, '--window', '5']);
    expect(f.mode).toBe('incremental');
    expect(f.rows_computed).toBe(4000);
    expect(await unsortedRows(ws)).toBe(0);
    await expectRebuildEqual(ws, src, join(root, 'rebuilt'));
  }, 120_000);

  it.each([['an append', 'append'], ['a restatement', 'restate']])('a full features build sorts a bucket whose only file %s wrote (such files were not always sorted)', async (_by, operation) => {
    // AAA alone in the first ingest; NEW, in another bucket, comes with the second (AAA's rows rewritten
    // too for a restatement): its bucket's one file holds rows that snapshot appended.
    const fresh = ['NEW', 'NEW1', 'NEW2', 'NEW3'].find((sym) => bucketOf(sym) !== bucketOf('AAA'))!;
    const { root, src, stocks, ws, r, update } = await tailsFixture(`inc-${operation}-trust`, 91, ['AAA']);
    update();
    await write(stocks, fresh, 0, 60, r);
    if (operation === 'restate') await write(stocks, 'AAA', 0, 30, r);
    update();
    const t = readTable(new Workspace(ws), 'prices');
    expect(t.snapshot.operation).toBe(operation);
    const appended = t.files.filter((f) => f.partition === partitionName(bucketOf(fresh)));
    expect(appended).toHaveLength(1);
    // As a partitioned COPY could leave it before 2026-12-06: the same rows, not in order.
    const path = join(ws, appended[0]!.path);
    await sql(`COPY (SELECT * FROM read_parquet('${path}') ORDER BY "Date" DESC) TO '${path}.unsorted' (FORMAT parquet)`);
    await rename(`${path}.unsorted`, path);
    ok(['features', '--workspace', ws, '--window', '5', '--force']);
    await expectRebuildEqual(ws, src, join(root, 'rebuilt'));
  }, 60_000);

  it('a metadata file touched but unchanged commits nothing; a changed Security Name rebuilds', async () => {
    const root = await tempDir('store-meta');
    const src = join(root, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    const r = rng(3);
    for (const sym of ['AA', 'BB']) await write(join(src, 'stocks'), sym, 0, 40, r);
    const meta = 'Nasdaq Traded,Symbol,Security Name,Listing Exchange,Market Category,ETF,Round Lot Size,Test Issue,Financial Status,CQS Symbol,NASDAQ Symbol,NextShares\nY,AA,Alpha Inc,N, ,N,100.0,N,,AA,AA,N\nY,BB,Beta Inc,N, ,N,100.0,N,,BB,BB,N\n';
    await writeFile(join(src, 'symbols_valid_meta.csv'), meta);
    const ws = join(root, 'ws');
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const first = ok(['ingest', '--workspace', ws]);
    // The same bytes written again (a feed re-sending it): a new mtime, the same content.
    await new Promise((res) => setTimeout(res, 20));
    await writeFile(join(src, 'symbols_valid_meta.csv'), meta);
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const again = ok(['ingest', '--workspace', ws]);
    expect(again.mode).toBe('unchanged');
    expect(again.snapshot_id).toBe(first.snapshot_id);
    // In a terminal it says so, and the table's rows, not "rows read 0 = kept 0".
    const human = runCli(['ingest', '--workspace', ws]);
    expect(human.stdout).toContain(`nothing read: no file changed since snapshot ${first.snapshot_id}, which holds 80 rows`);
    expect(human.stdout).not.toContain('rows read 0');
    // A price file written again with the same rows: read again, and said so (not "nothing read").
    await new Promise((res) => setTimeout(res, 20));
    await writeFile(join(src, 'stocks', 'AA.csv'), await readFile(join(src, 'stocks', 'AA.csv'), 'utf8'));
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const reread = runCli(['ingest', '--workspace', ws]);
    expect(reread.code, reread.stderr).toBe(0);
    expect(reread.stdout).not.toContain('nothing read');
    expect(reread.stdout).toContain(`re-read 40 rows of changed files = kept 40 + dropped 0 (none): the same rows as snapshot ${first.snapshot_id}, which holds 80 rows (nothing written)`);
    // A changed name is a change of every row of that symbol: a full rebuild, with the new name.
    await writeFile(join(src, 'symbols_valid_meta.csv'), meta.replace('Beta Inc', 'Beta Corp'));
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const renamed = ok(['ingest', '--workspace', ws]);
    expect(renamed.mode).toBe('full');
    const [n] = await sql(`SELECT count(*)::INT AS n FROM ${view(ws, 'prices')} WHERE "Security Name" = 'Beta Corp'`);
    expect(n!.n).toBe(40);
  }, 60_000);

  it('a tails file of an earlier registry, or a FIFO where the tails file goes, is not read', async () => {
    const { root, src, stocks, ws, r, update } = await tailsFixture('store-tails', 11, ['AA', 'BB']);
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    await appendFile(join(stocks, 'AA.csv'), line(r, 30));
    update();
    const before = ok(['features', '--workspace', ws, '--window', '5']);
    const oldTails = join(root, 'old-tails.parquet');
    await copyFile(join(ws, 'tmp', 'features-tails.parquet'), oldTails);
    // The registry moved aside (docs/errors.md: a new empty one is created), AA restated meanwhile:
    // the new registry numbers its snapshots from 1 again, and its features are built (fully) from
    // the prices snapshot with the id the old tails file was written for. The full build writes its
    // own tails file; the old one put back (a backup of tmp/ restored) must not be taken for it.
    await mkdir(join(root, 'aside'));
    for (const f of await readdir(ws)) if (f.startsWith('stockpipe.db')) await rename(join(ws, f), join(root, 'aside', f));
    await write(stocks, 'AA', 0, 31, r);
    update();
    await appendFile(join(stocks, 'BB.csv'), line(r, 30));
    update();
    await appendFile(join(stocks, 'BB.csv'), line(r, 31));
    update();
    const full = ok(['features', '--workspace', ws, '--window', '5']);
    expect(full.mode).toBe('full');
    expect(full.prices_snapshot).toBe(before.prices_snapshot);
    await copyFile(oldTails, join(ws, 'tmp', 'features-tails.parquet'));
    await appendFile(join(stocks, 'AA.csv'), line(r, 31));
    update();
    const next = ok(['features', '--workspace', ws, '--window', '5']);
    expect(next.mode).toBe('incremental');
    expect(next.symbols_context_cached).toBe(0);
    const rebuilt = join(root, 'rebuilt');
    await expectRebuildEqual(ws, src, rebuilt);
    // A FIFO at the tails path (nothing writes to it): the build does not wait on it, and reads the table.
    const tails = join(ws, 'tmp', 'features-tails.parquet');
    await rm(tails);
    execFileSync('mkfifo', [tails]);
    await appendFile(join(stocks, 'AA.csv'), line(r, 32));
    update();
    const res = runCli(['--json', 'features', '--workspace', ws, '--window', '5'], { timeoutMs: 30_000 });
    expect(res.signal, res.stderr).toBeNull();
    expect(res.json.data.mode).toBe('incremental');
    expect(res.json.data.symbols_context_cached).toBe(0);
    await appendFile(join(stocks, 'AA.csv'), line(r, 33));
    update();
    expect(ok(['features', '--workspace', ws, '--window', '5']).symbols_context_cached).toBe(1);
    await expectRebuildEqual(ws, src, rebuilt);
  }, 120_000);

  it('a build of removals only keeps the tails file current: the next build reads its context there', async () => {
    const { root, src, stocks, ws, r, update } = await tailsFixture('store-tails-removed', 5, ['AA', 'BB', 'CC']);
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    // A day with a delisting and no new rows: only CC goes.
    await rm(join(stocks, 'CC.csv'));
    update();
    const removal = ok(['features', '--workspace', ws, '--window', '5']);
    expect(removal.mode).toBe('incremental');
    await appendFile(join(stocks, 'AA.csv'), line(r, 30));
    await appendFile(join(stocks, 'BB.csv'), line(r, 30));
    update();
    const next = ok(['features', '--workspace', ws, '--window', '5']);
    expect(next.mode).toBe('incremental');
    expect(next.symbols_context_cached).toBe(2);
    const rebuilt = join(root, 'rebuilt');
    await expectRebuildEqual(ws, src, rebuilt);
  }, 120_000);

  it('a grown file whose new lines close a quote its old lines left open is read whole, as a full build reads it', async () => {
    const { root, src, stocks, ws, update } = await tailsFixture('store-quote-tail', 11, ['AA']);
    // The old last line opens a quote it never closes: that line alone is malformed.
    await appendFile(join(stocks, 'AA.csv'), `${day(30)},1,1,1,1,1,"100\n`);
    update();
    // New lines after the last date, the second closing that quote: read with the old lines, one
    // quoted Volume runs over all three lines (malformed), so 2020-02-01 is not a row.
    await appendFile(join(stocks, 'AA.csv'), `${day(31)},5,5,5,5,5,200\n${day(32)},6,6,6,6,6,300"\n`);
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const inc = ok(['ingest', '--workspace', ws]);
    expect(inc.files_tail_read).toBe(0);
    expect(inc.rows_read).toBe(inc.rows_kept + Object.values(inc.rows_dropped as Record<string, number>).reduce((a, b) => a + b, 0));
    const full = join(root, 'full');
    ok(['fetch', '--source', `dir:${src}`, '--workspace', full]);
    const fr = ok(['ingest', '--workspace', full]);
    expect(inc.table_rows).toBe(fr.table_rows);
    expect(await diff(ws, full, 'prices', cols)).toBe(0);
    // New lines without a quote are still read from the old end on.
    await appendFile(join(stocks, 'AA.csv'), `${day(40)},7,7,7,7,7,400\n`);
    update();
    const next = JSON.parse(await readFile(join(ws, 'tables', 'prices.report.json'), 'utf8')) as Record<string, number>;
    expect(next.files_tail_read).toBe(1);
  }, 60_000);

  it('keeps the sign of a zero Adj Close through full builds, appends and restatements, as a full rebuild does', async () => {
    // ZZ's Adj Close is only zeros, half of them -0.0 (pandas reads "-0.0" as -0.0). DuckDB wrote a
    // column chunk of few distinct values by == as a dictionary, which gave every zero the sign of
    // the chunk's first one (duckdb/duckdb#25781).
    const { root, src, stocks, ws, r, update } = await tailsFixture('store-negative-zero', 13, ['AA']);
    const zz = (i: number): string => `${day(i)},1,1,1,1,${i % 2 === 0 ? '-0.0' : '0.0'},${100 + i}\n`;
    let text = HEADER;
    for (let i = 0; i < 30; i++) text += zz(i);
    await writeFile(join(stocks, 'ZZ.csv'), text);
    const signs = async (w: string, table: string): Promise<string> => {
      const rows = await sql(`SELECT string_agg(CASE WHEN "Adj Close"::VARCHAR LIKE '-%' THEN '-' ELSE '+' END, '' ORDER BY "Date") AS s FROM ${view(w, table)} WHERE "Symbol" = 'ZZ'`);
      return String(rows[0]!.s);
    };
    const expected = (n: number): string => Array.from({ length: n }, (_, i) => (i % 2 === 0 ? '-' : '+')).join('');
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    expect(await signs(ws, 'prices')).toBe(expected(30));
    expect(await signs(ws, 'features')).toBe(expected(30));
    // Appended days (AA's and ZZ's), then a restated day of ZZ: the bucket's files are written again.
    await appendFile(join(stocks, 'AA.csv'), line(r, 30));
    await appendFile(join(stocks, 'ZZ.csv'), zz(30) + zz(31));
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    await writeFile(join(stocks, 'ZZ.csv'), (await readFile(join(stocks, 'ZZ.csv'), 'utf8')).replace(`${day(3)},1,1,1,1,0.0,103`, `${day(3)},1,1,1,1,0.0,999`));
    update();
    const restated = ok(['features', '--workspace', ws, '--window', '5']);
    expect(restated.mode).toBe('incremental');
    expect(await signs(ws, 'prices')).toBe(expected(32));
    expect(await signs(ws, 'features')).toBe(expected(32));
    const rebuilt = join(root, 'rebuilt');
    await expectRebuildEqual(ws, src, rebuilt);
    // Value for value as text (`=` holds -0.0 equal to 0.0).
    expect(await diff(ws, rebuilt, 'features', `"Symbol", "Date", "Adj Close"::VARCHAR, adj_close_rolling_med::VARCHAR`)).toBe(0);
  }, 120_000);

  it('a malformed line appended after a record over two lines is reported by its line in the file', async () => {
    const { src, stocks, ws, update } = await tailsFixture('store-quote-lines', 12, ['AA']);
    // Line 32-33: one record, its quoted Volume over two lines (malformed).
    await appendFile(join(stocks, 'AA.csv'), `${day(30)},1,1,1,1,1,"1\n0"\n`);
    update();
    await appendFile(join(stocks, 'AA.csv'), `${day(31)},5,5,5,5,x,200\n`);
    ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    const inc = ok(['ingest', '--workspace', ws]);
    expect(inc.files_tail_read).toBe(1);
    expect(inc.malformed).toEqual([{ path: 'stocks/AA.csv', line: 34, reason: 'Adj Close is not a number' }]);
  }, 60_000);

  it('a data file deleted by hand fails the next incremental ingest, features and vacuum naming it, with the rebuild that brings the table back; nothing is committed', async () => {
    const { root, stocks, ws, r, update } = await tailsFixture('store-lost-base', 13, ['AA', 'BB']);
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    await appendFile(join(stocks, 'AA.csv'), line(r, 30));
    update();
    ok(['features', '--workspace', ws, '--window', '5']);
    const head = (table: 'prices' | 'features'): number | undefined => {
      const reg = openRegistry(ws, { readonly: true });
      try {
        return currentSnapshot(reg, table)?.id;
      } finally {
        reg.close();
      }
    };
    const failsNaming = (args: string[], code: string, path: string, rebuild: string): void => {
      const res = runCli(['--json', ...args, '--workspace', ws]);
      expect(res.json?.error, `${args.join(' ')}: ${res.stdout}${res.stderr}`).toMatchObject({ code });
      expect(res.json!.error!.message).toContain(`its data file ${path} is missing`);
      expect(res.json!.error!.hint).toContain(rebuild);
    };
    // The prices append file of AA's bucket gone: an ingest of AA's next day, and vacuum's compaction
    // of that bucket, stop before writing (they said a vacuum had deleted it meanwhile; the ingest of
    // another bucket committed a snapshot listing the lost file).
    const prices = readTable(new Workspace(ws), 'prices');
    const lostPrices = prices.paths[prices.files.findIndex((f) => f.rows === 1)]!;
    const aside = join(root, 'aside.parquet');
    await rename(lostPrices, aside);
    const pricesHead = head('prices');
    await appendFile(join(stocks, 'AA.csv'), line(r, 31));
    ok(['fetch', '--source', `dir:${join(root, 'src')}`, '--workspace', ws]);
    failsNaming(['ingest'], 'SP_ERR_PRICES_MISSING', lostPrices, 'stockpipe ingest --force');
    failsNaming(['vacuum'], 'SP_ERR_PRICES_MISSING', lostPrices, 'stockpipe ingest --force');
    expect(head('prices')).toBe(pricesHead);
    await rename(aside, lostPrices);
    ok(['ingest', '--workspace', ws]);
    // A features file gone: the incremental build stops before its commit (it committed a snapshot
    // listing the lost file, then failed reading it; or failed as if a vacuum had deleted it).
    const features = readTable(new Workspace(ws), 'features');
    const featuresHead = head('features');
    await rm(features.paths[0]!);
    failsNaming(['features', '--window', '5'], 'SP_ERR_FEATURES_MISSING', features.paths[0]!, 'stockpipe features --force');
    expect(head('features')).toBe(featuresHead);
    ok(['features', '--workspace', ws, '--window', '5', '--force']);
  }, 60_000);
});
