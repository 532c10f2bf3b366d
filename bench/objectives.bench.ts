/** @module bench/objectives
 * `npm run bench -- objectives [--symbols N --years N] [--no-real] [--rounds R]`: the volume gbdt's
 * objectives side by side under the same protocol (docs/models.md: cv folds inside the pre-test
 * dates, refit, the test slice read once) — l2 on log1p(Volume) (the default) against poisson and
 * tweedie (ρ 1.2, 1.5, 1.8) on raw Volume with the log link (max_delta_step 0.7, the default), and
 * the holdout protocol for l2, poisson and tweedie 1.5 (there early stopping watches the objective's
 * own loss on the validation slice; under cv the trees are chosen on rmse_log). Per data set
 * (the real Kaggle sample at ../shared/data/kaggle-sample when present, a synthetic folder): each run
 * its own process, timed with its peak RSS; R rounds in alternating order, the minimum wall time kept. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { machine, measure } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const CACHE = join(ROOT, 'bench', '.cache');
const SHARED = resolve(ROOT, '..', 'shared');

type Json = Record<string, any>;

const opt = (argv: string[], name: string, d: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : d;
};

function cli(ws: string, args: string[]): { data: Json; seconds: number; peak_rss_mb: number | null } {
  const r = measure(process.execPath, [CLI, ...args, '--json', '-w', ws]);
  if (r.status !== 0) throw new Error(`stockpipe ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return { data: (JSON.parse(r.stdout) as { data: Json }).data, seconds: r.seconds, peak_rss_mb: r.peak_rss_mb };
}

const RUNS: Array<[label: string, args: string[]]> = [
  ['l2 on log1p(Volume) (default)', []],
  ['poisson (log link, raw Volume)', ['--objective', 'poisson']],
  ['tweedie ρ=1.2', ['--objective', 'tweedie', '--tweedie-power', '1.2']],
  ['tweedie ρ=1.5', ['--objective', 'tweedie', '--tweedie-power', '1.5']],
  ['tweedie ρ=1.8', ['--objective', 'tweedie', '--tweedie-power', '1.8']],
  // The holdout protocol early-stops on the objective's own loss on the validation slice (cv picks trees by rmse_log).
  ['l2, --protocol holdout', ['--protocol', 'holdout']],
  ['poisson, --protocol holdout', ['--objective', 'poisson', '--protocol', 'holdout']],
  ['tweedie ρ=1.5, --protocol holdout', ['--objective', 'tweedie', '--protocol', 'holdout']],
];

function dataset(name: string, ws: string, fetch: string[], rounds: number): Json {
  if (!existsSync(join(ws, 'tables', 'features', '_snapshot.json'))) {
    cli(ws, ['fetch', ...fetch]);
    cli(ws, ['ingest']);
    cli(ws, ['features']);
  }
  const best = new Map<string, Json>();
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? RUNS : [...RUNS].reverse();
    for (const [label, args] of order) {
      const r = cli(ws, ['train', ...args]);
      const m = r.data.metrics.gbdt;
      const row = { run: label, cv_rmse_log: r.data.cv_rmse_log ?? null, trees: r.data.protocol?.trees ?? null, test_rmse_log: m.rmse_log, test_r2_log: m.r2_log, test_rmse: m.rmse, test_r2: m.r2, test_mae: m.mae, naive_rmse_log: r.data.metrics.naive.rmse_log, naive_rmse: r.data.metrics.naive.rmse, coverage_90: r.data.intervals?.coverage?.find((c: Json) => c.coverage === 0.9)?.covered ?? null, wall_s: r.seconds, peak_rss_mb: r.peak_rss_mb };
      const prev = best.get(label);
      if (!prev || row.wall_s < prev.wall_s) best.set(label, row);
    }
  }
  const rows = RUNS.map(([label]) => best.get(label)!);
  for (const r of rows) process.stderr.write(`[objectives ${name}] ${r.run}: cv ${r.cv_rmse_log === null ? '-' : r.cv_rmse_log.toFixed(4)}, test rmse_log ${r.test_rmse_log.toFixed(4)}, rmse ${r.test_rmse.toExponential(3)}, r2 ${r.test_r2.toFixed(4)}, ${r.wall_s.toFixed(2)} s\n`);
  return { dataset: name, rows };
}

export async function runObjectivesBench(argv: string[]): Promise<Json> {
  const symbols = opt(argv, '--symbols', 300);
  const years = opt(argv, '--years', 8);
  const rounds = opt(argv, '--rounds', 2);
  const results: Json[] = [];
  const real = join(SHARED, 'data', 'kaggle-sample');
  if (argv.includes('--no-real')) results.push({ dataset: 'real sample', skipped: '--no-real' });
  else if (!existsSync(real)) results.push({ dataset: 'real sample', skipped: `${real} is absent` });
  else results.push(dataset('real', join(CACHE, 'ws-protocol-real'), ['--source', `dir:${real}`], rounds));
  const synWs = join(CACHE, `ws-protocol-syn-${symbols}x${years}`);
  results.push(dataset(`synthetic ${symbols} symbols × ${years} years`, synWs, ['--source', 'synthetic', '--symbols', String(symbols), '--years', String(years)], rounds));
  const out = { bench: 'objectives', machine: machine(), rounds, results };
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'objectives.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
