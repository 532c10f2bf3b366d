import { describe, expect, it } from 'vitest';
import { binSet, fitEdges } from './dataset.js';
import type { Op } from './kernels.js';
import { chunkSize, Engine } from './parallel.js';
import { synthetic } from './test-data.js';

function engine(threads: number, rows = 100_000): Engine {
  const d = synthetic(rows, 1);
  const m = binSet(d.columns, fitEdges(d.columns, 255, 10_000, 1));
  return new Engine({ layout: { kind: 'leaves' }, threads, train: m, y: d.y, valid: null, objective: 'l2', hessian: false, oob: false });
}

describe('Engine', () => {
  it('cuts jobs by data size only, never by thread count', () => {
    expect(chunkSize(28_000_000, 2, 1)).toBe(Math.ceil(28_000_000 / 512));
    expect(chunkSize(28_000_000, 2, 16)).toBe(Math.ceil(28_000_000 / 64));
    expect(chunkSize(1000, 2, 1)).toBe(16384);
  });

  it('gives the same histogram in-process and with 2 workers', async () => {
    const a = engine(1);
    const b = engine(2);
    try {
      for (const e of [a, b]) {
        e.state.grad.set(e.state.y);
        await e.run({ op: 'iota' });
      }
      const f = Int32Array.of(0, 1);
      expect([...(await b.histogram(0, 100_000, true, f))]).toEqual([...(await a.histogram(0, 100_000, true, f))]);
      const sa = await a.split(0, 100_000, 1, 100, 1, f);
      const sb = await b.split(0, 100_000, 1, 100, 1, f);
      expect(sb.nLeft).toBe(sa.nLeft);
      expect([...sb.hist!]).toEqual([...sa.hist!]);
      expect([...b.state.idx]).toEqual([...a.state.idx]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('starts no worker for data of one chunk (every job would run in-process): a small training pays no thread start', async () => {
    const small = engine(2, 10_000);
    const large = engine(2, 100_000);
    try {
      expect(small.workerCount).toBe(0);
      expect(large.workerCount).toBe(2);
      small.state.grad.set(small.state.y);
      await small.run({ op: 'iota' });
      const one = engine(1, 10_000);
      try {
        one.state.grad.set(one.state.y);
        await one.run({ op: 'iota' });
        const f = Int32Array.of(0, 1);
        expect([...(await small.histogram(0, 10_000, true, f))]).toEqual([...(await one.histogram(0, 10_000, true, f))]);
      } finally {
        await one.close();
      }
    } finally {
      await small.close();
      await large.close();
    }
  });

  it('reports a failing worker and refuses work after close()', async () => {
    const e = engine(2);
    await expect(e.run({ op: 'hist', start: 0, end: 100_000, identity: true, features: null } as unknown as Op)).rejects.toThrow(/gbdt worker/);
    await e.close();
    await e.close(); // idempotent
    await expect(e.run({ op: 'iota' })).rejects.toThrow(/closed|worker/);
  });
});
