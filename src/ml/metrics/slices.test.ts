import { describe, expect, it } from 'vitest';
import { sliceMetrics } from './slices.js';

const slices = (y: number[]) => sliceMetrics(Float64Array.from(y), Float64Array.from(y, (v) => v + 1), new Int32Array(y.length), new Uint8Array(y.length).fill(1));

describe('sliceMetrics by_volume_decile', () => {
  it('cuts 100 distinct volumes into ten deciles of ten rows, in order', () => {
    const y = Array.from({ length: 100 }, (_, i) => 1000 + ((i * 37) % 100));
    const d = slices(y).by_volume_decile;
    expect(d.map((x) => [x.decile, x.rows, x.volume_min, x.volume_max])).toEqual(Array.from({ length: 10 }, (_, k) => [k + 1, 10, 1000 + 10 * k, 1009 + 10 * k]));
  });

  it('keeps rows of one volume in one decile: ranges never overlap, every row counted once', () => {
    // 35 zero-volume days, then distinct volumes: the ties were split over deciles 1–4, each 0..0.
    const y = [...new Array<number>(35).fill(0), ...Array.from({ length: 65 }, (_, i) => 500 + i)];
    const d = slices(y).by_volume_decile;
    expect(d[0]).toMatchObject({ decile: 1, rows: 35, volume_min: 0, volume_max: 0 });
    expect(d.filter((x) => x.volume_max === 0)).toHaveLength(1);
    // Deciles 2 and 3 fell inside the tie; decile 4 keeps the rows from the tie's end to its own end (35..39).
    expect(d.map((x) => [x.decile, x.rows])).toEqual([[1, 35], [4, 5], [5, 10], [6, 10], [7, 10], [8, 10], [9, 10], [10, 10]]);
    for (let k = 1; k < d.length; k++) expect(d[k]!.volume_min).toBeGreaterThan(d[k - 1]!.volume_max);
    expect(d.reduce((a, x) => a + x.rows, 0)).toBe(100);
    // One volume throughout: one decile of every row.
    expect(slices(new Array<number>(20).fill(7)).by_volume_decile.map((x) => [x.decile, x.rows])).toEqual([[1, 20]]);
  });
});
