/** @module db/duckdb-errors
 * Which DuckDB failures are the user's: "Out of Memory Error" / "could not allocate" (the memory
 * limit is too small for the data) and IO errors carrying the OS's text (no space left, read-only,
 * permission denied, too many open files: core/os-errors). Callers that recode DuckDB errors
 * (e.g. "not a readable Parquet file") let these through so the user sees the real cause. */
import { resourceError, resourceKind, type ResourceContext, type ResourceKind } from '../core/os-errors.js';
import type { StockpipeError } from '../core/errors.js';

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
