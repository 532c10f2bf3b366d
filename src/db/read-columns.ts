/** @module db/read-columns
 * Streams a query's result chunk by chunk as typed arrays (numeric columns only: DOUBLE, DATE,
 * INTEGER, UTINYINT, …), without creating a JS value per cell. */
import type { DuckDBConnection } from './duckdb.js';

export type NumericColumn = Float64Array | Int32Array | Uint8Array | Uint16Array | Uint32Array | BigInt64Array;

/** Calls `onChunk(columns, rows)` for every chunk of `sql`, in result order. */
export async function readNumericColumns(conn: DuckDBConnection, sql: string, onChunk: (cols: NumericColumn[], rows: number) => void): Promise<number> {
  const result = await conn.stream(sql);
  let total = 0;
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    const cols: NumericColumn[] = [];
    for (let c = 0; c < chunk.columnCount; c++) {
      const items = (chunk.getColumnVector(c) as unknown as { items?: NumericColumn }).items;
      if (!items) throw new Error(`column ${c} of the query is not numeric`);
      cols.push(items);
    }
    onChunk(cols, chunk.rowCount);
    total += chunk.rowCount;
  }
  return total;
}
