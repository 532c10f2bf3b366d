import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../core/errors.js';
import { binSets, trainGbdt } from './booster.js';
import { predictBatch, toJSON } from './model.js';
import { mse, synthetic, variance } from './test-data.js';

const codeOf = async (p: Promise<unknown>): Promise<string | undefined> =>
  p.then(
    () => undefined,
    (e: unknown) => (e instanceof StockpipeError ? e.code : String(e)),
  );

describe('trainGbdt', () => {
  for (const [name, shape] of [
    ['level-wise', { max_depth: 6, num_leaves: 64 }],
    ['leaf-wise', { max_depth: -1, num_leaves: 15 }],
  ] as const) {
    it(`${name}: training loss falls monotonically and the model beats the mean clearly`, async () => {
      const train = synthetic(20_000, 1);
      const test = synthetic(5_000, 2);
      const r = await trainGbdt(train, null, { num_trees: 40, learning_rate: 0.2, ...shape });
      expect(r.log).toHaveLength(40);
      expect(r.initial_train_loss).toBeCloseTo(variance(train.y), 9);
      let prev = r.initial_train_loss;
      for (const { train_loss } of r.log) {
        expect(train_loss!).toBeLessThanOrEqual(prev * (1 + 1e-12));
        prev = train_loss!;
      }
      const pred = predictBatch(r.model, test.columns, new Float64Array(test.y.length));
      // noise variance is 0.01; the mean baseline's MSE is the variance (~0.7)
      expect(mse(pred, test.y)).toBeLessThan(0.05 * variance(test.y));
      // The model file predicts what training tracked.
      const fit = predictBatch(r.model, train.columns, new Float64Array(train.y.length));
      expect(mse(fit, train.y)).toBeCloseTo(r.log[39]!.train_loss!, 9);
    });
  }

  it('binned once (binSets) and shared by two boosters: each model is byte for byte the one it bins itself, from Float32 columns too', async () => {
    const train = synthetic(4_000, 11);
    const valid = synthetic(1_000, 12);
    const f32 = (s: typeof train) => ({ ...s, columns: s.columns.map((c) => Float32Array.from(c)) });
    for (const [t, v] of [[train, valid], [f32(train), f32(valid)]] as const) {
      const params = { num_trees: 15, early_stopping_rounds: 3, seed: 7 };
      const binned = binSets(t, v, params);
      const other = { ...t, y: t.y.map((y) => y * y) };
      const otherValid = { ...v, y: v.y.map((y) => y * y) };
      for (const [a, b] of [[t, v], [other, otherValid]] as const) {
        const own = await trainGbdt(a, b, params);
        const shared = await trainGbdt(a, b, params, {}, binned);
        expect(toJSON(shared.model)).toBe(toJSON(own.model));
      }
    }
    await expect(trainGbdt(train, null, {}, {}, binSets(train, valid))).rejects.toThrow(/binned sets/);
  });

  it('stops early when the validation loss stalls and keeps the best iteration', async () => {
    const train = synthetic(3_000, 5, 1.0);
    const valid = synthetic(2_000, 6, 1.0);
    const r = await trainGbdt(train, valid, { num_trees: 300, learning_rate: 0.5, max_depth: 6, num_leaves: 64, min_data_in_leaf: 2, early_stopping_rounds: 10 });
    expect(r.iterations).toBeLessThan(300);
    const losses = r.log.map((l) => l.valid_loss!);
    const best = losses.indexOf(Math.min(...losses)) + 1;
    expect(r.best_iteration).toBe(best);
    expect(r.iterations - best).toBe(10);
    expect(r.model.trees).toHaveLength(best);
    const pred = predictBatch(r.model, valid.columns, new Float64Array(valid.y.length));
    expect(mse(pred, valid.y)).toBeCloseTo(losses[best - 1]!, 9);
  });

  it('is deterministic: same seed → byte-identical model.json; another seed with bagging differs', async () => {
    const train = synthetic(5_000, 8);
    const params = { num_trees: 10, bagging_fraction: 0.7, feature_fraction: 0.5, max_depth: 4, num_leaves: 16 };
    const a = toJSON((await trainGbdt(train, null, params)).model);
    const b = toJSON((await trainGbdt(train, null, params)).model);
    const c = toJSON((await trainGbdt(train, null, { ...params, seed: 7 })).model);
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });

  for (const [name, shape] of [
    ['level-wise', { max_depth: 5, num_leaves: 32 }],
    ['leaf-wise', { max_depth: -1, num_leaves: 20 }],
  ] as const) {
    it(`${name}: threads 1 and 2 give the same model, byte for byte (and it fits)`, async () => {
      const train = synthetic(150_000, 9);
      const valid = synthetic(70_000, 10);
      const params = { num_trees: 8, learning_rate: 0.3, bagging_fraction: 0.8, ...shape };
      const one = await trainGbdt(train, valid, { ...params, threads: 1 });
      const two = await trainGbdt(train, valid, { ...params, threads: 2 });
      expect(toJSON(two.model)).toBe(toJSON(one.model));
      expect(two.log).toEqual(one.log);
      expect(two.log[7]!.valid_loss!).toBeLessThan(0.1 * variance(valid.y));
    });
  }

  it('stores feature names, the target transform, and the params without threads', async () => {
    const train = { ...synthetic(1_000, 3), targetTransform: 'log1p' as const };
    const { model } = await trainGbdt(train, null, { num_trees: 2, threads: 1 });
    expect(model).toMatchObject({ kind: 'gbdt', aggregation: 'sum', featureNames: ['x0', 'x1'], targetTransform: 'log1p' });
    expect(model.params).toMatchObject({ num_trees: 2, learning_rate: 0.1, objective: 'l2' });
    expect(model.params).not.toHaveProperty('threads');
  });

  it('rejects bad params (SP_ERR_TRAIN_PARAMS) and bad data (SP_ERR_TRAIN_DATA)', async () => {
    const d = synthetic(100, 1);
    expect(await codeOf(trainGbdt(d, null, { num_leaves: 1 }))).toBe('SP_ERR_TRAIN_PARAMS');
    expect(await codeOf(trainGbdt(d, null, { learning_rate: 0 }))).toBe('SP_ERR_TRAIN_PARAMS');
    expect(await codeOf(trainGbdt(d, null, { bogus: 1 } as never))).toBe('SP_ERR_TRAIN_PARAMS');
    expect(await codeOf(trainGbdt(d, null, { objective: 'quantile' } as never))).toBe('SP_ERR_TRAIN_PARAMS');
    const y = d.y.slice();
    y[3] = NaN;
    expect(await codeOf(trainGbdt({ ...d, y }, null))).toBe('SP_ERR_TRAIN_DATA');
    expect(await codeOf(trainGbdt({ ...d, columns: [d.columns[0]!, d.columns[1]!.subarray(1)] }, null))).toBe('SP_ERR_TRAIN_DATA');
    expect(await codeOf(trainGbdt(d, { ...d, columns: [d.columns[0]!] }))).toBe('SP_ERR_TRAIN_DATA');
  });

  it('with one thread, an abort from a timer (as from a signal handler) stops it between trees, not after the last', async () => {
    const train = synthetic(100_000, 4);
    const ac = new AbortController();
    let trees = 0;
    setTimeout(() => ac.abort(), 100);
    const p = trainGbdt(train, null, { num_trees: 2000, threads: 1, max_depth: 4, num_leaves: 16, early_stopping_rounds: 0 }, { signal: ac.signal, onIteration: (i) => { trees = i.iteration; } });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    expect(trees).toBeGreaterThan(0);
    expect(trees).toBeLessThan(2000);
  });

  it('aborts between trees (workers are closed) with the signal reason', async () => {
    const train = synthetic(150_000, 4);
    const ac = new AbortController();
    const p = trainGbdt(train, null, { num_trees: 50, threads: 2, max_depth: 4, num_leaves: 16 }, { signal: ac.signal, onIteration: (i) => i.iteration === 2 && ac.abort() });
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
  });
});
