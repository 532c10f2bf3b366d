import { describe, expect, it } from 'vitest';
import { promote, rank, rungPlan } from './halving.js';

describe('successive halving', () => {
  it('plans rungs of n, n/η, … trials with η times the trees each', () => {
    expect(rungPlan(9, 300)).toEqual([
      { rung: 0, budget: 33, trials: 9 },
      { rung: 1, budget: 100, trials: 3 },
      { rung: 2, budget: 300, trials: 1 },
    ]);
    expect(rungPlan(1, 300)).toEqual([{ rung: 0, budget: 300, trials: 1 }]);
    expect(rungPlan(20, 270).map((r) => [r.trials, r.budget])).toEqual([[20, 30], [6, 90], [2, 270]]);
    // A first budget under minTrees drops rungs: 27 trials with 90 trees → 27@30, 9@90 (not 27@3 …).
    expect(rungPlan(27, 90, 3, 10).map((r) => [r.trials, r.budget])).toEqual([[27, 10], [9, 30], [3, 90]]);
    expect(rungPlan(27, 60, 3, 10).map((r) => [r.trials, r.budget])).toEqual([[27, 20], [9, 60]]);
  });

  it('keeps the best, ties by number, failures last and never kept', () => {
    const r = [
      { number: 0, score: 0.5 },
      { number: 1, score: null },
      { number: 2, score: 0.4 },
      { number: 3, score: 0.5 },
      { number: 4, score: 0.9 },
    ];
    expect(rank(r).map((x) => x.number)).toEqual([2, 0, 3, 4, 1]);
    expect(rank(r, 'maximize').map((x) => x.number)).toEqual([4, 0, 3, 2, 1]);
    expect(promote(r, 2)).toEqual({ kept: [2, 0], pruned: [3, 4, 1] });
    expect(promote([{ number: 0, score: null }, { number: 1, score: 0.3 }], 2)).toEqual({ kept: [1], pruned: [0] });
  });
});
