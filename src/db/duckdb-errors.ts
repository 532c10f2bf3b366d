/** @module db/duckdb-errors
 * Which DuckDB failures are the user's: "Out of Memory Error" / "could not allocate" (the memory
 * limit is too small for the data) and IO errors carrying the OS's text (no space left, read-only,
 * permission denied, too many open files: core/os-errors). Callers that recode DuckDB errors
 * (e.g. "not a readable Parquet file") let these through so the user sees the real cause. */
import { existsSync } from 'node:fs';
import { resourceError, resourceKind, type ResourceContext, type ResourceKind } from '../core/os-errors.js';
import { StockpipeError } from '../core/errors.js';

const OUT_OF_MEMORY = /Out of Memory Error|could not allocate (block|memory)|failed to allocate/i;

/** The kind of a machine failure inside DuckDB (or any error), or undefined. */
export function duckdbResourceKind(err: unknown): ResourceKind | undefined {
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  if (OUT_OF_MEMORY.test(message)) return 'out_of_memory';
  return resourceKind(err);
}

/** True when `err` is a user-fixable machine failure (must not be recoded as bad input). */
export function isResourceFailure(err: unknown): boolean {
  return duckdbResourceKind(err) !== undefined;
}

/** The coded error for a DuckDB (or OS) machine failure, or undefined. */
export function duckdbResourceError(err: unknown, ctx: ResourceContext = {}): StockpipeError | undefined {
  return resourceError(err, ctx, duckdbResourceKind(err));
}

/** DuckDB's words for a file it could not open because it is not there, with the store data file named. */
const VANISHED_STORE_FILE = /(?:Cannot open file|No files found that match the pattern) "([^"]*[\\/]store[\\/](prices|features)[\\/]bucket=[^"\\/]+[\\/][^"\\/]+\.parquet)"(?:: No such file or directory)?/;

/**
 * A DuckDB read that failed on a data file of the store that is gone from disk: the snapshot being
 * read was checked readable when the command resolved it (store/read's tableAt), so the file was
 * deleted while the command read it — by a `stockpipe vacuum` run at the same time (or by hand).
 * docs/store.md: reading a snapshot vacuum dropped is SP_ERR_SNAPSHOT_NOT_FOUND. Undefined for any
 * other error, and when the file is back on disk (then it is not this).
 */
export function vanishedStoreFileError(err: unknown): StockpipeError | undefined {
  if (err instanceof StockpipeError) return undefined;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const m = VANISHED_STORE_FILE.exec(message);
  if (m === null || existsSync(m[1]!)) return undefined;
  return new StockpipeError('SP_ERR_SNAPSHOT_NOT_FOUND', `data file ${m[1]} of the ${m[2]} table was deleted while this command read it: a \`stockpipe vacuum\` run at the same time dropped the snapshot being read (or the file was removed outside stockpipe)`, {
    hint: 'Run the command again, on a snapshot `stockpipe snapshots` lists as readable; run vacuum when no other stockpipe command reads the store, or keep more snapshots (--keep-snapshots N, --older-than DAYS).',
    cause: err,
  });
}

/** DuckDB's words for a store data file that is there but is no Parquet file (truncated, overwritten), with the file named. */
const DAMAGED_STORE_FILE = /^(?:Invalid Input Error: )?(?:No magic bytes found at end of file|File) '([^']*[\\/]store[\\/](prices|features)[\\/]bucket=[^'\\/]+[\\/][^'\\/]+\.parquet)'(?: too small to be a Parquet file)?/;

/**
 * A DuckDB read that failed on a data file of the store that is on disk but is no Parquet file any
 * more (truncated, emptied or overwritten outside stockpipe): the table's "missing" code (its files
 * unreadable), naming the file, with DuckDB's first line and how to get a readable table back.
 * Undefined for any other error.
 */
export function damagedStoreFileError(err: unknown): StockpipeError | undefined {
  if (err instanceof StockpipeError) return undefined;
  const message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const m = DAMAGED_STORE_FILE.exec(message);
  if (m === null) return undefined;
  const table = m[2]!;
  const rebuild = table === 'prices' ? 'stockpipe ingest --force' : 'stockpipe features --force';
  return new StockpipeError(table === 'prices' ? 'SP_ERR_PRICES_MISSING' : 'SP_ERR_FEATURES_MISSING', `data file ${m[1]} of the ${table} table is not a readable Parquet file (${message.split('\n')[0]}): it was changed outside stockpipe (truncated, emptied or overwritten)`, {
    hint: `Put the file back from a backup, or write a new snapshot from the sources: \`${rebuild}\`${table === 'features' ? '' : ' (then `stockpipe features`)'}.`,
    cause: err,
  });
}

/** A DuckDB read that failed on a store data file gone from disk (vanishedStoreFileError) or damaged (damagedStoreFileError), or undefined. */
export function storeFileError(err: unknown): StockpipeError | undefined {
  return vanishedStoreFileError(err) ?? damagedStoreFileError(err);
}
