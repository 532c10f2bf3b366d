import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tradingDays } from '../core/calendar.js';
import { openDuckDB, sqlString, type DuckDB } from './duckdb.js';
import { readDriftWindows } from './monitor-reads.js';

let dir: string;
let db: DuckDB;
let path: string;
const days = tradingDays('2024-01-02', 60);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-drift-'));
  db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '256MB', threads: 1 });
  path = join(dir, 'prices.parquet');
  // Two symbols; Volume = 1000 + the day's index, so each window's values identify its days.
  const rows = days.flatMap((d, i) => ['A', 'B'].map((s) => `('${s}', DATE '${d}', ${10 + i}, ${1000 + i})`)).join(',');
  await db.connection.run(`COPY (SELECT * FROM (VALUES ${rows}) t("Symbol", "Date", "Adj Close", "Volume")) TO ${sqlString(path)} (FORMAT parquet)`);
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('readDriftWindows', () => {
  it('by default compares the recent days with the days just before them', async () => {
    const w = (await readDriftWindows(db.connection, path, 10, 20))!;
    expect(w.recent).toEqual({ from: days[50], to: days[59], days: 10 });
    expect(w.reference).toEqual({ from: days[30], to: days[49], days: 20, kind: 'before_recent' });
    expect(w.columns.log_volume!.recent.length).toBe(20);
    expect(w.columns.log_volume!.reference.length).toBe(40);
    expect(Math.exp(Math.min(...w.columns.log_volume!.reference)) - 1).toBeCloseTo(1030, 6);
  });

  it('with a reference end (the training period) takes the days up to it, and the gap is in neither window', async () => {
    const w = (await readDriftWindows(db.connection, path, 10, 15, days[24]))!;
    expect(w.reference).toEqual({ from: days[10], to: days[24], days: 15, kind: 'until_end' });
    const ref = [...w.columns.log_volume!.reference].map((x) => Math.round(Math.exp(x) - 1));
    expect(Math.min(...ref)).toBe(1010);
    expect(Math.max(...ref)).toBe(1024);
    expect(w.columns.log_volume!.recent.length).toBe(20);
    // the first reference day's return uses the day before it
    expect(w.columns.return_1d!.reference.every((x) => Number.isFinite(x))).toBe(true);
  });

  it('a reference end inside the recent window falls back to the window before', async () => {
    const w = (await readDriftWindows(db.connection, path, 10, 20, days[55]))!;
    expect(w.reference).toMatchObject({ to: days[49], kind: 'before_recent' });
  });
});
