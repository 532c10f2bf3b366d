import { describe, expect, it } from 'vitest';
import { naiveScorer } from '../ml/volume-model.js';
import { featureImportance, residuals, thinCurve } from './model-insights.js';

const tree = (feature: number[]) => ({ feature, threshold: feature.map(() => 0), left: feature.map(() => -1), right: feature.map(() => -1), value: feature.map(() => 0) });

describe('model insights', () => {
  it('counts splits per feature in each booster, leaves excluded; none for a model without trees', () => {
    const m = { format: 'stockpipe-trees', feature_names: ['vol_moving_avg', 'adj_close_rolling_med'], trees: [tree([0, 1, -1, -1, -1]), tree([0, -1, -1])] };
    expect(featureImportance(m)).toEqual([{ booster: 'volume', trees: 2, gain: false, features: [
      { feature: 'vol_moving_avg', splits: 2, share: 2 / 3, gain: null, gain_share: null }, { feature: 'adj_close_rolling_med', splits: 1, share: 1 / 3, gain: null, gain_share: null }] }]);
    // With the trees' split gains: each feature's total and share, leaves' zeros ignored.
    const gained = { ...m, trees: [{ ...tree([0, 1, -1, -1, -1]), gain: [3, 1, 0, 0, 0] }, { ...tree([0, -1, -1]), gain: [4, 0, 0] }] };
    expect(featureImportance(gained)[0]!.features).toEqual([
      { feature: 'vol_moving_avg', splits: 2, share: 2 / 3, gain: 7, gain_share: 7 / 8 }, { feature: 'adj_close_rolling_med', splits: 1, share: 1 / 3, gain: 1, gain_share: 1 / 8 }]);
    expect(featureImportance(gained)[0]!.gain).toBe(true);
    // One tree without gains (never written so, but a hand-edited file): no gains at all rather than a partial sum.
    expect(featureImportance({ ...gained, trees: [gained.trees[0], tree([0, -1, -1])] })[0]!.gain).toBe(false);
    const f = featureImportance({ format: 'stockpipe-forecast', adj_close: { model: { feature_names: ['a', 'b'], trees: [] } }, volume: { model: { feature_names: ['a', 'b'], trees: [tree([1, -1, -1])] } } });
    expect(f.map((b) => [b.booster, b.features.map((x) => x.splits)])).toEqual([['adj_close', [0, 0]], ['volume', [1, 0]]]);
    expect(featureImportance({ format: 'stockpipe-poly2', coef: [] })).toEqual([]);
  });

  it('computes log residuals against a naive twin: histogram counts add up, rmse_log matches a plain loop', async () => {
    const n = 1000;
    const vma = Float64Array.from({ length: n }, (_, i) => 1000 + i * 37);
    const acm = new Float64Array(n);
    const volume = Float64Array.from({ length: n }, (_, i) => (1000 + i * 37) * Math.exp(((i % 17) - 8) / 3));
    const r = await residuals(naiveScorer(), { vma, acm, volume }, { bins: 10, range: 2, points: 100 });
    let se = 0;
    for (let i = 0; i < n; i++) se += (Math.log1p(volume[i]!) - Math.log1p(vma[i]!)) ** 2;
    expect(r.rmse_log).toBeCloseTo(Math.sqrt(se / n), 12);
    expect(r.histogram.counts.reduce((s, c) => s + c, 0) + r.histogram.below + r.histogram.above).toBe(n);
    expect(r.histogram.below).toBeGreaterThan(0);
    expect(r.sample.actual.length).toBe(100);
    expect(r.sample.predicted[1]).toBe(vma[10]);
  });

  it('thins a long curve to the asked points, keeping first, last and the minimum', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i === 503 ? -1 : Math.sin(i)));
    const c = thinCurve({ key: 'k', part: 'p', series: 's', metric: 'mse', steps: values.map((_, i) => i + 1), values }, 50);
    expect(c.steps.length).toBeLessThanOrEqual(50);
    expect(c.total).toBe(1000);
    expect(c.steps).toContain(1);
    expect(c.steps).toContain(1000);
    expect(c.steps).toContain(504);
    expect(Math.min(...c.values)).toBe(-1);
  });
});
