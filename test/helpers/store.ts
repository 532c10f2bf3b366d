/** @module test/helpers/store
 * The store in tests: the DuckDB source of a workspace's current table (its view, tables/<t>/), and
 * snapshots committed by hand through store/write (a whole table from a query, or a restatement of
 * some symbols), so readers can be tested without the writers. */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Workspace } from '../../src/core/workspace.js';
import { openDuckDB, queryRows, sqlString } from '../../src/db/duckdb.js';
import type { SnapshotRecord, StoreTable } from '../../src/registry/catalog.js';
import { openRegistry } from '../../src/registry/store.js';
import { bucketOf } from '../../src/store/partition.js';
import { applyChanges, TableWrite } from '../../src/store/write.js';

/** The glob of the table's current view files (for parquet_metadata and friends). */
export function viewGlob(workspace: string, table: StoreTable): string {
  return join(workspace, 'tables', table, '*', '*.parquet');
}

/** `read_parquet(...)` over the table's current view (every file of its current snapshot). */
export function viewSource(workspace: string, table: StoreTable): string {
  return `read_parquet(${sqlString(join(workspace, 'tables', table, '*', '*.parquet'))}, hive_partitioning = false)`;
}

/** The explicit columns of a table (what tests compare instead of `SELECT *`: `_snapshot_id` differs between workspaces). */
export const PRICE_COLUMNS = ['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;
export const FEATURE_COLUMNS = [...PRICE_COLUMNS, 'vol_moving_avg', 'adj_close_rolling_med'] as const;
export const columnList = (cols: readonly string[]): string => cols.map((c) => `"${c}"`).join(', ');

/**
 * Commits a snapshot of `table` from `query` (a SELECT of the table's columns, without the lineage
 * column). Without `restate`: an overwrite (one file per bucket). With `restate` (symbol → first
 * changed date): the query's rows of those symbols from that date on replace the stored ones.
 */
export async function commitQuery(
  workspace: string,
  table: StoreTable,
  query: string,
  opts: { restate?: ReadonlyMap<string, string>; source?: Record<string, unknown>; split?: number } = {},
): Promise<SnapshotRecord> {
  const ws = new Workspace(workspace);
  const reg = openRegistry(ws);
  const db = await openDuckDB(ws.duckdbSettings());
  const conn = db.connection;
  const w = TableWrite.begin(ws, reg, table);
  try {
    const q = `SELECT q.*, ${w.id}::INTEGER AS _snapshot_id FROM (${query}) q`;
    if (opts.restate) {
      const delta = join(ws.root, `delta-${w.id}.parquet`);
      const cond = [...opts.restate].map(([s, d]) => `("Symbol" = ${sqlString(s)} AND "Date" >= ${sqlString(d)})`).join(' OR ');
      await conn.run(`COPY (SELECT * FROM (${q}) WHERE ${cond} ORDER BY "Symbol", "Date") TO ${sqlString(delta)} (FORMAT parquet)`);
      await applyChanges(conn, w, delta, new Map([...opts.restate].map(([s, d]) => [s, { from: d, append: false }])));
      await rm(delta, { force: true });
      return await w.commit(reg, { operation: 'restate', source: opts.source, changes: [...opts.restate].map(([symbol, from_date]) => ({ symbol, from_date })) });
    }
    w.removeAll();
    const symbols = (await queryRows(conn, `SELECT DISTINCT "Symbol" AS s FROM (${query})`)).map((r) => String(r.s));
    const buckets = new Map<number, string[]>();
    for (const s of symbols) buckets.set(bucketOf(s), [...(buckets.get(bucketOf(s)) ?? []), s]);
    for (const [b, syms] of [...buckets].sort((x, y) => x[0] - y[0])) {
      // `split` files per bucket (several files per bucket exercise cross-file order and compaction).
      const parts = opts.split ?? 1;
      for (let k = 0; k < parts; k++) {
        const mine = syms.filter((_, i) => i % parts === k);
        if (mine.length === 0) continue;
        const f = await w.newFile(b);
        await conn.run(`COPY (SELECT * FROM (${q}) WHERE "Symbol" IN (${mine.map(sqlString).join(', ')}) ORDER BY "Symbol", "Date") TO ${sqlString(f.abs)} (FORMAT parquet, COMPRESSION zstd)`);
        await w.addWritten(conn, f);
      }
    }
    if (w.added.length === 0) {
      // An empty table: one empty file keeps its schema readable (addWritten drops empty files).
      const f = await w.newFile(0);
      await conn.run(`COPY (SELECT * FROM (${q}) LIMIT 0) TO ${sqlString(f.abs)} (FORMAT parquet)`);
      w.added.push({ path: f.rel, partition: f.partition, rows: 0, bytes: 1, symbol_min: null, symbol_max: null, date_min: null, date_max: null });
    }
    return await w.commit(reg, { operation: 'overwrite', source: opts.source });
  } catch (err) {
    await w.discard();
    throw err;
  } finally {
    db.close();
    reg.close();
  }
}

/** A query of `symbols` × `days` synthetic feature rows (deterministic; `bump` shifts Adj Close and the features). */
export function featureRowsQuery(symbols: readonly string[], days: number, bump = 0): string {
  const syms = symbols.map((s, i) => `(${sqlString(s)}, ${i})`).join(', ');
  return `SELECT s.sym AS "Symbol", 'Name ' || s.sym AS "Security Name", strftime(DATE '2018-01-01' + INTERVAL (d.i) DAY, '%Y-%m-%d') AS "Date",
      10.0 + s.k + (d.i % 7) AS "Open", 11.0 + s.k + (d.i % 7) AS "High", 9.0 + s.k + (d.i % 7) AS "Low", 10.5 + s.k + (d.i % 7) AS "Close",
      10.0 + s.k + (d.i % 11) * 0.1 + ${bump}::DOUBLE AS "Adj Close", (1000 + ((d.i * 7919 + s.k * 104729) % 5000))::BIGINT AS "Volume",
      CASE WHEN s.k % 2 = 0 THEN 'stock' ELSE 'etf' END AS "Asset",
      CASE WHEN d.i < 29 THEN NULL ELSE 1000.0 + ((d.i * 31 + s.k * 17) % 3000) + ${bump}::DOUBLE END AS vol_moving_avg,
      CASE WHEN d.i < 29 THEN NULL ELSE 10.0 + s.k + (d.i % 13) * 0.05 + ${bump}::DOUBLE END AS adj_close_rolling_med
    FROM (VALUES ${syms}) s(sym, k), range(${days}) d(i)`;
}

/** The prices columns of featureRowsQuery. */
export function priceRowsQuery(symbols: readonly string[], days: number, bump = 0): string {
  return `SELECT ${columnList(PRICE_COLUMNS)} FROM (${featureRowsQuery(symbols, days, bump)})`;
}

/** A digest of a workspace's current table content (every column but the lineage one; as a multiset of rows, as the rows are
 * unique by Symbol and Date): equal tables, equal digests. The row count and the sums of two 64-bit hashes of each row
 * (DuckDB's hash(row) and hash(row, 1)), computed in DuckDB: turning half a million rows into JSON or text in the test process took seconds. */
export async function tableDigest(workspace: string, table: StoreTable): Promise<string> {
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const r = await conn.runAndReadAll(
      `SELECT count(*)::VARCHAR || ':' || coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR || ':' || coalesce(sum(hash(t, 1)::HUGEINT), 0)::VARCHAR AS d
       FROM (SELECT * EXCLUDE (_snapshot_id) FROM ${viewSource(workspace, table)}) t`,
    );
    return String(r.getRowsJson()[0]![0]);
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}
