import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../core/errors.js';
import { checkSpace, DEFAULT_SPACE, DEFAULT_TRIAL, FORECAST_SPACE, sampleTrial, sampleTrials, toTrialParams, TRIAL_PARAM_NAMES } from './space.js';

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

  it('the loss is a dimension: l2 or huber, δ log-uniform in [0.05, 1] with huber and null with l2; the other draws are those of a space without it', () => {
    const xs = sampleTrials(DEFAULT_SPACE, 1, 2000).slice(1);
    for (const x of xs) {
      expect(['l2', 'huber']).toContain(x.objective);
      if (x.objective === 'l2') expect(x.huber_delta).toBeNull();
      else expect(x.huber_delta! >= 0.05 && x.huber_delta! <= 1).toBe(true);
    }
    const huber = xs.filter((x) => x.objective === 'huber').length / xs.length;
    expect(huber).toBeGreaterThan(0.45);
    expect(huber).toBeLessThan(0.55);
    expect(DEFAULT_TRIAL).toMatchObject({ objective: 'l2', huber_delta: null });
    // A space stored before the loss was searched: the same trials for the other parameters, every one l2.
    const { objective: _o, huber_delta: _d, monotone_vma: _m, ...old } = DEFAULT_SPACE;
    const before = sampleTrials(checkSpace(old), 42, 30);
    const now = sampleTrials(DEFAULT_SPACE, 42, 30);
    expect(before.map(({ objective: _a, huber_delta: _b, monotone_vma: _c, ...rest }) => rest)).toEqual(now.map(({ objective: _a, huber_delta: _b, monotone_vma: _c, ...rest }) => rest));
    expect(before.every((t) => t.objective === 'l2' && t.huber_delta === null && t.monotone_vma === 0)).toBe(true);
    expect(now.some((t) => t.objective === 'huber')).toBe(true);
  });

  it('the monotone constraint is a volume study\'s last dimension: 0 or 1, half each; the other draws are those of a space without it (a study from before, a forecast study\'s)', () => {
    const xs = sampleTrials(DEFAULT_SPACE, 5, 2000).slice(1);
    const held = xs.filter((x) => x.monotone_vma === 1).length / xs.length;
    expect(xs.every((x) => x.monotone_vma === 0 || x.monotone_vma === 1)).toBe(true);
    expect(held).toBeGreaterThan(0.45);
    expect(held).toBeLessThan(0.55);
    expect(DEFAULT_TRIAL.monotone_vma).toBe(0);
    const { monotone_vma: _m, ...withoutIt } = DEFAULT_SPACE;
    expect(FORECAST_SPACE).toEqual(withoutIt);
    const before = sampleTrials(checkSpace(withoutIt), 42, 30);
    const now = sampleTrials(DEFAULT_SPACE, 42, 30);
    expect(before.map(({ monotone_vma: _a, ...rest }) => rest)).toEqual(now.map(({ monotone_vma: _a, ...rest }) => rest));
    expect(before.every((t) => t.monotone_vma === 0)).toBe(true);
    expect(toTrialParams({ ...sampleTrial(DEFAULT_SPACE, 3, 2), monotone_vma: 1 }).monotone_vma).toBe(1);
    expect(() => toTrialParams({ ...sampleTrial(DEFAULT_SPACE, 3, 2), monotone_vma: 2 })).toThrow(StockpipeError);
  });

  it('stored parameters: a trial from before the loss was searched reads as l2; a bad objective or δ is SP_ERR_TRAIN_PARAMS', () => {
    const { objective: _o, huber_delta: _d, ...old } = sampleTrial(DEFAULT_SPACE, 3, 2);
    expect(toTrialParams(old)).toMatchObject({ objective: 'l2', huber_delta: null });
    const code = (p: Record<string, number | string | null>): string | null => {
      try {
        toTrialParams(p);
        return null;
      } catch (err) {
        return err instanceof StockpipeError ? err.code : String(err);
      }
    };
    expect(code({ ...old, objective: 'huber', huber_delta: 0.2 })).toBeNull();
    expect(code({ ...old, objective: 'poisson', huber_delta: null })).toBe('SP_ERR_TRAIN_PARAMS');
    expect(code({ ...old, objective: 'huber', huber_delta: null })).toBe('SP_ERR_TRAIN_PARAMS');
    expect(code({ ...old, objective: 'l2', huber_delta: 0.5 })).toBe('SP_ERR_TRAIN_PARAMS');
    const { huber_delta: _x, ...nine } = DEFAULT_SPACE;
    expect(() => checkSpace(nine)).toThrow(StockpipeError);
  });
});
