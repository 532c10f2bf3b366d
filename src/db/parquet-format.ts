/** @module db/parquet-format
 * The Parquet options of every file stockpipe writes into its store (prices, features, appends,
 * restatements, compactions) and of its own temporary files (docs/store.md, "File format"): zstd
 * at level 1 and Parquet 2 data pages, with which DuckDB encodes doubles as BYTE_STREAM_SPLIT and
 * integers as DELTA_BINARY_PACKED. Measured on the real-like benchmark data, a column encodes in
 * 35–70% less time than with Parquet 1 pages at zstd's default level, and the files are no larger.
 * DuckDB, pyarrow (so pandas) and polars read them. `stockpipe export` keeps Parquet 1 pages
 * (DuckDB's default; EXPORT_PARQUET): a file handed to any other tool.
 *
 * No numeric column is a dictionary (`DICTIONARY_SIZE_LIMIT 0`, in every writer): DuckDB's dictionary
 * keys a double by `==`, so -0.0 and 0.0 share one entry and every zero of a column chunk is written
 * with the sign of its first one (duckdb/duckdb#25781): an Adj Close of `-0.0` read back as `0.0`, or
 * the other way round, depending on which rows a file holds, so an incremental build (its appended,
 * restated and compacted files) differed from a full one. Without it a column chunk is no larger on
 * the real sample and encodes faster: a dictionary is tried on every chunk and given up on price-like
 * doubles (nearly every value distinct), which cost a full build's encoding nearly 30% of its time.
 * The streamed writer's string columns are ENUMs, written as dictionaries whatever the limit; the
 * strings of a COPY (appends, restatements, compactions) are DELTA_LENGTH_BYTE_ARRAY. */

/** The COPY options of a store file (without the braces). */
export const STORE_PARQUET = 'FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARQUET_VERSION V2, DICTIONARY_SIZE_LIMIT 0';
/** The COPY options of the streamed writer (db/parquet-stream: every full build of prices and features). */
export const STREAM_PARQUET = STORE_PARQUET;
/** The COPY options of a file `stockpipe export` (or `features --as-of --out`) hands to other tools: DuckDB's default Parquet 1 pages, zstd, and no dictionary (it would merge -0.0 and 0.0, as above). */
export const EXPORT_PARQUET = 'FORMAT parquet, COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 0';
