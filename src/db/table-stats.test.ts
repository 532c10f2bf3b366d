import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { openDuckDB, queryRows, sqlString, type DuckDB } from './duckdb.js';
import { duplicateRows, unsortedFiles } from './table-stats.js';

let dir: string;
let db: DuckDB;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-table-stats-'));
  db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '256MB', threads: 2 });
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

let n = 0;
/** A Parquet file of (Symbol, Date, v) rows, sorted by Symbol, Date unless `unsorted`. */
async function file(rows: readonly [string, string][], unsorted = false): Promise<string> {
  const path = join(dir, `f${n++}.parquet`);
  const values = rows.map(([s, d], i) => `(${sqlString(s)}, ${sqlString(d)}, ${i})`).join(', ');
  await db.connection.run(`COPY (SELECT * FROM (VALUES ${values}) t("Symbol", "Date", v) ORDER BY ${unsorted ? 'v DESC' : '"Symbol", "Date"'}) TO ${sqlString(path)} (FORMAT parquet)`);
  return path;
}

const source = (files: readonly string[]): string => `read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = false)`;

/** The definition: rows beyond the first of each (Symbol, Date), per symbol. */
async function expected(files: readonly string[]): Promise<Map<string, number>> {
  const rows = await queryRows(db.connection, `SELECT s, sum(n - 1)::BIGINT AS n FROM (SELECT "Symbol" AS s, count(*) AS n FROM ${source(files)} GROUP BY "Symbol", "Date" HAVING count(*) > 1) GROUP BY ALL`);
  return new Map(rows.map((r) => [String(r.s), Number(r.n)]));
}

const day = (i: number): string => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

describe('duplicateRows over a table of files, each sorted within', () => {
  it('counts repeats inside a file and across files, as a GROUP BY over every row does (random tables)', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const rand = createRng(seed);
      const r = (): number => rand.next();
      const symbols = Array.from({ length: 2 + Math.floor(r() * 6) }, (_, i) => `S${i}`);
      // A first file of each symbol's history, then "appends" of later days (and, at random, a repeated day: within a file or across).
      const base: [string, string][] = [];
      const appends: [string, string][][] = [[], []];
      for (const s of symbols) {
        const len = 3 + Math.floor(r() * 10);
        for (let i = 0; i < len; i++) base.push([s, day(i)]);
        if (r() < 0.3) base.push([s, day(Math.floor(r() * len))]); // within the file
        for (const [k, a] of appends.entries()) {
          const from = len + k * 5;
          for (let i = from; i < from + 1 + Math.floor(r() * 3); i++) a.push([s, day(i)]);
          if (r() < 0.3) a.push([s, day(Math.floor(r() * (from + 1)))]); // across files: a day another file has
        }
      }
      const files = [await file(base), ...(await Promise.all(appends.map((a) => file(a))))];
      const want = await expected(files);
      expect(await duplicateRows(db.connection, source(files), files), `seed ${seed}`).toEqual(want);
      expect(await duplicateRows(db.connection, source(files)), `seed ${seed}, without the files`).toEqual(want);
    }
  });

  it('none when no date repeats, though every file starts again from the first symbol', async () => {
    const files = [await file([['A', day(0)], ['A', day(1)], ['B', day(0)]]), await file([['A', day(2)], ['B', day(1)]]), await file([['A', day(3)], ['B', day(2)]])];
    expect(await duplicateRows(db.connection, source(files), files)).toEqual(new Map());
  });

  it('a repeat in a third file whose range overlaps the first, not the second', async () => {
    const files = [await file([['A', day(0)], ['A', day(5)]]), await file([['A', day(6)], ['A', day(7)]]), await file([['A', day(3)], ['B', day(1)]]), await file([['A', day(5)]])];
    expect(await duplicateRows(db.connection, source(files), files)).toEqual(new Map([['A', 1]]));
  });

  it('an unsorted file: every row counted by the GROUP BY', async () => {
    const files = [await file([['A', day(0)], ['A', day(1)], ['A', day(1)], ['B', day(0)], ['B', day(0)], ['B', day(0)]], true), await file([['A', day(1)]])];
    expect(await duplicateRows(db.connection, source(files), files)).toEqual(new Map([['A', 2], ['B', 2]]));
  });
});

describe('unsortedFiles', () => {
  it('names the files with a row before the row before it; a table of sorted files starting again at each file is none', async () => {
    const sorted = await file([['A', day(0)], ['A', day(1)], ['B', day(0)]]);
    const again = await file([['A', day(2)], ['C', day(0)]]);
    const dates = await file([['A', day(0)], ['A', day(1)]], true); // written in reverse
    const symbols = await file([['A', day(0)], ['B', day(5)]], true); // B first
    const repeat = await file([['A', day(0)], ['A', day(0)]]);
    expect(await unsortedFiles(db.connection, [sorted, again, dates, symbols, repeat])).toEqual(new Set([dates, symbols]));
    expect(await unsortedFiles(db.connection, [sorted, again])).toEqual(new Set());
    expect(await unsortedFiles(db.connection, [])).toEqual(new Set());
  });
});
