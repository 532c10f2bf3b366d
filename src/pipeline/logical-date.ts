/** @module pipeline/logical-date
 * A run's logical date (Airflow's): the NYSE trading day whose data a `run --date` or a backfill
 * day may see. Checks a date (a real calendar date, a trading day, not after today in New York)
 * and lists a backfill's days. The clock is passed in. */
import { isTradingDay, nextTradingDay, previousTradingDay, tradingDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';

const YMD = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Today's date in New York (the NYSE's calendar day), YYYY-MM-DD. */
export function todayInNewYork(now: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
}

/** SP_ERR_USAGE unless `value` is a real calendar date YYYY-MM-DD. */
function realDate(flag: string, value: string): void {
  const m = YMD.exec(value);
  // A year before 1900 was called "not a real calendar date" (1800-01-02 is one): said as it is.
  if (m && Number(m[1]) < 1900) throw new StockpipeError('SP_ERR_USAGE', `${flag} ${value} is before 1900: give a date from 1900-01-01 on`);
  const back = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) : null;
  if (back !== value) throw new StockpipeError('SP_ERR_USAGE', `${flag} must be a real calendar date YYYY-MM-DD (got '${value.slice(0, 40)}')`);
}

/** SP_ERR_DATE_IN_FUTURE when `value` is after today in New York. */
function notFuture(flag: string, value: string, now: Date): void {
  const today = todayInNewYork(now);
  if (value > today) {
    throw new StockpipeError('SP_ERR_DATE_IN_FUTURE', `${flag} ${value} is after today (${today} in New York): its data cannot be known yet`, {
      hint: `Use ${isTradingDay(today) ? today : previousTradingDay(today)} or an earlier trading day.`,
    });
  }
}

/** Checks a `run --date` value: a real date, an NYSE trading day, not in the future. */
export function checkLogicalDate(flag: string, value: string, now: Date): string {
  realDate(flag, value);
  notFuture(flag, value, now);
  if (!isTradingDay(value)) {
    throw new StockpipeError('SP_ERR_NOT_TRADING_DAY', `${flag} ${value} is not an NYSE trading day (a weekend or a holiday)`, {
      hint: `The previous trading day is ${previousTradingDay(value)}, the next ${nextTradingDay(value)}.`,
    });
  }
  return value;
}

/** What the two ends of a range are called in its errors: the CLI's flags, or an API request's fields. */
export interface RangeNames {
  from: string;
  to: string;
}

const RANGE_FLAGS: RangeNames = { from: '--from', to: '--to' };

/** The NYSE trading days in [from, to] in order; usage errors for a bad or empty range or a future end, naming the ends as `names` says. */
export function backfillDays(from: string, to: string, now: Date, names: RangeNames = RANGE_FLAGS): string[] {
  realDate(names.from, from);
  realDate(names.to, to);
  if (from > to) throw new StockpipeError('SP_ERR_USAGE', `${names.from} ${from} is after ${names.to} ${to}`, { hint: `Give the first day with ${names.from} and the last with ${names.to}.` });
  notFuture(names.to, to, now);
  const days = tradingDays(from, to);
  if (days.length === 0) {
    throw new StockpipeError('SP_ERR_NOT_TRADING_DAY', `${from}..${to} holds no NYSE trading day`, {
      hint: `The previous trading day is ${previousTradingDay(from)}, the next ${nextTradingDay(to)}.`,
    });
  }
  return days;
}
