import { describe, expect, it } from 'vitest';
import { bucketGroups, partitionLabel } from './partition-jobs.js';

describe('features partitions', () => {
  it('splits the changed buckets into at most n groups of consecutive buckets, none empty, each bucket once', () => {
    const all = Array.from({ length: 16 }, (_, i) => i);
    expect(bucketGroups(all, 8)).toEqual([[0, 1], [2, 3], [4, 5], [6, 7], [8, 9], [10, 11], [12, 13], [14, 15]]);
    expect(bucketGroups([3, 9], 8)).toEqual([[3], [9]]);
    expect(bucketGroups([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4, 5]]);
    expect(bucketGroups([], 8)).toEqual([]);
    for (let n = 1; n <= 16; n++) {
      const g = bucketGroups(all, n);
      expect(g.length).toBe(n);
      expect(g.flat()).toEqual(all);
    }
  });
  it('names a partition by its buckets', () => {
    expect(partitionLabel([0, 1])).toBe('b00.01');
    expect(partitionLabel([12])).toBe('b12');
  });
});
