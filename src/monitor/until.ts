/** @module monitor/until
 * A logical date for monitor's drift windows: db/monitor-reads reads a whole table, so for
 * `monitor --date D` the columns drift uses are copied, dated up to D and only as far back as the
 * windows reach, into a Parquet file under <workspace>/tmp/ that the reader is pointed at (and that
 * is removed after). The same windows as a read of the table with its rows after D left out. */
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureWritableDir } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { queryRows, sqlString, tableSource, type DuckDBConnection } from '../db/duckdb.js';
import { STORE_PARQUET } from '../db/parquet-format.js';

/** The oldest of the newest `n` distinct dates up to `end` in `src`, or null. */
async function nthDateBack(conn: DuckDBConnection, src: string, end: string, n: number): Promise<string | null> {
  const [r] = await queryRows(conn, `SELECT min(d)::VARCHAR AS d FROM (SELECT DISTINCT "Date" AS d FROM ${src} WHERE "Date" <= ${sqlString(end)} ORDER BY 1 DESC LIMIT ${n})`);
  return r?.d === null || r?.d === undefined ? null : String(r.d);
}

/** A copy of `path`'s drift columns dated up to `until` (as far back as the windows reach); `remove` deletes it. */
export async function driftSourceUntil(
  conn: DuckDBConnection,
  ws: Workspace,
  path: string,
  until: string,
  recentDays: number,
  referenceDays: number,
  referenceEnd?: string,
): Promise<{ path: string; remove: () => Promise<void> }> {
  const src = tableSource(path);
  const names = new Set((await queryRows(conn, `DESCRIBE SELECT * FROM ${src}`)).map((r) => String(r.column_name)));
  let from = await nthDateBack(conn, src, until, recentDays + referenceDays + 1);
  if (referenceEnd !== undefined && referenceEnd < until) {
    const own = await nthDateBack(conn, src, referenceEnd, referenceDays + 1);
    if (own !== null && (from === null || own < from)) from = own;
  }
  const cols = ['Symbol', 'Date', 'Volume', 'Adj Close', ...(names.has('vol_moving_avg') ? ['vol_moving_avg'] : [])].map((c) => `"${c}"`).join(', ');
  await ensureWritableDir(ws.tmpDir);
  const out = join(ws.tmpDir, `monitor-until-${process.pid}-${randomUUID().slice(0, 8)}.parquet`);
  await conn.run(`COPY (SELECT ${cols} FROM ${src} WHERE "Date" <= ${sqlString(until)}${from === null ? '' : ` AND "Date" >= ${sqlString(from)}`}) TO ${sqlString(out)} (${STORE_PARQUET})`);
  return { path: out, remove: () => rm(out, { force: true }) };
}
