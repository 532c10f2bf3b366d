/** Monotone constraints (LightGBM's basic method, SPEC §15's optional constraint on vol_moving_avg):
 * a constrained input can only move the prediction one way, with the other input fixed, on both tree
 * growers, with threads; the same data unconstrained does not (so the check can fail). */
import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { trainGbdt } from './booster.js';
import { predictBatch, toJSON } from './model.js';
import { resolveGbdtParams } from './params.js';
import type { TrainSet } from './dataset.js';

/** y rises with x0 overall but wiggles (sin), plus x1 and noise: a free tree follows the wiggles. */
function wiggly(n: number, seed: number, sign = 1): TrainSet {
  const rng = createRng(seed);
  const x0 = new Float64Array(n);
  const x1 = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    x0[i] = rng.next() * 10;
    x1[i] = rng.next() * 10;
    y[i] = sign * (0.3 * x0[i]! + Math.sin(2 * x0[i]!)) + 0.5 * x1[i]! + 0.1 * (rng.next() - 0.5);
  }
  return { columns: [x0, x1], y };
}

/** The largest fall (sign 1) or rise (sign −1) of the prediction along x0 at a few fixed x1. */
function worstStep(model: Parameters<typeof predictBatch>[0], sign: number): number {
  let worst = 0;
  for (const at of [0.5, 3, 5.5, 9.5]) {
    const m = 1001;
    const x0 = Float64Array.from({ length: m }, (_, i) => (i / (m - 1)) * 10);
    const p = predictBatch(model, [x0, new Float64Array(m).fill(at)], new Float64Array(m));
    for (let i = 1; i < m; i++) worst = Math.max(worst, sign * (p[i - 1]! - p[i]!));
  }
  return worst;
}

describe('monotone_constraints', () => {
  for (const [grower, shape] of [
    ['level-wise', { max_depth: 5, num_leaves: 32 }],
    ['leaf-wise', { max_depth: -1, num_leaves: 20 }],
  ] as const) {
    for (const sign of [1, -1]) {
      it(`${grower}, ${sign > 0 ? 'increasing' : 'decreasing'}: the prediction never moves against x0, the free model does; the fit stays close`, async () => {
        const train = wiggly(8_000, 7, sign);
        const base = { num_trees: 60, learning_rate: 0.2, min_data_in_leaf: 20, ...shape };
        const free = await trainGbdt(train, null, base);
        const held = await trainGbdt(train, null, { ...base, monotone_constraints: `${sign},0` });
        expect(worstStep(free.model, sign)).toBeGreaterThan(0.05);
        expect(worstStep(held.model, sign)).toBe(0);
        // Held to a monotone shape it fits worse than free, but far better than the mean.
        const lastLoss = (r: typeof free): number => r.log.at(-1)!.train_loss!;
        expect(lastLoss(held)).toBeGreaterThan(lastLoss(free));
        expect(lastLoss(held)).toBeLessThan(0.2 * free.initial_train_loss);
        expect((JSON.parse(toJSON(held.model)) as { params: Record<string, unknown> }).params.monotone_constraints).toBe(`${sign},0`);
        expect('monotone_constraints' in (JSON.parse(toJSON(free.model)) as { params: Record<string, unknown> }).params).toBe(false);
      });
    }
  }

  it('holds with worker threads and bagging as in-process', async () => {
    const train = wiggly(6_000, 9);
    const p = { num_trees: 30, learning_rate: 0.2, max_depth: 4, num_leaves: 16, bagging_fraction: 0.7, monotone_constraints: '1,0' };
    const one = await trainGbdt(train, null, p);
    const two = await trainGbdt(train, null, { ...p, threads: 2 });
    expect(worstStep(two.model, 1)).toBe(0);
    expect(toJSON(two.model)).toBe(toJSON(one.model));
  });

  it('refuses a malformed value or one naming another number of inputs (SP_ERR_TRAIN_PARAMS)', async () => {
    for (const bad of ['2,0', '1;0', 'up', '1,', ' 1,0']) expect(() => resolveGbdtParams({ monotone_constraints: bad })).toThrow(StockpipeError);
    const err = await trainGbdt(wiggly(500, 1), null, { num_trees: 2, monotone_constraints: '1,0,0' }).then(() => null, (e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_TRAIN_PARAMS');
    expect((err as StockpipeError).message).toContain('names 3 inputs');
  });
});
