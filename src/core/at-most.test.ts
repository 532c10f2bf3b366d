import { describe, expect, it } from 'vitest';
import { forEachAtMost } from './at-most.js';

describe('forEachAtMost', () => {
  it('calls every item once, in order, never more than n at a time', async () => {
    const started: number[] = [];
    let inFlight = 0;
    let most = 0;
    await forEachAtMost([...Array(10).keys()], 3, async (x, i) => {
      expect(x).toBe(i);
      started.push(i);
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 1 + (i % 3)));
      inFlight--;
    });
    expect(started).toEqual([...Array(10).keys()]);
    expect(most).toBe(3);
  });

  it('does nothing for no items, and rejects with a failure', async () => {
    await forEachAtMost([], 4, () => Promise.reject(new Error('never')));
    await expect(forEachAtMost([1, 2], 2, async (x) => { if (x === 2) throw new Error('two'); })).rejects.toThrow('two');
  });
});
