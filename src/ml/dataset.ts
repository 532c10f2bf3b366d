/** @module ml/dataset
 * Loads the volume model's rows from features/features.parquet into typed arrays: day, the two
 * features, Volume, asset; rows where either feature is null are excluded (docs/models.md). */
import { open } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { StockpipeError } from '../core/errors.js';
import { statOrNull } from '../core/fs.js';
import { queryRows, sqlString, type DuckDBConnection } from '../db/duckdb.js';
import { isResourceFailure } from '../db/duckdb-errors.js';
import { readNumericColumns } from '../db/read-columns.js';

export interface VolumeDataset {
  path: string;
  /** Content hash of the features file (size + Parquet footer): the data version. */
  dataHash: string;
  rows: number;
  day: Int32Array;
  vma: Float64Array;
  acm: Float64Array;
  volume: Float64Array;
  /** 1 = stock, 0 = etf. */
  isStock: Uint8Array;
}

const REQUIRED = ['Date', 'Volume', 'Asset', 'vol_moving_avg', 'adj_close_rolling_med'];

/** size + sha256 of the last 1 MiB (the footer holds every row group's statistics and offsets). */
export async function parquetHash(path: string): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return createHash('sha256').update(String(size)).update(buf).digest('hex');
  } finally {
    await fh.close();
  }
}

export async function loadVolumeDataset(conn: DuckDBConnection, path: string): Promise<VolumeDataset> {
  if (!(await statOrNull(path))) {
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `features table ${path} does not exist`, { hint: 'Run `stockpipe features` first.' });
  }
  const src = `read_parquet(${sqlString(path)})`;
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
    dataHash: await parquetHash(path),
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
    `SELECT CAST("Date" AS DATE) AS d, vol_moving_avg, adj_close_rolling_med, "Volume"::DOUBLE AS v, ("Asset" = 'stock')::UTINYINT AS s FROM ${src} WHERE ${where}`,
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
  return ds;
}
