import { describe, expect, it } from 'vitest';
import { fitPolyreg, predictPoly, solveLinear } from './baselines.js';
import { scorerFromJSON } from './volume-model.js';
import type { StockpipeError } from '../core/errors.js';

describe('polyreg', () => {
  it('solves linear systems exactly (pivoting)', () => {
    const x = solveLinear(Float64Array.from([0, 2, 1, 1, 1, 1, 2, 1, 0]), Float64Array.from([5, 4, 4]), 3);
    expect(Array.from(x).map((v) => Math.round(v * 1e12) / 1e12)).toEqual([1, 2, 1]);
  });

  it('recovers an exact degree-2 relation (the closed-form least-squares solution)', () => {
    const n = 500;
    const vma = new Float64Array(n);
    const acm = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      vma[i] = 1000 + ((i * 7919) % 100000);
      acm[i] = 5 + ((i * 104729) % 300) / 7;
      const a = Math.log1p(vma[i]!);
      const b = acm[i]!;
      y[i] = Math.expm1(0.5 + 0.9 * a - 0.01 * b + 0.002 * a * a + 0.0005 * a * b + 0.00001 * b * b);
    }
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    const m = fitPolyreg(vma, acm, y, idx);
    for (let i = 0; i < n; i += 37) expect(Math.log1p(predictPoly(m, vma[i]!, acm[i]!))).toBeCloseTo(Math.log1p(y[i]!), 8);
  });
});

describe('polyreg on degenerate inputs', () => {
  const n = 300;
  const idx = Int32Array.from({ length: n }, (_, i) => i);
  const rows = (price: (i: number) => number, vma: (i: number) => number) => {
    const v = Float64Array.from({ length: n }, (_, i) => vma(i));
    const p = Float64Array.from({ length: n }, (_, i) => price(i));
    const y = Float64Array.from({ length: n }, (_, i) => Math.expm1(0.3 + 0.95 * Math.log1p(v[i]!) + 0.02 * Math.sin(i)));
    return { v, p, y };
  };
  const finite = (m: ReturnType<typeof fitPolyreg>) => [...m.mean, ...m.std, ...m.coef].every(Number.isFinite);

  it('fits the other input when one is constant (one price throughout, one repeated volume, every volume 0)', () => {
    const price = rows(() => 10, (i) => 1000 + i * 37);
    const mp = fitPolyreg(price.v, price.p, price.y, idx);
    expect(finite(mp)).toBe(true);
    expect([mp.coef[2], mp.coef[4], mp.coef[5]]).toEqual([0, 0, 0]);
    expect(Math.log1p(predictPoly(mp, price.v[50]!, 10))).toBeCloseTo(Math.log1p(price.y[50]!), 1);
    // a price never seen moves nothing: the constant input's terms are 0
    expect(predictPoly(mp, price.v[50]!, 1e6)).toBe(predictPoly(mp, price.v[50]!, 10));
    const vol = rows((i) => 20 + (i % 17), () => 1000);
    const mv = fitPolyreg(vol.v, vol.p, vol.y, idx);
    expect(finite(mv)).toBe(true);
    expect([mv.coef[1], mv.coef[3], mv.coef[4]]).toEqual([0, 0, 0]);
    expect(Number.isFinite(predictPoly(mv, 1e7, 25))).toBe(true);
    const zero = rows((i) => 20 + (i % 17), () => 0);
    zero.y.fill(0);
    const mz = fitPolyreg(zero.v, zero.p, zero.y, idx);
    expect(predictPoly(mz, 0, 25)).toBe(0);
  });

  it('is the same model at prices of 1e300 and 1e-300 as at 1 (no overflow, no underflow)', () => {
    const base = rows((i) => 1 + (i % 23) / 10, (i) => 1000 + ((i * 7919) % 100000));
    const at = (scale: number) => fitPolyreg(base.v, Float64Array.from(base.p, (x) => x * scale), base.y, idx);
    const m1 = at(1);
    for (const scale of [1e300, 1e-300]) {
      const m = at(scale);
      expect(finite(m)).toBe(true);
      for (let r = 0; r < 6; r++) expect(m.coef[r]!).toBeCloseTo(m1.coef[r]!, 6);
      expect(Math.log1p(predictPoly(m, base.v[7]!, base.p[7]! * scale))).toBeCloseTo(Math.log1p(predictPoly(m1, base.v[7]!, base.p[7]!)), 6);
    }
  });
});

describe('baseline model.json readers', () => {
  it('refuse a format_version they do not know, as the tree reader does (docs/model-format.md)', () => {
    const naive = { format: 'stockpipe-naive', format_version: 1, kind: 'naive', feature_names: ['vol_moving_avg', 'adj_close_rolling_med'] };
    const poly = { format: 'stockpipe-poly2', format_version: 1, kind: 'polyreg', feature_names: naive.feature_names, transforms: ['log1p', 'identity'], mean: [14, 22], std: [2, 27], coef: [14, 2, 0, 0, 0, 0], target_transform: 'log1p' };
    expect(scorerFromJSON(JSON.stringify(naive), 'm').predict(5, 1)).toBe(5);
    expect(Number.isFinite(scorerFromJSON(JSON.stringify(poly), 'm').predict(1e6, 25))).toBe(true);
    for (const bad of [{ ...naive, format_version: 2 }, { ...poly, format_version: 2 }, { ...poly, format_version: undefined }]) {
      expect(() => scorerFromJSON(JSON.stringify(bad), 'm')).toThrow(/format_version .* is not supported/);
    }
  });

  it('refuse a volume model naming other inputs, or these in another order, which the scorers would mis-score (every format)', () => {
    // A one-tree model valid for the format with the inputs swapped: it splits feature 0 (adj_close_rolling_med here) at 50.
    const trees = {
      format: 'stockpipe-trees', format_version: 1, kind: 'gbdt', feature_names: ['adj_close_rolling_med', 'vol_moving_avg'], base_score: 0, aggregation: 'sum', nan_rule: 'right', target_transform: 'identity',
      params: { objective: 'l2', num_trees: 1, learning_rate: 1 },
      trees: [{ feature: [0, -1, -1], threshold: [50, 0, 0], left: [1, -1, -1], right: [2, -1, -1], value: [0, 10, 20] }],
    };
    const naive = { format: 'stockpipe-naive', format_version: 1, kind: 'naive', feature_names: ['vol_moving_avg', 'adj_close_rolling_med'] };
    const poly = { format: 'stockpipe-poly2', format_version: 1, kind: 'polyreg', feature_names: naive.feature_names, transforms: ['log1p', 'identity'], mean: [14, 22], std: [2, 27], coef: [14, 2, 0, 0, 0, 0], target_transform: 'log1p' };
    for (const bad of [trees, { ...naive, feature_names: ['adj_close_rolling_med', 'vol_moving_avg'] }, { ...poly, feature_names: ['vol_moving_avg'] }, { ...naive, feature_names: undefined }, { ...poly, feature_names: ['vol_moving_avg', 'close'] }]) {
      expect(() => scorerFromJSON(JSON.stringify(bad), 'm'), JSON.stringify(bad.feature_names)).toThrow(expect.objectContaining({ code: 'SP_ERR_MODEL_FORMAT', message: expect.stringMatching(/feature_names must be \["vol_moving_avg","adj_close_rolling_med"\], in that order/) }));
    }
    // The same tree with the inputs in the volume model's order is taken.
    expect(scorerFromJSON(JSON.stringify({ ...trees, feature_names: ['vol_moving_avg', 'adj_close_rolling_med'] }), 'm').predict(60, 1)).toBe(20);
  });
});

describe('fitPolyreg on too few rows', () => {
  it('is SP_ERR_TRAIN_DATA with a hint about the rows before the test slice (it had the generic "run stockpipe features first")', () => {
    const x = new Float64Array([1, 2, 3, 4, 5]);
    const err = (() => {
      try {
        fitPolyreg(x, x, x, new Int32Array([0, 1, 2, 3, 4]));
      } catch (e) {
        return e as StockpipeError;
      }
      return null;
    })();
    expect(err?.code).toBe('SP_ERR_TRAIN_DATA');
    expect(err?.message).toBe('polyreg needs at least 6 training rows (got 5): every training fits it, as a model or as the baseline beside one');
    expect(err?.hint).toMatch(/later --test-from, fewer --test-days, more history, or features with a shorter --window/);
  });
});
