import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { binColumn, computeBinEdges } from './binning.js';
import { accumulateHistogram, histogramTotals, HIST_STRIDE, subtractHistogram } from './histogram.js';
import { bestSplitForFeature, splitGain, type SplitParams } from './split.js';

interface Brute {
  gain: number;
  threshold: number;
}

/** The naive twin: every distinct value as threshold, sums straight from the rows. */
function bruteForce(x: Float64Array, g: Float32Array, p: SplitParams): Brute | null {
  const values = [...new Set(x)].sort((a, b) => a - b);
  let G = 0;
  for (const v of g) G += v;
  const H = x.length;
  let best: Brute | null = null;
  for (const t of values.slice(0, -1)) {
    let gl = 0;
    let hl = 0;
    for (let i = 0; i < x.length; i++) {
      if (x[i]! <= t) {
        gl += g[i]!;
        hl += 1;
      }
    }
    const hr = H - hl;
    const minH = Math.max(p.min_data_in_leaf, p.min_sum_hessian_in_leaf);
    if (hl < minH || hr < minH) continue;
    const gain = splitGain(gl, hl, G - gl, hr, p.lambda_l2);
    if (gain > Math.max(0, p.min_gain_to_split) && (best === null || gain > best.gain)) best = { gain, threshold: t };
  }
  return best;
}

describe('bestSplitForFeature', () => {
  it('matches the exhaustive scan over all thresholds (gain and threshold), 300 seeds', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const rng = createRng(seed);
      const n = 20 + rng.int(200);
      const distinct = 2 + rng.int(60);
      const x = new Float64Array(n);
      const g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        x[i] = rng.int(distinct) * 0.5 - 3; // ties on purpose
        g[i] = Math.fround(x[i]! > 0 ? 1 + rng.normal() : -0.5 + rng.normal());
      }
      const p: SplitParams = { lambda_l2: rng.int(3) * 0.7, min_data_in_leaf: rng.int(15), min_sum_hessian_in_leaf: 1e-3, min_gain_to_split: 0 };
      const edges = computeBinEdges(x);
      const bins = binColumn(x, edges);
      const hist = new Float64Array(HIST_STRIDE);
      accumulateHistogram({ rows: n, features: 1, bins }, null, 0, n, g, null, Int32Array.of(0), hist, 0);
      const [G, H] = histogramTotals(hist, 0);
      const got = bestSplitForFeature(hist, 0, edges.length, G, H, 0, p);
      const want = bruteForce(x, g, p);
      if (want === null) {
        expect(got, `seed ${seed}`).toBeNull();
        continue;
      }
      expect(got, `seed ${seed}`).not.toBeNull();
      expect(got!.gain).toBeCloseTo(want.gain, 9);
      const threshold = edges[got!.bin]!;
      // Equal thresholds, unless two thresholds tie on gain to rounding.
      if (threshold !== want.threshold) expect(Math.abs(got!.gain - want.gain)).toBeLessThan(1e-9 * Math.max(1, want.gain));
      else expect(threshold).toBe(want.threshold);
    }
  });

  it('honours min_data_in_leaf and λ', () => {
    const hist = new Float64Array(HIST_STRIDE);
    // bins 0..3 with one row each, gradients -1, -1, 1, 1
    [-1, -1, 1, 1].forEach((g, b) => {
      hist[2 * b] = g;
      hist[2 * b + 1] = 1;
    });
    const p = { lambda_l2: 0, min_data_in_leaf: 0, min_sum_hessian_in_leaf: 0, min_gain_to_split: 0 };
    expect(bestSplitForFeature(hist, 0, 4, 0, 4, 0, p)).toMatchObject({ bin: 1, gain: 4 });
    expect(bestSplitForFeature(hist, 0, 4, 0, 4, 0, { ...p, min_data_in_leaf: 3 })).toBeNull();
    expect(bestSplitForFeature(hist, 0, 4, 0, 4, 0, { ...p, lambda_l2: 2 })!.gain).toBeCloseTo(2, 12);
    expect(bestSplitForFeature(hist, 0, 4, 0, 4, 0, { ...p, min_gain_to_split: 5 })).toBeNull();
  });
});

describe('histograms', () => {
  it('child = parent − sibling (the subtraction trick)', () => {
    const rng = createRng(11);
    const n = 5000;
    const bins = new Uint8Array(2 * n);
    const g = new Float32Array(n);
    for (let i = 0; i < 2 * n; i++) bins[i] = rng.int(40);
    for (let i = 0; i < n; i++) g[i] = rng.normal();
    const m = { rows: n, features: 2, bins };
    const f = Int32Array.of(0, 1);
    const idx = Int32Array.from({ length: n }, (_, i) => i);
    const left = new Float64Array(2 * HIST_STRIDE);
    const right = new Float64Array(2 * HIST_STRIDE);
    const parent = new Float64Array(2 * HIST_STRIDE);
    accumulateHistogram(m, null, 0, n, g, null, f, parent, 0);
    accumulateHistogram(m, idx, 0, 1234, g, null, f, left, 0);
    accumulateHistogram(m, idx, 1234, n, g, null, f, right, 0);
    subtractHistogram(parent, left, f);
    for (let j = 0; j < parent.length; j++) expect(parent[j]!).toBeCloseTo(right[j]!, 9);
    // Hessian (count) slots are exact.
    for (let j = 1; j < parent.length; j += 2) expect(parent[j]).toBe(right[j]);
  });
});
