/** @module bench/train
 * `npm run bench -- train`: trains gbdt (100 trees, depth 6, early stopping off so all 100 are
 * grown) and rf (100 trees, depth 6) on the ETL benchmark's features (quarter and full scale,
 * built by `npm run bench -- etl`), each as a separate `stockpipe train` process: wall time, peak
 * RSS, predict µs/row and the holdout metrics next to the baselines. Where Debian's
 * python3-sklearn is present, ../shared/reference/sklearn_train.py runs on the quarter-scale
 * folder in the same run (RandomForestRegressor(100, max_depth=6) and HistGradientBoosting). */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { scorerFromJSON } from '../src/ml/volume-model.js';
import { machine, measure } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const CACHE = join(ROOT, 'bench', '.cache');
const SKLEARN = resolve(ROOT, '..', 'shared', 'reference', 'sklearn_train.py');

async function predictMicros(modelDir: string): Promise<number> {
  const s = scorerFromJSON(await readFile(join(modelDir, 'model.json'), 'utf8'), modelDir);
  const n = 1_000_000;
  let sink = 0;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) sink += s.predict(1000 + ((i * 7919) % 5_000_000), 5 + ((i * 104729) % 500) / 7);
  const us = ((performance.now() - t0) * 1000) / n;
  return sink > 0 ? Math.round(us * 1000) / 1000 : us;
}

export async function runTrainBench(argv: string[]): Promise<Record<string, unknown>> {
  const scales = ['quarter', 'full'].filter((s) => !argv.includes('--quarter-only') || s === 'quarter');
  const results: Record<string, unknown>[] = [];
  for (const scale of scales) {
    const ws = join(CACHE, `ws-${scale}`);
    if (!existsSync(join(ws, 'tables', 'features', '_snapshot.json'))) {
      results.push({ scale, skipped: `no features table in ${ws}: run \`npm run bench -- etl\` first` });
      continue;
    }
    for (const kind of ['gbdt', 'rf']) {
      // rf has no early stopping (train refuses the option beside it).
      const r = measure(process.execPath, [CLI, 'train', '--kind', kind, '--trees', '100', '--max-depth', '6', ...(kind === 'gbdt' ? ['--early-stopping', '0'] : []), '--json', '-w', ws]);
      if (r.status !== 0) throw new Error(`train ${kind} failed: ${r.stdout}${r.stderr}`);
      const d = (JSON.parse(r.stdout) as { data: Record<string, any> }).data;
      const row = { scale, kind, rows_train: d.rows_train, rows_test: d.rows_test, train_s: d.train_seconds, process_s: r.seconds, peak_rss_mb: r.peak_rss_mb, predict_us_per_row: await predictMicros(d.path), metrics: d.metrics };
      process.stderr.write(`[train ${scale}] ${kind}: ${d.train_seconds} s training, ${r.seconds} s process, ${r.peak_rss_mb} MB, rmse_log ${d.metrics[kind].rmse_log.toFixed(4)}\n`);
      results.push(row);
    }
  }
  let sklearn: unknown = 'skipped';
  const quarterData = join(CACHE, 'ws-quarter', 'raw', 'synthetic', 'data');
  if (existsSync(SKLEARN) && existsSync(quarterData) && !argv.includes('--no-sklearn')) {
    const r = measure('/usr/bin/python3', [SKLEARN, quarterData], { cwd: resolve(SKLEARN, '..') });
    sklearn = r.status === 0 ? { scale: 'quarter', wall_s: r.seconds, peak_rss_mb: r.peak_rss_mb, ...(JSON.parse(r.stdout.trim().split('\n').pop()!) as object) } : `failed: ${r.stderr.trim().split('\n').pop()}`;
    process.stderr.write(`[train] scikit-learn (quarter): ${JSON.stringify(sklearn)}\n`);
  }
  const out = { bench: 'train', machine: machine(), results, sklearn };
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'train.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
