import { describe, expect, it } from 'vitest';
import { dayQuantile, randomSplit, timeSplit } from './split.js';

describe('splits', () => {
  it('dayQuantile uses numpy lower interpolation', () => {
    const d = Int32Array.from([5, 1, 3, 2, 4]); // sorted 1..5, q=0.8 → index floor(0.8*4)=3 → 4
    expect(dayQuantile(d, 0.8)).toBe(4);
    expect(dayQuantile(Int32Array.from([7, 7, 7, 9]), 0.8)).toBe(7);
  });

  it('time split never leaks: every test date is after every train and validation date', () => {
    const days = new Int32Array(1000);
    for (let i = 0; i < days.length; i++) days[i] = 18000 + ((i * 7919) % 250);
    const s = timeSplit(days);
    const maxOf = (idx: Int32Array): number => Math.max(...Array.from(idx, (i) => days[i]!));
    const minOf = (idx: Int32Array): number => Math.min(...Array.from(idx, (i) => days[i]!));
    expect(maxOf(s.train)).toBeLessThan(minOf(s.valid));
    expect(maxOf(s.valid)).toBeLessThan(minOf(s.test));
    expect(s.train.length + s.valid.length + s.test.length).toBe(1000);
    expect(s.test.length / 1000).toBeGreaterThan(0.18);
    expect(s.test.length / 1000).toBeLessThan(0.24);
    expect(s.valid.length / 1000).toBeGreaterThan(0.08);
  });

  it('honours an explicit test-from date', () => {
    const days = Int32Array.from({ length: 100 }, (_, i) => i);
    const s = timeSplit(days, { testFrom: 90 });
    expect(s.test.length).toBe(10);
    expect(Math.min(...Array.from(s.test))).toBe(90);
  });

  it('random split is seeded and partitions the rows', () => {
    const a = randomSplit(1000, 42);
    const b = randomSplit(1000, 42);
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    const all = new Set([...a.train, ...a.valid, ...a.test]);
    expect(all.size).toBe(1000);
    expect(a.kind).toBe('random');
  });
});
