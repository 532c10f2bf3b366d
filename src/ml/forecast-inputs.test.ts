import { describe, expect, it } from 'vitest';
import { toDayNumber, tradingDays } from '../core/calendar.js';
import { EXTENDED_COLUMNS, laggedFeatures, NextTradingDay, type LaggedInput } from '../features/lagged.js';
import { FORECAST_FEATURES } from './forecast-dataset.js';
import { closeLocation, DividendCycles, EX_DIVIDEND_JUMP, inputComputer, KNOWN_INPUTS, MarketDays, TargetCalendar, type InputChunk } from './forecast-inputs.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Several symbols (some ETFs) with gaps, their own start days, prices ≤ 0 now and then, zero volumes. */
/** A symbol's rows: what the lagged columns read, and the rest of its bar (unadjusted Open and Close). */
type Bars = LaggedInput & { open: Float64Array; close: Float64Array };

function market(seed: number, symbols: number, len: number): { sym: Bars[]; stock: boolean[] } {
  const rnd = lcg(seed);
  const div = lcg(seed + 7919);
  const all = tradingDays('2019-10-01', len + 60);
  const sym: Bars[] = [];
  const stock: boolean[] = [];
  for (let s = 0; s < symbols; s++) {
    const from = Math.floor(rnd() * 40);
    const dates = all.slice(from).filter(() => rnd() > 0.05).slice(0, len);
    const n = dates.length;
    const x: Bars = { rows: n, day: Int32Array.from(dates, toDayNumber), high: new Float64Array(n), low: new Float64Array(n), adjClose: new Float64Array(n), volume: new Float64Array(n), open: new Float64Array(n), close: new Float64Array(n) };
    let p = 5 + rnd() * 100;
    // Close / Adj Close: steps down on ex-dividend days (about one row in 25), float noise far below a step otherwise.
    // Drawn from a stream of their own, so that every other value is as before they existed.
    let q = 1 + div() * 0.5;
    for (let i = 0; i < n; i++) {
      if (div() < 0.04) q /= 1 + 1e-4 + div() * 0.02;
      p *= Math.exp((rnd() - 0.5) * 0.1);
      x.adjClose[i] = rnd() < 0.02 ? -p : p;
      x.low[i] = p * (1 - rnd() * 0.05);
      x.high[i] = p * (1 + rnd() * 0.05);
      // Open and Close within the range, now and then missing (NaN) or a range of 0.
      x.open[i] = rnd() < 0.02 ? NaN : x.low[i]! + rnd() * (x.high[i]! - x.low[i]!);
      x.close[i] = p * q * (1 + (rnd() - 0.5) * 2e-6);
      if (rnd() < 0.02) x.high[i] = x.low[i]!;
      x.volume[i] = rnd() < 0.03 ? 0 : Math.floor(rnd() ** 3 * 5e8);
    }
    sym.push(x);
    stock.push(rnd() < 0.7);
  }
  return { sym, stock };
}

/** Every input of every row (symbol-major), computed as the loaders do: lagged columns per symbol, the market's means over all rows. */
function inputsOf(m: { sym: Bars[]; stock: boolean[] }, names: readonly string[]): Float64Array[] {
  const rows = m.sym.reduce((s, x) => s + x.rows, 0);
  const ext = EXTENDED_COLUMNS.map(() => new Float64Array(rows));
  const day = new Int32Array(rows);
  const adj = new Float64Array(rows);
  const isStock = new Uint8Array(rows);
  const bar = { open: new Float64Array(rows), high: new Float64Array(rows), low: new Float64Array(rows), close: new Float64Array(rows) };
  const cal = new NextTradingDay();
  const symbolStart = new Int32Array(m.sym.length + 1);
  m.sym.forEach((x, s) => (symbolStart[s + 1] = symbolStart[s]! + x.rows));
  let at = 0;
  m.sym.forEach((x, s) => {
    const out = EXTENDED_COLUMNS.map(() => new Float64Array(x.rows));
    laggedFeatures(x, out, cal);
    out.forEach((c, j) => ext[j]!.set(c, at));
    day.set(x.day, at);
    adj.set(x.adjClose, at);
    for (const k of ['open', 'high', 'low', 'close'] as const) bar[k].set(x[k], at);
    isStock.fill(m.stock[s] ? 1 : 0, at, at + x.rows);
    at += x.rows;
  });
  // The stored rolling columns are not under test here: a stand-in that reads day t only.
  const chunk: InputChunk = { rows, day, isStock, adjClose: adj, vma: Float64Array.from(ext[EXTENDED_COLUMNS.indexOf('vol_ma_20')]!), acm: new Float64Array(rows).fill(50), ...bar, ext: (n) => ext[EXTENDED_COLUMNS.indexOf(n as (typeof EXTENDED_COLUMNS)[number])]!, frameRow: Int32Array.from({ length: rows }, (_, i) => i) };
  const mk = new MarketDays();
  mk.add(chunk);
  const volume = new Float64Array(rows);
  m.sym.forEach((x, s) => volume.set(x.volume, symbolStart[s]));
  const ctx = { cal: new TargetCalendar(), market: mk, dividends: new DividendCycles(symbolStart, day, bar.close, adj, volume) };
  return names.map((n) => {
    const out = new Float64Array(rows);
    inputComputer(n)(chunk, out, ctx);
    return out;
  });
}

describe('day-ahead inputs', () => {
  it('the model uses only inputs stockpipe computes', () => {
    for (const n of FORECAST_FEATURES) expect(KNOWN_INPUTS).toContain(n);
  });

  it('contain no information from after day t: scrambling or dropping every row dated after t leaves every input of the rows up to t unchanged', () => {
    for (let seed = 1; seed <= 12; seed++) {
      const m = market(seed, 7, 140);
      const before = inputsOf(m, KNOWN_INPUTS);
      const rnd = lcg(1000 + seed);
      const days = [...new Set(m.sym.flatMap((x) => Array.from(x.day)))].sort((a, b) => a - b);
      const cut = days[20 + ((seed * 53) % (days.length - 40))]!; // spread over the days
      // Every symbol's rows after the cut: shuffled among themselves and rescaled (their targets included).
      const scrambled = {
        stock: m.stock,
        sym: m.sym.map((x) => {
          const y: Bars = { ...x, high: x.high.slice(), low: x.low.slice(), adjClose: x.adjClose.slice(), volume: x.volume.slice(), open: x.open.slice(), close: x.close.slice() };
          const first = x.day.findIndex((d) => d > cut);
          if (first < 0) return y;
          for (let i = x.rows - 1; i > first; i--) {
            const j = first + Math.floor(rnd() * (i - first + 1));
            for (const col of [y.high, y.low, y.adjClose, y.volume, y.open, y.close]) [col[i], col[j]] = [col[j]!, col[i]!];
          }
          for (let i = first; i < x.rows; i++) {
            y.adjClose[i] = y.adjClose[i]! * 3 + 1;
            y.volume[i] = y.volume[i]! * 7 + 11;
          }
          return y;
        }),
      };
      const after = inputsOf(scrambled, KNOWN_INPUTS);
      const kept = (x: LaggedInput): number => x.day.findIndex((d) => d > cut) === -1 ? x.rows : x.day.findIndex((d) => d > cut);
      const truncated = inputsOf({ stock: m.stock, sym: m.sym.map((x) => ({ rows: kept(x), day: x.day.subarray(0, kept(x)), high: x.high.subarray(0, kept(x)), low: x.low.subarray(0, kept(x)), adjClose: x.adjClose.subarray(0, kept(x)), volume: x.volume.subarray(0, kept(x)), open: x.open.subarray(0, kept(x)), close: x.close.subarray(0, kept(x)) })) }, KNOWN_INPUTS);
      let changedLater = 0;
      const leaks: string[] = [];
      KNOWN_INPUTS.forEach((name, f) => {
        let i = 0;
        let j = 0;
        for (const x of m.sym) {
          for (let k = 0; k < x.rows; k++, i++) {
            if (x.day[k]! <= cut) {
              if (!Object.is(after[f]![i], before[f]![i])) leaks.push(`${name}[${i}] scrambled: ${before[f]![i]} → ${after[f]![i]}`);
              if (!Object.is(truncated[f]![j], before[f]![i])) leaks.push(`${name}[${i}] truncated: ${before[f]![i]} → ${truncated[f]![j]}`);
              j++;
            } else if (!Object.is(after[f]![i], before[f]![i])) changedLater++;
          }
        }
      });
      expect(leaks.slice(0, 5), `seed ${seed}, cut ${cut}`).toEqual([]);
      // The scrambling reached the later rows (so the test can fail).
      expect(changedLater).toBeGreaterThan(0);
    }
  });

  it('every input that reads volume or prices changes when the row of day t does (each one is wired to data)', () => {
    const m = market(77, 5, 120);
    const before = inputsOf(m, KNOWN_INPUTS);
    const x = m.sym[2]!;
    const t = 100;
    x.volume[t] = x.volume[t]! * 13 + 1000;
    x.adjClose[t] = Math.abs(x.adjClose[t]!) * 1.5;
    x.high[t] = Math.max(x.high[t]!, x.low[t]! * 1.05);
    x.open[t] = x.low[t]! + 0.8 * (x.high[t]! - x.low[t]!);
    x.close[t] = x.low[t]! + 0.123 * (x.high[t]! - x.low[t]!);
    const after = inputsOf(m, KNOWN_INPUTS);
    const row = m.sym[0]!.rows + m.sym[1]!.rows + t;
    // Facts of the calendar, the asset kind and the day's high/low range do not read Volume, Adj Close, Open or Close.
    const notFromBar = ['dow', 'gap_days', 'to_month_end', 'from_month_start', 'to_quarter_end', 'pre_holiday', 'opex', 'quad_witching', 'quad_witching_today', 'half_day', 'half_day_today', 'day_of_year', 'is_stock', 'hl_range'];
    KNOWN_INPUTS.filter((n) => !notFromBar.includes(n)).forEach((n) => {
      const f = KNOWN_INPUTS.indexOf(n);
      expect(Object.is(after[f]![row], before[f]![row]), `${n} ignores day t's bar`).toBe(false);
    });
  });

  it('compute the market and group means, the ratios and the target day\'s calendar from their definitions', () => {
    const m = market(5, 6, 90);
    const names = ['log_volume', 'vol_ratio', 'log_vol_ma_5', 'log_vol_ma_20', 'mkt_log_vol', 'mkt_log_vol_chg', 'mkt_vol_ratio', 'group_vol_ratio', 'vol_ratio_5', 'vol_trend', 'is_stock'];
    const got = inputsOf(m, names);
    const col = (n: string): Float64Array => got[names.indexOf(n)]!;
    const day = m.sym.flatMap((x) => Array.from(x.day));
    const rows = day.length;
    const mean = (xs: number[]): number => (xs.length > 0 ? xs.reduce((s, v) => s + v, 0) / xs.length : NaN);
    const days = [...new Set(day)].sort((a, b) => a - b);
    const on = (d: number, n: string, stock?: number): number[] => day.flatMap((e, i) => (e === d && (stock === undefined || col('is_stock')[i] === stock) && Number.isFinite(col(n)[i]!) ? [col(n)[i]!] : []));
    for (let i = 0; i < rows; i++) {
      const d = day[i]!;
      const prev = days[days.indexOf(d) - 1];
      const close = (a: number, b: number): boolean => (Number.isNaN(b) ? Number.isNaN(a) : Math.abs(a - b) < 1e-9);
      expect(close(col('mkt_log_vol')[i]!, mean(on(d, 'log_volume')))).toBe(true);
      expect(close(col('mkt_log_vol_chg')[i]!, prev === undefined ? NaN : mean(on(d, 'log_volume')) - mean(on(prev, 'log_volume')))).toBe(true);
      expect(close(col('mkt_vol_ratio')[i]!, mean(on(d, 'vol_ratio')))).toBe(true);
      expect(close(col('group_vol_ratio')[i]!, mean(on(d, 'vol_ratio', col('is_stock')[i])))).toBe(true);
      expect(close(col('vol_ratio_5')[i]!, col('log_volume')[i]! - col('log_vol_ma_5')[i]!)).toBe(true);
      expect(close(col('vol_trend')[i]!, col('log_vol_ma_5')[i]! - col('log_vol_ma_20')[i]!)).toBe(true);
    }
    const cal = new TargetCalendar();
    const facts = (date: string): number[] => Array.from(cal.facts(toDayNumber(date)));
    // [to month end, from month start, to quarter end, pre-holiday, options expiry, quarterly expiry, early close, day of the year]
    expect(facts('2024-03-28')).toEqual([0, 19, 0, 1, 0, 0, 0, 87]); // Thursday before Good Friday: the last trading day of March and Q1
    expect(facts('2024-06-21')).toEqual([5, 13, 5, 0, 1, 1, 0, 172]); // the third Friday of June: a quarterly expiry
    expect(facts('2022-04-14')).toEqual([10, 9, 52, 1, 1, 0, 0, 103]); // the third Friday (Apr 15) is Good Friday: expiry moves to Thursday
    expect(facts('2024-07-01')).toEqual([21, 0, 63, 0, 0, 0, 0, 182]); // first trading day of July; July 4th is 2 days later
    expect(facts('2024-07-03')).toEqual([19, 2, 61, 1, 0, 0, 1, 184]); // the eve of Independence Day: an early close
    expect(facts('2024-11-29').slice(5, 7)).toEqual([0, 1]); // the Friday after Thanksgiving (Nov 28)
    expect(facts('2024-12-24').slice(5, 7)).toEqual([0, 1]);
    expect(facts('2024-12-20').slice(5, 7)).toEqual([1, 0]); // December's third Friday
    expect(facts('2024-11-22').slice(5, 7)).toEqual([0, 0]); // an ordinary Friday in November (third Friday: monthly expiry only)
    // The event inputs: of the target day, and of the row's own day t.
    const d = ['2024-06-20', '2024-06-21', '2024-07-02', '2024-07-03', '2024-07-05'].map(toDayNumber);
    const chunk = { rows: d.length, day: Int32Array.from(d) } as unknown as InputChunk;
    const ctx = { cal, market: new MarketDays() };
    const run = (name: string): number[] => {
      const out = new Float64Array(d.length);
      inputComputer(name)(chunk, out, ctx);
      return Array.from(out);
    };
    expect(run('quad_witching')).toEqual([1, 0, 0, 0, 0]); // the row of Jun 20 predicts Jun 21
    expect(run('quad_witching_today')).toEqual([0, 1, 0, 0, 0]);
    expect(run('half_day')).toEqual([0, 0, 1, 0, 0]); // the row of Jul 2 predicts Jul 3
    expect(run('half_day_today')).toEqual([0, 0, 0, 1, 0]);
    expect(cal.target(toDayNumber('2024-07-03'))).toBe(toDayNumber('2024-07-05'));
    // The season: the target day's day of the year, 0 on 1 January, 365 on 31 December of a leap year.
    expect(run('day_of_year')).toEqual([172, 175, 184, 186, 189]); // Jun 21, Jun 24 (a Monday), Jul 3, Jul 5 (after the holiday), Jul 8
    expect([facts('2024-01-02')[7], facts('2023-12-29')[7], facts('2024-12-31')[7], facts('2025-12-31')[7]]).toEqual([1, 362, 365, 364]);
  });

  it('compute the bar inputs from day t\'s Open, High, Low and Close', () => {
    const m = market(9, 4, 60);
    const [loc, oc] = inputsOf(m, ['close_loc', 'oc_ret']);
    let i = 0;
    let ranges0 = 0;
    let missingOpen = 0;
    for (const x of m.sym) {
      for (let k = 0; k < x.rows; k++, i++) {
        const range = x.high[k]! - x.low[k]!;
        if (range > 0) expect(loc![i]).toBeCloseTo((x.close[k]! - x.low[k]!) / range, 12);
        else {
          ranges0++;
          expect(loc![i]).toBeNaN();
        }
        if (Number.isNaN(x.open[k]!)) missingOpen++;
        if (Number.isNaN(x.open[k]!)) expect(oc![i]).toBeNaN();
        else expect(oc![i]).toBeCloseTo(Math.log(x.close[k]! / x.open[k]!), 12);
      }
    }
    expect([ranges0, missingOpen].every((n) => n > 0)).toBe(true);
    expect(closeLocation(10, 12, 8)).toBe(0.5);
    expect(closeLocation(10, 8, 8)).toBeNaN();
    expect(closeLocation(NaN, 12, 8)).toBeNaN();
  });

  it('find the ex-dividend days in the steps of Close / Adj Close, and the dividend cycle of each row from the days up to it', () => {
    const days = tradingDays('2020-01-02', 300).map(toDayNumber);
    const n = days.length;
    const ex = [10, 73, 136, 203, 262];
    const rnd = lcg(3);
    const close = new Float64Array(n);
    const adj = new Float64Array(n);
    const volume = Float64Array.from({ length: n }, (_, i) => (i === 240 ? 1e6 : 1000 + i)); // a spike (earnings) before the ex-date of row 262
    let q = 1.3;
    for (let i = 0; i < n; i++) {
      if (ex.includes(i)) q /= 1 + (i === 136 ? 2 * EX_DIVIDEND_JUMP : 0.01); // one dividend just above the threshold
      adj[i] = 50 + rnd() * 10;
      close[i] = adj[i]! * q * (1 + (rnd() - 0.5) * 1e-5); // float noise of 5e-6 at most: no ex-date
    }
    const symbolStart = Int32Array.of(0, n);
    const d = new DividendCycles(symbolStart, Int32Array.from(days), close, adj, volume);
    expect(d.count).toBe(ex.length);
    const at = (row: number): number[] => Array.from(d.facts(row, days[row + 1]!));
    const T = (row: number): number => days[row + 1]!;
    // Before the first ex-date nothing is known; after one, only the days since it and its volume.
    expect(at(9).every(Number.isNaN)).toBe(true);
    expect(at(10).slice(0, 2).every(Number.isNaN)).toBe(true);
    expect(at(10)[2]).toBe(T(10) - days[10]!);
    expect(at(10)[4]).toBeCloseTo(Math.log1p(1010), 12); // rows 8..10 (none after t)
    // From the second on: the next one expected one interval (or the median of up to four) after the last.
    const gap = (a: number, b: number): number => days[b]! - days[a]!;
    expect(at(100)[0]).toBe(days[73]! + gap(10, 73) - T(100));
    expect(at(100)[1]).toBe(days[73]! + gap(10, 73) - T(100));
    expect(at(290)[0]).toBe(days[262]! + gap(203, 262) - T(290));
    const g = [gap(10, 73), gap(73, 136), gap(136, 203), gap(203, 262)].sort((a, b) => a - b);
    expect(at(290)[1]).toBe(days[262]! + (g[1]! + g[2]!) / 2 - T(290));
    expect(at(290)[2]).toBe(T(290) - days[262]!);
    // The echo: the rows around the target day one interval earlier; around the last ex-date (±2 rows).
    let back = 290;
    while (days[back]! > T(290) - gap(203, 262)) back--;
    expect(at(290)[3]).toBeCloseTo(Math.log1p(volume[back + 2]!), 12);
    expect(at(290)[4]).toBeCloseTo(Math.log1p(volume[264]!), 12);
    // The largest volume between the last two ex-dates (rows 204..262: the spike), one interval on.
    expect(back < 238 || back > 242).toBe(true);
    expect(at(290)[5]).toBe(days[240]! + gap(203, 262) - T(290));
    expect(at(250)[5]).toBe(days[203]! + gap(136, 203) - T(250)); // no spike between rows 137 and 203: the largest volume is the last
    // The ratio's level (which carries every later dividend) is never read: scaling Close is no change.
    const scaled = new DividendCycles(symbolStart, Int32Array.from(days), close.map((c) => c * 1.7), adj, volume);
    for (let row = 0; row < n - 1; row++) expect(Array.from(scaled.facts(row, T(row)))).toEqual(at(row));
  });
});
