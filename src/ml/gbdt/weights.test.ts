import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../core/errors.js';
import { trainGbdt } from './booster.js';
import type { TrainSet } from './dataset.js';
import { predictBatch, toJSON } from './model.js';
import { synthetic } from './test-data.js';

/** Features on a grid of < 255 distinct values, so bin edges sit on the values whatever the row counts. */
function gridSet(n: number, seed: number): TrainSet & { columns: Float64Array[]; y: Float64Array } {
  const s = synthetic(n, seed, 0.3);
  for (const c of s.columns) for (let i = 0; i < n; i++) c[i] = Math.round(c[i]! * 10) / 10;
  return s;
}

/** Each row repeated weight[i] times. */
function repeat(set: TrainSet & { columns: Float64Array[]; y: Float64Array }, w: Float64Array): TrainSet {
  const idx: number[] = [];
  for (let i = 0; i < w.length; i++) for (let k = 0; k < w[i]!; k++) idx.push(i);
  return { columns: set.columns.map((c) => Float64Array.from(idx, (i) => c[i]!)), y: Float64Array.from(idx, (i) => set.y[i]!), featureNames: set.featureNames };
}

const shapes = [
  ['level-wise', { max_depth: 4, num_leaves: 16 }],
  ['leaf-wise', { max_depth: -1, num_leaves: 12 }],
] as const;

describe('trainGbdt sample weights', () => {
  for (const [name, shape] of shapes) {
    it(`${name}: integer weights train the model of the rows repeated that many times`, async () => {
      const set = gridSet(3_000, 11);
      const w = Float64Array.from({ length: 3_000 }, (_, i) => (i * 7) % 3); // 0, 1, 2: a third of the rows dropped
      const params = { num_trees: 15, learning_rate: 0.3, min_data_in_leaf: 0, min_sum_hessian_in_leaf: 1, bin_sample_size: 1e6, ...shape };
      const weighted = await trainGbdt({ ...set, weight: w }, null, params);
      const repeated = await trainGbdt(repeat(set, w), null, params);
      const probe = gridSet(500, 12);
      const a = predictBatch(weighted.model, probe.columns, new Float64Array(500));
      const b = predictBatch(repeated.model, probe.columns, new Float64Array(500));
      for (let i = 0; i < 500; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
      expect(weighted.model.baseScore).toBeCloseTo(repeated.model.baseScore, 12);
      expect(weighted.log[14]!.train_loss!).toBeCloseTo(repeated.log[14]!.train_loss!, 6);
      // and the weights matter: the unweighted model differs
      const plain = await trainGbdt(set, null, params);
      const c = predictBatch(plain.model, probe.columns, new Float64Array(500));
      expect(Math.max(...a.map((v, i) => Math.abs(v - c[i]!)))).toBeGreaterThan(1e-3);
    });
  }

  it('is deterministic: same data, weights and seed give the same model file, whatever the threads', async () => {
    const set = synthetic(40_000, 3);
    const w = Float64Array.from({ length: 40_000 }, (_, i) => 0.5 ** ((40_000 - i) / 10_000));
    const params = { num_trees: 8, bagging_fraction: 0.7, feature_fraction: 0.5, seed: 9 };
    const a = await trainGbdt({ ...set, weight: w }, null, params);
    const b = await trainGbdt({ ...set, weight: w }, null, { ...params, threads: 2 });
    expect(toJSON(a.model)).toBe(toJSON(b.model));
  });

  it('rejects weights that are negative, not finite, of the wrong length or all zero', async () => {
    const set = synthetic(100, 4);
    for (const weight of [Float64Array.of(-1, ...new Array<number>(99).fill(1)), new Float64Array(100).fill(Number.NaN), new Float64Array(99).fill(1), new Float64Array(100)]) {
      const err = await trainGbdt({ ...set, weight }, null, { num_trees: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(StockpipeError);
      expect((err as StockpipeError).code).toBe('SP_ERR_TRAIN_DATA');
    }
  });
});
