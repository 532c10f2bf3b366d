import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { binColumn, binValue, computeBinEdges, MAX_VALUE_BINS, NAN_BIN } from './binning.js';

function counts(bins: Uint8Array): Map<number, number> {
  const m = new Map<number, number>();
  for (const b of bins) m.set(b, (m.get(b) ?? 0) + 1);
  return m;
}

describe('computeBinEdges', () => {
  it('uses the distinct values as edges when there are at most 255', () => {
    const col = Float64Array.from([3, 1, 2, 2, 3, 1, 5, 5, 5]);
    expect([...computeBinEdges(col)]).toEqual([1, 2, 3, 5]);
  });

  it('cuts many distinct values into ~equal-frequency quantile bins', () => {
    const n = 100_000;
    const col = new Float64Array(n);
    const rng = createRng(1);
    for (let i = 0; i < n; i++) col[i] = rng.normal();
    const edges = computeBinEdges(col, { sampleSize: n });
    expect(edges.length).toBe(MAX_VALUE_BINS);
    for (let b = 1; b < edges.length; b++) expect(edges[b]!).toBeGreaterThan(edges[b - 1]!);
    const c = counts(binColumn(col, edges));
    const target = n / MAX_VALUE_BINS;
    for (const [, k] of c) expect(Math.abs(k - target)).toBeLessThan(target * 0.05 + 2);
    // Edges are sample quantiles: the median edge sits near 0.
    expect(Math.abs(edges[127]!)).toBeLessThan(0.02);
  });

  it('gives a heavily tied value its own bin and keeps edges strictly increasing', () => {
    const n = 20_000;
    const col = new Float64Array(n);
    for (let i = 0; i < n; i++) col[i] = i % 2 === 0 ? 0 : i; // half the rows are 0
    const edges = computeBinEdges(col);
    for (let b = 1; b < edges.length; b++) expect(edges[b]!).toBeGreaterThan(edges[b - 1]!);
    expect(edges[0]).toBe(0);
    const bins = binColumn(col, edges);
    expect(counts(bins).get(0)).toBe(n / 2);
  });

  it('ignores NaN for the edges and bins NaN into bin 255', () => {
    const col = Float64Array.from([NaN, 1, 2, NaN, 3]);
    const edges = computeBinEdges(col);
    expect([...edges]).toEqual([1, 2, 3]);
    expect([...binColumn(col, edges)]).toEqual([NAN_BIN, 0, 1, NAN_BIN, 2]);
    expect(computeBinEdges(Float64Array.from([NaN, NaN])).length).toBe(0);
    expect([...binColumn(Float64Array.from([NaN, 4]), new Float64Array(0))]).toEqual([NAN_BIN, 0]);
  });

  it('has one bin for a constant column (no split possible)', () => {
    const edges = computeBinEdges(new Float32Array(1000).fill(7.5));
    expect([...edges]).toEqual([7.5]);
    expect(new Set(binColumn(new Float64Array([7.5, 7.5, 100, -3]), edges))).toEqual(new Set([0]));
  });

  it('is seeded: the same seed gives the same edges from a sample', () => {
    const rng = createRng(3);
    const col = new Float32Array(50_000);
    for (let i = 0; i < col.length; i++) col[i] = rng.next() * 1000;
    const a = computeBinEdges(col, { sampleSize: 5000, seed: 9 });
    const b = computeBinEdges(col, { sampleSize: 5000, seed: 9 });
    const c = computeBinEdges(col, { sampleSize: 5000, seed: 10 });
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it('rejects maxBins outside 2..255', () => {
    expect(() => computeBinEdges(new Float64Array(3), { maxBins: 256 })).toThrow(RangeError);
    expect(() => computeBinEdges(new Float64Array(3), { maxBins: 1 })).toThrow(RangeError);
  });
});

describe('binColumn', () => {
  it('agrees with binValue and with the threshold rule x <= edges[b]', () => {
    const rng = createRng(5);
    const train = new Float64Array(3000);
    for (let i = 0; i < train.length; i++) train[i] = Math.round(rng.normal() * 1000) / 10;
    const edges = computeBinEdges(train, { maxBins: 50 });
    const xs = new Float64Array(5000);
    for (let i = 0; i < xs.length; i++) xs[i] = rng.normal() * 200; // also beyond the sample's range
    xs.set([Infinity, -Infinity, NaN, edges[0]!, edges[edges.length - 1]!], 0);
    const bins = binColumn(xs, edges);
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i]!;
      const b = bins[i]!;
      expect(b).toBe(binValue(x, edges));
      if (Number.isNaN(x)) {
        expect(b).toBe(NAN_BIN);
        continue;
      }
      // For every threshold bin t below the last: bin <= t exactly when x <= edges[t].
      for (let t = 0; t < edges.length - 1; t += 7) expect(b <= t).toBe(x <= edges[t]!);
    }
  });
});
