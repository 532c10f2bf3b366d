/** @module bench/forecast-inputs
 * `npx tsx bench/forecast-inputs.ts <workspace> [--threads N] [--seed S] [--feature-fraction F] [--each | --add a,b [--with c,d] | --ceiling]`: how much each group of day-ahead
 * inputs (ml/forecast-inputs) adds. Loads the workspace's features table (built with --extended)
 * once with every input stockpipe computes, then trains the day-ahead model (the CLI's defaults:
 * depth 6, 64 leaves, ≤ 1000 trees, early stopping on the validation window; seed 42 unless --seed, every input in every tree unless --feature-fraction: with it, the seed
 * draws each tree's inputs and so moves the skill, which is how large a gain must be to mean anything) on the base inputs,
 * base + each group, every group, and every group but one. Prints the volume skill against
 * persistence on the validation window (what the inputs are chosen by) and on the test slice (reported, never
 * used to choose), with the trees kept. With --each: the default inputs, and without each non-base
 * input in turn. With --add a,b: the default inputs (and those named by --with c,d), plus each named one, plus all of them. With --ceiling: the volume booster fitted on the test slice itself and scored there
 * (in-sample: how far the default inputs can go at all). JSON on stdout. */
import { Workspace } from '../src/core/workspace.js';
import { silentProgress } from '../src/core/progress.js';
import { inputGroup, KNOWN_INPUTS } from '../src/ml/forecast-inputs.js';
import type { ForecastFrame } from '../src/ml/forecast-dataset.js';
import { forecastVolumeParams, trainForecastModel } from '../src/ml/forecast-train.js';
import { fitForecastVolume, range, volumeMaeRatio } from '../src/ml/forecast-slices.js';
import { makeSlicesFromDays } from '../src/ml/train.js';
import { openDuckDB } from '../src/db/duckdb.js';
import { featuresRead, readLabel } from '../src/ml/rescore.js';
import { FORECAST_FEATURES, loadForecastFrame } from '../src/ml/forecast-dataset.js';
import { sourceOf } from '../src/store/read.js';

const args = process.argv.slice(2);
const root = args.find((a) => !a.startsWith('--'));
if (!root) throw new Error('usage: tsx bench/forecast-inputs.ts <workspace> [--threads N] [--seed S] [--feature-fraction F] [--each | --add a,b [--with c,d] | --ceiling]');
const threads = Number(args[args.indexOf('--threads') + 1] ?? 1) || 1;
const seed = args.includes('--seed') ? Number(args[args.indexOf('--seed') + 1]) : 42;
if (!Number.isInteger(seed)) throw new Error('--seed takes an integer');
const featureFraction = args.includes('--feature-fraction') ? Number(args[args.indexOf('--feature-fraction') + 1]) : 1;
if (!(featureFraction > 0 && featureFraction <= 1)) throw new Error('--feature-fraction takes a number in (0, 1]');
const withInputs = args.includes('--with') ? (args[args.indexOf('--with') + 1] ?? '').split(',').filter((n) => n !== '') : [];
const ws = new Workspace(root, { threads, memoryLimit: '1GB' });
const t = featuresRead(ws);
const t0 = performance.now();
const db = await openDuckDB(ws.duckdbSettings());
const frame = await loadForecastFrame(db.connection, sourceOf(t), readLabel(ws, t), undefined, KNOWN_INPUTS).finally(() => db.close());
const loadSeconds = (performance.now() - t0) / 1000;

const groups = [...new Set(KNOWN_INPUTS.map((n) => inputGroup(n)!))].filter((g) => g !== 'base');
const withGroups = (gs: string[]): string[] => KNOWN_INPUTS.filter((n) => inputGroup(n) === 'base' || gs.includes(inputGroup(n)!));

function view(names: string[]): ForecastFrame {
  return { ...frame, set: { ...frame.set, features: names, blocks: frame.set.blocks.map((b) => ({ ...b, x: names.map((n) => b.x[frame.set.features.indexOf(n)]!) })) } };
}

const runs = new Map<string, { variant: string; valid_skill_volume: number } & Record<string, unknown>>();
async function run(gs: string[], only?: string[], label?: string): Promise<number> {
  const key = label ?? (gs.length === 0 ? 'base' : `base+${[...gs].sort().join('+')}`);
  const known = runs.get(key);
  if (known) return known.valid_skill_volume;
  const names = only ?? withGroups(gs);
  const s0 = performance.now();
  // The holdout protocol: inputs are chosen on the validation window, which the default refit does not change (half the fits).
  const out = await trainForecastModel(view(names), { seed, threads, trees: 1000, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 100, lambdaL2: 1, baggingFraction: 1, featureFraction, earlyStopping: 10, protocol: 'holdout' }, { progress: silentProgress });
  const r = {
    variant: key,
    inputs: names.length,
    valid_skill_volume: out.valid_metrics?.skill_volume ?? NaN,
    valid_skill_volume_log: out.valid_metrics?.skill_volume_log ?? null,
    test_skill_volume: out.metrics.forecast!.skill_volume,
    test_skill_volume_log: out.metrics.forecast!.skill_volume_log,
    test_skill_adj_close: out.metrics.forecast!.skill_adj_close,
    trees_volume: out.best_iteration.volume,
    seconds: Math.round(performance.now() - s0) / 1000,
  };
  runs.set(key, r);
  process.stderr.write(`${JSON.stringify(r)}\n`);
  return r.valid_skill_volume;
}

// --ceiling: the volume booster fitted on the test slice itself and scored on those same rows (no
// early stopping, 100 and 300 trees, the default loss): an in-sample fit, so an upper bound on the
// test skill the default inputs can reach at that many trees. Never a model: it reads the test targets.
if (args.includes('--ceiling')) {
  const names = [...FORECAST_FEATURES] as string[];
  const f = view(names);
  const s = makeSlicesFromDays(f.set.targetDay);
  const test = range(s.test);
  const out = [];
  for (const trees of [100, 300]) {
    const params = { ...forecastVolumeParams({ seed, threads, trees, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 100, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 0 }), early_stopping_rounds: 0 };
    const { result } = await fitForecastVolume(f, test, null, params, {}, {});
    out.push({ trees, in_sample_test_skill_volume: 1 - volumeMaeRatio(f, result.model, test) });
  }
  process.stdout.write(`${JSON.stringify({ workspace: ws.root, test_rows: test.hi - test.lo, ceiling: out }, null, 1)}\n`);
  process.exit(0);
}

// --add a,b: the default inputs, the default plus each named input alone, and plus all of them.
if (args.includes('--add')) {
  for (const n of withInputs) if (!KNOWN_INPUTS.includes(n) || (FORECAST_FEATURES as readonly string[]).includes(n)) throw new Error(`--with: '${n}' is not a computed input outside the default`);
  const chosen = [...FORECAST_FEATURES, ...withInputs] as string[];
  const extra = (args[args.indexOf('--add') + 1] ?? '').split(',').filter((n) => n !== '');
  for (const n of extra) if (!KNOWN_INPUTS.includes(n) || chosen.includes(n)) throw new Error(`--add: '${n}' is not a computed input outside the default`);
  const all = await run([], chosen, 'default');
  for (const n of extra) await run([], [...chosen, n], `default+${n}`);
  if (extra.length > 1) await run([], [...chosen, ...extra], `default+${extra.join('+')}`);
  process.stdout.write(`${JSON.stringify({ workspace: ws.root, seed, feature_fraction: featureFraction, default_valid_skill_volume: all, runs: [...runs.values()] }, null, 1)}\n`);
  process.exit(0);
}

// --each: the default inputs (FORECAST_FEATURES), and without each input beyond the base one at a time.
if (args.includes('--each')) {
  const chosen = [...FORECAST_FEATURES] as string[];
  const all = await run([], chosen, 'default');
  for (const n of chosen.filter((x) => inputGroup(x) !== 'base')) await run([], chosen.filter((x) => x !== n), `default-${n}`);
  process.stdout.write(`${JSON.stringify({ workspace: ws.root, seed, feature_fraction: featureFraction, default_valid_skill_volume: all, runs: [...runs.values()] }, null, 1)}\n`);
  process.exit(0);
}
// Each group alone on top of the base, all of them, all but each one.
for (const g of groups) await run([g]);
await run(groups);
for (const g of groups) await run(groups.filter((x) => x !== g));
// Forward selection by validation skill: add the group that helps most while one helps.
const chosen: string[] = [];
let best = await run([]);
for (;;) {
  let pick: string | null = null;
  let pickSkill = best;
  for (const g of groups.filter((x) => !chosen.includes(x))) {
    const v = await run([...chosen, g]);
    if (v > pickSkill) {
      pick = g;
      pickSkill = v;
    }
  }
  if (pick === null) break;
  chosen.push(pick);
  best = pickSkill;
}
process.stdout.write(`${JSON.stringify({ workspace: ws.root, rows: frame.rows, training_rows: frame.set.row.length, load_seconds: loadSeconds, chosen, valid_skill_volume: best, runs: [...runs.values()] }, null, 1)}\n`);
