/** @module ml/forecast-inputs
 * The day-ahead model's inputs (docs/models.md) that are not columns of the features table, and
 * the one function that computes every input of a batch of rows: training and `stockpipe forecast`
 * call it alike. For the row of symbol s on day t (predicting t+1) an input may use
 *   - the stored lagged columns of that row (features/lagged: windows ending at t) and its own bar,
 *   - facts about the target day (the next NYSE trading day after t), known in advance,
 *   - means over all symbols' rows dated t (the market's and the symbol's group's volume that day),
 *     and the market's mean on earlier days,
 *   - the symbol's own rows dated t or earlier (the ex-dividend days seen in them: DividendCycles),
 * and nothing dated after t: no row's own next-day values, no market mean of a later day.
 * Pure; no database, no model code. */
import { isTradingDayNumber } from '../core/calendar.js';
import { EXTENDED_COLUMNS, isoWeekday, logRatio, NextTradingDay } from '../features/lagged.js';

/** One batch of rows of the features table (any order), every value a number (NaN for null). */
export interface InputChunk {
  rows: number;
  day: Int32Array;
  /** 1 stock, 0 ETF. */
  isStock: Uint8Array;
  adjClose: Float64Array;
  vma: Float64Array;
  acm: Float64Array;
  /** Day t's bar as stored (unadjusted: Open, High, Low and Close of one day share a scale). */
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  /** The stored lagged column `name` (EXTENDED_COLUMNS). */
  ext(name: string): Float64Array;
  /** Each row's row in the DividendCycles of the context (only the dividend inputs read it). */
  frameRow?: Int32Array;
}

/** Facts about a day (a row's target day, or its own day t: both known in advance): [trading days
 * left in its month after it, trading days of its month before it, trading days left in its quarter
 * after it, 1 when a weekday holiday follows it, 1 when it is the month's equity-options expiry (the
 * third Friday, or the Thursday before when that Friday is a holiday), 1 when that expiry is a
 * quarter's (March, June, September, December: index futures and options expire together and the
 * index funds rebalance), 1 when it is an NYSE early close (the day after Thanksgiving, and 24 December
 * and 3 July when they are trading days), its day of the year (0 on 1 January)]. */
export class TargetCalendar {
  private readonly memo = new Map<number, Float64Array>();
  private readonly next = new NextTradingDay();

  /** The next NYSE trading day after `day` (the target day of a row dated `day`). */
  target(day: number): number {
    return this.next.next(day);
  }

  facts(target: number): Float64Array {
    let f = this.memo.get(target);
    if (f === undefined) {
      f = this.compute(target);
      this.memo.set(target, f);
    }
    return f;
  }

  private compute(d: number): Float64Array {
    const date = new Date(d * 86_400_000);
    const y = date.getUTCFullYear();
    const m = date.getUTCMonth();
    const dom = date.getUTCDate();
    const monthEnd = Date.UTC(y, m + 1, 0) / 86_400_000;
    const monthStart = d - dom + 1;
    const quarterEnd = Date.UTC(y, 3 * Math.floor(m / 3) + 3, 0) / 86_400_000;
    const count = (from: number, to: number): number => {
      let n = 0;
      for (let k = from; k <= to; k++) if (isTradingDayNumber(k)) n++;
      return n;
    };
    const wd = isoWeekday(d);
    const preHoliday = this.next.next(d) - d > (wd === 5 ? 3 : 1) ? 1 : 0;
    const thirdFriday = monthStart + ((5 - isoWeekday(monthStart) + 7) % 7) + 14;
    const opex = d === thirdFriday || (d === thirdFriday - 1 && !isTradingDayNumber(thirdFriday)) ? 1 : 0;
    const quad = opex === 1 && m % 3 === 2 ? 1 : 0;
    return Float64Array.of(count(d + 1, monthEnd), count(monthStart, d - 1), count(d + 1, quarterEnd), preHoliday, opex, quad, isEarlyClose(m + 1, dom, wd) ? 1 : 0, d - Date.UTC(y, 0, 1) / 86_400_000);
  }
}

/** NYSE's regular early closes (1 p.m.), by rule: the Friday after Thanksgiving (the fourth
 * Thursday of November), and 24 December and 3 July on weekdays (the caller asks of trading days
 * only; a 3 July that is the observed Independence Day is a holiday, not asked). */
export function isEarlyClose(month: number, dom: number, isoWd: number): boolean {
  if (isoWd > 5) return false;
  if (month === 11) return isoWd === 5 && dom >= 23 && dom <= 29;
  return (month === 12 && dom === 24) || (month === 7 && dom === 3);
}

/** Per day: how many symbols traded and their mean log volume; the mean vol_ratio of all, of stocks, of ETFs. */
const SLOTS = 8; // n, Σ log_volume, n_ratio, Σ vol_ratio, n_ratio stocks, Σ stocks, n_ratio ETFs, Σ ETFs

/** Means over all symbols' rows of a day, accumulated batch by batch (rows in any order), read once all are in. */
export class MarketDays {
  private readonly sums = new Map<number, Float64Array>();
  private done: { days: Int32Array; values: Map<number, Float64Array> } | null = null;

  /** Adds a batch's rows (their day, asset, log_volume and vol_ratio). */
  add(c: InputChunk): void {
    if (this.done) throw new Error('MarketDays: add after read');
    const logv = c.ext('log_volume');
    const ratio = c.ext('vol_ratio');
    for (let i = 0; i < c.rows; i++) {
      let s = this.sums.get(c.day[i]!);
      if (s === undefined) {
        s = new Float64Array(SLOTS);
        this.sums.set(c.day[i]!, s);
      }
      if (Number.isFinite(logv[i]!)) {
        s[0]!++;
        s[1]! += logv[i]!;
      }
      const r = ratio[i]!;
      if (Number.isFinite(r)) {
        const g = c.isStock[i] === 1 ? 4 : 6;
        s[2]!++;
        s[3]! += r;
        s[g]!++;
        s[g + 1]! += r;
      }
    }
  }

  /** [market mean log volume, its change from the previous day with rows, market mean vol_ratio,
   * stocks' mean vol_ratio, ETFs' mean vol_ratio] of `day` (NaN where no row counts). */
  get(day: number): Float64Array | undefined {
    if (!this.done) {
      const days = Int32Array.from(this.sums.keys()).sort();
      const values = new Map<number, Float64Array>();
      let prev = NaN;
      for (const d of days) {
        const s = this.sums.get(d)!;
        const mean = (n: number, sum: number): number => (n > 0 ? sum / n : NaN);
        const lv = mean(s[0]!, s[1]!);
        values.set(d, Float64Array.of(lv, lv - prev, mean(s[2]!, s[3]!), mean(s[4]!, s[5]!), mean(s[6]!, s[7]!)));
        if (Number.isFinite(lv)) prev = lv;
      }
      this.done = { days, values };
    }
    return this.done.values.get(day);
  }
}

/** A relative change of Close / Adj Close from one row of a symbol to the next above this marks an
 * ex-dividend day. Both are split-adjusted and Adj Close is also dividend-adjusted backward, so the ratio
 * steps exactly on each ex-date, by that day's dividend alone (on the real sample: 1e-4 and up); the
 * float noise of the stored prices changes it by at most 3e-6. */
export const EX_DIVIDEND_JUMP = 3e-5;

/**
 * The ex-dividend days of each symbol, seen in its rows (in Symbol, Date order): a row whose ratio
 * Close / Adj Close differs from the previous row's by more than EX_DIVIDEND_JUMP. Whether row d is one
 * reads rows d-1 and d only (the ratio's change, never its level, which carries every later dividend),
 * so facts(t, …) reads the symbol's rows up to t: [calendar days from the target day to the next
 * ex-date expected from the last one plus the last interval between two; the same with the median of
 * the last (up to) 4 intervals; days since the last ex-date at the target day; the largest log1p(Volume)
 * of the rows around the target day one interval earlier (±2 rows); the same around the last ex-date; calendar days from the target day to the symbol's largest volume between the last two
 * ex-dates moved one interval on (earnings, which sit a fixed number of days before the ex-date)].
 * NaN where too few ex-dates are known (2 for an interval, 1 for the rest).
 */
export class DividendCycles {
  /** Rows of the ex-dates, symbol by symbol, ascending; exStart[s] is the first of symbol s. */
  private readonly exRows: Int32Array;
  private readonly exStart: Int32Array;
  private readonly out = new Float64Array(6);

  constructor(private readonly symbolStart: Int32Array, private readonly day: Int32Array, close: Float64Array, adjClose: Float64Array, private readonly volume: Float64Array) {
    const ex: number[] = [];
    const start = new Int32Array(symbolStart.length);
    for (let s = 0; s + 1 < symbolStart.length; s++) {
      start[s] = ex.length;
      let prev = NaN;
      for (let i = symbolStart[s]!; i < symbolStart[s + 1]!; i++) {
        const q = close[i]! > 0 && adjClose[i]! > 0 ? close[i]! / adjClose[i]! : NaN;
        if (Math.abs(prev / q - 1) > EX_DIVIDEND_JUMP) ex.push(i);
        prev = q;
      }
    }
    start[symbolStart.length - 1] = ex.length;
    this.exRows = Int32Array.from(ex);
    this.exStart = start;
  }

  /** How many ex-dates were seen in the rows (all symbols). */
  get count(): number {
    return this.exRows.length;
  }

  /** The facts of the row `row` (day t) whose target day is `target`; a view reused by the next call. */
  facts(row: number, target: number): Float64Array {
    const o = this.out;
    o.fill(NaN);
    const s = upperBound(this.symbolStart, 0, this.symbolStart.length, row) - 1;
    const lo = this.exStart[s]!;
    const n = upperBound(this.exRows, lo, this.exStart[s + 1]!, row) - lo; // ex-dates dated up to t
    if (n === 0) return o;
    const first = this.symbolStart[s]!;
    const last = this.day[this.exRows[lo + n - 1]!]!;
    o[2] = target - last;
    o[4] = this.maxLogVolume(first, row, this.exRows[lo + n - 1]!);
    if (n < 2) return o;
    const gaps: number[] = [];
    for (let k = n - 1; k >= Math.max(1, n - 4); k--) gaps.push(this.day[this.exRows[lo + k]!]! - this.day[this.exRows[lo + k - 1]!]!);
    gaps.sort((a, b) => a - b);
    const interval = this.day[this.exRows[lo + n - 1]!]! - this.day[this.exRows[lo + n - 2]!]!;
    const median = gaps.length % 2 === 1 ? gaps[(gaps.length - 1) / 2]! : (gaps[gaps.length / 2 - 1]! + gaps[gaps.length / 2]!) / 2;
    o[0] = last + interval - target;
    o[1] = last + median - target;
    // The row dated on or just before the target day one interval earlier.
    const at = upperBound(this.day, first, row + 1, target - interval) - 1;
    if (at >= first) o[3] = this.maxLogVolume(first, row, at);
    let spike = this.exRows[lo + n - 2]! + 1;
    for (let k = spike + 1; k <= this.exRows[lo + n - 1]!; k++) if (this.volume[k]! > this.volume[spike]!) spike = k;
    o[5] = this.day[spike]! + interval - target;
    return o;
  }

  /** The largest log1p(Volume) of rows at-2..at+2 within [first, row]. */
  private maxLogVolume(first: number, row: number, at: number): number {
    let m = -Infinity;
    for (let k = Math.max(first, at - 2); k <= Math.min(row, at + 2); k++) m = Math.max(m, Math.log1p(this.volume[k]!));
    return Number.isFinite(m) ? m : NaN;
  }
}

/** The first index in [lo, hi) of ascending `a` whose value is above `x` (hi when none). */
function upperBound(a: Int32Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** What inputs beyond a row's own columns read. */
export interface InputContext {
  cal: TargetCalendar;
  market: MarketDays;
  /** The symbols' ex-dividend days (only the dividend inputs read them; the loaders fill it when one is asked for). */
  dividends?: DividendCycles;
}

export type Compute = (c: InputChunk, out: Float64Array, ctx: InputContext) => void;

const stored = (name: string): Compute => (c, out) => out.set(c.ext(name).subarray(0, c.rows));
const perRow = (f: (c: InputChunk, i: number, ctx: InputContext) => number): Compute => (c, out, ctx) => {
  for (let i = 0; i < c.rows; i++) out[i] = f(c, i, ctx);
};
const calendar = (k: number): Compute => perRow((c, i, ctx) => ctx.cal.facts(ctx.cal.target(c.day[i]!))[k]!);
/** A fact of the row's own day t (its bar is in: today's volume already carries it). */
const today = (k: number): Compute => perRow((c, i, ctx) => ctx.cal.facts(c.day[i]!)[k]!);
const market = (k: number | 'group'): Compute => perRow((c, i, ctx) => {
  const m = ctx.market.get(c.day[i]!);
  if (m === undefined) return NaN;
  return m[k === 'group' ? (c.isStock[i] === 1 ? 3 : 4) : k]!;
});
/** Fact k of DividendCycles.facts of each row; the two volumes (k 3 and 4) against the row's log_vol_ma_20. */
const dividend = (k: number): Compute => (c, out, ctx) => {
  const d = ctx.dividends;
  if (d === undefined || c.frameRow === undefined) throw new Error('the dividend inputs need the symbols\' rows (InputContext.dividends, InputChunk.frameRow)');
  const ma = k === 3 || k === 4 ? c.ext('log_vol_ma_20') : null;
  for (let i = 0; i < c.rows; i++) {
    const v = d.facts(c.frameRow[i]!, ctx.cal.target(c.day[i]!))[k]!;
    out[i] = ma === null ? v : v - ma[i]!;
  }
};
/** Where day t closed within its range: 0 at the low, 1 at the high (NaN for a range of 0 or a missing price). */
export function closeLocation(close: number, high: number, low: number): number {
  const range = high - low;
  return range > 0 && Number.isFinite(range) && Number.isFinite(close) ? (close - low) / range : NaN;
}
const diff = (a: string, b: string): Compute => (c, out) => {
  const x = c.ext(a);
  const y = c.ext(b);
  for (let i = 0; i < c.rows; i++) out[i] = x[i]! - y[i]!;
};

/** Every input stockpipe can compute, by name, with the group it is measured in (docs/models.md). */
const INPUTS: Record<string, { group: string; compute: Compute }> = {
  ...Object.fromEntries(EXTENDED_COLUMNS.filter((c) => c !== 'vol_ma_20' && c !== 'quarter_echo').map((c) => [c, { group: 'base', compute: stored(c) }])),
  price_vs_med: { group: 'base', compute: perRow((c, i) => logRatio(c.adjClose[i]!, c.acm[i]!)) },
  log_vol_moving_avg: { group: 'base', compute: perRow((c, i) => (Number.isNaN(c.vma[i]!) ? NaN : Math.log1p(c.vma[i]!))) },
  is_stock: { group: 'base', compute: perRow((c, i) => c.isStock[i]!) },
  vol_ratio_5: { group: 'ratios', compute: diff('log_volume', 'log_vol_ma_5') },
  vol_trend: { group: 'ratios', compute: diff('log_vol_ma_5', 'log_vol_ma_20') },
  to_month_end: { group: 'calendar', compute: calendar(0) },
  from_month_start: { group: 'calendar', compute: calendar(1) },
  to_quarter_end: { group: 'calendar', compute: calendar(2) },
  pre_holiday: { group: 'calendar', compute: calendar(3) },
  opex: { group: 'calendar', compute: calendar(4) },
  quad_witching: { group: 'events', compute: calendar(5) },
  quad_witching_today: { group: 'events', compute: today(5) },
  half_day: { group: 'events', compute: calendar(6) },
  half_day_today: { group: 'events', compute: today(6) },
  day_of_year: { group: 'season', compute: calendar(7) },
  close_loc: { group: 'bar', compute: perRow((c, i) => closeLocation(c.close[i]!, c.high[i]!, c.low[i]!)) },
  oc_ret: { group: 'bar', compute: perRow((c, i) => logRatio(c.close[i]!, c.open[i]!)) },
  mkt_log_vol: { group: 'market', compute: market(0) },
  mkt_log_vol_chg: { group: 'market', compute: market(1) },
  mkt_vol_ratio: { group: 'market', compute: market(2) },
  group_vol_ratio: { group: 'market', compute: market('group') },
  quarter_echo: { group: 'quarter', compute: stored('quarter_echo') },
  div_to_next: { group: 'dividends', compute: dividend(0) },
  div_to_next_med: { group: 'dividends', compute: dividend(1) },
  div_since: { group: 'dividends', compute: dividend(2) },
  div_echo: { group: 'dividends', compute: dividend(3) },
  div_ex_vol: { group: 'dividends', compute: dividend(4) },
  div_spike_to: { group: 'dividends', compute: dividend(5) },
};

/** Every input name stockpipe computes. */
export const KNOWN_INPUTS: readonly string[] = Object.keys(INPUTS);

/** The group of an input (base, ratios, calendar, events, season, bar, market, quarter, dividends), or undefined for an unknown name. */
export const inputGroup = (name: string): string | undefined => INPUTS[name]?.group;

/** True when any of `names` reads the market means (the caller must fill a MarketDays first). */
export const needsMarket = (names: readonly string[]): boolean => names.some((n) => INPUTS[n]?.group === 'market');

/** True when any of `names` reads the symbols' ex-dividend days (the caller must pass a DividendCycles and each row's frameRow). */
export const needsDividends = (names: readonly string[]): boolean => names.some((n) => INPUTS[n]?.group === 'dividends');

/** The function that computes the input `name` of every row of a batch into `out` (≥ rows long); throws on an unknown name. */
export function inputComputer(name: string): Compute {
  const def = INPUTS[name];
  if (def === undefined) throw new Error(`unknown day-ahead input '${name}'`);
  return def.compute;
}
