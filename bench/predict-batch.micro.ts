/** @module bench/predict-batch.micro
 * `tsx bench/predict-batch.micro.ts [--trees=N] [--rows=N] [--runs=N]`: ns per tree and row of
 * predictBatchRaw (rows in blocks, tree by tree) next to predictRaw called row by row, which reads
 * every tree for every row, on random trees of the day-ahead volume booster's shape (64 leaves,
 * 25 Float32 inputs, an offset). Checks that both give the same numbers; min of runs. */
import { createRng } from '../src/core/rng.js';
import { predictBatchRaw, predictRaw, type TreeArrays, type TreeModel } from '../src/ml/gbdt/model.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => Number(args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);
const trees = opt('trees', 940);
const rows = opt('rows', 100_000);
const runs = opt('runs', 3);
const INPUTS = 25;
const LEAVES = 64;
const rng = createRng(7);

/** A tree grown by splitting a random leaf (depth ≤ 8) on a random input until it has LEAVES leaves. */
function randomTree(): TreeArrays {
  const feature = [-1];
  const threshold = [0];
  const left = [-1];
  const right = [-1];
  const depth = [0];
  const leaf = (d: number): number => {
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    depth.push(d);
    return feature.length - 1;
  };
  for (let leaves = 1; leaves < LEAVES; leaves++) {
    const open = feature.flatMap((f, i) => (f < 0 && depth[i]! < 8 ? [i] : []));
    const i = open[Math.floor(rng.next() * open.length)]!;
    feature[i] = Math.floor(rng.next() * INPUTS);
    threshold[i] = rng.normal();
    left[i] = leaf(depth[i]! + 1);
    right[i] = leaf(depth[i]! + 1);
  }
  return { feature: Int32Array.from(feature), threshold: Float64Array.from(threshold), left: Int32Array.from(left), right: Int32Array.from(right), value: Float64Array.from(feature, () => rng.normal() * 0.01) };
}

const model: TreeModel = { kind: 'gbdt', featureNames: Array.from({ length: INPUTS }, (_, i) => `x${i}`), baseScore: 0.1, aggregation: 'sum', targetTransform: 'identity', params: {}, trees: Array.from({ length: trees }, randomTree), offset: { feature: 0, transform: 'identity' } };
const columns = Array.from({ length: INPUTS }, () => Float32Array.from({ length: rows }, () => rng.normal()));

function rowByRow(out: Float64Array): Float64Array {
  const row = new Float64Array(INPUTS);
  for (let r = 0; r < rows; r++) {
    for (let f = 0; f < INPUTS; f++) row[f] = columns[f]![r]!;
    out[r] = predictRaw(model, row);
  }
  return out;
}

let best = { batch: Infinity, rowByRow: Infinity };
let same = true;
for (let k = 0; k < runs; k++) {
  let t0 = performance.now();
  const a = predictBatchRaw(model, columns, new Float64Array(rows));
  const tBatch = performance.now() - t0;
  t0 = performance.now();
  const b = rowByRow(new Float64Array(rows));
  const tRow = performance.now() - t0;
  for (let i = 0; i < rows && same; i++) same = Object.is(a[i], b[i]);
  best = { batch: Math.min(best.batch, tBatch), rowByRow: Math.min(best.rowByRow, tRow) };
}
const ns = (ms: number): number => Math.round((ms * 1e6) / (rows * trees) * 10) / 10;
process.stdout.write(`${JSON.stringify({ trees, rows, inputs: INPUTS, leaves: LEAVES, ns_per_tree_row: { batch: ns(best.batch), row_by_row: ns(best.rowByRow) }, speedup: Math.round((best.rowByRow / best.batch) * 100) / 100, same_numbers: same })}\n`);
if (!same) process.exitCode = 1;
