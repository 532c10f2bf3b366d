/** @module features/build
 * Features (SPEC §3): reads tables/prices.parquet (sorted by Symbol, Date, as ingest writes it),
 * computes vol_moving_avg and adj_close_rolling_med per symbol with the typed-array kernels, and
 * writes features/features.parquet = every prices column + the two features, in the same order.
 * DuckDB scans the Parquet; the features go back in through a table function, positionally joined. */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DOUBLE } from '@duckdb/node-api';
import { StockpipeError } from '../core/errors.js';
import { hashJson, withAtomicOutput, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import { openDuckDB, queryRows, sqlString, type DuckDBConnection } from '../db/duckdb.js';
import { CHUNK_ROWS, copyStreamToParquet } from '../db/parquet-stream.js';
import { PRICES_COLUMNS, pricesPath } from '../etl/ingest.js';
import { RollingWindow } from './rolling.js';

export const FEATURES_VERSION = 1;
export const DEFAULT_WINDOW = 30;

export interface FeaturesOptions {
  workspace: string;
  window: number;
  threads: number;
  memoryLimit: string;
  force: boolean;
  log: Logger;
  progress: Progress;
}

export interface FeaturesReport {
  output: string;
  input: string;
  rows: number;
  symbols: number;
  window: number;
  /** Rows where both features are non-null (each symbol's rows from the w-th on). */
  rows_with_features: number;
  seconds: number;
  cached: boolean;
  input_hash: string;
}

export function featuresPath(workspace: string): string {
  return join(workspace, 'features', 'features.parquet');
}

function reportPath(workspace: string): string {
  return join(workspace, 'features', 'features.report.json');
}

const EXPECTED_TYPES: Record<string, string> = {
  Symbol: 'VARCHAR',
  'Security Name': 'VARCHAR',
  Date: 'VARCHAR',
  Open: 'DOUBLE',
  High: 'DOUBLE',
  Low: 'DOUBLE',
  Close: 'DOUBLE',
  'Adj Close': 'DOUBLE',
  Volume: 'BIGINT',
  Asset: 'VARCHAR',
};

async function checkPrices(conn: DuckDBConnection, input: string): Promise<void> {
  const cols = await queryRows(conn, `DESCRIBE SELECT * FROM read_parquet(${sqlString(input)})`);
  const types = new Map(cols.map((c) => [String(c.column_name), String(c.column_type)]));
  for (const name of PRICES_COLUMNS) {
    const t = types.get(name);
    if (t === undefined) throw new StockpipeError('SP_ERR_PRICES_SCHEMA', `${input} has no column '${name}'`);
    if (t !== EXPECTED_TYPES[name]) throw new StockpipeError('SP_ERR_PRICES_SCHEMA', `${input}: column '${name}' is ${t}, expected ${EXPECTED_TYPES[name]}`);
  }
  const kv = await queryRows(conn, `SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlString(input)})`);
  if (!kv.some((r) => r.k === 'stockpipe_sorted_by' && r.v === 'Symbol,Date')) {
    throw new StockpipeError('SP_ERR_PRICES_SCHEMA', `${input} was not written by stockpipe ingest (no sorted-by tag)`, { hint: 'Rebuild it with `stockpipe ingest --force`.' });
  }
}

/** Builds features.parquet; a no-op (cached) when prices and the window are unchanged. */
export async function buildFeatures(opts: FeaturesOptions): Promise<FeaturesReport> {
  const t0 = performance.now();
  const { workspace, window: w, log } = opts;
  if (!Number.isInteger(w) || w < 2 || w > 1000) throw new StockpipeError('SP_ERR_FEATURES_WINDOW', `--window must be a whole number from 2 to 1000 (got ${w})`);
  const input = pricesPath(workspace);
  const output = featuresPath(workspace);
  const st = await stat(input).catch(() => null);
  if (!st) throw new StockpipeError('SP_ERR_PRICES_MISSING', `${input} does not exist`);
  const hash = hashJson({ v: FEATURES_VERSION, size: st.size, mtime: st.mtimeMs, window: w });
  if (!opts.force) {
    const prev = await readFile(reportPath(workspace), 'utf8').then((t) => JSON.parse(t) as FeaturesReport, () => null);
    if (prev && prev.input_hash === hash && (await stat(output).catch(() => null))) {
      log.info({ output }, 'prices and window unchanged since the last build: nothing to do');
      return { ...prev, cached: true, seconds: Math.round(performance.now() - t0) / 1000 };
    }
  }
  const db = await openDuckDB({ tempDir: join(workspace, 'tmp', 'duckdb'), memoryLimit: opts.memoryLimit, threads: Math.max(1, opts.threads) });
  try {
    const conn = db.connection;
    await checkPrices(conn, input).catch((err: unknown) => {
      if (err instanceof StockpipeError) throw err;
      throw new StockpipeError('SP_ERR_PRICES_MISSING', `${input} is not a readable Parquet file: ${(err as Error).message}`, { cause: err });
    });
    const counts = await queryRows(conn, `SELECT count(*)::BIGINT AS n FROM read_parquet(${sqlString(input)}) GROUP BY "Symbol" ORDER BY "Symbol"`);
    const lengths = counts.map((r) => Number(r.n));
    const rows = lengths.reduce((s, n) => s + n, 0);
    const mean = new Float64Array(rows);
    const median = new Float64Array(rows);
    opts.progress.start('features', rows);
    // Pass 1: stream Volume and Adj Close in file order through the kernels.
    const vol = new RollingWindow(w, false);
    const adj = new RollingWindow(w);
    let sym = 0;
    let left = lengths[0] ?? 0;
    let row = 0;
    let withFeatures = 0;
    const result = await conn.stream(`SELECT "Volume"::DOUBLE AS v, "Adj Close" AS a FROM read_parquet(${sqlString(input)})`);
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const n = chunk.rowCount;
      const vs = (chunk.getColumnVector(0) as unknown as { items: Float64Array }).items;
      const as = (chunk.getColumnVector(1) as unknown as { items: Float64Array }).items;
      for (let i = 0; i < n; i++) {
        while (left === 0) {
          sym++;
          left = lengths[sym]!;
          vol.reset();
          adj.reset();
        }
        vol.push(vs[i]!);
        adj.push(as[i]!);
        if (vol.full) {
          mean[row] = vol.mean();
          median[row] = adj.median();
          withFeatures++;
        } else {
          mean[row] = NaN;
          median[row] = NaN;
        }
        row++;
        left--;
      }
      opts.progress.update(row);
    }
    if (row !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `features read ${row} rows of ${input}, expected ${rows}`);
    // Pass 2: prices columns + features, positionally joined, to Parquet.
    const mask = new Uint32Array(CHUNK_ROWS / 32);
    let off = 0;
    await withAtomicOutput(output, (tmp) =>
      copyStreamToParquet(
        conn,
        [
          { name: 'vol_moving_avg', type: DOUBLE },
          { name: 'adj_close_rolling_med', type: DOUBLE },
        ],
        (wr) => {
          const n = Math.min(CHUNK_ROWS, rows - off);
          if (n <= 0) return 0;
          mask.fill(0);
          for (let i = 0; i < n; i++) if (!Number.isNaN(mean[off + i]!)) mask[i >> 5]! |= 1 << (i & 31);
          wr.set(0, mean, off, n);
          wr.set(1, median, off, n);
          wr.setValidity(0, mask, n);
          wr.setValidity(1, mask, n);
          off += n;
          return n;
        },
        tmp,
        {
          select: (from) => `SELECT p.*, f.vol_moving_avg, f.adj_close_rolling_med FROM read_parquet(${sqlString(input)}) p POSITIONAL JOIN ${from} f`,
          kvMetadata: { stockpipe_table: 'features', stockpipe_sorted_by: 'Symbol,Date', stockpipe_window: String(w), stockpipe_features_version: String(FEATURES_VERSION) },
        },
      ),
    );
    opts.progress.stop();
    const report: FeaturesReport = {
      output,
      input,
      rows,
      symbols: lengths.length,
      window: w,
      rows_with_features: withFeatures,
      seconds: Math.round(performance.now() - t0) / 1000,
      cached: false,
      input_hash: hash,
    };
    await writeFileAtomic(reportPath(workspace), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    opts.progress.stop();
    db.close();
  }
}
