/** @module ml/split
 * Train / validation / test slices. By time (the default, docs/models.md): test = rows dated on or
 * after the 80th percentile of the rows' dates (numpy 'lower' interpolation, as the reference),
 * validation = the 10% of rows before it, train = the rest, strictly earlier. By random 80/20
 * (seed 42) only as the labelled, leaky-across-time comparison of the classic protocol. Pure. */
import { StockpipeError } from '../core/errors.js';
import { createRng } from '../core/rng.js';
import { isTradingDay, previousTradingDay } from '../core/calendar.js';

export interface Slices {
  train: Int32Array;
  valid: Int32Array;
  test: Int32Array;
  kind: 'time' | 'random';
  /** Day numbers: first test day, first validation day (time split only). */
  testFrom: number | null;
  validFrom: number | null;
}

/** The q-quantile of the rows' days with 'lower' interpolation (value at floor(q·(n−1))). */
export function dayQuantile(days: Int32Array, q: number): number {
  if (days.length === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', 'no rows to split by date (the data, up to the date asked, has none with complete features)', { hint: 'Run `stockpipe features` (with --extended for the day-ahead model) on more history, or give a later --date.' });
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < days.length; i++) {
    const d = days[i]!;
    if (d < min) min = d;
    if (d > max) max = d;
  }
  const counts = new Float64Array(max - min + 1);
  for (let i = 0; i < days.length; i++) counts[days[i]! - min]!++;
  const target = Math.floor(q * (days.length - 1));
  let seen = 0;
  for (let k = 0; k < counts.length; k++) {
    seen += counts[k]!;
    if (seen > target) return min + k;
  }
  return max;
}

function collect(days: Int32Array, keep: (d: number) => boolean): Int32Array {
  let n = 0;
  for (let i = 0; i < days.length; i++) if (keep(days[i]!)) n++;
  const out = new Int32Array(n);
  let k = 0;
  for (let i = 0; i < days.length; i++) if (keep(days[i]!)) out[k++] = i;
  return out;
}

/**
 * Time split. `testFrom` (a day number) overrides the 80th-percentile cut; validation is then
 * the last eighth of the rows before it (10% of 80%).
 */
export function timeSplit(days: Int32Array, opts: { testFrom?: number; testFraction?: number; validFraction?: number } = {}): Slices {
  const testFraction = opts.testFraction ?? 0.2;
  const validFraction = opts.validFraction ?? 0.1;
  const testFrom = opts.testFrom ?? dayQuantile(days, 1 - testFraction);
  const before = collect(days, (d) => d < testFrom);
  const beforeDays = Int32Array.from(before, (i) => days[i]!);
  const validShare = validFraction / (1 - testFraction);
  const validFrom = before.length > 0 ? dayQuantile(beforeDays, 1 - validShare) : testFrom;
  return {
    train: collect(days, (d) => d < validFrom),
    valid: collect(days, (d) => d >= validFrom && d < testFrom),
    test: collect(days, (d) => d >= testFrom),
    kind: 'time',
    testFrom,
    validFrom,
  };
}

/** Random 80/20 split (seeded), with 1/8 of the training part held out for validation. */
export function randomSplit(n: number, seed = 42): Slices {
  const rng = createRng(seed);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const nTest = Math.round(n * 0.2);
  const nValid = Math.round(n * 0.1);
  const sorted = (a: Int32Array): Int32Array => a.sort();
  return {
    test: sorted(order.slice(0, nTest)),
    valid: sorted(order.slice(nTest, nTest + nValid)),
    train: sorted(order.slice(nTest + nValid)),
    kind: 'random',
    testFrom: null,
    validFrom: null,
  };
}

/** The day number of a real calendar date YYYY-MM-DD; anything else → SP_ERR_USAGE naming `option`. */
export function parseDay(date: string, option: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : NaN;
  // Date.UTC rolls 2020-02-30 over to March 1 (and reads year 0000 as 1900): a real date reads back the same.
  if (!m || new Date(ms).toISOString().slice(0, 10) !== date) throw new StockpipeError('SP_ERR_USAGE', `${option} must be a real calendar date YYYY-MM-DD (got '${date}')`);
  return Math.round(ms / 86400000);
}

/** `train --test-days N`: the first day of a test slice of the last `n` NYSE trading days up to and
 * including `last` (the data's last day; a `last` that is not a trading day counts from the one before). */
export function testFromLastDays(last: string, n: number): string {
  let day = isTradingDay(last) ? last : previousTradingDay(last);
  for (let k = 1; k < n; k++) day = previousTradingDay(day);
  return day;
}
