/** @module ml/dataset
 * Loads the volume model's rows from the features table (a snapshot's files, as store/read names
 * them; ordered by Symbol, Date) into typed arrays: day, the two features, Volume, asset; rows where
 * either feature is null are excluded (docs/models.md). The data hash is the hash of those arrays:
 * two loads hash alike exactly when they hold the same rows, values and order. */
import { createHash } from 'node:crypto';
import { StockpipeError } from '../core/errors.js';
import { queryRows, tableSource, type DuckDBConnection } from '../db/duckdb.js';
import { isResourceFailure } from '../db/duckdb-errors.js';
import { readNumericColumns } from '../db/read-columns.js';

/** The store snapshots a model's data came from (registry/catalog ids). */
export interface DataLineage {
  features_snapshot: number;
  /** The prices snapshot the features snapshot was built from (its `source.prices_snapshot`), when recorded. */
  prices_snapshot: number | null;
}

export interface VolumeDataset {
  /** What was read, for people (the table's view folder and snapshot, e.g. features @ snapshot 7). */
  path: string;
  /** sha256 of the loaded arrays (rows, values, order): the data version. */
  dataHash: string;
  /** The snapshots read (absent for a plain file). */
  lineage?: DataLineage;
  rows: number;
  day: Int32Array;
  vma: Float64Array;
  acm: Float64Array;
  volume: Float64Array;
  /** 1 = stock, 0 = etf. */
  isStock: Uint8Array;
}

const REQUIRED = ['Date', 'Volume', 'Asset', 'vol_moving_avg', 'adj_close_rolling_med'];

/** sha256 over typed arrays' bytes, each prefixed by its length (the content hash of a loaded dataset). */
export function hashArrays(arrays: readonly (ArrayBufferView | readonly ArrayBufferView[])[]): string {
  const h = arrayHasher();
  for (const a of arrays) h.add(a);
  return h.digest();
}

/** hashArrays one array at a time: the same digest for the same arrays added in the same order. */
export function arrayHasher(): { add(a: ArrayBufferView | readonly ArrayBufferView[]): void; digest(): string } {
  const h = createHash('sha256');
  return {
    add(a) {
      // An array given in parts (row blocks) hashes as the one array they make.
      const parts = Array.isArray(a) ? (a as readonly ArrayBufferView[]) : [a as ArrayBufferView];
      h.update(`${parts.reduce((s, p) => s + p.byteLength, 0)}:`);
      for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
    },
    digest: () => h.digest('hex'),
  };
}

/**
 * The volume rows of `input` (a Parquet file or a table expression, db/duckdb tableSource), ordered
 * by Symbol, Date (a table's files are sorted within, not across each other). `label` names it in
 * messages and the model card.
 */
export async function loadVolumeDataset(conn: DuckDBConnection, input: string, label = input): Promise<VolumeDataset> {
  const path = label;
  const src = tableSource(input);
  let cols: Record<string, unknown>[];
  try {
    cols = await queryRows(conn, `DESCRIBE SELECT * FROM ${src}`);
  } catch (err) {
    if (isResourceFailure(err)) throw err;
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} is not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
  const names = new Set(cols.map((c) => String(c.column_name)));
  const missing = REQUIRED.filter((c) => !names.has(c));
  if (missing.length > 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} lacks column(s) ${missing.join(', ')}`, { hint: 'Rebuild it with `stockpipe features --force`.' });
  const where = `vol_moving_avg IS NOT NULL AND adj_close_rolling_med IS NOT NULL AND "Volume" IS NOT NULL`;
  const [counts] = await queryRows(conn, `SELECT count(*)::BIGINT AS n, count("Volume")::BIGINT AS v FROM ${src} WHERE vol_moving_avg IS NOT NULL AND adj_close_rolling_med IS NOT NULL`);
  const rows = Number(counts!.v);
  if (Number(counts!.n) === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path} has no row with both features (symbols need at least the window's number of rows)`);
  if (rows === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${path}: Volume is null on every row that has both features`);
  const ds: VolumeDataset = {
    path,
    dataHash: '',
    rows,
    day: new Int32Array(rows),
    vma: new Float64Array(rows),
    acm: new Float64Array(rows),
    volume: new Float64Array(rows),
    isStock: new Uint8Array(rows),
  };
  let at = 0;
  await readNumericColumns(
    conn,
    `SELECT CAST("Date" AS DATE) AS d, vol_moving_avg, adj_close_rolling_med, "Volume"::DOUBLE AS v, ("Asset" = 'stock')::UTINYINT AS s FROM ${src} WHERE ${where} ORDER BY "Symbol", "Date"`,
    (c, n) => {
      ds.day.set((c[0] as Int32Array).subarray(0, n), at);
      ds.vma.set((c[1] as Float64Array).subarray(0, n), at);
      ds.acm.set((c[2] as Float64Array).subarray(0, n), at);
      ds.volume.set((c[3] as Float64Array).subarray(0, n), at);
      ds.isStock.set((c[4] as Uint8Array).subarray(0, n), at);
      at += n;
    },
  );
  if (at !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `read ${at} rows of ${path}, expected ${rows}`);
  ds.dataHash = hashArrays([ds.day, ds.vma, ds.acm, ds.volume, ds.isStock]);
  return ds;
}
