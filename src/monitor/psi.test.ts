import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { binCounts, psi, psiFromCounts, quantileEdges } from './psi.js';

describe('psi', () => {
  it('equals a hand-computed value', () => {
    // shares e = (0.5, 0.5), a = (0.8, 0.2): (0.3)·ln(1.6) + (−0.3)·ln(0.4)
    expect(psiFromCounts([50, 50], [80, 20])).toBeCloseTo(0.3 * Math.log(1.6) - 0.3 * Math.log(0.4), 12);
    expect(psi([1, 2, 3, 4], [1, 1, 1, 4], Float64Array.from([2.5]))).toBeCloseTo(0.25 * Math.log(0.75 / 0.5) - 0.25 * Math.log(0.25 / 0.5), 12);
  });

  it('is 0 for identical data at any size and grows with a shift', () => {
    const rng = createRng(7);
    for (const n of [10, 1000, 200_000]) {
      const xs = Float64Array.from({ length: n }, () => rng.normal());
      expect(psi(xs, xs)).toBe(0);
    }
    const ref = Float64Array.from({ length: 50_000 }, () => rng.normal());
    const same = Float64Array.from({ length: 50_000 }, () => rng.normal());
    const shifted = Float64Array.from({ length: 50_000 }, () => rng.normal() + 1);
    expect(psi(ref, same)).toBeLessThan(0.01);
    expect(psi(ref, shifted)).toBeGreaterThan(0.25);
  });

  it('bins by the reference deciles, skipping non-finite values', () => {
    const edges = quantileEdges(Float64Array.from({ length: 100 }, (_, i) => i), 10);
    expect([...edges]).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90]);
    expect([...binCounts([-1, 10, 95, Number.NaN, Number.POSITIVE_INFINITY], edges)]).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect(quantileEdges([5, 5, 5, 5]).length).toBe(1);
  });
});
