import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { trainGbdt } from './gbdt/booster.js';
import { predict, predictRaw } from './gbdt/model.js';
import { synthetic } from './gbdt/test-data.js';
import { forecastFromJSON, forecastToJSON, scoreForecast, type ForecastModel } from './forecast-model.js';
import { forecastMetrics, withSkill } from './metrics/forecast.js';

async function model(): Promise<ForecastModel> {
  const d = synthetic(3_000, 5);
  const ret = (await trainGbdt({ ...d, y: d.y.map((y) => y / 100) }, null, { num_trees: 8, max_depth: 3, num_leaves: 8 })).model;
  const vol = (await trainGbdt({ ...d, targetTransform: 'log1p' }, null, { num_trees: 8, max_depth: 3, num_leaves: 8 })).model;
  vol.offset = { feature: 1, transform: 'identity' };
  return { featureNames: ['x0', 'x1'], adjClose: ret, volume: vol };
}

const code = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof StockpipeError ? e.code : String(e);
  }
  return undefined;
};

describe('forecast model.json', () => {
  it('round-trips byte for byte and batch scoring equals the per-row scorer (with NaN inputs)', async () => {
    const m = await model();
    const text = forecastToJSON(m);
    const back = forecastFromJSON(text, 'model.json');
    expect(forecastToJSON(back)).toBe(text);
    const rng = createRng(9);
    const n = 500;
    const cols = [new Float64Array(n), new Float64Array(n)];
    const last = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      cols[0]![i] = rng.next() < 0.05 ? NaN : rng.next() * 10;
      cols[1]![i] = rng.normal();
      last[i] = 1 + rng.next() * 200;
    }
    const s = scoreForecast(back, cols, last);
    for (let i = 0; i < n; i++) {
      const row = [cols[0]![i]!, cols[1]![i]!];
      expect(s.ret[i]).toBe(predictRaw(m.adjClose, row));
      expect(s.adjClose[i]).toBe(last[i]! * Math.exp(predictRaw(m.adjClose, row)));
      expect(s.volume[i]).toBe(predict(m.volume, row));
      expect(s.volume[i]!).toBeGreaterThanOrEqual(0);
    }
  });

  it('refuses another format, version, horizon or mismatched inputs with SP_ERR_MODEL_FORMAT', async () => {
    const doc = JSON.parse(forecastToJSON(await model())) as Record<string, any>;
    const bad = (edit: (d: Record<string, any>) => void): string | undefined => {
      const d = structuredClone(doc);
      edit(d);
      return code(() => forecastFromJSON(JSON.stringify(d), 'm.json'));
    };
    expect(bad((d) => (d.format = 'stockpipe-trees'))).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad((d) => (d.format_version = 2))).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad((d) => (d.horizon = 'next_week'))).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad((d) => (d.feature_names = ['x0', 'other']))).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad((d) => (d.adj_close.model.target_transform = 'log1p'))).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad((d) => delete d.volume)).toBe('SP_ERR_MODEL_FORMAT');
    expect(code(() => forecastFromJSON('{', 'm.json'))).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad(() => undefined)).toBeUndefined();
  });
});

describe('forecast metrics', () => {
  it('equal their definitions; skill = 1 - MAE/MAE_persistence, 0 for persistence itself', () => {
    const rng = createRng(4);
    const n = 300;
    const last = Float64Array.from({ length: n }, () => 10 + rng.next() * 90);
    const ret = Float64Array.from({ length: n }, () => rng.normal() * 0.02);
    const y = { adjClose: last.map((p, i) => p * Math.exp(ret[i]!)), ret, volume: Float64Array.from({ length: n }, () => Math.floor(rng.next() * 1e6)) };
    const pred = { adjClose: last.map((p) => p * 1.001), ret: new Float64Array(n).fill(Math.log(1.001)), volume: y.volume.map((v) => v * 0.9 + 5) };
    const lastVol = y.volume.map((v) => v * 1.3);
    const pers = forecastMetrics(y, { adjClose: last, ret: new Float64Array(n), volume: lastVol });
    const m = withSkill(forecastMetrics(y, pred), pers);
    const mean = (f: (i: number) => number): number => Array.from({ length: n }, (_, i) => f(i)).reduce((s, x) => s + x, 0) / n;
    expect(m.mae_adj_close).toBeCloseTo(mean((i) => Math.abs(y.adjClose[i]! - pred.adjClose[i]!)), 10);
    expect(m.rmse_adj_close).toBeCloseTo(Math.sqrt(mean((i) => (y.adjClose[i]! - pred.adjClose[i]!) ** 2)), 10);
    expect(m.mae_volume_log).toBeCloseTo(mean((i) => Math.abs(Math.log1p(y.volume[i]!) - Math.log1p(pred.volume[i]!))), 10);
    expect(pers.mae_return).toBeCloseTo(mean((i) => Math.abs(ret[i]!)), 12);
    expect(m.skill_adj_close).toBeCloseTo(1 - m.mae_adj_close! / pers.mae_adj_close!, 12);
    expect(m.skill_volume).toBeCloseTo(1 - m.mae_volume! / pers.mae_volume!, 12);
    expect(m.skill_rmse_volume_log).toBeCloseTo(1 - m.rmse_volume_log! / pers.rmse_volume_log!, 12);
    expect(withSkill(pers, pers).skill_adj_close).toBe(0);
    expect(m.skill_volume!).toBeGreaterThan(0); // 0.9·v + 5 beats 1.3·v
    expect(m.rows).toBe(n);
  });
});
