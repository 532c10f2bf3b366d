import { describe, expect, it } from 'vitest';
import { forecastMetrics, withSkill } from './forecast.js';

describe('forecastMetrics', () => {
  const at = (scale: number) => {
    const y = { adjClose: Float64Array.from([1, 2, 3, 4], (x) => x * scale), ret: new Float64Array(4), volume: Float64Array.from([10, 20, 30, 40]) };
    const model = forecastMetrics(y, { adjClose: Float64Array.from([1.5, 2, 2, 4.5], (x) => x * scale) });
    const persistence = forecastMetrics(y, { adjClose: Float64Array.from([2, 1, 2, 3], (x) => x * scale) });
    return withSkill(model, persistence);
  };

  it('gives the RMSE of prices near 1e300 and 1e-300 as at 1 (no overflow to Infinity, no underflow to 0)', () => {
    const one = at(1);
    expect(one.rmse_adj_close).toBeCloseTo(Math.sqrt((0.25 + 0 + 1 + 0.25) / 4), 12);
    for (const scale of [1e300, 1e-300]) {
      const m = at(scale);
      expect(m.rmse_adj_close! / scale).toBeCloseTo(one.rmse_adj_close!, 12);
      expect(m.mae_adj_close! / scale).toBeCloseTo(one.mae_adj_close!, 12);
      expect(m.skill_rmse_adj_close).toBeCloseTo(one.skill_rmse_adj_close!, 12);
    }
  });
});
