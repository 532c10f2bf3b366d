import { describe, expect, it } from 'vitest';
import { regressionMetrics } from './regression.js';

describe('regressionMetrics', () => {
  it('matches hand-computed values on raw and log scale', () => {
    const y = new Float64Array([1, 3, 5, 7]);
    const p = new Float64Array([2, 3, 4, -1]); // the negative prediction is clipped to 0
    const m = regressionMetrics(y, p);
    expect(m.mae).toBeCloseTo((1 + 0 + 1 + 7) / 4, 12);
    expect(m.rmse).toBeCloseTo(Math.sqrt((1 + 0 + 1 + 49) / 4), 12);
    expect(m.r2).toBeCloseTo(1 - 51 / 20, 12);
    const ly = [1, 3, 5, 7].map(Math.log1p);
    const lp = [2, 3, 4, 0].map(Math.log1p);
    const mae = ly.reduce((s, v, i) => s + Math.abs(v - lp[i]!), 0) / 4;
    expect(m.mae_log).toBeCloseTo(mae, 12);
    expect(m.rows).toBe(4);
  });

  it('R² is undefined (not a finite number) on a slice of one volume throughout, whatever the rounding of its mean', () => {
    for (const v of [1000, 1234567, 987654321]) {
      for (const n of [1, 3, 7, 110]) {
        const y = new Float64Array(n).fill(v);
        for (const m of [regressionMetrics(y, new Float64Array(n).fill(v * 1.01)), regressionMetrics(y, y)]) {
          expect(Number.isFinite(m.r2), `${v} × ${n}: r2 ${m.r2}`).toBe(false);
          expect(Number.isFinite(m.r2_log), `${v} × ${n}: r2_log ${m.r2_log}`).toBe(false);
        }
      }
    }
  });

  it('restricts to an index subset and gives R² = 1 for a perfect fit', () => {
    const y = new Float64Array([10, 20, 30, 40]);
    const m = regressionMetrics(y, new Float64Array([10, 0, 30, 0]), new Int32Array([0, 2]));
    expect(m.mae).toBe(0);
    expect(m.r2).toBe(1);
    expect(m.rows).toBe(2);
  });

  it('an RMSE whose squares overflow is still a number (a far-extrapolated baseline: it was Infinity, written as null)', () => {
    const y = new Float64Array([100, 200, 300, 400]);
    const p = new Float64Array([1e206, 200, 9.2e206, -5]);
    const m = regressionMetrics(y, p);
    const want = Math.sqrt(((1e206 / 9.2e206) ** 2 + 1) / 4) * 9.2e206; // the errors scaled by the largest
    expect(Number.isFinite(m.rmse)).toBe(true);
    expect(m.rmse / want).toBeCloseTo(1, 12);
    expect(m.mae).toBeCloseTo((1e206 + 9.2e206 + 400) / 4, -195);
    // The subset path scales the same rows.
    expect(regressionMetrics(y, p, new Int32Array([0, 2])).rmse / Math.sqrt(((1e206 / 9.2e206) ** 2 + 1) / 2) / 9.2e206).toBeCloseTo(1, 12);
  });
});
