/** @module bench/etl
 * `npm run bench -- etl`: ingest + features at full scale (synthetic, ≈ 28M rows, 8,000 symbols)
 * and a quarter of it, then on the real Kaggle sample (../shared/data/kaggle-sample, via
 * `fetch --source dir:`; skipped with the reason when absent); wall time, peak RSS, rows/s and
 * µs/row; next to the pandas reference (../shared/reference/pandas_etl.py, when Debian's
 * python3-pandas is present), the same job in Polars (bench/polars-etl.mjs, npm nodejs-polars, which
 * the bench installs into bench/.cache/polars from the npm registry on first use: the product does not
 * depend on it) and a plain DuckDB SQL version of the same job, on the same data in the same run.
 * A `per_row` table puts the µs/row of every data set side by side, so a gap between synthetic and
 * real data shows. Each run is `ingest --force` then `features` (which commits the features the full
 * ingest prepared), and once `features --force` (computed from the prices table) for comparison. Flags: --quarter-only, --no-real, --no-pandas, --no-polars, --no-sql, --runs=N. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { SYNTHETIC_BENCH } from '../src/sources/synthetic.js';
import { machine, measure } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const CACHE = join(ROOT, 'bench', '.cache');
/** ../shared from the repo, or from a worktree one level deeper. */
const SHARED = [resolve(ROOT, '..', 'shared'), resolve(ROOT, '..', '..', 'shared')].find((d) => existsSync(d)) ?? resolve(ROOT, '..', 'shared');
const REFERENCE = join(SHARED, 'reference', 'pandas_etl.py');
const REAL_SAMPLE = join(SHARED, 'data', 'kaggle-sample');
/** The Polars version the reference numbers were taken with, and its Linux x64 binary (an optional dependency npm may skip). */
const POLARS = ['nodejs-polars@0.25.2', 'nodejs-polars-linux-x64-gnu@0.25.2'];
const POLARS_DIR = join(CACHE, 'polars');

/** Installs nodejs-polars into bench/.cache/polars once; the reason it is unavailable otherwise. */
function polarsReady(): string | null {
  const mod = join(POLARS_DIR, 'node_modules', 'nodejs-polars-linux-x64-gnu');
  if (existsSync(mod)) return null;
  if (process.platform !== 'linux' || process.arch !== 'x64') return `skipped: the bench installs Polars for Linux x64 only (this is ${process.platform} ${process.arch})`;
  mkdirSync(POLARS_DIR, { recursive: true });
  writeFileSync(join(POLARS_DIR, 'package.json'), '{ "name": "stockpipe-bench-polars", "private": true }\n');
  process.stderr.write(`[etl] installing ${POLARS.join(' ')} into ${POLARS_DIR}\n`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', POLARS_DIR, ...POLARS], { encoding: 'utf8' });
  if (r.status !== 0 || !existsSync(mod)) return `skipped: npm install ${POLARS.join(' ')} failed: ${(r.stderr ?? '').trim().split('\n').pop()}`;
  return null;
}

interface Scale {
  name: string;
  /** The `fetch --source` arguments that set up the data. */
  fetchArgs: string[];
  symbols?: number;
}

const usPerRow = (seconds: number, rows: number): number => Math.round((seconds / Math.max(1, rows)) * 1e6 * 1000) / 1000;

function cli(ws: string, args: string[]) {
  const r = measure(process.execPath, [CLI, ...args, '--workspace', ws, '--json']);
  if (r.status !== 0) throw new Error(`stockpipe ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return { ...r, data: (JSON.parse(r.stdout) as { data: Record<string, unknown> }).data };
}

async function plainDuckDB(dataDir: string, out: string): Promise<{ seconds: number; rows: number }> {
  // The job written as one SQL query, the way a DuckDB user would (BENCHMARKS.md measured this at 54 s on 7.88M rows).
  const inst = await DuckDBInstance.create(':memory:', { threads: '2', memory_limit: '2GB', temp_directory: join(CACHE, 'duck-tmp') });
  const c = await inst.connect();
  const t0 = performance.now();
  await c.run(`COPY (
    WITH raw AS (SELECT regexp_extract(filename, '([^/]+)\\.csv$', 1) AS "Symbol", CASE WHEN filename LIKE '%/etfs/%' THEN 'etf' ELSE 'stock' END AS "Asset", *
                 FROM read_csv(['${dataDir}/stocks/*.csv', '${dataDir}/etfs/*.csv'], filename = true, union_by_name = true, ignore_errors = true,
                   columns = {'Date': 'VARCHAR', 'Open': 'DOUBLE', 'High': 'DOUBLE', 'Low': 'DOUBLE', 'Close': 'DOUBLE', 'Adj Close': 'DOUBLE', 'Volume': 'DOUBLE'})),
         meta AS (SELECT "Symbol", "Security Name" FROM read_csv('${dataDir}/symbols_valid_meta.csv', all_varchar = true)),
         clean AS (SELECT r."Symbol", m."Security Name", r."Date", r."Open", r."High", r."Low", r."Close", r."Adj Close", r."Volume"::BIGINT AS "Volume", r."Asset"
                   FROM raw r LEFT JOIN meta m USING ("Symbol")
                   WHERE r."Open" IS NOT NULL AND r."High" IS NOT NULL AND r."Low" IS NOT NULL AND r."Close" IS NOT NULL AND r."Adj Close" IS NOT NULL AND r."Volume" IS NOT NULL)
    SELECT *, CASE WHEN count(*) OVER w = 30 THEN avg("Volume") OVER w END AS vol_moving_avg,
              CASE WHEN count(*) OVER w = 30 THEN median("Adj Close") OVER w END AS adj_close_rolling_med
    FROM clean WINDOW w AS (PARTITION BY "Symbol" ORDER BY "Date" ROWS BETWEEN 29 PRECEDING AND CURRENT ROW)
    ORDER BY "Symbol", "Date") TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
  const seconds = (performance.now() - t0) / 1000;
  const r = await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${out}')`);
  const rows = Number((r.getRowObjectsJson()[0] as { n: string }).n);
  c.closeSync();
  inst.closeSync();
  return { seconds: Math.round(seconds * 1000) / 1000, rows };
}

export async function runEtlBench(argv: string[]): Promise<Record<string, unknown>> {
  const synthetic = (name: string, symbols: number): Scale => ({
    name,
    symbols,
    fetchArgs: ['--source', 'synthetic', '--seed', String(SYNTHETIC_BENCH.seed), '--symbols', String(symbols), '--years', String(SYNTHETIC_BENCH.years), '--start', SYNTHETIC_BENCH.start],
  });
  const scales: Scale[] = [synthetic('quarter', SYNTHETIC_BENCH.symbols / 4), synthetic('full', SYNTHETIC_BENCH.symbols)].filter((s) => !argv.includes('--quarter-only') || s.name === 'quarter');
  let realSkipped: string | undefined;
  if (argv.includes('--no-real')) realSkipped = 'skipped (--no-real)';
  else if (!existsSync(REAL_SAMPLE)) realSkipped = `skipped: ${REAL_SAMPLE} is absent`;
  else scales.push({ name: 'real-sample', fetchArgs: ['--source', `dir:${REAL_SAMPLE}`] });
  if (realSkipped !== undefined) process.stderr.write(`[etl real-sample] ${realSkipped}\n`);
  const runs = Number(argv.find((a) => a.startsWith('--runs='))?.slice(7) ?? 2);
  const withPandas = !argv.includes('--no-pandas');
  const withSql = !argv.includes('--no-sql');
  const polarsSkipped = argv.includes('--no-polars') ? 'skipped (--no-polars)' : polarsReady();
  const results: Record<string, unknown>[] = [];
  for (const scale of scales) {
    const ws = join(CACHE, `ws-${scale.name}`);
    mkdirSync(ws, { recursive: true });
    const fetch = cli(ws, ['fetch', ...scale.fetchArgs]);
    process.stderr.write(`[etl ${scale.name}] data: ${fetch.data.files} files, ${((fetch.data.bytes as number) / 1e9).toFixed(2)} GB (${fetch.data.cached ? 'cached' : `fetched in ${fetch.seconds} s`})\n`);
    const ingestRuns = [];
    const featureRuns = [];
    for (let i = 0; i < runs; i++) {
      // A new prices snapshot each run; `features` after it commits the features the full ingest prepared (docs/store.md).
      const ing = cli(ws, ['ingest', '--force']);
      const fea = cli(ws, ['features']);
      if (fea.data.prepared !== true) process.stderr.write(`[etl ${scale.name}] features did not commit the prepared stage: it computed them\n`);
      ingestRuns.push({ seconds: ing.seconds, peak_rss_mb: ing.peak_rss_mb, rows: ing.data.rows_kept as number, rows_read: ing.data.rows_read as number });
      featureRuns.push({ seconds: fea.seconds, peak_rss_mb: fea.peak_rss_mb, rows: fea.data.rows as number });
      process.stderr.write(`[etl ${scale.name}] run ${i + 1}: ingest ${ing.seconds} s (${ing.peak_rss_mb} MB), features ${fea.seconds} s (${fea.peak_rss_mb} MB)\n`);
    }
    // The features computed from the prices table (what `features` does without a prepared stage), once, for comparison.
    const computed = cli(ws, ['features', '--force']);
    process.stderr.write(`[etl ${scale.name}] features --force (computed from the prices table): ${computed.seconds} s (${computed.peak_rss_mb} MB)\n`);
    const best = <T extends { seconds: number }>(xs: T[]): T => xs.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    const ing = best(ingestRuns);
    const fea = best(featureRuns);
    const row: Record<string, unknown> = {
      scale: scale.name,
      data: scale.name === 'real-sample' ? REAL_SAMPLE : 'synthetic',
      symbols: scale.symbols ?? (fetch.data.files as number) - 1,
      rows: ing.rows,
      rows_read: ing.rows_read,
      csv_gb: Math.round(((fetch.data.bytes as number) / 1e9) * 100) / 100,
      ingest_s: ing.seconds,
      ingest_peak_mb: Math.max(...ingestRuns.map((r) => r.peak_rss_mb ?? 0)),
      features_s: fea.seconds,
      features_peak_mb: Math.max(...featureRuns.map((r) => r.peak_rss_mb ?? 0)),
      features_computed_s: computed.seconds,
      features_computed_peak_mb: computed.peak_rss_mb,
      total_s: Math.round((ing.seconds + fea.seconds) * 1000) / 1000,
      rows_per_s: Math.round(ing.rows / (ing.seconds + fea.seconds)),
      ingest_us_per_row: usPerRow(ing.seconds, ing.rows_read),
      total_us_per_row: usPerRow(ing.seconds + fea.seconds, ing.rows),
    };
    const dataDir = fetch.data.path as string;
    if (withPandas && existsSync(REFERENCE)) {
      const py = measure('/usr/bin/python3', [REFERENCE, dataDir], { cwd: resolve(REFERENCE, '..') });
      if (py.status === 0) {
        const p = JSON.parse(py.stdout.trim().split('\n').pop()!) as { combine_s: number; features_s: number; total_s: number; rows: number };
        row.pandas = { ...p, wall_s: py.seconds, peak_rss_mb: py.peak_rss_mb, us_per_row: usPerRow(py.seconds, p.rows) };
        row.speedup_vs_pandas = Math.round((py.seconds / (row.total_s as number)) * 10) / 10;
        process.stderr.write(`[etl ${scale.name}] pandas: ${py.seconds} s, ${py.peak_rss_mb} MB\n`);
      } else {
        row.pandas = `skipped: reference failed (${py.stderr.trim().split('\n').pop()}); install Debian's python3-pandas`;
      }
    } else row.pandas = withPandas ? `skipped: ${REFERENCE} not found` : 'skipped (--no-pandas)';
    if (polarsSkipped === null) {
      const out = join(CACHE, `polars-${scale.name}.parquet`);
      const r = measure(process.execPath, [join(ROOT, 'bench', 'polars-etl.mjs'), POLARS_DIR, dataDir, out]);
      if (r.status === 0) {
        const p = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rows: number; seconds: number };
        row.polars = { ...p, wall_s: r.seconds, peak_rss_mb: r.peak_rss_mb, us_per_row: usPerRow(r.seconds, p.rows) };
        row.speedup_vs_polars = Math.round((r.seconds / (row.total_s as number)) * 10) / 10;
        process.stderr.write(`[etl ${scale.name}] polars: ${r.seconds} s, ${r.peak_rss_mb} MB\n`);
      } else row.polars = `failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`;
    } else row.polars = polarsSkipped;
    if (withSql) {
      const sqlOut = join(CACHE, `plain-sql-${scale.name}.parquet`);
      const s = await plainDuckDB(dataDir, sqlOut);
      row.plain_duckdb_sql = s;
      row.speedup_vs_plain_sql = Math.round((s.seconds / (row.total_s as number)) * 10) / 10;
      process.stderr.write(`[etl ${scale.name}] plain DuckDB SQL: ${s.seconds} s\n`);
    }
    results.push(row);
  }
  // Side by side: µs per kept row (ingest + features, wall) for each data set, and pandas on the same data.
  const perRow = results.map((r) => {
    const p = r.pandas as { us_per_row?: number } | string;
    return {
      data: r.scale,
      rows: r.rows,
      stockpipe_us_per_row: r.total_us_per_row,
      ingest_us_per_row: r.ingest_us_per_row,
      pandas_us_per_row: typeof p === 'string' ? null : (p.us_per_row ?? null),
      polars_us_per_row: typeof r.polars === 'object' && r.polars !== null ? ((r.polars as { us_per_row?: number }).us_per_row ?? null) : null,
    };
  });
  for (const p of perRow) process.stderr.write(`[etl per-row] ${p.data}: stockpipe ${p.stockpipe_us_per_row} µs/row (ingest ${p.ingest_us_per_row}), pandas ${p.pandas_us_per_row ?? '—'} µs/row, polars ${p.polars_us_per_row ?? '—'} µs/row\n`);
  const out = { bench: 'etl', machine: machine(), runs, per_row: perRow, ...(realSkipped === undefined ? {} : { real_sample: realSkipped }), results };
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'etl.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
