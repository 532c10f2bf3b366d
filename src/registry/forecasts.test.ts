import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { forecastHistory, forecastsDue, forecastsFor, latestForecast, writeForecasts, type ForecastInput } from './forecasts.js';
import { openRegistry, type Registry } from './store.js';

let ws: string;
let reg: Registry;
let t: number;
beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-forecast-store-'));
  t = Date.parse('2024-01-01T00:00:00.000Z');
  reg = openRegistry(ws, { now: () => new Date((t += 1000)) });
});
afterEach(async () => {
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

const row = (symbol: string, asof: string, target: string, over: Partial<ForecastInput> = {}): ForecastInput => ({
  model_id: 'forecast-1', symbol, asof_date: asof, target_date: target, adj_close: 10.5, volume: 1234.5, last_adj_close: 10, last_volume: 1000, run_id: null, ...over,
});

describe('forecasts store', () => {
  it('writes, replaces the same (model, symbol, target day), and reads latest / range / history / due', () => {
    expect(writeForecasts(reg, [row('AAA', '2024-07-02', '2024-07-03'), row('BBB', '2024-07-02', '2024-07-03'), row('AAA', '2024-07-03', '2024-07-05')])).toBe(3);
    writeForecasts(reg, [row('AAA', '2024-07-03', '2024-07-05', { adj_close: 11 })]);
    expect(latestForecast(reg, 'AAA')).toMatchObject({ target_date: '2024-07-05', adj_close: 11, asof_date: '2024-07-03' });
    expect(latestForecast(reg, 'ZZZ')).toBeNull();
    expect(forecastHistory(reg, 'AAA', 10).map((r) => r.target_date)).toEqual(['2024-07-05', '2024-07-03']);
    expect(forecastsFor(reg, 'AAA', { from: '2024-07-04' }).map((r) => r.target_date)).toEqual(['2024-07-05']);
    expect(forecastsFor(reg, 'AAA', { to: '2024-07-03' }).map((r) => r.target_date)).toEqual(['2024-07-03']);
    expect(forecastsDue(reg, '2024-07-03').map((r) => r.symbol)).toEqual(['AAA', 'BBB']);
    expect(forecastsDue(reg, '2024-07-05', { since: '2024-07-03' }).map((r) => r.target_date)).toEqual(['2024-07-05']);
    expect(reg.get<{ n: number }>('count', 'SELECT count(*) AS n FROM forecasts')!.n).toBe(3);
  });

  it('stores non-finite numbers as null and writes all rows or none', () => {
    writeForecasts(reg, [row('AAA', '2024-07-02', '2024-07-03', { adj_close: NaN, volume: Infinity })]);
    expect(latestForecast(reg, 'AAA')).toMatchObject({ adj_close: null, volume: null, last_adj_close: 10 });
    let err: unknown;
    try {
      writeForecasts(reg, [row('CCC', '2024-07-02', '2024-07-03'), row('DDD', '2024-07-02', null as unknown as string)]);
    } catch (e) {
      err = e;
    }
    expect((err as StockpipeError).code).toBe('SP_ERR_REGISTRY');
    expect(latestForecast(reg, 'CCC')).toBeNull();
  });
});
