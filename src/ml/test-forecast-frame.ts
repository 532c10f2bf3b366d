/** @module ml/test-forecast-frame
 * A seeded synthetic day-ahead frame for the tests of the day-ahead model (not used by production
 * code): `symbols` symbols over `days` consecutive NYSE trading days from `start`. Tomorrow's volume
 * is today's level times exp(0.4·z + noise), z an input of day t — a signal the volume booster can
 * learn; with `w`, a third input (NaN every seventh day) that the return follows a little. Inputs
 * `log_volume`, `z` (and `w`), held in row blocks cut at `cuts` (from the target days; one block by
 * default), as ml/forecast-dataset holds them. */
import { createRng } from '../core/rng.js';
import { NextTradingDay } from '../features/lagged.js';
import { makeBlocks } from './forecast-blocks.js';
import { forecastRows, type ForecastFrame } from './forecast-dataset.js';
import { parseDay } from './split.js';

export interface SyntheticFrameOptions {
  symbols: number;
  days: number;
  seed: number;
  /** First trading day (YYYY-MM-DD). */
  start: string;
  /** Adds the input `w`. */
  w?: boolean;
  cuts?: (targetDay: Int32Array) => readonly number[];
  /** Bars every `every` trading days (default 1: every day; 5: weekly bars, which give the model no example). */
  every?: number;
}

export function syntheticForecastFrame(o: SyntheticFrameOptions): ForecastFrame {
  const rng = createRng(o.seed);
  const cal = new NextTradingDay();
  const dates = [parseDay(o.start, 'start')];
  while (dates.length < o.days) {
    let d = dates[dates.length - 1]!;
    for (let k = 0; k < (o.every ?? 1); k++) d = cal.next(d);
    dates.push(d);
  }
  const { symbols, days } = o;
  const rows = symbols * days;
  const f = { rows, symbolStart: Int32Array.from({ length: symbols + 1 }, (_, s) => s * days), day: new Int32Array(rows), adjClose: new Float64Array(rows), volume: new Float64Array(rows) };
  const z = new Float64Array(rows);
  const w = new Float64Array(rows);
  for (let s = 0; s < symbols; s++) {
    let v = 1e5 * (1 + s);
    let p = 20 + s;
    for (let d = 0; d < days; d++) {
      const i = s * days + d;
      f.day[i] = dates[d]!;
      z[i] = rng.normal();
      if (o.w) w[i] = d % 7 === 3 ? Number.NaN : rng.normal();
      f.volume[i] = Math.round(v);
      f.adjClose[i] = p;
      v = 1e5 * (1 + s) * Math.exp(0.4 * z[i]! + 0.3 * rng.normal());
      p *= Math.exp(0.01 * rng.normal() + (o.w ? 0.002 * (Number.isNaN(w[i]!) ? 0 : w[i]!) : 0));
    }
  }
  const features = o.w ? ['log_volume', 'z', 'w'] : ['log_volume', 'z'];
  const r = forecastRows(f);
  const n = r.row.length;
  const blocks = makeBlocks(n, features.length, o.cuts?.(r.targetDay));
  const ma20 = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const i = r.row[k]!;
    const value = [Math.log1p(f.volume[i]!), z[i]!, w[i]!];
    const b = blocks.find((q) => k >= q.lo && k < q.hi)!;
    for (let c = 0; c < features.length; c++) b.x[c]![k - b.lo] = value[c]!;
    ma20[k] = f.volume[i]!;
  }
  return { path: 'synthetic', ...f, set: { ...r, features, blocks, ma20 } };
}
