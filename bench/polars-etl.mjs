// The ETL job as a speed-minded Polars user writes it (npm nodejs-polars), for bench/etl:
// lazy per-file CSV scans concatenated, the metadata joined, rows with a null price or volume
// dropped, sorted by Symbol, Date, the 30-row rolling mean of Volume and median of Adj Close over
// each Symbol, one zstd Parquet file. Usage: node bench/polars-etl.mjs POLARS_DIR DATA_DIR OUT
// (POLARS_DIR: where nodejs-polars is installed). Prints one JSON line: rows, seconds.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';

const [polarsDir, dir, out] = process.argv.slice(2);
const pl = createRequire(join(polarsDir, 'package.json'))('nodejs-polars');
const t0 = performance.now();
const files = [];
for (const [sub, asset] of [['stocks', 'stock'], ['etfs', 'etf']]) {
  const d = join(dir, sub);
  if (!existsSync(d)) continue;
  for (const f of readdirSync(d).sort()) if (f.endsWith('.csv')) files.push([join(d, f), asset]);
}
const dtypes = { Date: pl.Utf8, Open: pl.Float64, High: pl.Float64, Low: pl.Float64, Close: pl.Float64, 'Adj Close': pl.Float64, Volume: pl.Float64 };
const scans = files.map(([p, asset]) => pl.scanCSV(p, { dtypes }).withColumns(pl.lit(basename(p).slice(0, -4)).alias('Symbol'), pl.lit(asset).alias('Asset')));
const meta = pl.scanCSV(join(dir, 'symbols_valid_meta.csv'), { inferSchemaLength: 0 }).select('Symbol', 'Security Name');
const df = await pl
  .concat(scans, { how: 'vertical' })
  .dropNulls(['Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'])
  .join(meta, { on: 'Symbol', how: 'left' })
  .sort(['Symbol', 'Date'])
  .select('Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', pl.col('Volume').cast(pl.Int64), 'Asset')
  .withColumns(
    pl.col('Volume').cast(pl.Float64).rollingMean(30).over('Symbol').alias('vol_moving_avg'),
    pl.col('Adj Close').rollingMedian(30).over('Symbol').alias('adj_close_rolling_med'),
  )
  .collect();
df.writeParquet(out, { compression: 'zstd' });
console.log(JSON.stringify({ rows: df.height, seconds: Math.round(performance.now() - t0) / 1000 }));
