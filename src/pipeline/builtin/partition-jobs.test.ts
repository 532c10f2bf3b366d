import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../core/log.js';
import { bucketGroups, partitionLabel, removeStageRoot } from './partition-jobs.js';

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

describe('the stage folder at the end of a partitioned task', () => {
  it('is removed, and a late execution still writing there (ENOTEMPTY for rm) makes a warning, not a failed task', async () => {
    const base = await mkdtemp(join(tmpdir(), 'sp-stage-'));
    try {
      const warned: string[] = [];
      const log = { warn: (_o: unknown, msg: string) => warned.push(msg) } as unknown as Logger;
      const quiet = join(base, 'quiet');
      mkdirSync(join(quiet, 'b00-x'), { recursive: true });
      writeFileSync(join(quiet, 'b00-x', 'part.parquet'), 'x');
      await removeStageRoot(quiet, log);
      expect([warned, await rm(quiet).then(() => 'still there', (e: NodeJS.ErrnoException) => e.code)]).toEqual([[], 'ENOENT']);
      // A fenced-out execution keeps writing its own stage while the folder is removed (a woken frozen worker's process).
      const busy = join(base, 'busy');
      mkdirSync(join(busy, 'b00-x'), { recursive: true });
      for (let i = 0; i < 200; i++) writeFileSync(join(busy, 'b00-x', `f${i}`), 'x');
      let stop = false;
      let n = 0;
      const late = (async () => {
        while (!stop) {
          mkdirSync(join(busy, 'b00-late'), { recursive: true });
          writeFileSync(join(busy, 'b00-late', `g${n++}`), 'y');
          await new Promise((r) => setImmediate(r));
        }
      })();
      await expect(removeStageRoot(busy, log).finally(() => {
        stop = true;
      })).resolves.toBeUndefined();
      await late;
      // (rm nearly always meets the new files: the warning says so; the folder is vacuum's then.)
      expect(warned.every((w) => w === 'could not remove the stage folder (a late execution may still write there): `stockpipe vacuum` removes it')).toBe(true);
    } finally {
      await rm(base, { recursive: true, force: true, maxRetries: 5 });
    }
  });
});
