/** @module validate/calendar-gaps
 * Dates against the NYSE calendar (core/calendar): invalid dates, rows on closed days, days the
 * calendar expects but no symbol traded (closures it does not know, e.g. pre-1994 election days),
 * per-symbol missing trading days and stale symbols. Typed arrays over the day range; pure. */
import { isTradingDayNumber, fromDayNumber } from '../core/calendar.js';
import type { DateGroup, SymbolGroup } from '../db/table-stats.js';

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Days since 1970-01-01, or null when the text is not a real YYYY-MM-DD date. */
export function dayOf(date: string): number | null {
  const m = DATE_RE.exec(date);
  if (m === null) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms / 86_400_000 : null;
}

export interface DateScan {
  invalid: DateGroup[];
  /** Dates with rows on which the calendar says the NYSE was closed. */
  off: DateGroup[];
  /** Calendar trading days with no row at all while at least 2 symbols were listed. */
  closed: string[];
  first: number;
  /** Trading days before each day of the range: cumTrading[d - first] (length range + 1). */
  cumTrading: Int32Array;
  /** Market-closed days (`closed`) before each day, same indexing. */
  cumClosed: Int32Array;
}

/** Scans the distinct dates; `symbols` (first/last dates) tell how many symbols were listed on a day. */
export function scanDates(dates: readonly DateGroup[], symbols: readonly Pick<SymbolGroup, 'first' | 'last'>[]): DateScan {
  const invalid: DateGroup[] = [];
  const valid: { day: number; g: DateGroup }[] = [];
  for (const g of dates) {
    const day = dayOf(g.date);
    if (day === null) invalid.push(g);
    else valid.push({ day, g });
  }
  if (valid.length === 0) return { invalid, off: [], closed: [], first: 0, cumTrading: new Int32Array(1), cumClosed: new Int32Array(1) };
  const first = valid[0]!.day;
  const n = valid[valid.length - 1]!.day - first + 1;
  const hasRows = new Uint8Array(n);
  for (const v of valid) hasRows[v.day - first] = 1;
  const active = new Int32Array(n + 1);
  for (const s of symbols) {
    const a = s.first === null ? null : dayOf(s.first);
    const b = s.last === null ? null : dayOf(s.last);
    if (a === null || b === null) continue;
    active[a - first]! += 1;
    active[b - first + 1]! -= 1;
  }
  const off: DateGroup[] = [];
  const closed: string[] = [];
  const cumTrading = new Int32Array(n + 1);
  const cumClosed = new Int32Array(n + 1);
  let listed = 0;
  for (let i = 0; i < n; i++) {
    listed += active[i]!;
    const trading = isTradingDayNumber(first + i);
    const marketClosed = trading && hasRows[i] === 0 && listed >= 2;
    if (marketClosed) closed.push(fromDayNumber(first + i));
    cumTrading[i + 1] = cumTrading[i]! + (trading ? 1 : 0);
    cumClosed[i + 1] = cumClosed[i]! + (marketClosed ? 1 : 0);
  }
  for (const v of valid) if (!isTradingDayNumber(v.day)) off.push(v.g);
  return { invalid, off, closed, first, cumTrading, cumClosed };
}

export interface SymbolGap {
  symbol: string;
  expected: number;
  missing: number;
}

/**
 * Missing trading days of each symbol between its first and last date: calendar trading days,
 * less the market-closed days, less the days it has (rows on closed days do not count).
 */
export function symbolGaps(scan: DateScan, symbols: readonly SymbolGroup[]): SymbolGap[] {
  const out: SymbolGap[] = [];
  const n = scan.cumTrading.length - 1;
  for (const s of symbols) {
    const a = s.first === null ? null : dayOf(s.first);
    const b = s.last === null ? null : dayOf(s.last);
    if (a === null || b === null) continue;
    const i = a - scan.first;
    const j = b - scan.first + 1;
    if (i < 0 || j > n) continue;
    const expected = scan.cumTrading[j]! - scan.cumTrading[i]! - (scan.cumClosed[j]! - scan.cumClosed[i]!);
    const present = s.distinct_dates - s.off_dates;
    out.push({ symbol: s.symbol, expected, missing: Math.max(0, expected - present) });
  }
  return out;
}

export interface StaleSymbol {
  symbol: string;
  last: string;
  /** Trading days after the symbol's last date up to the table's last date. */
  behind: number;
}

/** Symbols whose last date is more than `afterDays` trading days before the table's last date. */
export function staleSymbols(scan: DateScan, symbols: readonly SymbolGroup[], afterDays: number): StaleSymbol[] {
  const n = scan.cumTrading.length - 1;
  const out: StaleSymbol[] = [];
  for (const s of symbols) {
    const b = s.last === null ? null : dayOf(s.last);
    if (b === null || b - scan.first + 1 > n || b < scan.first) continue;
    const behind = scan.cumTrading[n]! - scan.cumTrading[b - scan.first + 1]!;
    if (behind > afterDays) out.push({ symbol: s.symbol, last: s.last!, behind });
  }
  return out.sort((x, y) => y.behind - x.behind || (x.symbol < y.symbol ? -1 : 1));
}

/** The calendar trading days in [first, last] that `have` lacks (for examples). */
export function missingDates(have: readonly string[], closed: ReadonlySet<string>, limit: number): string[] {
  const set = new Set(have);
  const days = have.map(dayOf).filter((d): d is number => d !== null);
  if (days.length === 0) return [];
  const out: string[] = [];
  const a = Math.min(...days);
  const b = Math.max(...days);
  for (let d = a; d <= b && out.length < limit; d++) {
    if (!isTradingDayNumber(d)) continue;
    const s = fromDayNumber(d);
    if (!set.has(s) && !closed.has(s)) out.push(s);
  }
  return out;
}
