import { describe, expect, it } from 'vitest';
import { DEFAULT_SPACE, DEFAULT_TRIAL, sampleTrial, sampleTrials, TRIAL_PARAM_NAMES } from './space.js';

describe('tune search space', () => {
  it('trial 0 is the defaults; the same seed gives the same trials, another seed others', () => {
    const a = sampleTrials(DEFAULT_SPACE, 42, 20);
    expect(a[0]).toEqual(DEFAULT_TRIAL);
    expect(sampleTrials(DEFAULT_SPACE, 42, 20)).toEqual(a);
    expect(sampleTrials(DEFAULT_SPACE, 43, 20).slice(1)).not.toEqual(a.slice(1));
  });

  it('more trials keep the earlier ones (trial i has its own stream)', () => {
    expect(sampleTrials(DEFAULT_SPACE, 7, 30).slice(0, 9)).toEqual(sampleTrials(DEFAULT_SPACE, 7, 9));
    expect(sampleTrial(DEFAULT_SPACE, 7, 5)).toEqual(sampleTrials(DEFAULT_SPACE, 7, 6)[5]);
  });

  it('draws stay in range: log-uniform, powers of two, choices, none with its probability', () => {
    const xs = sampleTrials(DEFAULT_SPACE, 1, 2000).slice(1);
    for (const x of xs) {
      expect(Object.keys(x).sort()).toEqual([...TRIAL_PARAM_NAMES].sort());
      expect(x.learning_rate).toBeGreaterThanOrEqual(0.01);
      expect(x.learning_rate).toBeLessThanOrEqual(0.3);
      expect([8, 16, 32, 64, 128, 256]).toContain(x.num_leaves);
      expect([4, 6, 8, 10, -1]).toContain(x.max_depth);
      expect(Number.isInteger(x.min_data_in_leaf) && x.min_data_in_leaf >= 10 && x.min_data_in_leaf <= 10_000).toBe(true);
      expect(x.lambda_l2).toBeGreaterThanOrEqual(0.001);
      expect(x.lambda_l2).toBeLessThanOrEqual(100);
      expect([null, 2, 3, 5, 10]).toContain(x.window_years);
      if (x.half_life_days !== null) expect(x.half_life_days >= 180 && x.half_life_days <= 3650).toBe(true);
      expect([10, 20, 50]).toContain(x.patience);
    }
    // Log-uniform: about half of the learning rates below the geometric middle of [0.01, 0.3].
    const low = xs.filter((x) => x.learning_rate < Math.sqrt(0.01 * 0.3)).length / xs.length;
    expect(low).toBeGreaterThan(0.45);
    expect(low).toBeLessThan(0.55);
    const none = xs.filter((x) => x.half_life_days === null).length / xs.length;
    expect(none).toBeGreaterThan(0.45);
    expect(none).toBeLessThan(0.55);
  });
});
