/** @module features/build
 * Features (docs/data.md): reads tables/prices.parquet (sorted by Symbol, Date, as ingest writes it),
 * computes vol_moving_avg and adj_close_rolling_med per symbol with the typed-array kernels, and
 * writes features/features.parquet = every prices column + the two features, in the same order.
 * A worker scans prices (numeric columns, its own DuckDB) and computes the features per symbol;
 * the main thread writes every column back through the same table-function writer as ingest. */
import { once } from 'node:events';
import { MessageChannel, Worker } from 'node:worker_threads';
import { StockpipeError } from '../core/errors.js';
import { hashJson, readFileOrNull, statOrNull, withAtomicOutput, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlString, type DuckDBConnection } from '../db/duckdb.js';
import { isResourceFailure } from '../db/duckdb-errors.js';
import { writeBarsParquet, type BarsBatch } from '../db/bars-writer.js';
import { InboxConsumer, createControl } from '../core/sync-inbox.js';
import { workerScript } from '../core/worker-script.js';
import { civilFromDays } from '../etl/csv-parse.js';
import type { FeatureMessage, FeatureWorkerInit } from './feature-protocol.js';
import { PRICES_COLUMNS } from '../etl/ingest.js';
import { EXTENDED_COLUMNS } from './lagged.js';

export const FEATURES_VERSION = 1;
export const DEFAULT_WINDOW = 30;
/** How long a finished reader worker may take to exit on its own before it is terminated. */
const WORKER_EXIT_MS = 10_000;

export interface FeaturesOptions {
  /** The workspace: tables/, features/ and the threads and DuckDB settings. */
  ws: Workspace;
  window: number;
  /** Add the lagged day-ahead columns (features/lagged; docs/data.md, `--extended`). */
  extended?: boolean;
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
  /** True when the extended columns (extended_columns) were written too. */
  extended: boolean;
  extended_columns: string[];
  /** Rows where both features are non-null (each symbol's rows from the w-th on). */
  rows_with_features: number;
  seconds: number;
  cached: boolean;
  input_hash: string;
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
/** The last build's report, or null when there is none or it is not JSON (a warning: the build runs again). */
function previousReport(text: string | null, log: Logger): FeaturesReport | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as FeaturesReport;
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'the last features report is not valid JSON: building again');
    return null;
  }
}

export async function buildFeatures(opts: FeaturesOptions): Promise<FeaturesReport> {
  const t0 = performance.now();
  const { ws, window: w, log } = opts;
  if (!Number.isInteger(w) || w < 2 || w > 1000) throw new StockpipeError('SP_ERR_FEATURES_WINDOW', `--window must be a whole number from 2 to 1000 (got ${w})`);
  const input = ws.pricesTable;
  const output = ws.featuresTable;
  const st = await statOrNull(input);
  if (!st) throw new StockpipeError('SP_ERR_PRICES_MISSING', `${input} does not exist`);
  const extended = opts.extended === true;
  // The extended flag joins the key only when set, so the keys of plain builds are unchanged.
  const hash = hashJson({ v: FEATURES_VERSION, size: st.size, mtime: st.mtimeMs, window: w, ...(extended ? { extended: 1 } : {}) });
  if (!opts.force) {
    const prev = previousReport(await readFileOrNull(ws.featuresReport), log);
    if (prev && prev.input_hash === hash && (await statOrNull(output))) {
      log.info({ output }, 'prices and window unchanged since the last build: nothing to do');
      return { ...prev, extended: prev.extended ?? false, extended_columns: prev.extended_columns ?? [], cached: true, seconds: Math.round(performance.now() - t0) / 1000 };
    }
  }
  const db = await openDuckDB(ws.duckdbSettings());
  try {
    const conn = db.connection;
    await checkPrices(conn, input).catch((err: unknown) => {
      if (err instanceof StockpipeError || isResourceFailure(err)) throw err;
      throw new StockpipeError('SP_ERR_PRICES_MISSING', `${input} is not a readable Parquet file: ${(err as Error).message}`, { cause: err });
    });
    // Per symbol, in file order: row count and Security Name; and the table's date range.
    const symbolsInfo = await queryRows(
      conn,
      `SELECT "Symbol" AS s, count(*)::BIGINT AS n, min("Security Name") AS name FROM read_parquet(${sqlString(input)}) GROUP BY "Symbol" ORDER BY "Symbol"`,
    );
    const [range] = await queryRows(conn, `SELECT (min(CAST("Date" AS DATE)) - DATE '1970-01-01')::INTEGER AS lo, (max(CAST("Date" AS DATE)) - DATE '1970-01-01')::INTEGER AS hi FROM read_parquet(${sqlString(input)})`);
    const symbols = symbolsInfo.map((r) => String(r.s));
    const lengths = symbolsInfo.map((r) => Number(r.n));
    const names = [...new Set(symbolsInfo.map((r) => r.name).filter((n): n is string => typeof n === 'string'))].sort();
    const nameIndex = new Map(names.map((n, i) => [n, i]));
    const nameIdx = symbolsInfo.map((r) => (typeof r.name === 'string' ? nameIndex.get(r.name)! : -1));
    const rows = lengths.reduce((s, n) => s + n, 0);
    const control = createControl();
    const { port1, port2 } = new MessageChannel();
    const init: FeatureWorkerInit = { input, lengths, nameIdx, window: w, extended, memoryLimit: ws.memoryLimit, tempDir: ws.duckdbReaderTempDir, lookahead: 64, control, port: port2 };
    const worker = new Worker(workerScript(import.meta.url, 'features/feature-worker.js'), { workerData: init, transferList: [port2] });
    const inbox = new InboxConsumer<FeatureMessage>(control, [port1], (i) => `symbol ${symbols[i]}`);
    worker.on('error', (err) => inbox.fail(err.message));
    // Listening from the start: it may exit before the write ends. A rejection here repeats the
    // worker's 'error' event, which inbox.fail already reports.
    const exited = once(worker, 'exit').catch(() => undefined);
    opts.progress.start('features', rows);
    let sym = 0;
    let done = 0;
    let withFeatures = 0;
    const next = (): BarsBatch | null => {
      while (sym < lengths.length && lengths[sym] === 0) sym++;
      if (sym >= lengths.length) return null;
      const msg = inbox.take(sym++, (m) => (m.ok ? undefined : m.message));
      if (!msg.ok) throw new Error(msg.message);
      done += msg.batch.rows;
      withFeatures += msg.withFeatures;
      opts.progress.update(done);
      return msg.batch;
    };
    let written = false;
    try {
      await withAtomicOutput(output, (tmp) =>
        writeBarsParquet(
          conn,
          {
            symbols,
            names,
            dayMin: Number(range!.lo),
            dayMax: Number(range!.hi),
            formatDay: civilFromDays,
            extraColumns: ['vol_moving_avg', 'adj_close_rolling_med', ...(extended ? EXTENDED_COLUMNS : [])],
            kvMetadata: { stockpipe_table: 'features', stockpipe_sorted_by: 'Symbol,Date', stockpipe_window: String(w), stockpipe_features_version: String(FEATURES_VERSION), ...(extended ? { stockpipe_extended: EXTENDED_COLUMNS.join(',') } : {}) },
          },
          next,
          tmp,
        ),
      );
      written = true;
    } finally {
      port1.close();
      // After a full read, let the worker finish its last DuckDB call and exit by itself:
      // terminating it while a native call is in flight aborts the process (Napi::Error).
      if (written) await Promise.race([exited, new Promise((r) => setTimeout(r, WORKER_EXIT_MS).unref())]);
      await worker.terminate();
    }
    if (done !== rows) throw new StockpipeError('SP_ERR_INTERNAL', `features wrote ${done} rows of ${input}, expected ${rows}`);
    opts.progress.stop();
    const report: FeaturesReport = {
      output,
      input,
      rows,
      symbols: lengths.length,
      window: w,
      extended,
      extended_columns: extended ? [...EXTENDED_COLUMNS] : [],
      rows_with_features: withFeatures,
      seconds: Math.round(performance.now() - t0) / 1000,
      cached: false,
      input_hash: hash,
    };
    await writeFileAtomic(ws.featuresReport, `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    opts.progress.stop();
    db.close();
  }
}
