/** @module store/partition
 * How the store splits a table into files (docs/store.md): by symbol bucket, a stable hash of the
 * symbol modulo BUCKETS, as Iceberg's `bucket[N]` transform does. A symbol's rows always live in its
 * bucket's folder, so a change to a few symbols rewrites only the files of their buckets and a
 * scale-out worker can own a bucket. Within a file rows are sorted by Symbol, Date. Pure. */

/** Buckets per table: enough files to write and read in parallel, few enough that a small table stays a few files. */
export const BUCKETS = 16;

/** The row-lineage column: the snapshot that brought the row (Iceberg v3's `_last_updated_sequence_number`). */
export const LINEAGE_COLUMN = '_snapshot_id';

/** A live bucket holding more files than this is compacted into one file by the next write. */
export const MAX_FILES_PER_BUCKET = 8;

/** FNV-1a (32 bit) over the symbol's UTF-16 code units, modulo BUCKETS: stable across runs and machines. */
export function bucketOf(symbol: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) {
    h ^= symbol.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % BUCKETS;
}

/** The partition folder of a bucket (hive style, so DuckDB, pandas and polars read it as a column). */
export function partitionName(bucket: number): string {
  return `bucket=${String(bucket).padStart(2, '0')}`;
}

/** The bucket of a partition folder name, or null. */
export function bucketOfPartition(name: string): number | null {
  const m = /^bucket=(\d{2})$/.exec(name);
  return m ? Number(m[1]) : null;
}
