import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { trainForest } from './forest.js';
import { predict, predictBatch, toJSON, treeValue } from './model.js';
import { mse, synthetic, variance } from './test-data.js';

describe('trainForest', () => {
  it('OOB RMSE is close to the test RMSE, and predictions beat the mean', async () => {
    const train = synthetic(20_000, 31, 0.3);
    const test = synthetic(10_000, 32, 0.3);
    const r = await trainForest(train, { num_trees: 40 });
    const pred = predictBatch(r.model, test.columns, new Float64Array(test.y.length));
    const testRmse = Math.sqrt(mse(pred, test.y));
    expect(r.oob_rows).toBeGreaterThan(0.99 * train.y.length);
    expect(Math.abs(r.oob_rmse - testRmse) / testRmse).toBeLessThan(0.1);
    expect(testRmse ** 2).toBeLessThan(0.3 * variance(test.y));
    expect(r.model).toMatchObject({ kind: 'rf', aggregation: 'mean', baseScore: 0 });
    expect(r.model.trees).toHaveLength(40);
    expect(r.model.params).toMatchObject({ num_trees: 40, max_depth: 6 });
  });

  it('predicts the mean of its trees', async () => {
    const train = synthetic(3_000, 33);
    const { model } = await trainForest(train, { num_trees: 7, max_depth: 4 });
    const rng = createRng(1);
    for (let i = 0; i < 200; i++) {
      const row = [rng.next() * 10, rng.normal()];
      let s = 0;
      for (const t of model.trees) s += treeValue(t, row);
      expect(predict(model, row)).toBe(s / model.trees.length);
    }
  });

  it('leaf values are bootstrap means: a single stump of y = step(x) recovers the step', async () => {
    const n = 200; // ≤ 255 distinct values: one bin per value
    const x = Float64Array.from({ length: n }, (_, i) => i / n);
    const y = Float64Array.from(x, (v) => (v <= 0.25 ? 2 : 5));
    const { model } = await trainForest({ columns: [x], y }, { num_trees: 1, max_depth: 1 });
    const t = model.trees[0]!;
    expect(t.threshold[0]).toBe(0.25);
    expect([...t.value.slice(1)]).toEqual([2, 5]);
  });

  it('more trees are not worse (test RMSE)', async () => {
    const train = synthetic(8_000, 35, 0.5);
    const test = synthetic(8_000, 36, 0.5);
    const rmse = async (k: number): Promise<number> => {
      const { model } = await trainForest(train, { num_trees: k, max_features: 1 });
      return Math.sqrt(mse(predictBatch(model, test.columns, new Float64Array(test.y.length)), test.y));
    };
    const few = await rmse(3);
    const many = await rmse(60);
    expect(many).toBeLessThanOrEqual(few);
  });

  it('is deterministic across runs and thread counts', async () => {
    const train = synthetic(140_000, 37);
    const a = await trainForest(train, { num_trees: 4, threads: 1 });
    const b = await trainForest(train, { num_trees: 4, threads: 2 });
    expect(toJSON(b.model)).toBe(toJSON(a.model));
    expect(b.oob_rmse).toBe(a.oob_rmse);
    const c = await trainForest(train, { num_trees: 4, threads: 1, seed: 1 });
    expect(toJSON(c.model)).not.toBe(toJSON(a.model));
  });

  it('grows leaf-wise when num_leaves < 2^max_depth', async () => {
    const train = synthetic(5_000, 38);
    const { model, oob_rmse } = await trainForest(train, { num_trees: 5, max_depth: 8, num_leaves: 10 });
    for (const t of model.trees) expect([...t.feature].filter((f) => f < 0).length).toBeLessThanOrEqual(10);
    expect(oob_rmse).toBeLessThan(Math.sqrt(variance(train.y)));
  });
});
