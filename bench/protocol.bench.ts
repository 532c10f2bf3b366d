/** @module bench/protocol
 * `npm run bench -- protocol [--trials N] [--symbols N --years N [--start YYYY-MM-DD]] [--no-real] [--no-sklearn]`: the
 * volume model under the evaluation protocol (docs/models.md), side by side in one run with
 * scikit-learn's HistGradientBoosting under the same protocol (../shared/reference/sklearn_protocol.py,
 * when Debian's python3-sklearn and that folder are present; skipped with the reason otherwise).
 * Per data set — the real Kaggle sample (../shared/data/kaggle-sample, when present) and a synthetic
 * folder (default 300 symbols × 8 years; `--symbols 8000 --years 58 --start 1962-01-02` is shaped like
 * the full dataset, ≈ 28M rows) — each as its own process, timed with its peak RSS:
 * `train --protocol holdout` (the earlier protocol), `train` (cv: trees by CV, refit on all pre-test
 * rows), `tune --trials N` + `train --params-from` (`--trials 0`: no study, the reference with 1
 * configuration only: for the largest data sets), and the reference with 1 and N configurations.
 * Every score is on the same test slice (the 80th percentile of the dates), read once. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { machine, measure } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const CACHE = join(ROOT, 'bench', '.cache');
const SHARED = resolve(ROOT, '..', 'shared');
const REFERENCE = join(SHARED, 'reference', 'sklearn_protocol.py');

const opt = (argv: string[], name: string, d: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};

type Json = Record<string, any>;

function cli(ws: string, args: string[]): { data: Json; seconds: number; peak_rss_mb: number | null } {
  const r = measure(process.execPath, [CLI, ...args, '--json', '-w', ws]);
  if (r.status !== 0) throw new Error(`stockpipe ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return { data: (JSON.parse(r.stdout) as { data: Json }).data, seconds: r.seconds, peak_rss_mb: r.peak_rss_mb };
}

/** One row of the table: what was run, its test scores (raw and log), the CV score, time, memory. */
function ours(label: string, r: { data: Json; seconds: number; peak_rss_mb: number | null }): Json {
  const m = r.data.metrics.gbdt;
  return { run: label, cv_rmse_log: r.data.cv_rmse_log ?? null, trees: r.data.protocol?.trees ?? null, test_rmse_log: m.rmse_log, test_r2_log: m.r2_log, test_r2: m.r2, test_rmse: m.rmse, naive_rmse_log: r.data.metrics.naive.rmse_log, naive_rmse: r.data.metrics.naive.rmse, wall_s: r.seconds, peak_rss_mb: r.peak_rss_mb };
}

function reference(dataDir: string, trials: number): Json {
  const r = measure('/usr/bin/python3', [REFERENCE, dataDir, '--folds', '3', '--trials', String(trials)], { cwd: resolve(REFERENCE, '..') });
  if (r.status !== 0) return { run: `scikit-learn, ${trials} configuration(s)`, failed: r.stderr.trim().split('\n').pop() };
  const d = JSON.parse(r.stdout.trim().split('\n').pop()!) as Json;
  return { run: `scikit-learn, ${trials} configuration(s)`, cv_rmse_log: d.chosen.cv_rmse_log, trees: d.chosen.iters, test_rmse_log: d.test.rmse_log, test_r2_log: d.test.r2_log, test_r2: d.test.r2, test_rmse: d.test.rmse, cv_s: d.cv_s, refit_s: d.refit_s, wall_s: r.seconds, peak_rss_mb: r.peak_rss_mb, fits: trials * 3 + 1 };
}

async function dataset(name: string, ws: string, fetch: string[], dataDir: string, trials: number, sklearn: boolean): Promise<Json> {
  if (!existsSync(join(ws, 'tables', 'features', '_snapshot.json'))) {
    cli(ws, ['fetch', ...fetch]);
    cli(ws, ['ingest']);
    cli(ws, ['features']);
  }
  const rows: Json[] = [];
  rows.push(ours('stockpipe train --protocol holdout (earlier protocol)', cli(ws, ['train', '--protocol', 'holdout'])));
  rows.push(ours('stockpipe train (cv protocol, the default)', cli(ws, ['train'])));
  if (trials > 0) {
    const t = cli(ws, ['tune', '--trials', String(trials), '--folds', '3', '--seed', '42']);
    const refit = cli(ws, ['train', '--params-from', t.data.study_id]);
    rows.push({ ...ours(`stockpipe tune --trials ${trials} + train --params-from`, refit), tune_s: t.seconds, tune_peak_rss_mb: t.peak_rss_mb, evaluations: t.data.evaluated, wall_s: Math.round((t.seconds + refit.seconds) * 1000) / 1000 });
  }
  for (const r of rows) process.stderr.write(`[protocol ${name}] ${r.run}: test rmse_log ${r.test_rmse_log.toFixed(4)}, ${r.wall_s} s\n`);
  if (sklearn) {
    for (const n of trials <= 1 ? [1] : [1, trials]) {
      const r = reference(dataDir, n);
      process.stderr.write(`[protocol ${name}] ${r.run}: ${r.failed ?? `test rmse_log ${r.test_rmse_log.toFixed(4)}, ${r.wall_s} s`}\n`);
      rows.push(r);
    }
  }
  return { dataset: name, data_dir: dataDir, rows };
}

export async function runProtocolBench(argv: string[]): Promise<Json> {
  const trials = opt(argv, '--trials', 9);
  const symbols = opt(argv, '--symbols', 300);
  const years = opt(argv, '--years', 8);
  const sklearnWhy = argv.includes('--no-sklearn') ? '--no-sklearn' : !existsSync(REFERENCE) ? `${REFERENCE} is absent` : !existsSync('/usr/bin/python3') ? 'no /usr/bin/python3' : null;
  const results: Json[] = [];
  const real = join(SHARED, 'data', 'kaggle-sample');
  if (argv.includes('--no-real')) results.push({ dataset: 'real sample', skipped: '--no-real' });
  else if (!existsSync(real)) results.push({ dataset: 'real sample', skipped: `${real} is absent` });
  else results.push(await dataset('real', join(CACHE, 'ws-protocol-real'), ['--source', `dir:${real}`], real, trials, sklearnWhy === null));
  // The synthetic folder, generated once into its own workspace; the reference reads the same CSV files.
  const si = argv.indexOf('--start');
  const start = si >= 0 ? argv[si + 1] : undefined;
  if (start !== undefined && !/^\d{4}-\d\d-\d\d$/.test(start)) throw new Error(`--start wants YYYY-MM-DD, got ${start}`);
  const synWs = join(CACHE, `ws-protocol-syn-${symbols}x${years}${start === undefined ? '' : `-from-${start}`}`);
  const synFetch = ['--source', 'synthetic', '--symbols', String(symbols), '--years', String(years), ...(start === undefined ? [] : ['--start', start])];
  results.push(await dataset(`synthetic ${symbols} symbols × ${years} years${start === undefined ? '' : ` from ${start}`}`, synWs, synFetch, join(synWs, 'raw', 'synthetic', 'data'), trials, sklearnWhy === null));
  const out = { bench: 'protocol', machine: machine(), trials, sklearn: sklearnWhy ?? 'run', results };
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'protocol.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
