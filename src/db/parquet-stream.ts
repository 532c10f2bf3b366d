/** @module db/parquet-stream
 * Streams typed-array columns from JS into DuckDB through a table function and writes them with
 * COPY … TO parquet (the store's format with no numeric dictionaries, db/parquet-format), in order, without materialising the
 * table: DuckDB pulls one chunk (≤ 2048 rows) per call and JS memcpy's each column into the chunk's
 * vectors. */
import type DuckDBBindings from '@duckdb/node-bindings';
import type { DuckDBLogicalType, DuckDBType } from '@duckdb/node-api';
import type { DuckDBConnection } from './duckdb.js';
import { duckdbApi, duckdbBindings, sqlString } from './duckdb.js';
import { STREAM_PARQUET } from './parquet-format.js';

export const CHUNK_ROWS = 2048;

/** A column's type as the table function declares it: its DuckDB logical type (every DuckDBType is one). */
export interface ColumnType {
  toLogicalType(): DuckDBLogicalType;
}

export interface StreamColumn {
  name: string;
  type: ColumnType;
}

type Typed = Float64Array | Int32Array | Uint32Array | Uint16Array | Uint8Array | BigInt64Array;

/** Handed to the producer once per chunk: it copies up to CHUNK_ROWS rows into each column. */
export interface ChunkWriter {
  /**
   * Copies `count` elements of `src` from `offset` into column `col` from element `at` of the
   * vector on (element width = src's; `at` 0 when left out).
   */
  set(col: number, src: Typed, offset: number, count: number, at?: number): void;
  /** Sets the validity of column `col` for `count` rows from a mask (bit i of word i>>5 = row valid). */
  setValidity(col: number, mask: Uint32Array, count: number): void;
}

/**
 * A producer returns how many rows it wrote into the chunk (0 ends the stream). It runs
 * synchronously on the JS thread while DuckDB waits; it may block (Atomics.wait) for input.
 * It may throw: the COPY then fails and the error is rethrown.
 */
export type ChunkProducer = (w: ChunkWriter) => number;

export interface CopyOptions {
  /** Wraps the scan in a SELECT (e.g. casts); `from` is the table-function call. */
  select?: (from: string) => string;
  /** Parquet key-value metadata. */
  kvMetadata?: Record<string, string>;
}

let counter = 0;

/** Writes the produced rows to `target` (a temp path; the caller renames). */
export async function copyStreamToParquet(
  conn: DuckDBConnection,
  columns: readonly StreamColumn[],
  produce: ChunkProducer,
  target: string,
  opts: CopyOptions = {},
): Promise<void> {
  const name = `sp_stream_${process.pid}_${++counter}`;
  let failure: unknown;
  const duckdb = duckdbBindings();
  const tf = duckdbApi().DuckDBTableFunction.create({
    name,
    bindFunction: (bind) => {
      // addResultColumn reads nothing of the type but its logical type (node-api's bind info): a prebuilt
      // ENUM logical type (db/bars-writer) goes in without a DuckDBEnumType, whose member index is not needed here.
      for (const c of columns) bind.addResultColumn(c.name, c.type as DuckDBType);
    },
    initFunction: () => {},
    mainFunction: (info, out) => {
      if (failure !== undefined) {
        out.rowCount = 0;
        return;
      }
      const chunk = (out as unknown as { chunk: DuckDBBindings.DataChunk }).chunk;
      const writer: ChunkWriter = {
        set(col, src, offset, count, at = 0) {
          const v = duckdb.data_chunk_get_vector(chunk, col);
          duckdb.copy_data_to_vector(v, at * src.BYTES_PER_ELEMENT, src.buffer as ArrayBuffer, src.byteOffset + offset * src.BYTES_PER_ELEMENT, count * src.BYTES_PER_ELEMENT);
        },
        setValidity(col, mask, count) {
          const v = duckdb.data_chunk_get_vector(chunk, col);
          duckdb.vector_ensure_validity_writable(v);
          const bytes = Math.ceil(count / 64) * 8;
          duckdb.copy_data_to_vector_validity(v, 0, mask.buffer as ArrayBuffer, mask.byteOffset, bytes);
        },
      };
      try {
        out.rowCount = CHUNK_ROWS;
        const n = produce(writer);
        out.rowCount = n;
      } catch (err) {
        failure = err;
        out.rowCount = 0;
        info.setError(err instanceof Error ? err.message : String(err));
      }
    },
  });
  conn.registerTableFunction(tf);
  const from = `${name}()`;
  const select = opts.select ? opts.select(from) : `SELECT * FROM ${from}`;
  const options = [STREAM_PARQUET];
  if (opts.kvMetadata && Object.keys(opts.kvMetadata).length > 0) {
    const kv = Object.entries(opts.kvMetadata).map(([k, v]) => `${k}: ${sqlString(v)}`).join(', ');
    options.push(`KV_METADATA {${kv}}`);
  }
  try {
    await conn.run(`COPY (${select}) TO ${sqlString(target)} (${options.join(', ')})`);
  } catch (err) {
    throw failure ?? err;
  }
  if (failure !== undefined) throw failure;
}
