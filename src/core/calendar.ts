/** @module core/calendar
 * The NYSE trading calendar: weekends, the exchange's holiday rules and its unscheduled closures.
 * Pure date arithmetic on 'YYYY-MM-DD' strings (UTC day numbers inside); no clock, no time zones. */
import { StockpipeError } from './errors.js';

const MS_PER_DAY = 86_400_000;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Closures outside the holiday rules, since 1994 (presidential funerals, 9/11, Hurricane Sandy).
 * Earlier one-off closures (e.g. the 1968 paperwork-crisis Wednesdays) are not listed.
 */
export const NYSE_UNSCHEDULED_CLOSURES: readonly string[] = [
  '1994-04-27', // Nixon funeral
  '2001-09-11', '2001-09-12', '2001-09-13', '2001-09-14', // September 11
  '2004-06-11', // Reagan funeral
  '2007-01-02', // Ford funeral
  '2012-10-29', '2012-10-30', // Hurricane Sandy
  '2018-12-05', // G. H. W. Bush funeral
  '2025-01-09', // Carter funeral
];

/** Days since 1970-01-01 for a 'YYYY-MM-DD' string; throws SP_ERR_CONFIG_INVALID on a bad date. */
export function toDayNumber(date: string): number {
  const m = DATE_RE.exec(date);
  if (m !== null) {
    const y = Number(m[1]);
    const mo = Number(m[2]);
    const d = Number(m[3]);
    const ms = Date.UTC(y, mo - 1, d);
    const back = new Date(ms);
    if (back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d) return ms / MS_PER_DAY;
  }
  throw new StockpipeError('SP_ERR_CONFIG_INVALID', `invalid date '${date}' (expected a real calendar date as YYYY-MM-DD)`, {
    hint: 'Write dates as YYYY-MM-DD, e.g. 2010-01-04.',
  });
}

/** Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** YYYY-MM-DD for days since 1970-01-01. */
export function civilFromDays(z: number): string {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp + (mp < 10 ? 3 : -9);
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The 'YYYY-MM-DD' string of a day number. */
export function fromDayNumber(day: number): string {
  return civilFromDays(day);
}

/** 0 = Sunday … 6 = Saturday. */
function weekday(day: number): number {
  return (((day + 4) % 7) + 7) % 7; // 1970-01-01 was a Thursday
}

function ymd(y: number, month: number, d: number): number {
  return Date.UTC(y, month - 1, d) / MS_PER_DAY;
}

/** The n-th (1-based) given weekday of a month; n = -1 for the last one. */
function nthWeekday(y: number, month: number, wd: number, n: number): number {
  if (n > 0) {
    const first = ymd(y, month, 1);
    return first + ((wd - weekday(first) + 7) % 7) + 7 * (n - 1);
  }
  const last = ymd(y, month + 1, 1) - 1;
  return last - ((weekday(last) - wd + 7) % 7);
}

/** Saturday → Friday before, Sunday → Monday after (NYSE Rule 7.2). */
function observed(day: number): number {
  const wd = weekday(day);
  if (wd === 6) return day - 1;
  if (wd === 0) return day + 1;
  return day;
}

/** Easter Sunday (Gregorian computus, anonymous algorithm). */
function easter(y: number): number {
  const a = y % 19;
  const b = Math.floor(y / 100);
  const c = y % 100;
  const d = Math.floor(b / 4);
  const e = b % 4;
  const f = Math.floor((b + 8) / 25);
  const g = Math.floor((b - f + 1) / 3);
  const h = (19 * a + b - d - g + 15) % 30;
  const i = Math.floor(c / 4);
  const k = c % 4;
  const l = (32 + 2 * e + 2 * i - h - k) % 7;
  const m = Math.floor((a + 11 * h + 22 * l) / 451);
  const month = Math.floor((h + l - 7 * m + 114) / 31);
  const day = ((h + l - 7 * m + 114) % 31) + 1;
  return ymd(y, month, day);
}

const holidayCache = new Map<number, ReadonlySet<number>>();

/** Day numbers of the weekdays the NYSE is closed in `year` (rules are those in force since 1971). */
function holidaySet(year: number): ReadonlySet<number> {
  const cached = holidayCache.get(year);
  if (cached !== undefined) return cached;
  const days: number[] = [];
  // New Year's Day: Sunday → Monday; Saturday → no closure (the Friday ends an accounting year).
  const jan1 = ymd(year, 1, 1);
  if (weekday(jan1) !== 6) days.push(observed(jan1));
  if (year >= 1998) days.push(nthWeekday(year, 1, 1, 3)); // Martin Luther King Jr. Day
  days.push(year >= 1971 ? nthWeekday(year, 2, 1, 3) : observed(ymd(year, 2, 22))); // Washington's Birthday
  days.push(easter(year) - 2); // Good Friday
  days.push(year >= 1971 ? nthWeekday(year, 5, 1, -1) : observed(ymd(year, 5, 30))); // Memorial Day
  if (year >= 2022) days.push(observed(ymd(year, 6, 19))); // Juneteenth
  days.push(observed(ymd(year, 7, 4))); // Independence Day
  days.push(nthWeekday(year, 9, 1, 1)); // Labor Day
  days.push(nthWeekday(year, 11, 4, 4)); // Thanksgiving
  days.push(observed(ymd(year, 12, 25))); // Christmas
  for (const s of NYSE_UNSCHEDULED_CLOSURES) if (s.startsWith(`${year}-`)) days.push(toDayNumber(s));
  const set = new Set(days.filter((d) => weekday(d) !== 0 && weekday(d) !== 6));
  holidayCache.set(year, set);
  return set;
}

/** True when the day number is a weekday and the NYSE is open. */
export function isTradingDayNumber(day: number): boolean {
  const wd = weekday(day);
  if (wd === 0 || wd === 6) return false;
  const year = new Date(day * MS_PER_DAY).getUTCFullYear();
  return !holidaySet(year).has(day);
}

/** True when the NYSE trades on `date` ('YYYY-MM-DD'): a weekday that is no holiday or closure. */
export function isTradingDay(date: string): boolean {
  return isTradingDayNumber(toDayNumber(date));
}

/** The NYSE holiday and closure dates of a year that fall on weekdays, sorted. */
export function nyseHolidays(year: number): string[] {
  return [...holidaySet(year)].sort((a, b) => a - b).map(fromDayNumber);
}

/**
 * Trading days from the first trading day on or after `start`: `count` of them, or up to and
 * including `end` when a date is given.
 */
export function tradingDays(start: string, countOrEnd: number | string): string[] {
  const out: string[] = [];
  let day = toDayNumber(start);
  if (typeof countOrEnd === 'number') {
    if (!Number.isInteger(countOrEnd) || countOrEnd < 0) {
      throw new StockpipeError('SP_ERR_CONFIG_INVALID', `trading day count must be a whole number ≥ 0 (got ${countOrEnd})`);
    }
    for (; out.length < countOrEnd; day++) if (isTradingDayNumber(day)) out.push(fromDayNumber(day));
  } else {
    const end = toDayNumber(countOrEnd);
    for (; day <= end; day++) if (isTradingDayNumber(day)) out.push(fromDayNumber(day));
  }
  return out;
}

/** The first trading day strictly after `date`. */
export function nextTradingDay(date: string): string {
  let day = toDayNumber(date) + 1;
  while (!isTradingDayNumber(day)) day++;
  return fromDayNumber(day);
}

/** The last trading day strictly before `date`. */
export function previousTradingDay(date: string): string {
  let day = toDayNumber(date) - 1;
  while (!isTradingDayNumber(day)) day--;
  return fromDayNumber(day);
}
