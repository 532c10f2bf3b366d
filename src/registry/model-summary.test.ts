import { describe, expect, it } from 'vitest';
import { baselineWins, forecastSummary, volumeSummary } from './model-summary.js';
import type { ModelVersion } from './types.js';

const base = { created_at: '2026-12-01T00:00:00Z', aliases: [], run_id: null, data_hash: null, path: '/x', test_slice: null };

describe('model summary', () => {
  it('names the baseline that beats a volume model on raw volume but not on the log scale, with units', () => {
    // The real A–D case: naive's raw RMSE 1.335e7 beats gbdt's 1.356e7 while gbdt wins on log1p.
    const mv: ModelVersion = { ...base, id: 'g', kind: 'gbdt', metrics: {
      gbdt: { mae: 3.1e6, rmse: 1.356e7, r2: 0.6, mae_log: 0.37, rmse_log: 0.576, r2_log: 0.96 },
      naive: { mae: 3.2e6, rmse: 1.335e7, r2: 0.61, mae_log: 0.38, rmse_log: 0.586, r2_log: 0.96 },
      polyreg: { mae: 3.3e6, rmse: 1.4e7, r2: 0.58, mae_log: 0.39, rmse_log: 0.59, r2_log: 0.95 },
    } };
    const wins = baselineWins(mv);
    expect(wins.map((w) => [w.metric, w.scale, w.unit, w.baselines])).toEqual([['rmse', 'raw', 'shares', ['naive']]]);
    expect(wins[0]!.note).toBe('naive beats gbdt on raw volume (rmse: naive 1.335e+7 vs 1.356e+7 shares)');
    const s = volumeSummary(mv);
    expect(s.rows.map((r) => [r.name, r.model])).toEqual([['gbdt', true], ['naive', false], ['polyreg', false]]);
    expect(s.columns.find((c) => c.metric === 'rmse_log')).toEqual({ metric: 'rmse_log', scale: 'log', unit: 'log1p(shares)' });
    expect(s.rows[1]!.metrics.rmse).toBe(1.335e7);
  });

  it('reports nothing when the model wins everywhere, and a forecast model\'s skill against persistence', () => {
    const mv: ModelVersion = { ...base, id: 'g', kind: 'gbdt', metrics: { gbdt: { rmse: 1, rmse_log: 0.1 }, naive: { rmse: 2, rmse_log: 0.2 } } };
    expect(baselineWins(mv)).toEqual([]);
    const f: ModelVersion = { ...base, id: 'f', kind: 'forecast', metrics: {
      forecast: { skill_volume: 0.147, skill_adj_close: -0.001, mae_volume: 2.6e7, mae_adj_close: 0.408 },
      persistence: { skill_volume: 0, skill_adj_close: 0, mae_volume: 3.1e7, mae_adj_close: 0.407 },
    } };
    const s = forecastSummary(f);
    expect([s.skill_volume, s.skill_adj_close]).toEqual([0.147, -0.001]);
    expect(s.rows.map((r) => r.name)).toEqual(['forecast', 'persistence']);
    expect(s.notes).toEqual(['Adj Close skill -0.1%: essentially none (day-ahead prices are close to a random walk)']);
    expect(forecastSummary({ ...f, metrics: { forecast: { skill_volume: -0.02, skill_adj_close: 0.2 } } }).notes).toEqual(['persistence (tomorrow = today) forecasts volume at least as well']);
  });
});
