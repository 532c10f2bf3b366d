/** @module bench/forecast-refit
 * `npx tsx bench/forecast-refit.ts <workspace> <origin>... [--threads N]`: what refitting the
 * day-ahead model on newer data is worth (the daily pipeline's `train --test-days`). Trains the
 * default day-ahead model (the cv protocol: trees chosen on the validation window, refitted on every
 * row before the test cut) once with train's default cut, and once per origin with the cut at that
 * origin; scores both on the target days from each origin to the next (the last origin only ends the
 * last period) and prints the volume skill against persistence (1 − MAE / MAE of persistence, raw
 * volume) of each. Every score is out of sample: each model is scored on days after its cut. JSON
 * lines on stdout. */
import { toDayNumber } from '../src/core/calendar.js';
import { silentProgress } from '../src/core/progress.js';
import { Workspace } from '../src/core/workspace.js';
import { openDuckDB } from '../src/db/duckdb.js';
import { FORECAST_FEATURES, loadForecastFrame, type ForecastFrame } from '../src/ml/forecast-dataset.js';
import { firstRowFrom, volumeMaeRatio } from '../src/ml/forecast-slices.js';
import { trainForecastModel, type ForecastTrainParams } from '../src/ml/forecast-train.js';
import type { TreeModel } from '../src/ml/gbdt/model.js';
import { featuresRead, readLabel } from '../src/ml/rescore.js';
import { sourceOf } from '../src/store/read.js';

const args = process.argv.slice(2);
const threads = args.includes('--threads') ? Number(args[args.indexOf('--threads') + 1]) : 2;
const [root, ...origins] = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--threads');
if (!root || origins.length < 2) throw new Error('usage: tsx bench/forecast-refit.ts <workspace> <origin> <origin>... [--threads N]');

const ws = new Workspace(root, { threads, memoryLimit: '1GB' });
const t = featuresRead(ws);
const db = await openDuckDB(ws.duckdbSettings());
const frame: ForecastFrame = await loadForecastFrame(db.connection, sourceOf(t), readLabel(ws, t), undefined, FORECAST_FEATURES).finally(() => db.close());
const all = { lo: 0, hi: frame.set.row.length };

/** Volume skill of `model` on the rows whose target day is in [from, to). */
function skill(model: TreeModel, from: string, to: string): { rows: number; skill_volume: number } {
  const r = { lo: firstRowFrom(frame, all, toDayNumber(from)), hi: firstRowFrom(frame, all, toDayNumber(to)) };
  return { rows: r.hi - r.lo, skill_volume: 1 - volumeMaeRatio(frame, model, r) };
}

// train --task forecast's defaults (its tree flags; the volume booster's Huber loss comes with them).
const params: ForecastTrainParams = { seed: 42, threads, trees: 1000, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 100, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 10, protocol: 'cv' };
const fixed = await trainForecastModel(frame, params, { progress: silentProgress });
const fixedCut = fixed.split.test_from!;
for (let k = 0; k + 1 < origins.length; k++) {
  if (origins[k]! < fixedCut) throw new Error(`origin ${origins[k]} is before the default cut ${fixedCut}: that model would be scored on rows it was fitted on`);
  const refit = await trainForecastModel(frame, { ...params, testFrom: origins[k] }, { progress: silentProgress });
  const a = skill(fixed.model.volume, origins[k]!, origins[k + 1]!);
  const b = skill(refit.model.volume, origins[k]!, origins[k + 1]!);
  process.stdout.write(`${JSON.stringify({ from: origins[k], to: origins[k + 1], rows: a.rows, default_cut: fixedCut, skill_default_cut: a.skill_volume, skill_refit_to_origin: b.skill_volume, refit_trees: refit.best_iteration.volume })}\n`);
}
