/** @module features/tails
 * The context an incremental features build reads for a changed symbol: its prices rows just
 * before the first changed date. The table's files are sorted by Symbol, Date, so the last rows of
 * every symbol are spread over every page, and reading them from the table costs most of a full
 * scan (0.66 s of a 30M-row table's new trading day). So every features build (full or
 * incremental) keeps, in `tmp/features-tails.parquet`, each symbol's last `ctx` prices rows (all of
 * them when it has fewer) as of the prices snapshot it built from: the state a stream processor
 * keeps between batches. (Their `_snapshot_id` is not the rows' lineage: a full build writes the
 * snapshot's id.) The next incremental build reads a symbol's context from it when the file was
 * written for the prices snapshot the features were built from (its id and creation time: a new
 * registry numbers its snapshots from 1 again while tmp/ stays), with the same `ctx` and columns,
 * and the symbol's changes since all come after its last row there without a removal between; its
 * changed rows then lie in the files added since that snapshot (files are immutable). Every other
 * changed symbol is read from the table as before. The file is only ever an accelerator: a missing,
 * stale or unreadable one falls back to the table, and the result is the same bit for bit
 * (test/store-incremental.test.ts). Not in the catalog, not under store/: `vacuum` never sees it;
 * a build of partitions or `--as-of` leaves it as it was (then stale: not used). */
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { readRegularFileSync, sweepDead } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { type DuckDBConnection, queryRows, sqlPath, sqlString } from '../db/duckdb.js';
import { STORE_PARQUET } from '../db/parquet-format.js';

/** The temporary table the loaded tails are in (the prices columns). */
export const TAILS_TABLE = 'sp_tails';
const KEY = 'stockpipe_features_tails';
const FORMAT = 2;

interface TailsKey {
  format: number;
  prices_snapshot: number;
  /** The snapshot's created_at: ids start again at 1 in a new registry (one moved aside, docs/errors.md), a time does not. */
  prices_created_at: string;
  ctx: number;
  columns: string[];
}

/** The prices snapshot a tails file is for: its id and creation time. */
export interface TailsSnapshot {
  id: number;
  created_at: string;
}

function parseKey(text: string): TailsKey | null {
  try {
    const k = JSON.parse(text) as Partial<TailsKey>;
    if (k.format !== FORMAT || typeof k.prices_snapshot !== 'number' || typeof k.prices_created_at !== 'string' || typeof k.ctx !== 'number' || !Array.isArray(k.columns)) return null;
    return k as TailsKey;
  } catch {
    return null; // not ours, or written by another version: the table is read instead
  }
}

/**
 * Loads the tails file into TAILS_TABLE when it was written for `prices` (id and creation time) with
 * this `ctx` and these prices `columns`; false (and nothing loaded) otherwise, with the reason logged.
 * The file is opened once, without blocking (a FIFO or a folder there is not read), and copied: its
 * key and its rows are read from that one version, even when another build renames a new one over it.
 */
export async function loadTails(conn: DuckDBConnection, ws: Workspace, prices: TailsSnapshot, ctx: number, columns: readonly string[], log: Logger): Promise<boolean> {
  const path = ws.featuresTails;
  const copy = `${path}.${process.pid}.read`;
  try {
    await writeFile(copy, readRegularFileSync(path));
    const [meta] = await queryRows(conn, `SELECT decode(value) AS v FROM parquet_kv_metadata(${sqlString(copy)}) WHERE decode(key) = '${KEY}'`);
    const key = typeof meta?.v === 'string' ? parseKey(meta.v) : null;
    if (key === null || key.prices_snapshot !== prices.id || key.prices_created_at !== prices.created_at || key.ctx !== ctx || key.columns.join('\u0000') !== columns.join('\u0000')) {
      log.debug({ path, key, prices_snapshot: prices.id, ctx }, 'features tails: not for this build; reading the table');
      return false;
    }
    await conn.run(`CREATE OR REPLACE TEMP TABLE ${TAILS_TABLE} AS SELECT * FROM read_parquet(${sqlPath(copy)})`);
    return true;
  } catch (err) {
    // Missing (the first incremental build), not a regular file, or unreadable: the table has every row it holds.
    log.debug({ path, err: (err as Error).message }, 'features tails: none usable; reading the table');
    return false;
  } finally {
    await rm(copy, { force: true });
  }
}

/** The Parquet key-value metadata that makes a file the tails as of the prices snapshot `prices` (what loadTails checks). */
export function tailsMetadata(prices: TailsSnapshot, ctx: number, columns: readonly string[]): Record<string, string> {
  const key: TailsKey = { format: FORMAT, prices_snapshot: prices.id, prices_created_at: prices.created_at, ctx, columns: [...columns] };
  return { [KEY]: JSON.stringify(key) };
}

/** Deletes the temporary copies (`<tails>.<pid>.tmp|read`) of builds that died before removing theirs (sweepDead, whatever their age). */
async function removeOrphans(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  const pidOf = (name: string): number | null => {
    const m = name.startsWith(prefix) ? /^(\d+)\.(tmp|read)$/.exec(name.slice(prefix.length)) : null;
    return m === null ? null : Number(m[1]);
  };
  await sweepDead(dirname(path), pidOf);
}

/**
 * Replaces the tails file with what `write` writes to the temporary path it is given (with
 * tailsMetadata). A failure is logged, never thrown: the next build reads the table.
 */
export async function publishTails(ws: Workspace, write: (tmp: string) => Promise<unknown>, log: Logger): Promise<void> {
  const path = ws.featuresTails;
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await removeOrphans(path);
    await write(tmp);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }); // an older tails file stays: written for an older snapshot, it is not used
    log.warn({ path, err: (err as Error).message }, 'features tails: not written; the next incremental build reads the table');
  }
}

/**
 * Writes the tails as of the prices snapshot `prices`: the loaded ones of symbols that did not change (when
 * `kept` is true), and the last `ctx` rows of each changed symbol from `slice` (its rows from `ctx`
 * before its first change to its end; a `from_date` column, dropped). `changedTable` holds every
 * changed symbol (removed ones too) in a "Symbol" column.
 */
export async function saveTails(conn: DuckDBConnection, ws: Workspace, o: { prices: TailsSnapshot; ctx: number; columns: readonly string[]; slice: string; changedTable: string; kept: boolean }, log: Logger): Promise<void> {
  const cols = o.columns.map((c) => `"${c.replaceAll('"', '""')}"`).join(', ');
  const fresh = `SELECT ${cols} FROM ${o.slice} QUALIFY row_number() OVER (PARTITION BY "Symbol" ORDER BY "Date" DESC) <= ${o.ctx}`;
  const kept = o.kept ? `SELECT ${cols} FROM ${TAILS_TABLE} WHERE "Symbol" NOT IN (SELECT "Symbol" FROM ${o.changedTable}) UNION ALL ` : '';
  const kv = Object.entries(tailsMetadata(o.prices, o.ctx, o.columns)).map(([k, v]) => `${k}: ${sqlString(v)}`).join(', ');
  await publishTails(ws, (tmp) => conn.run(`COPY (${kept}${fresh}) TO ${sqlString(tmp)} (${STORE_PARQUET}, KV_METADATA {${kv}})`).then(() => undefined), log);
}
