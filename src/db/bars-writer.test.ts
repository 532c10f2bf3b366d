import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil } from '../core/calendar.js';
import { writeBarsParquet, type BarsBatch } from './bars-writer.js';
import { openDuckDB, queryRows, sqlString, type DuckDB } from './duckdb.js';

let dir: string;
let db: DuckDB;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-bars-'));
  db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '256MB', threads: 1 });
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const day0 = daysFromCivil(2020, 1, 1);

/** A batch of `rows` rows for symbol `sym` from day0 + start; values derived from (sym, row) so a read can check them. */
function batch(sym: number, rows: number, start: number, o: { name?: number; exact?: boolean; nanEvery?: number } = {}): BarsBatch {
  const f = (k: number) => Float64Array.from({ length: rows }, (_, i) => sym * 1000 + i + k / 10);
  const volume = Float64Array.from({ length: rows }, (_, i) => sym * 100_000 + i);
  const b: BarsBatch = {
    sym,
    name: o.name,
    rows,
    day: Int32Array.from({ length: rows }, (_, i) => day0 + start + i),
    open: f(1), high: f(2), low: f(3), close: f(4), adjClose: f(5), volume,
    asset: Uint8Array.from({ length: rows }, (_, i) => (sym + i) % 2),
    extra: [Float64Array.from({ length: rows }, (_, i) => (o.nanEvery !== undefined && i % o.nanEvery === 0 ? NaN : sym + i / 4))],
  };
  if (o.exact) b.volumeExact = BigInt64Array.from({ length: rows }, (_, i) => 2n ** 60n + BigInt(sym * 100_000 + i));
  return b;
}

describe('writeBarsParquet', () => {
  it('fills chunks across batches (one-row batches, a batch longer than a chunk, null names, NaN extras, exact volumes) and writes every row as given', async () => {
    // 3,000 one-row batches (a new trading day), then long and odd-sized ones around the 2,048-row chunk.
    const batches: BarsBatch[] = [];
    for (let s = 0; s < 3000; s++) batches.push(batch(s % 40, 1, 5000 + Math.floor(s / 40), { name: s % 3 === 0 ? undefined : s % 2, nanEvery: 2 }));
    batches.push(batch(40, 5000, 0, { name: 1, nanEvery: 7 }));
    batches.push(batch(41, 3, 0, { exact: true }));
    batches.push(batch(42, 2047, 0, { name: 0, exact: true, nanEvery: 5 }));
    batches.push(batch(43, 1, 0));
    const symbols = Array.from({ length: 44 }, (_, i) => `S${String(i).padStart(2, '0')}`);
    const target = join(dir, 'bars.parquet');
    let i = 0;
    const wrote = await writeBarsParquet(db.connection, { symbols, names: ['Alpha', 'Beta'], dayMin: day0, dayMax: day0 + 6000, formatDay: civilFromDays, extraColumns: ['x'], lineage: 7, kvMetadata: {} }, () => batches[i++] ?? null, target);
    expect(wrote).toEqual(await readBack(target));
    expect(wrote.rows).toBe(batches.reduce((a, b) => a + b.rows, 0));

    const got = await queryRows(db.connection, `SELECT "Symbol" AS s, "Security Name" AS n, "Date" AS d, "Open" AS o, "Adj Close" AS a, CAST("Volume" AS VARCHAR) AS v, "Asset" AS t, x, _snapshot_id AS l FROM read_parquet(${sqlString(target)})`);
    const want = batches.flatMap((b) => Array.from({ length: b.rows }, (_, r) => ({
      s: symbols[b.sym],
      n: b.name === undefined ? null : ['Alpha', 'Beta'][b.name],
      d: civilFromDays(b.day[r]!),
      o: b.open[r],
      a: b.adjClose[r],
      v: String(b.volumeExact ? b.volumeExact[r] : b.volume[r]),
      t: b.asset[r] === 1 ? 'stock' : 'etf',
      x: Number.isNaN(b.extra![0]![r]!) ? null : b.extra![0]![r],
      l: 7,
    })));
    expect(got.length).toBe(want.length);
    expect(got).toEqual(want);
  });

  it('writes an empty file when the first batch is already the end', async () => {
    const target = join(dir, 'empty.parquet');
    const wrote = await writeBarsParquet(db.connection, { symbols: ['A'], names: [], dayMin: day0, dayMax: day0, formatDay: civilFromDays, kvMetadata: {} }, () => null, target);
    expect(await queryRows(db.connection, `SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlString(target)})`)).toEqual([{ n: 0 }]);
    expect(wrote).toEqual(await readBack(target));
  });

  it('says what it wrote as DuckDB reads it back: Symbol by byte order (not JS string order or list order), the earliest and latest Date of any symbol, batches without rows skipped', async () => {
    // Listed out of byte order; '\uFF21' (fullwidth A) sorts after '\u{1F600}' in JS (UTF-16 units) but before it in UTF-8;
    // lower case after upper case; the symbol of an empty batch takes no part.
    const symbols = ['b', 'B', '\u{1F600}', '\uFF21', 'A-1', 'ZZ', 'aa'];
    const cases: { batches: BarsBatch[]; name: string }[] = [
      { name: 'mixed', batches: [batch(0, 3, 40), batch(1, 5, 10), batch(2, 2, 500), batch(3, 4, 3), batch(5, 0, 0), batch(6, 1, 900)] },
      { name: 'wide', batches: [batch(2, 1, 7), batch(3, 1, 8)] },
      { name: 'one', batches: [batch(4, 2500, 100)] },
    ];
    for (const c of cases) {
      const target = join(dir, `range-${c.name}.parquet`);
      let i = 0;
      const wrote = await writeBarsParquet(db.connection, { symbols, names: [], dayMin: day0, dayMax: day0 + 4000, formatDay: civilFromDays, kvMetadata: {} }, () => c.batches[i++] ?? null, target);
      expect(wrote, c.name).toEqual(await readBack(target));
    }
  });
});

/** A file's rows and Symbol and Date ranges as DuckDB reads them (what the store's catalog recorded before writers said it). */
async function readBack(target: string): Promise<Record<string, unknown>> {
  const [r] = await queryRows(db.connection, `SELECT count(*)::INTEGER AS rows, min("Symbol") AS symbol_min, max("Symbol") AS symbol_max, min("Date") AS date_min, max("Date") AS date_max FROM read_parquet(${sqlString(target)})`);
  return r!;
}
