import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { minMaxIndices, pick } from './downsample.js';

/** The naive twin: per bucket, sort each column's (value, row) pairs and take both ends. */
function naive(n: number, guard: Float64Array[], points: number): number[] {
  if (n <= points) return Array.from({ length: n }, (_, i) => i);
  const buckets = Math.max(1, Math.floor(points / Math.max(1, 2 * guard.length)));
  const out: number[] = [];
  for (let b = 0; b < buckets; b++) {
    const lo = Math.floor((b * n) / buckets);
    const hi = Math.floor(((b + 1) * n) / buckets);
    const keep = new Set<number>();
    if (guard.length === 0) keep.add(lo);
    for (const col of guard) {
      const rows = [];
      for (let i = lo; i < hi; i++) if (!Number.isNaN(col[i]!)) rows.push({ i, v: col[i]! });
      if (rows.length === 0) {
        keep.add(lo);
        continue;
      }
      rows.sort((x, y) => x.v - y.v || x.i - y.i);
      keep.add(rows[0]!.i);
      const max = rows[rows.length - 1]!.v;
      keep.add(rows.find((r) => r.v === max)!.i);
    }
    out.push(...[...keep].sort((x, y) => x - y));
  }
  return out;
}

describe('minMaxIndices', () => {
  it('equals the naive twin over many seeds, sizes and NaN patterns', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const rng = createRng(seed);
      const n = 1 + Math.floor(rng.next() * 3000);
      const points = 1 + Math.floor(rng.next() * 400);
      const cols = Math.floor(rng.next() * 3);
      const guard = Array.from({ length: cols }, () => {
        const c = new Float64Array(n);
        for (let i = 0; i < n; i++) c[i] = rng.next() < 0.1 ? Number.NaN : Math.round(rng.next() * 50); // ties on purpose
        return c;
      });
      expect(Array.from(minMaxIndices(n, guard, points)), `seed ${seed}`).toEqual(naive(n, guard, points));
    }
  });

  it('keeps every extreme, stays within the point budget, and is increasing', () => {
    const rng = createRng(7);
    const n = 100_000;
    const a = new Float64Array(n);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      a[i] = Math.sin(i / 500) + rng.next();
      b[i] = rng.next() * 1e6;
    }
    a[31_337] = 99;
    b[77_001] = -5;
    const idx = minMaxIndices(n, [a, b], 1500);
    expect(idx.length).toBeLessThanOrEqual(1500);
    for (let k = 1; k < idx.length; k++) expect(idx[k]!).toBeGreaterThan(idx[k - 1]!);
    expect(Array.from(idx)).toContain(31_337);
    expect(Array.from(idx)).toContain(77_001);
    expect(Math.max(...pick(a, idx).map((v) => v ?? -Infinity))).toBe(99);
  });

  it('returns every row when the series is short, and pick maps NaN to null', () => {
    expect(Array.from(minMaxIndices(3, [new Float64Array([1, 2, 3])], 10))).toEqual([0, 1, 2]);
    expect(pick(new Float64Array([1, Number.NaN, 3]), Int32Array.from([0, 1, 2]))).toEqual([1, null, 3]);
  });
});
