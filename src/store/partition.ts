/** @module store/partition
 * How the store splits a table into files (docs/store.md): by symbol bucket, a stable hash of the
 * symbol modulo BUCKETS, as Iceberg's `bucket[N]` transform does. A symbol's rows always live in its
 * bucket's folder, so a change to a few symbols rewrites only the files of their buckets and a
 * scale-out worker can own a bucket. Within a file rows are sorted by Symbol, Date. Pure. */

/** Buckets per table: enough files to write and read in parallel, few enough that a small table stays a few files. */
export const BUCKETS = 16;

/** The row-lineage column: the snapshot that brought the row (Iceberg v3's `_last_updated_sequence_number`). */
export const LINEAGE_COLUMN = '_snapshot_id';

/** A full write starts a new file in a bucket at the next symbol once a file holds this many rows:
 * a restated symbol then rewrites one such file, not its whole bucket (Iceberg's target file size). */
export const TARGET_FILE_ROWS = 262_144;

/** Files below this many rows are "small": compaction merges them (bin-packing, as Delta's OPTIMIZE), never the full ones. */
export const SMALL_FILE_ROWS = TARGET_FILE_ROWS / 2;

/** A bucket holding more small files than this is compacted by the next write. */
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
