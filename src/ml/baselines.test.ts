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
});
