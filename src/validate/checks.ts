/** @module validate/checks
 * One small function per anomaly kind, each returning Anomaly[] (empty when clean). Structural
 * breakage is `error`; the known quirks of real market data are `warning` or `info`. Pure: the
 * numbers come from db/table-stats and validate/calendar-gaps. */
import type { RuleCount, SymbolGroup } from '../db/table-stats.js';
import type { DateScan, StaleSymbol, SymbolGap } from './calendar-gaps.js';
import { dayOf } from './calendar-gaps.js';
import type { Anomaly, ColumnProfile, Profile, Reference, Severity } from './types.js';

const EX = 5;
const fmt = (n: number): string => n.toLocaleString('en-US');
const pct = (x: number): string => `${(100 * x).toPrecision(2)}%`;
type Rules = Readonly<Record<string, RuleCount>>;

export function checkEmpty(cur: Profile): Anomaly[] {
  return cur.rows === 0 ? [{ code: 'empty_table', severity: 'error', column: null, detail: 'the table has no rows', count: 0 }] : [];
}

/** Missing and extra columns, and columns whose type changed. */
export function checkSchema(ref: readonly ColumnProfile[], cur: readonly ColumnProfile[]): Anomaly[] {
  const now = new Map(cur.map((c) => [c.name, c]));
  const before = new Set(ref.map((c) => c.name));
  const out: Anomaly[] = [];
  for (const r of ref) {
    const c = now.get(r.name);
    if (c === undefined) out.push({ code: 'missing_column', severity: 'error', column: r.name, detail: `column '${r.name}' (${r.type}) is missing` });
    else if (c.type !== r.type) out.push({ code: 'type_changed', severity: 'error', column: r.name, detail: `column '${r.name}' is ${c.type}, the reference has ${r.type}` });
  }
  for (const c of cur) if (!before.has(c.name)) out.push({ code: 'extra_column', severity: 'warning', column: c.name, detail: `column '${c.name}' (${c.type}) is not in the reference` });
  return out;
}

export function checkNonFinite(cur: readonly ColumnProfile[]): Anomaly[] {
  return cur.filter((c) => c.non_finite > 0).map((c) => ({ code: 'non_finite', severity: 'error', column: c.name, detail: `${fmt(c.non_finite)} NaN or infinite values`, count: c.non_finite }));
}

/**
 * Nulls above the reference's rate by more than `tolerance` (warning); in a column that had no
 * nulls, any null is a warning and more than `tolerance` of the rows an error.
 */
export function checkNullSpike(ref: readonly ColumnProfile[], cur: readonly ColumnProfile[], tolerance: number): Anomaly[] {
  const before = new Map(ref.map((c) => [c.name, c]));
  const out: Anomaly[] = [];
  for (const c of cur) {
    const r = before.get(c.name);
    if (r === undefined || c.nulls === 0) continue;
    let severity: Severity | null = null;
    if (r.nulls === 0) severity = c.null_rate > tolerance ? 'error' : 'warning';
    else if (c.null_rate > r.null_rate + tolerance) severity = 'warning';
    if (severity === null) continue;
    out.push({ code: 'null_spike', severity, column: c.name, detail: `null rate ${pct(c.null_rate)} (${fmt(c.nulls)} rows), reference ${pct(r.null_rate)}`, count: c.nulls, values: { null_rate: c.null_rate, reference_null_rate: r.null_rate } });
  }
  return out;
}

/** Rows outside the reference's [min, max] (rules `range:<column>`); a warning above `rate` of the rows. */
export function checkOutOfRange(ref: readonly ColumnProfile[], rules: Rules, rows: number, rate: number): Anomaly[] {
  const out: Anomaly[] = [];
  for (const r of ref) {
    const hit = rules[`range:${r.name}`];
    if (hit === undefined || hit.count === 0) continue;
    const share = rows > 0 ? hit.count / rows : 0;
    out.push({ code: 'out_of_range', severity: share > rate ? 'warning' : 'info', column: r.name, detail: `${fmt(hit.count)} rows (${pct(share)}) outside the reference range [${String(r.min)}, ${String(r.max)}]`, count: hit.count, examples: hit.examples });
  }
  return out;
}

/** Zero or negative Open/High/Low/Close/Adj Close (real quirks: a missing open recorded as 0, negative adjusted closes). */
export function checkPrices(rules: Rules): Anomaly[] {
  const out: Anomaly[] = [];
  for (const c of ['Open', 'High', 'Low', 'Close', 'Adj Close']) {
    const z = rules[`zero:${c}`]?.count ?? 0;
    const n = rules[`negative:${c}`]?.count ?? 0;
    if (z + n === 0) continue;
    const examples = [...(rules[`negative:${c}`]?.examples ?? []), ...(rules[`zero:${c}`]?.examples ?? [])].slice(0, EX);
    out.push({ code: 'nonpositive_price', severity: 'warning', column: c, detail: `${fmt(z)} zero and ${fmt(n)} negative values`, count: z + n, examples, values: { zero: z, negative: n } });
  }
  return out;
}

/** Negative volumes (impossible: an error), zero volumes (no trades: info), volumes beyond int32 (info). */
export function checkVolume(rules: Rules): Anomaly[] {
  const out: Anomaly[] = [];
  const neg = rules['negative:Volume'];
  if (neg && neg.count > 0) out.push({ code: 'negative_volume', severity: 'error', column: 'Volume', detail: `${fmt(neg.count)} negative volumes`, count: neg.count, examples: neg.examples });
  const zero = rules['zero:Volume'];
  if (zero && zero.count > 0) out.push({ code: 'zero_volume', severity: 'info', column: 'Volume', detail: `${fmt(zero.count)} days with zero volume`, count: zero.count, examples: zero.examples });
  const big = rules.large_volume;
  if (big && big.count > 0) out.push({ code: 'large_volume', severity: 'info', column: 'Volume', detail: `${fmt(big.count)} volumes above 2^31 − 1 (kept exact as int64)`, count: big.count, examples: big.examples });
  return out;
}

/** High below Low (warning), and Open or Close outside [Low, High] on rows with a real open (info). */
export function checkHighLow(rules: Rules): Anomaly[] {
  const out: Anomaly[] = [];
  const hl = rules.high_below_low;
  if (hl && hl.count > 0) out.push({ code: 'high_below_low', severity: 'warning', column: 'High', detail: `${fmt(hl.count)} rows with High < Low`, count: hl.count, examples: hl.examples });
  const o = rules.ohlc_outside;
  if (o && o.count > 0) out.push({ code: 'ohlc_inconsistent', severity: 'info', column: null, detail: `${fmt(o.count)} rows with Open or Close outside [Low, High]`, count: o.count, examples: o.examples });
  return out;
}

/** Invalid dates (error), rows on weekends (warning) or exchange holidays (info), days no symbol traded (info). */
export function checkCalendar(scan: DateScan): Anomaly[] {
  const out: Anomaly[] = [];
  const rows = (gs: readonly { rows: number }[]): number => gs.reduce((s, g) => s + g.rows, 0);
  if (scan.invalid.length > 0) out.push({ code: 'invalid_date', severity: 'error', column: 'Date', detail: `${fmt(rows(scan.invalid))} rows on ${scan.invalid.length} dates that are not YYYY-MM-DD calendar dates`, count: rows(scan.invalid), examples: scan.invalid.slice(0, EX).map((g) => g.date) });
  const weekend = scan.off.filter((g) => {
    const wd = (((dayOf(g.date)! + 4) % 7) + 7) % 7;
    return wd === 0 || wd === 6;
  });
  const holiday = scan.off.filter((g) => !weekend.includes(g));
  if (weekend.length > 0) out.push({ code: 'non_trading_day', severity: 'warning', column: 'Date', detail: `${fmt(rows(weekend))} rows on ${weekend.length} weekend dates`, count: rows(weekend), examples: weekend.slice(0, EX).map((g) => g.date) });
  if (holiday.length > 0) out.push({ code: 'non_trading_day', severity: 'info', column: 'Date', detail: `${fmt(rows(holiday))} rows on ${holiday.length} NYSE holidays (the calendar's rules for that era may differ)`, count: rows(holiday), examples: holiday.slice(0, EX).map((g) => g.date) });
  if (scan.closed.length > 0) out.push({ code: 'calendar_gap', severity: 'info', column: 'Date', detail: `${scan.closed.length} calendar trading days with no row for any symbol (closures the calendar does not list); not counted as missing days`, count: scan.closed.length, examples: scan.closed.slice(0, EX) });
  return out;
}

/** Symbols with repeated dates (ingest keeps one row per Symbol and Date, so this is breakage). */
export function checkDuplicates(symbols: readonly SymbolGroup[]): Anomaly[] {
  const dups = symbols.filter((s) => s.rows > s.distinct_dates);
  if (dups.length === 0) return [];
  const n = dups.reduce((s, g) => s + g.rows - g.distinct_dates, 0);
  return [{ code: 'duplicate_date', severity: 'error', column: 'Date', detail: `${fmt(n)} duplicate (Symbol, Date) rows in ${dups.length} symbols`, count: n, examples: dups.slice(0, EX).map((s) => s.symbol) }];
}

/** Trading days missing inside a symbol's history: a warning for symbols missing more than `rate` of them. */
export function checkMissingDays(gaps: readonly SymbolGap[], rate: number, exampleDates: ReadonlyMap<string, string[]> = new Map()): Anomaly[] {
  const hit = gaps.filter((g) => g.missing > 0).sort((a, b) => b.missing / b.expected - a.missing / a.expected || b.missing - a.missing);
  const out: Anomaly[] = [];
  for (const severity of ['warning', 'info'] as const) {
    const set = hit.filter((g) => (g.missing / g.expected > rate) === (severity === 'warning'));
    if (set.length === 0) continue;
    const days = set.reduce((s, g) => s + g.missing, 0);
    const examples = set.slice(0, EX).map((g) => `${g.symbol}: ${g.missing} of ${g.expected}${exampleDates.has(g.symbol) ? ` (${exampleDates.get(g.symbol)!.join(', ')})` : ''}`);
    const what = severity === 'warning' ? `more than ${pct(rate)} of their trading days` : `a few trading days (at most ${pct(rate)})`;
    out.push({ code: 'missing_trading_days', severity, column: 'Date', detail: `${set.length} symbols miss ${what}: ${fmt(days)} days in all`, count: days, examples });
  }
  return out;
}

export function checkStale(stale: readonly StaleSymbol[], afterDays: number): Anomaly[] {
  if (stale.length === 0) return [];
  return [{ code: 'stale_symbol', severity: 'warning', column: 'Symbol', detail: `${stale.length} symbols end more than ${afterDays} trading days before the table's last date`, count: stale.length, examples: stale.slice(0, EX).map((s) => `${s.symbol} (last ${s.last}, ${fmt(s.behind)} trading days behind)`) }];
}

export function checkShortHistory(symbols: readonly SymbolGroup[], minRows: number): Anomaly[] {
  const short = symbols.filter((s) => s.rows < minRows).sort((a, b) => a.rows - b.rows || (a.symbol < b.symbol ? -1 : 1));
  if (short.length === 0) return [];
  const one = short.filter((s) => s.rows === 1).length;
  return [{ code: 'short_history', severity: 'info', column: 'Symbol', detail: `${short.length} symbols have fewer than ${minRows} rows (${one} have one row): too short for the rolling features`, count: short.length, examples: short.slice(0, EX).map((s) => `${s.symbol} (${s.rows})`) }];
}

export function checkMetadata(symbols: readonly SymbolGroup[]): Anomaly[] {
  const none = symbols.filter((s) => s.no_metadata_rows === s.rows);
  if (none.length === 0) return [];
  return [{ code: 'missing_metadata', severity: 'info', column: 'Security Name', detail: `${none.length} of ${symbols.length} symbols have no metadata (Security Name is null)`, count: none.length, examples: none.slice(0, EX).map((s) => s.symbol) }];
}

/**
 * More than this share of the reference's symbols absent means the table holds other data (another
 * source, or a folder whose contents were replaced): `identity_changed`, an error, so a run stops
 * before training and promotion. Real daily data never gets near it: delistings remove a few percent
 * of a market's symbols a year (the reference is renewed by `validate --set-reference` and by a
 * source switch), new listings add symbols (never counted here), and a restated or grown history
 * keeps its symbols. At or below it, absent symbols stay a `missing_symbols` warning.
 */
export const IDENTITY_ABSENT_SHARE = 0.5;

/** Reference symbols that are gone (most of them: the table's identity changed), and fewer rows than the reference. */
export function checkCoverage(ref: Reference, cur: Profile, symbols: readonly SymbolGroup[] | null): Anomaly[] {
  const out: Anomaly[] = [];
  if (ref.symbols !== null && symbols !== null) {
    const now = new Set(symbols.map((s) => s.symbol));
    const gone = ref.symbols.names.filter((s) => !now.has(s));
    const share = ref.symbols.names.length > 0 ? gone.length / ref.symbols.names.length : 0;
    if (share > IDENTITY_ABSENT_SHARE) {
      const kept = ref.symbols.names.length - gone.length;
      out.push({ code: 'identity_changed', severity: 'error', column: 'Symbol', detail: `${gone.length} of the reference's ${ref.symbols.count} symbols are absent (${Math.round(100 * share)}%, more than ${Math.round(100 * IDENTITY_ABSENT_SHARE)}%) and ${fmt(symbols.length - kept)} of the table's ${fmt(symbols.length)} symbols are new: the table holds other data than reference v${ref.version}`, count: gone.length, examples: gone.slice(0, EX), values: { absent_share: share, new_symbols: symbols.length - kept } });
    } else if (gone.length > 0) out.push({ code: 'missing_symbols', severity: 'warning', column: 'Symbol', detail: `${gone.length} of the reference's ${ref.symbols.count} symbols are absent`, count: gone.length, examples: gone.slice(0, EX) });
  }
  if (cur.rows < ref.rows) out.push({ code: 'rows_decreased', severity: 'warning', column: null, detail: `${fmt(cur.rows)} rows, the reference has ${fmt(ref.rows)}`, count: ref.rows - cur.rows });
  return out;
}

/**
 * PSI above the column's threshold (taken from the reference's month-over-month variation): of the
 * whole table against the reference, or (`what`) of the new rows against its last month.
 */
export function checkDrift(psis: Readonly<Record<string, { psi: number; threshold: number }>>, what = 'the table against the reference'): Anomaly[] {
  return Object.entries(psis)
    .filter(([, d]) => d.psi > d.threshold)
    .map(([column, d]) => ({ code: 'drift' as const, severity: 'warning' as const, column, detail: `PSI of ${what} ${d.psi.toFixed(3)} exceeds ${d.threshold.toFixed(3)} (from its normal month-to-month variation)`, values: { psi: d.psi, threshold: d.threshold } }));
}
