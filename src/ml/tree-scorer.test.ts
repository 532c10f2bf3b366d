import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { trainGbdt } from './gbdt/booster.js';
import { predict } from './gbdt/model.js';
import { synthetic } from './gbdt/test-data.js';
import { scorerForTrees } from './tree-scorer.js';

describe('tree scorer', () => {
  it('predicts what the model predicts (clipped at 0), through the table of cells or the walk alike', async () => {
    const { model } = await trainGbdt(synthetic(3_000, 4), null, { num_trees: 25, threads: 1 });
    const rng = createRng(3);
    for (const m of [model, { ...model, offset: { feature: 0, transform: 'log1p' as const }, targetTransform: 'log1p' as const }]) {
      const s = scorerForTrees(m);
      let differ = 0;
      for (let i = 0; i < 5_000; i++) {
        const a = i % 101 === 0 ? NaN : rng.next() * 14 - 2;
        const b = rng.normal() * 2;
        const want = predict(m, Float64Array.of(a, b));
        if (!Object.is(s.predict(a, b), want > 0 ? want : 0)) differ++;
      }
      expect(differ).toBe(0);
    }
  });
});
