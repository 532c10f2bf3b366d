import { describe, expect, it } from 'vitest';
import { nextTradingDay, toDayNumber, tradingDays } from '../core/calendar.js';
import { EXTENDED_COLUMNS, laggedFeatures, NextTradingDay, type LaggedInput } from './lagged.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A random symbol: trading days with gaps, prices that sometimes go ≤ 0, zero volumes. */
function series(seed: number, len: number): LaggedInput {
  const rnd = lcg(seed);
  const dates = tradingDays('2019-12-20', len + 40).filter(() => rnd() > 0.1).slice(0, len);
  const n = dates.length;
  const x: LaggedInput = { rows: n, day: Int32Array.from(dates, toDayNumber), high: new Float64Array(n), low: new Float64Array(n), adjClose: new Float64Array(n), volume: new Float64Array(n) };
  let p = 5 + rnd() * 100;
  for (let i = 0; i < n; i++) {
    p *= Math.exp((rnd() - 0.5) * 0.1);
    x.adjClose[i] = rnd() < 0.03 ? -p : rnd() < 0.01 ? 0 : p;
    x.low[i] = p * (1 - rnd() * 0.05);
    x.high[i] = rnd() < 0.02 ? 0 : p * (1 + rnd() * 0.05);
    x.volume[i] = rnd() < 0.05 ? 0 : Math.floor(rnd() ** 3 * 5e9);
  }
  return x;
}

/** The naive twin: every value from its definition, with slices and the calendar's string API. */
function naive(x: LaggedInput): Record<string, number[]> {
  const lr = (a: number, b: number): number => (a > 0 && b > 0 ? Math.log(a / b) : NaN);
  const A = Array.from(x.adjClose);
  const V = Array.from(x.volume);
  const mean = (xs: number[]): number => xs.reduce((s, y) => s + y, 0) / xs.length;
  const out: Record<string, number[]> = Object.fromEntries(EXTENDED_COLUMNS.map((c) => [c, [] as number[]]));
  for (let t = 0; t < x.rows; t++) {
    const ret = (k: number): number => (t >= k ? lr(A[t]!, A[t - k]!) : NaN);
    out.ret_1!.push(ret(1));
    out.ret_5!.push(ret(5));
    out.ret_20!.push(ret(20));
    const rets = t >= 20 ? Array.from({ length: 20 }, (_, j) => lr(A[t - 19 + j]!, A[t - 20 + j]!)) : null;
    out.vol_20!.push(rets ? Math.sqrt(rets.reduce((s, r) => s + (r - mean(rets)) ** 2, 0) / 19) : NaN);
    out.hl_range!.push(lr(x.high[t]!, x.low[t]!));
    const lv = V.slice(0, t + 1).map(Math.log1p);
    out.log_volume!.push(lv[t]!);
    out.log_vol_ma_5!.push(t >= 4 ? mean(lv.slice(t - 4)) : NaN);
    out.log_vol_ma_20!.push(t >= 19 ? mean(lv.slice(t - 19)) : NaN);
    out.vol_ratio!.push(t >= 19 ? lv[t]! - mean(lv.slice(t - 19)) : NaN);
    out.vol_ma_20!.push(t >= 19 ? mean(V.slice(t - 19, t + 1)) : NaN);
    const date = new Date(x.day[t]! * 86400000).toISOString().slice(0, 10);
    const next = nextTradingDay(date);
    out.dow!.push(new Date(`${next}T00:00:00Z`).getUTCDay());
    out.gap_days!.push(toDayNumber(next) - x.day[t]!);
    // One quarter (63 rows) before the target row t+1, ± 2 rows, against today's 20-row level.
    out.quarter_echo!.push(t >= 64 ? Math.max(...lv.slice(t - 64, t - 59)) - mean(lv.slice(t - 19)) : NaN);
  }
  return out;
}

function compute(x: LaggedInput, cal = new NextTradingDay()): Float64Array[] {
  const out = EXTENDED_COLUMNS.map(() => new Float64Array(x.rows));
  laggedFeatures(x, out, cal);
  return out;
}

const close = (a: number, b: number): boolean => (Number.isNaN(a) ? Number.isNaN(b) : Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)));

describe('extended (lagged) features', () => {
  it('equal the naive twin over many seeds', () => {
    const cal = new NextTradingDay();
    for (let seed = 1; seed <= 30; seed++) {
      const x = series(seed, 20 + ((seed * 37) % 160)); // 20..179 rows: some windows never fill, some do
      const got = compute(x, cal);
      const want = naive(x);
      EXTENDED_COLUMNS.forEach((c, j) => {
        for (let t = 0; t < x.rows; t++) expect(close(got[j]![t]!, want[c]![t]!), `seed ${seed} ${c}[${t}] ${got[j]![t]} vs ${want[c]![t]}`).toBe(true);
      });
    }
  });

  it('contain no information from after day t: changing or shuffling later rows leaves rows ≤ t unchanged', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const x = series(100 + seed, 130);
      const before = compute(x);
      const rnd = lcg(seed);
      const t = (seed * 41) % (x.rows - 2); // spread over the rows (the generator's first draws are not)
      // Shuffle every later row (prices, volumes, ranges) and scale it: the future is scrambled.
      const y: LaggedInput = { ...x, high: x.high.slice(), low: x.low.slice(), adjClose: x.adjClose.slice(), volume: x.volume.slice() };
      for (let i = x.rows - 1; i > t + 1; i--) {
        const j = t + 1 + Math.floor(rnd() * (i - t));
        for (const col of [y.high, y.low, y.adjClose, y.volume]) [col[i], col[j]] = [col[j]!, col[i]!];
      }
      for (let i = t + 1; i < x.rows; i++) {
        y.adjClose[i] = y.adjClose[i]! * 3 + 1;
        y.volume[i] = y.volume[i]! * 7 + 11;
        y.high[i] = y.high[i]! * 2;
      }
      const after = compute(y);
      const truncated = compute({ ...x, rows: t + 1 });
      EXTENDED_COLUMNS.forEach((c, j) => {
        for (let k = 0; k <= t; k++) {
          expect(Object.is(after[j]![k], before[j]![k]), `seed ${seed} ${c}[${k}] with t=${t}`).toBe(true);
          expect(Object.is(truncated[j]![k], before[j]![k]), `truncated ${c}[${k}]`).toBe(true);
        }
      });
      // And the scrambling did reach the rows after t (the test can fail).
      const changed = EXTENDED_COLUMNS.some((_, j) => before[j]!.some((v, k) => k > t && !Object.is(v, after[j]![k])));
      expect(changed).toBe(true);
    }
  });

  it('give the weekday of the next trading day and the gap over a holiday weekend', () => {
    // 2024-07-03 (Wednesday) → 2024-07-05 (Friday: the 4th is a holiday); 2024-08-30 (Fri) → 2024-09-03 (Tue, Labor Day).
    const days = ['2024-07-03', '2024-08-30'].map(toDayNumber);
    const x: LaggedInput = { rows: 2, day: Int32Array.from(days), high: new Float64Array([2, 2]), low: new Float64Array([1, 1]), adjClose: new Float64Array([1, 1]), volume: new Float64Array([0, 0]) };
    const out = compute(x);
    const j = (c: string): number => EXTENDED_COLUMNS.indexOf(c as (typeof EXTENDED_COLUMNS)[number]);
    expect(Array.from(out[j('dow')]!)).toEqual([5, 2]);
    expect(Array.from(out[j('gap_days')]!)).toEqual([2, 4]);
    expect(out[j('hl_range')]![0]).toBeCloseTo(Math.log(2), 15);
  });
});
