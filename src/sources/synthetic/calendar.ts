/** @module sources/synthetic/calendar
 * The generator's use of the NYSE calendar (core/calendar): each calendar index's day number and
 * 'YYYY-MM-DD' bytes, and the closed weekdays where real files have empty `DATE,,,,,,` rows. */
import { toDayNumber, tradingDays } from '../../core/calendar.js';
import type { Rng } from '../../core/rng.js';
import { writeAscii } from './bytes.js';
import type { SymbolPlan } from './plan.js';

export interface CalendarBytes {
  /** Day number of each calendar index. */
  days: Int32Array;
  /** 'YYYY-MM-DD' of each calendar index, 10 bytes each (+ slack). */
  dateView: DataView;
}

/** The first `count` trading days from `start` (moved to a trading day), as numbers and bytes. */
export function calendarBytes(start: string, count: number): CalendarBytes {
  const list = tradingDays(start, count);
  const days = new Int32Array(list.length);
  const dates = new Uint8Array(list.length * 10 + 8);
  list.forEach((d, i) => {
    days[i] = toDayNumber(d);
    writeAscii(dates, i * 10, d);
  });
  return { days, dateView: new DataView(dates.buffer) };
}

/** Weekdays the exchange was closed inside the symbol's span: where real files have `DATE,,,,,,`. */
export function pickEmptyDays(plan: SymbolPlan, cal: CalendarBytes, rng: Rng): number[] {
  if (plan.length < 2) return [];
  const first = cal.days[plan.start]!;
  const last = cal.days[plan.start + plan.length - 1]!;
  const closed: number[] = [];
  for (let i = plan.start + 1; i < plan.start + plan.length; i++) {
    for (let d = cal.days[i - 1]! + 1; d < cal.days[i]!; d++) {
      const wd = (((d + 4) % 7) + 7) % 7;
      if (wd !== 0 && wd !== 6) closed.push(d);
    }
  }
  const nineTwelve = toDayNumber('2001-09-12');
  if (nineTwelve > first && nineTwelve < last) return [nineTwelve];
  if (closed.length === 0) return [];
  const picks = new Set<number>([closed[rng.int(closed.length)]!, closed[rng.int(closed.length)]!]);
  return [...picks].sort((a, b) => a - b);
}
