import { describe, expect, it } from 'vitest';
import { fitPolyreg, predictPoly, solveLinear } from './baselines.js';
import { scorerFromJSON } from './volume-model.js';

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
