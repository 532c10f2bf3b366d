/** @module test/helpers/bars
 * Small crafted bars tables for validate tests: clean seeded bars on NYSE trading days, written
 * through DuckDB (optionally reshaped by a SELECT) to a Parquet file, or committed as a new
 * snapshot of a workspace's prices table (writePrices). */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { tradingDays } from '../../src/core/calendar.js';
import { createRng } from '../../src/core/rng.js';
import { commitQuery } from './store.js';

export interface Bar {
  Symbol: string;
  'Security Name': string | null;
  Date: string;
  Open: number | null;
  High: number | null;
  Low: number | null;
  Close: number | null;
  'Adj Close': number | null;
  Volume: number | null;
  Asset: string;
}

/**
 * Clean bars: `symbols` symbols (S0, S1, …) on the first `days` trading days from 2015-01-02.
 * `seed` draws each symbol's parameters (start price, base volume), `noiseSeed` the daily noise.
 */
export function cleanBars(opts: { symbols: number; days: number; seed?: number; noiseSeed?: number; start?: string }): Bar[] {
  const params = createRng(opts.seed ?? 1);
  const rng = createRng(opts.noiseSeed ?? opts.seed ?? 1);
  const dates = tradingDays(opts.start ?? '2015-01-02', opts.days);
  const out: Bar[] = [];
  for (let s = 0; s < opts.symbols; s++) {
    let price = 20 + 80 * params.next();
    const base = 1e5 * (1 + 9 * params.next());
    for (const date of dates) {
      price *= Math.exp(0.02 * rng.normal());
      const open = price * (1 + 0.005 * rng.normal());
      const close = price;
      const high = Math.max(open, close) * (1 + 0.01 * rng.next());
      const low = Math.min(open, close) * (1 - 0.01 * rng.next());
      out.push({ Symbol: `S${s}`, 'Security Name': `Company ${s}`, Date: date, Open: open, High: high, Low: low, Close: close, 'Adj Close': close * 0.9, Volume: Math.round(base * Math.exp(0.3 * rng.normal())), Asset: s % 5 === 4 ? 'etf' : 'stock' });
    }
  }
  return out.sort((a, b) => (a.Symbol < b.Symbol ? -1 : a.Symbol > b.Symbol ? 1 : a.Date < b.Date ? -1 : 1));
}

const COLUMNS = `"Symbol" VARCHAR, "Security Name" VARCHAR, "Date" VARCHAR, "Open" DOUBLE, "High" DOUBLE, "Low" DOUBLE, "Close" DOUBLE, "Adj Close" DOUBLE, "Volume" BIGINT, "Asset" VARCHAR`;

/**
 * Writes bars as a prices-shaped Parquet file. `select` reshapes the table `t` (default
 * `SELECT * FROM t`), e.g. to drop or retype a column.
 */
export async function writeBars(path: string, bars: readonly Bar[], select = 'SELECT * FROM t'): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    // Appended row by row (an INSERT of SQL literals took seconds to parse for 40,000 rows). Volume is
    // staged as DOUBLE and cast by DuckDB, as an INSERT of a DOUBLE literal into the BIGINT column was.
    await conn.run(`CREATE TABLE s (${COLUMNS.replace('"Volume" BIGINT', '"Volume" DOUBLE')})`);
    const app = await conn.createAppender('s');
    const str = (v: string | null): void => (v === null ? app.appendNull() : app.appendVarchar(v));
    const num = (v: number | null): void => (v === null ? app.appendNull() : app.appendDouble(v));
    for (const b of bars) {
      str(b.Symbol);
      str(b['Security Name']);
      str(b.Date);
      num(b.Open);
      num(b.High);
      num(b.Low);
      num(b.Close);
      num(b['Adj Close']);
      num(b.Volume);
      str(b.Asset);
      app.endRow();
    }
    app.closeSync();
    await conn.run(`CREATE TABLE t (${COLUMNS})`);
    await conn.run('INSERT INTO t SELECT * FROM s');
    await conn.run(`COPY (${select}) TO '${path.replace(/'/g, "''")}' (FORMAT parquet)`);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
  return path;
}

/** Commits `bars` (reshaped by `select`) as a new overwrite snapshot of the workspace's prices table. */
export async function writePrices(workspace: string, bars: readonly Bar[], select = 'SELECT * FROM t'): Promise<void> {
  const staging = join(workspace, `.bars-staging-${process.pid}.parquet`);
  await writeBars(staging, bars, select);
  try {
    await commitQuery(workspace, 'prices', `SELECT * FROM read_parquet('${staging.replace(/'/g, "''")}')`);
  } finally {
    await rm(staging, { force: true });
  }
}
