import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../core/workspace.js';
import { openDuckDB, sqlString, type DuckDB } from '../db/duckdb.js';
import { type BinSpec, duplicateRows, type PeriodSplit, periodBinCounts } from '../db/table-stats.js';
import { type CountedFile, tableBinCounts, tableDuplicates } from './file-cache.js';

let root: string;
let ws: Workspace;
let db: DuckDB;
const log = pino({ level: 'silent' });
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sp-drift-cache-'));
  ws = new Workspace(root);
  await mkdir(join(root, 'store', 'prices'), { recursive: true });
  db = await openDuckDB(ws.duckdbSettings());
});
afterAll(async () => {
  db.close();
  await rm(root, { recursive: true, force: true });
});

let n = 0;
/** A data file of `rows` rows (x, Date) from `seed`, some x null or NaN; workspace-relative path, rows and bytes as the catalog has them. */
async function file(rows: number, seed: number, firstDay: number): Promise<CountedFile> {
  const rel = `store/prices/f${n++}.parquet`;
  await db.connection.run(`COPY (SELECT CASE WHEN i % 17 = 0 THEN NULL WHEN i % 23 = 0 THEN 'NaN'::DOUBLE ELSE ((i * ${seed}) % 1000) / 10.0 END AS x,
      strftime(DATE '2020-01-01' + INTERVAL (${firstDay} + i) DAY, '%Y-%m-%d') AS "Date" FROM range(${rows}) t(i)) TO ${sqlString(ws.path(rel))} (FORMAT parquet)`);
  return { path: rel, rows, bytes: (await stat(ws.path(rel))).size };
}

const specs: BinSpec[] = [{ column: 'x', edges: [10, 25, 50, 75, 90] }];
const split: PeriodSplit = { by: 'after', column: 'Date', date: '2020-03-01' };
const whole = (files: readonly CountedFile[], s: readonly BinSpec[] = specs): ReturnType<typeof periodBinCounts> =>
  periodBinCounts(db.connection, `read_parquet([${files.map((f) => sqlString(ws.path(f.path))).join(', ')}], hive_partitioning = false)`, s, split);

describe('tableBinCounts', () => {
  it('equals one pass over the whole table; a file counted before is not read again', async () => {
    const [a, b, c] = [await file(120, 7, 0), await file(90, 13, 40), await file(30, 29, 100)];
    const first = await whole([a!, b!, c!]);
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log)).toEqual(await whole([a!, b!]));
    // a and b are in the cache: with a gone from the disk the sum is still a's, b's and c's.
    const aBytes = await readFile(ws.path(a!.path));
    await rm(ws.path(a!.path));
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!, c!], specs, split, log)).toEqual(first);
    await writeFile(ws.path(a!.path), aBytes);
  });

  it('bins again a file whose rows or bytes differ, every file under other edges, and drops files gone from the disk', async () => {
    const [a, b] = [await file(100, 3, 0), await file(100, 11, 70)];
    await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log);
    // The same path, other rows: counted again.
    const b2 = await file(60, 31, 70);
    await rm(ws.path(b!.path));
    await writeFile(ws.path(b!.path), await readFile(ws.path(b2.path)));
    const again = { ...b!, rows: b2.rows, bytes: b2.bytes };
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, again], specs, split, log)).toEqual(await whole([a!, again]));
    const other: BinSpec[] = [{ column: 'x', edges: [5, 50] }];
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, again], other, split, log)).toEqual(await whole([a!, again], other));
    const listed = async (): Promise<string[]> => Object.keys((JSON.parse(await readFile(ws.driftCounts('prices'), 'utf8')) as { files: Record<string, unknown> }).files);
    await tableBinCounts(db.connection, ws, 'prices', [a!], other, split, log);
    expect(await listed()).toEqual([a!.path, b!.path]); // b is not listed, but on disk (another snapshot's)
    await rm(ws.path(b!.path));
    await tableBinCounts(db.connection, ws, 'prices', [a!], other, split, log);
    expect(await listed()).toEqual([a!.path]);
  });

  it('a check of an older snapshot (--as-of) keeps the newest files\' counts: the next check reads none of them', async () => {
    const [a, b, c] = [await file(80, 37, 0), await file(50, 41, 60), await file(20, 43, 120)];
    const newest = await whole([a!, b!, c!]);
    await tableBinCounts(db.connection, ws, 'prices', [a!, b!, c!], specs, split, log);
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!], specs, split, log)).toEqual(await whole([a!]));
    // b and c are not read again: bytes that are no Parquet file, of the same length, give the counts kept before.
    for (const f of [b!, c!]) await writeFile(ws.path(f.path), Buffer.alloc(f.bytes, 0x20));
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!, c!], specs, split, log)).toEqual(newest);
  });

  it('a cache file that is not JSON, a folder or a FIFO in its place: every file binned, the result the same', async () => {
    const [a, b] = [await file(50, 5, 0), await file(50, 9, 80)];
    const want = await whole([a!, b!]);
    const path = ws.driftCounts('prices');
    await writeFile(path, '{ not json');
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log)).toEqual(want);
    await rm(path);
    await mkdir(path);
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log)).toEqual(want);
    await rm(path, { recursive: true });
    execFileSync('mkfifo', [path]);
    expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log)).toEqual(want);
    await rm(path);
  });
});

/** A data file of (Symbol, Date) rows in the order given. */
async function symbolFile(rows: readonly [string, number][]): Promise<CountedFile> {
  const rel = `store/prices/f${n++}.parquet`;
  const values = rows.map(([sym, d], i) => `(${sqlString(sym)}, strftime(DATE '2020-01-01' + INTERVAL ${d} DAY, '%Y-%m-%d'), ${i})`).join(', ');
  await db.connection.run(`COPY (SELECT "Symbol", "Date" FROM (VALUES ${values}) t("Symbol", "Date", i) ORDER BY i) TO ${sqlString(ws.path(rel))} (FORMAT parquet)`);
  return { path: rel, rows: rows.length, bytes: (await stat(ws.path(rel))).size };
}

const table = (files: readonly CountedFile[]): string => `read_parquet([${files.map((f) => sqlString(ws.path(f.path))).join(', ')}], hive_partitioning = false)`;

describe('a cache of the same settings with malformed entries', () => {
  it('drift: an entry of null, periods missing or of another shape, rows not adding up: that file binned again, never thrown on', async () => {
    const [a, b] = [await file(70, 17, 0), await file(40, 19, 90)];
    const want = await whole([a!, b!]);
    const path = ws.driftCounts('prices');
    type Doc = { files: Record<string, { value: { period: string; rows: number; counts: unknown }[] } | null> };
    const breakings: ((d: Doc) => void)[] = [
      (d) => { d.files[a!.path] = null; },
      (d) => { (d.files[a!.path] as { value: unknown }).value = null; },
      (d) => { d.files[a!.path]!.value = []; },
      (d) => { for (const p of d.files[a!.path]!.value) delete (p as { counts?: unknown }).counts; },
      (d) => { for (const p of d.files[a!.path]!.value) p.counts = (p.counts as number[][]).map((c) => c.slice(1)); },
      (d) => { for (const p of d.files[a!.path]!.value) p.counts = (p.counts as number[][]).map((c) => c.map(String)); },
      (d) => { d.files[a!.path]!.value = [...d.files[a!.path]!.value, ...d.files[a!.path]!.value]; },
      (d) => { d.files[a!.path]!.value[0]!.rows += 5; },
    ];
    for (const breakIt of breakings) {
      await rm(path, { force: true });
      await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log);
      const doc = JSON.parse(await readFile(path, 'utf8')) as Doc;
      breakIt(doc);
      await writeFile(path, JSON.stringify(doc));
      expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log)).toEqual(want);
      // and the cache was mended: the next check reads it as it is
      expect(await tableBinCounts(db.connection, ws, 'prices', [a!, b!], specs, split, log)).toEqual(want);
    }
  });

  it('symbols: an entry of null, symbols missing or of another shape, rows not adding up: that file read again', async () => {
    const a = await symbolFile([['A', 0], ['A', 1], ['B', 0]]);
    const b = await symbolFile([['A', 1], ['B', 1], ['B', 1]]); // A's day 1 again, across files; B's day 1 twice, within
    const want = await duplicateRows(db.connection, table([a, b]));
    expect(want).toEqual(new Map([['A', 1], ['B', 1]]));
    const path = ws.symbolsCache('prices');
    type Doc = { files: Record<string, { value: { sorted: unknown; symbols: unknown[][] } } | null> };
    const breakings: ((d: Doc) => void)[] = [
      (d) => { d.files[b.path] = null; },
      (d) => { d.files[b.path]!.value.symbols = []; }, // b's symbols gone: its rows do not add up
      (d) => { d.files[b.path]!.value.symbols = d.files[b.path]!.value.symbols.map((x) => x.slice(0, 4)); },
      (d) => { d.files[b.path]!.value.sorted = 'yes'; },
      (d) => { d.files[b.path]!.value.symbols[0]![1] = 7; },
      (d) => { const x = d.files[b.path]!.value.symbols[0]!; [x[1], x[2]] = ['2020-12-31', '2020-01-01']; },
      (d) => { d.files[b.path]!.value.symbols[1]![3] = -1; },
    ];
    for (const breakIt of breakings) {
      await rm(path, { force: true });
      await tableDuplicates(db.connection, ws, 'prices', table([a, b]), [a, b], log);
      const doc = JSON.parse(await readFile(path, 'utf8')) as Doc;
      breakIt(doc);
      await writeFile(path, JSON.stringify(doc));
      expect(await tableDuplicates(db.connection, ws, 'prices', table([a, b]), [a, b], log)).toEqual(want);
      expect(await tableDuplicates(db.connection, ws, 'prices', table([a, b]), [a, b], log)).toEqual(want);
    }
  });
});

describe('tableDuplicates', () => {
  it('equals the GROUP BY over the whole table; a file read before is not read again', async () => {
    await rm(ws.symbolsCache('prices'), { force: true });
    const history = await symbolFile([['A', 0], ['A', 1], ['A', 1], ['A', 2], ['B', 0], ['B', 1]]);
    const day3 = await symbolFile([['A', 3], ['B', 2]]);
    const day4 = await symbolFile([['A', 4], ['B', 1]]); // B's day 1 again: a repeat across files
    expect(await tableDuplicates(db.connection, ws, 'prices', table([history, day3]), [history, day3], log)).toEqual(new Map([['A', 1]]));
    const want = await duplicateRows(db.connection, table([history, day3, day4]));
    expect(want).toEqual(new Map([['A', 1], ['B', 1]]));
    // history and day3 are in the cache: with day3 gone from the disk, its symbols still count.
    const bytes = await readFile(ws.path(day3.path));
    await rm(ws.path(day3.path));
    const day5 = await symbolFile([['A', 5]]);
    expect(await tableDuplicates(db.connection, ws, 'prices', table([history, day3, day5]), [history, day3, day5], log)).toEqual(new Map([['A', 1]]));
    await writeFile(ws.path(day3.path), bytes);
    expect(await tableDuplicates(db.connection, ws, 'prices', table([history, day3, day4, day5]), [history, day3, day4, day5], log)).toEqual(new Map([['A', 1], ['B', 1]]));
  });

  it('a file not in order, or changed under the same name: counted from its rows, as the GROUP BY does', async () => {
    await rm(ws.symbolsCache('prices'), { force: true });
    const a = await symbolFile([['A', 0], ['A', 1], ['B', 0]]);
    const b = await symbolFile([['A', 2], ['B', 1]]);
    expect(await tableDuplicates(db.connection, ws, 'prices', table([a, b]), [a, b], log)).toEqual(new Map());
    // b rewritten under its name with other rows (out of order, with a repeat): the cache's entry is not taken.
    const other = await symbolFile([['B', 1], ['A', 2], ['A', 1], ['B', 1]]);
    await writeFile(ws.path(b.path), await readFile(ws.path(other.path)));
    const changed = { ...b, rows: other.rows, bytes: other.bytes };
    const want = await duplicateRows(db.connection, table([a, changed]));
    expect(want).toEqual(new Map([['A', 1], ['B', 1]]));
    expect(await tableDuplicates(db.connection, ws, 'prices', table([a, changed]), [a, changed], log)).toEqual(want);
  });
});
