import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil } from '../core/calendar.js';
import { BARS_COLUMNS, writeBarsParquet, writeExtraParquet, type BarsBatch } from './bars-writer.js';
import { openDuckDB, queryRows, type DuckDB } from './duckdb.js';
import { footerRoundTrip, spliceParquet } from './parquet-splice.js';

let dir: string;
let db: DuckDB;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-splice-'));
  db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '256MB', threads: 1 });
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

const day0 = daysFromCivil(1990, 1, 1);

/** Symbol `sym`'s `rows` rows: prices with -0.0 and 0.0, a null name for odd symbols, two extra columns with NaNs. */
function batch(sym: number, rows: number): BarsBatch {
  const f = (k: number) => Float64Array.from({ length: rows }, (_, i) => (i % 97 === 0 ? (i % 2 === 0 ? -0 : 0) : sym * 1000 + i / 7 + k));
  return {
    sym,
    name: sym % 2 === 0 ? sym / 2 : undefined,
    rows,
    day: Int32Array.from({ length: rows }, (_, i) => day0 + (i % 20_000)),
    open: f(1), high: f(2), low: f(3), close: f(4), adjClose: f(5),
    volume: Float64Array.from({ length: rows }, (_, i) => sym * 1_000_003 + i * 17),
    asset: Uint8Array.from({ length: rows }, () => sym % 2),
    extra: [Float64Array.from({ length: rows }, (_, i) => (i < 29 ? NaN : sym + i / 3)), Float64Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? NaN : -i / 11))],
  };
}

const symbols = ['AAA', 'BB-B', 'CCC', 'D', 'EEE'];
const spec = { symbols, names: ['Alpha Inc', 'Charlie Corp', 'Echo ETF'], dayMin: day0, dayMax: day0 + 20_000, formatDay: civilFromDays };
const extraColumns = ['vol_moving_avg', 'adj_close_rolling_med'];
const kv = { stockpipe_table: 'features', stockpipe_window: '30' };
/** Five symbols, 130k rows: two row groups (DuckDB's are 122,880 rows), chunks filled across batches. */
const batches = (): BarsBatch[] => [batch(0, 1), batch(1, 70_000), batch(2, 29), batch(3, 50_000), batch(4, 9_970)];
const feed = (bs: BarsBatch[]) => {
  let i = 0;
  return () => bs[i++] ?? null;
};
const asText = (path: string) => `SELECT ${[...BARS_COLUMNS, ...extraColumns, '_snapshot_id'].map((c) => `CAST("${c}" AS VARCHAR) AS "${c}"`).join(', ')} FROM read_parquet('${path}')`;

describe('spliceParquet', () => {
  it('joins a bars file and the extra columns of the same rows into the file writeBarsParquet writes with them: every value (signed zeros, nulls), the columns, types and metadata', async () => {
    const bs = batches();
    const left = join(dir, 'left.parquet');
    const right = join(dir, 'right.parquet');
    const joined = join(dir, 'joined.parquet');
    const whole = join(dir, 'whole.parquet');
    await writeBarsParquet(db.connection, { ...spec, lineage: 7, kvMetadata: { stockpipe_table: 'prices' } }, feed(bs), left);
    expect(await writeExtraParquet(db.connection, { extraColumns, lineage: 9, kvMetadata: kv }, feed(bs), right)).toBe(130_000);
    expect(await spliceParquet(left, right, BARS_COLUMNS.length, joined)).toBe(true);
    await writeBarsParquet(db.connection, { ...spec, extraColumns, lineage: 9, kvMetadata: kv }, feed(bs), whole);
    const groups = await queryRows(db.connection, `SELECT DISTINCT row_group_id AS g, row_group_num_rows::INT AS n FROM parquet_metadata('${joined}') ORDER BY 1`);
    expect(groups.map((g) => Number(g.n))).toEqual([122_880, 7_120]);
    const describe = async (p: string) => (await queryRows(db.connection, `DESCRIBE SELECT * FROM read_parquet('${p}')`)).map((c) => `${String(c.column_name)}:${String(c.column_type)}`);
    expect(await describe(joined)).toEqual(await describe(whole));
    const diff = await queryRows(db.connection, `SELECT ((SELECT count(*) FROM (${asText(joined)} EXCEPT ALL ${asText(whole)})) + (SELECT count(*) FROM (${asText(whole)} EXCEPT ALL ${asText(joined)})))::INT AS n, (SELECT count(*) FROM read_parquet('${joined}'))::INT AS rows`);
    expect(diff).toEqual([{ n: 0, rows: 130_000 }]);
    // The rows in the file's order, not only as a set; signed zeros kept.
    const order = await queryRows(db.connection, `SELECT count(*)::INT AS n FROM (SELECT "Symbol", "Date", "Open", file_row_number AS r FROM read_parquet('${joined}', file_row_number = true)) a JOIN (SELECT "Symbol", "Date", "Open", file_row_number AS r FROM read_parquet('${whole}', file_row_number = true)) b USING (r) WHERE a."Symbol" = b."Symbol" AND a."Date" = b."Date" AND CAST(a."Open" AS VARCHAR) = CAST(b."Open" AS VARCHAR)`);
    expect(order).toEqual([{ n: 130_000 }]);
    expect((await queryRows(db.connection, `SELECT count(*)::INT AS n FROM read_parquet('${joined}') WHERE CAST("Open" AS VARCHAR) = '-0.0'`))[0]!.n).toBeGreaterThan(0);
    const kvs = await queryRows(db.connection, `SELECT CAST(key AS VARCHAR) AS k, CAST(value AS VARCHAR) AS v FROM parquet_kv_metadata('${joined}') ORDER BY 1`);
    expect(kvs).toEqual([{ k: 'stockpipe_table', v: 'features' }, { k: 'stockpipe_window', v: '30' }]);
    // Statistics travel with the chunks: a filter on Symbol still finds its rows.
    expect(await queryRows(db.connection, `SELECT count(*)::INT AS n FROM read_parquet('${joined}') WHERE "Symbol" = 'D' AND vol_moving_avg IS NOT NULL`)).toEqual([{ n: 50_000 - 29 }]);
  });

  it('writes nothing and says false for files of other rows, or a file that is not Parquet', async () => {
    const left = join(dir, 'l2.parquet');
    const right = join(dir, 'r2.parquet');
    const target = join(dir, 'never.parquet');
    await writeBarsParquet(db.connection, { ...spec, lineage: 1, kvMetadata: {} }, feed(batches()), left);
    await writeExtraParquet(db.connection, { extraColumns, lineage: 1, kvMetadata: {} }, feed(batches().slice(0, 4)), right);
    expect(await spliceParquet(left, right, BARS_COLUMNS.length, target)).toBe(false);
    const text = join(dir, 'text.parquet');
    await writeFile(text, 'Date,Open\n');
    expect(await spliceParquet(left, text, BARS_COLUMNS.length, target)).toBe(false);
    expect(await stat(target).catch(() => null)).toBeNull();
  });

  it('reads and writes back a footer byte for byte (the compact protocol round trip keeps every field)', async () => {
    const p = join(dir, 'rt.parquet');
    await writeBarsParquet(db.connection, { ...spec, extraColumns, lineage: 3, kvMetadata: kv }, feed(batches()), p);
    expect(await footerRoundTrip(p)).toEqual({ same: true });
    expect((await readFile(p)).length).toBeGreaterThan(1000);
  });
});
