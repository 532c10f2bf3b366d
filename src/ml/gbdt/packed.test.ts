import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { trainGbdt } from './booster.js';
import { trainForest } from './forest.js';
import { predictRaw, type TreeModel } from './model.js';
import { packTrees, predictPackedRaw } from './packed.js';
import { synthetic } from './test-data.js';

/** Random rows, some with NaN or values beyond the training range. */
function rows(n: number): Float64Array[] {
  const rng = createRng(9);
  return Array.from({ length: n }, (_, i) => Float64Array.of(i % 97 === 0 ? NaN : rng.next() * 14 - 2, i % 89 === 0 ? NaN : rng.normal() * 2));
}

function expectSameBits(model: TreeModel): void {
  const p = packTrees(model);
  let differ = 0;
  for (const r of rows(20_000)) if (!Object.is(predictPackedRaw(p, r), predictRaw(model, r))) differ++;
  expect(differ).toBe(0);
}

describe('packed trees', () => {
  const train = synthetic(4_000, 5);

  it('score exactly as predictRaw: gbdt (sum), with and without a log1p offset', async () => {
    const { model } = await trainGbdt(train, null, { num_trees: 30, threads: 1 });
    expect(model.aggregation).toBe('sum');
    expectSameBits(model);
    expectSameBits({ ...model, offset: { feature: 0, transform: 'log1p' } });
  });

  it('score exactly as predictRaw: rf (mean of trees)', async () => {
    const { model } = await trainForest(train, { num_trees: 9, max_depth: 5, threads: 1 });
    expect(model.aggregation).toBe('mean');
    expectSameBits(model);
  });

  it('a wrong child index would show: packing offsets every tree after the first', async () => {
    const { model } = await trainGbdt(train, null, { num_trees: 5, threads: 1 });
    const p = packTrees(model);
    expect(p.roots[1]).toBe(model.trees[0]!.feature.length);
    expect(p.left[p.roots[1]!]).toBe(model.trees[1]!.left[0]! + p.roots[1]!);
  });
});
