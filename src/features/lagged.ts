/** @module features/lagged
 * The extended (day-ahead) features of `stockpipe features --extended` (docs/data.md, docs/models.md): per symbol in
 * date order, the row of day t holds only what is known at the close of day t — returns, volatility,
 * log volume and its means over windows ending at t, the symbol's volume one quarter before the
 * next trading day (rows t-64..t-60) — plus calendar facts about the next trading day (its weekday,
 * the calendar days until it), which are known in advance. Nothing here reads a
 * row after t, so the features of day t are those a forecaster has when predicting day t+1.
 * Every window is summed on its own (no running sums): a row's value depends only on the
 * EXTENDED_LOOKBACK rows before it, so an incremental rebuild equals a full one bit for bit.
 * Pure typed-array kernels; the targets (day t+1's values) are built by ml/forecast-dataset. */
import { isTradingDayNumber } from '../core/calendar.js';

/** The extended columns, in the order they are written after the two rolling features. */
export const EXTENDED_COLUMNS = [
  'ret_1', // ln(AdjClose_t / AdjClose_t-1)
  'ret_5', // ln(AdjClose_t / AdjClose_t-5)
  'ret_20', // ln(AdjClose_t / AdjClose_t-20)
  'vol_20', // sample std (ddof 1) of ret_1 over the 20 returns ending at t
  'hl_range', // ln(High_t / Low_t)
  'log_volume', // log1p(Volume_t)
  'log_vol_ma_5', // mean of log1p(Volume) over t-4..t
  'log_vol_ma_20', // mean of log1p(Volume) over t-19..t
  'vol_ratio', // log_volume - log_vol_ma_20
  'vol_ma_20', // mean of Volume over t-19..t (raw; the 20-day-mean baseline)
  'dow', // weekday of the next NYSE trading day after t: 1 = Monday … 5 = Friday
  'gap_days', // calendar days from t to the next NYSE trading day
  'quarter_echo', // max log_volume over rows t-64..t-60 (the target day's rows one quarter, 63 rows, earlier ± 2) minus log_vol_ma_20
] as const;

export type ExtendedColumn = (typeof EXTENDED_COLUMNS)[number];

/** quarter_echo reads the rows QUARTER_ROWS − 1 ± 2 before t (t+1 − 63 ± 2: quarterly reports recur). */
export const QUARTER_ROWS = 63;

/** Rows before t that a feature of day t may read (quarter_echo reaches back QUARTER_ROWS + 1 rows). */
export const EXTENDED_LOOKBACK = QUARTER_ROWS + 1;

/** Rows before t that the 20-row windows read (ret_20, vol_20): a day-ahead training row needs them all. */
export const SHORT_LOOKBACK = 20;

/** One symbol's input columns, in date order. */
export interface LaggedInput {
  rows: number;
  /** Days since 1970-01-01. */
  day: Int32Array;
  high: Float64Array;
  low: Float64Array;
  adjClose: Float64Array;
  volume: Float64Array;
}

/** ln(a/b), or NaN when either is not a positive finite number (real Adj Close goes ≤ 0). */
export function logRatio(a: number, b: number): number {
  return a > 0 && b > 0 && a < Infinity && b < Infinity ? Math.log(a / b) : NaN;
}

/** Next-trading-day lookup by day number, filled once per day range (no per-row Date objects). */
export class NextTradingDay {
  private base = 0;
  private table = new Int32Array(0);

  /** The first NYSE trading day strictly after `day`. */
  next(day: number): number {
    const k = day - this.base;
    if (k < 0 || k >= this.table.length) this.fill(day);
    return this.table[day - this.base]!;
  }

  private fill(day: number): void {
    const has = this.table.length > 0;
    const lo = Math.min(day, has ? this.base : day) - 400;
    const hi = Math.max(day, has ? this.base + this.table.length - 1 : day) + 400;
    const t = new Int32Array(hi - lo + 1);
    let next = hi + 1;
    while (!isTradingDayNumber(next)) next++;
    for (let d = hi; d >= lo; d--) {
      t[d - lo] = next;
      if (isTradingDayNumber(d)) next = d;
    }
    this.base = lo;
    this.table = t;
  }
}

/** 1 = Monday … 7 = Sunday for a day number (1970-01-01 was a Thursday). */
export function isoWeekday(day: number): number {
  const w = (((day + 3) % 7) + 7) % 7; // 0 = Monday
  return w + 1;
}

/**
 * Computes the extended columns of one symbol into `out` (one Float64Array per EXTENDED_COLUMNS
 * entry, each at least `rows` long); NaN where a window is incomplete or an input is unusable.
 */
export function laggedFeatures(x: LaggedInput, out: readonly Float64Array[], cal: NextTradingDay = new NextTradingDay()): void {
  const n = x.rows;
  const { adjClose: a, volume: v, high, low, day } = x;
  const [ret1, ret5, ret20, vol20, hl, logv, lvma5, lvma20, vratio, vma20, dow, gap, qEcho] = out as Float64Array[];
  for (let t = 0; t < n; t++) {
    ret1![t] = t >= 1 ? logRatio(a[t]!, a[t - 1]!) : NaN;
    ret5![t] = t >= 5 ? logRatio(a[t]!, a[t - 5]!) : NaN;
    ret20![t] = t >= 20 ? logRatio(a[t]!, a[t - 20]!) : NaN;
    hl![t] = logRatio(high[t]!, low[t]!);
    logv![t] = Math.log1p(v[t]!);
    const nd = cal.next(day[t]!);
    dow![t] = isoWeekday(nd);
    gap![t] = nd - day[t]!;
  }
  for (let t = 0; t < n; t++) {
    // Windows ending at t, each summed on its own, oldest first.
    if (t >= 20) {
      let s = 0;
      for (let k = t - 19; k <= t; k++) s += ret1![k]!;
      const m = s / 20;
      let ss = 0;
      for (let k = t - 19; k <= t; k++) ss += (ret1![k]! - m) ** 2;
      vol20![t] = Math.sqrt(ss / 19);
    } else vol20![t] = NaN;
    if (t >= 4) {
      let s = 0;
      for (let k = t - 4; k <= t; k++) s += logv![k]!;
      lvma5![t] = s / 5;
    } else lvma5![t] = NaN;
    if (t >= 19) {
      let s = 0;
      let sv = 0;
      for (let k = t - 19; k <= t; k++) {
        s += logv![k]!;
        sv += v[k]!;
      }
      lvma20![t] = s / 20;
      vma20![t] = sv / 20;
      vratio![t] = logv![t]! - s / 20;
    } else {
      lvma20![t] = NaN;
      vma20![t] = NaN;
      vratio![t] = NaN;
    }
    if (t >= EXTENDED_LOOKBACK) {
      let m = -Infinity;
      for (let k = t - QUARTER_ROWS - 1; k <= t - QUARTER_ROWS + 3; k++) m = Math.max(m, logv![k]!);
      qEcho![t] = m - lvma20![t]!;
    } else qEcho![t] = NaN;
  }
}
