/** @module db/parquet-format
 * The Parquet options of every file stockpipe writes into its store (prices, features, appends,
 * restatements, compactions) and of its own temporary files (docs/store.md, "File format"): zstd
 * at level 1 and Parquet 2 data pages, with which DuckDB encodes doubles as BYTE_STREAM_SPLIT and
 * integers as DELTA_BINARY_PACKED. Measured on the real-like benchmark data, a column encodes in
 * 35–70% less time than with Parquet 1 pages at zstd's default level, and the files are no larger.
 * DuckDB, pyarrow (so pandas) and polars read them. `stockpipe export` keeps Parquet 1 pages
 * (DuckDB's default): a file handed to any other tool.
 *
 * The streamed writer (db/parquet-stream: every full build of prices and features) also turns off
 * DuckDB's dictionary for its numeric columns: a dictionary is tried on every column chunk and given
 * up on price-like doubles (nearly every value distinct), which cost a full build's encoding nearly
 * 30% of its time; its string columns are ENUMs, written as dictionaries whatever the limit. */

/** The COPY options of a store file (without the braces). */
export const STORE_PARQUET = 'FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PARQUET_VERSION V2';
/** The COPY options of the streamed writer: STORE_PARQUET with no dictionary for numeric columns. */
export const STREAM_PARQUET = `${STORE_PARQUET}, DICTIONARY_SIZE_LIMIT 1`;
