/** @module bench/forecast-skill
 * `npx tsx bench/forecast-skill.ts <workspace> <model-id> [--block-days N] [--draws N]`: how sure a
 * day-ahead model's volume skill on its test slice is. Scores the registered model (its own inputs,
 * its recorded test cut) on the workspace's features, then prints the skill (1 − MAE / MAE of
 * persistence, raw volume) of the whole slice, of each calendar year of target days, and a 95%
 * interval from a block bootstrap: the slice's trading days cut into blocks of N consecutive days
 * (20 by default; a block keeps its days' volume regime and its symbols' cross-correlation), drawn
 * with replacement `draws` times (2000), the skill of each draw's summed errors; seeded, so the same
 * run gives the same interval. Reads the test slice only for the report: nothing here trains. JSON on stdout. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { civilFromDays } from '../src/core/calendar.js';
import { createRng } from '../src/core/rng.js';
import { Workspace } from '../src/core/workspace.js';
import { openDuckDB } from '../src/db/duckdb.js';
import { loadForecastFrame } from '../src/ml/forecast-dataset.js';
import { forecastFromJSON } from '../src/ml/forecast-model.js';
import { forecastTestCut } from '../src/ml/forecast-train.js';
import { inputs, range, size } from '../src/ml/forecast-slices.js';
import { predictBatch } from '../src/ml/gbdt/model.js';
import { featuresRead, readLabel } from '../src/ml/rescore.js';
import { makeSlicesFromDays } from '../src/ml/train.js';
import { sourceOf } from '../src/store/read.js';

const args = process.argv.slice(2);
const [root, id] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!root || !id) throw new Error('usage: tsx bench/forecast-skill.ts <workspace> <model-id> [--block-days N] [--draws N]');
const opt = (name: string, dflt: number): number => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const blockDays = opt('--block-days', 20);
const draws = opt('--draws', 2000);

const ws = new Workspace(root, { threads: 2, memoryLimit: '1GB' });
const folder = join(ws.root, 'models', id);
const model = forecastFromJSON(await readFile(join(folder, 'model.json'), 'utf8'), 'model.json');
const { split } = JSON.parse(await readFile(join(folder, 'metrics.json'), 'utf8')) as { split: { test_from: string | null } };
const t = featuresRead(ws);
const db = await openDuckDB(ws.duckdbSettings());
// As `evaluate` loads it: cut at the test slice, only the test rows' inputs computed, only the model's own.
const frame = await loadForecastFrame(db.connection, sourceOf(t), readLabel(ws, t), undefined, model.featureNames, forecastTestCut(split.test_from ?? undefined), 'skip').finally(() => db.close());
const test = range(makeSlicesFromDays(frame.set.targetDay, split.test_from ?? undefined).test);
const n = size(test);
const pred = predictBatch(model.volume, inputs(frame, model.volume.featureNames, test), new Float64Array(n));

// Per row: the model's and persistence's absolute errors on raw volume, and the target day.
const err = new Float64Array(n);
const errPersistence = new Float64Array(n);
const day = frame.set.targetDay.subarray(test.lo, test.hi);
for (let k = 0; k < n; k++) {
  const i = frame.set.row[test.lo + k]!;
  err[k] = Math.abs(frame.volume[i + 1]! - pred[k]!);
  errPersistence[k] = Math.abs(frame.volume[i + 1]! - frame.volume[i]!);
}
const skillOf = (a: number, b: number): number => 1 - a / b;

/** Sums of both errors per group (group of row k: `of(k)`, 0 … groups − 1). */
function sums(groups: number, of: (k: number) => number): { e: Float64Array; p: Float64Array } {
  const e = new Float64Array(groups);
  const p = new Float64Array(groups);
  for (let k = 0; k < n; k++) {
    const g = of(k);
    e[g]! += err[k]!;
    p[g]! += errPersistence[k]!;
  }
  return { e, p };
}

const whole = sums(1, () => 0);
const years = [...new Set(Array.from(day, (d) => Number(civilFromDays(d).slice(0, 4))))].sort((a, b) => a - b);
const yearOf = Int32Array.from(day, (d) => years.indexOf(Number(civilFromDays(d).slice(0, 4))));
const byYear = sums(years.length, (k) => yearOf[k]!);
const yearRows = years.map((_, g) => yearOf.filter((x) => x === g).length);
// Rows are sorted by target day: a block is a run of `blockDays` distinct days.
const blockOf = new Int32Array(n);
let blocks = 0;
for (let k = 0, days = 0; k < n; k++) {
  if (k > 0 && day[k] !== day[k - 1]) days++;
  blockOf[k] = Math.floor(days / blockDays);
  blocks = blockOf[k]! + 1;
}
const byBlock = sums(blocks, (k) => blockOf[k]!);
const rng = createRng(1);
const drawn: number[] = [];
for (let r = 0; r < draws; r++) {
  let e = 0;
  let p = 0;
  for (let j = 0; j < blocks; j++) {
    const b = rng.int(blocks);
    e += byBlock.e[b]!;
    p += byBlock.p[b]!;
  }
  drawn.push(skillOf(e, p));
}
drawn.sort((a, b) => a - b);
const at = (q: number): number => drawn[Math.min(draws - 1, Math.floor(q * draws))]!;
const round = (x: number): number => Math.round(x * 1e4) / 1e4;
process.stdout.write(`${JSON.stringify({
  model_id: id,
  test: { from: civilFromDays(day[0]!), to: civilFromDays(day[n - 1]!), rows: n },
  skill_volume: skillOf(whole.e[0]!, whole.p[0]!),
  by_year: years.map((y, g) => ({ year: y, rows: yearRows[g], skill_volume: round(skillOf(byYear.e[g]!, byYear.p[g]!)) })),
  bootstrap: { block_days: blockDays, blocks, draws, interval_95: [round(at(0.025)), round(at(0.975))] },
}, null, 1)}\n`);
