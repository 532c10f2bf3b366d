/** @module etl/csv-parse
 * Parses one Kaggle-layout daily-bars CSV (bytes) into typed columns, with every dropped row
 * counted by reason. Pure: no I/O. Numbers are parsed correctly rounded (as strtod would). */

/** Reasons a data line is not kept; every line read ends up kept or in exactly one of these. */
export const DROP_REASONS = ['null_values', 'malformed', 'duplicate', 'blank'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounts = Record<DropReason, number>;

export interface LineIssue {
  line: number;
  reason: string;
}

export interface ParsedBars {
  rows: number;
  /** Days since 1970-01-01 (UTC). */
  day: Int32Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  adjClose: Float64Array;
  /** Whole numbers (float64 holds every volume below 2^53 exactly). */
  volume: Float64Array;
  rowsRead: number;
  dropped: DropCounts;
  /** Malformed lines (the first MAX_ISSUES of them), by 1-based line number in the file. */
  issues: LineIssue[];
}

export const MAX_ISSUES = 20;
export const REQUIRED_COLUMNS = ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'] as const;

/** pandas' default NA strings: a field equal to one of these is null, as read_csv would make it. */
const NA_STRINGS = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** Earliest and latest dates accepted (the Date dictionary of the prices table spans them). */
export const MIN_DAY = daysFromCivil(1900, 1, 1);
export const MAX_DAY = daysFromCivil(2099, 12, 31);

export class HeaderError extends Error {}

export function emptyDrops(): DropCounts {
  return { null_values: 0, malformed: 0, duplicate: 0, blank: 0 };
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

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const TWO53 = 9007199254740992;
const latin1 = new TextDecoder('latin1');

/** Result codes of parseNumber beside a finite value. */
const NULL = -1;
const BAD = -2;

/**
 * Parses bytes[start,end) as a decimal number into out[0]; returns 0 (ok), NULL or BAD.
 * Fast path (Clinger): integer mantissa < 2^53 and ≤ 22 fraction digits gives one correctly
 * rounded division; anything else falls back to Number() on the text, also correctly rounded.
 */
function parseNumber(bytes: Uint8Array, start: number, end: number, out: Float64Array): number {
  if (start < end && bytes[start] === 0x22 && bytes[end - 1] === 0x22 && end - start >= 2) {
    start++;
    end--;
  }
  if (start === end) return NULL;
  let i = start;
  let neg = false;
  const c0 = bytes[i]!;
  if (c0 === 0x2d) {
    neg = true;
    i++;
  } else if (c0 === 0x2b) i++;
  let mant = 0;
  let frac = 0;
  let digits = 0;
  let seenDot = false;
  let ok = i < end;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c >= 0x30 && c <= 0x39) {
      mant = mant * 10 + (c - 0x30);
      digits++;
      if (seenDot) frac++;
    } else if (c === 0x2e && !seenDot) {
      seenDot = true;
    } else {
      ok = false;
      break;
    }
  }
  if (ok && digits > 0 && mant < TWO53 && frac <= 22) {
    const v = frac === 0 ? mant : mant / POW10[frac]!;
    out[0] = neg ? -v : v;
    return 0;
  }
  const text = latin1.decode(bytes.subarray(start, end));
  if (NA_STRINGS.has(text)) return NULL;
  // Number() accepts forms read_csv does not ('0x1A', ' 1', 'Infinity'): require a plain decimal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return BAD;
  const v = Number(text);
  if (!Number.isFinite(v)) return BAD;
  out[0] = v;
  return 0;
}

function parseDate(bytes: Uint8Array, start: number, end: number): number {
  if (end - start !== 10 || bytes[start + 4] !== 0x2d || bytes[start + 7] !== 0x2d) return NaN;
  let y = 0;
  let m = 0;
  let d = 0;
  for (let k = 0; k < 10; k++) {
    if (k === 4 || k === 7) continue;
    const c = bytes[start + k]! - 0x30;
    if (c < 0 || c > 9) return NaN;
    if (k < 4) y = y * 10 + c;
    else if (k < 7) m = m * 10 + c;
    else d = d * 10 + c;
  }
  if (m < 1 || m > 12 || d < 1) return NaN;
  const mdays = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
  if (d > mdays) return NaN;
  const day = daysFromCivil(y, m, d);
  return day < MIN_DAY || day > MAX_DAY ? NaN : day;
}

/** Splits the header line into names (BOM and CR stripped, quotes removed). */
function headerNames(text: string): string[] {
  return text.replace(/^\uFEFF/, '').replace(/\r$/, '').split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * Parses one file. Throws HeaderError when the header lacks a required column.
 * An empty file (0 bytes) is treated like a header-only file: 0 rows.
 */
export function parseBarsCsv(bytes: Uint8Array): ParsedBars {
  const n = bytes.length;
  let pos = 0;
  if (n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
  let eol = bytes.indexOf(0x0a, pos);
  if (eol < 0) eol = n;
  const names = headerNames(new TextDecoder('utf-8').decode(bytes.subarray(pos, eol)));
  const empty = n - pos === 0;
  const col = REQUIRED_COLUMNS.map((c) => names.indexOf(c));
  if (!empty && col.some((c) => c < 0)) {
    const missing = REQUIRED_COLUMNS.filter((_, k) => col[k]! < 0);
    throw new HeaderError(`header lacks ${missing.map((m) => `'${m}'`).join(', ')} (got: ${names.join(',')})`);
  }
  const nFields = names.length;
  const [cDate, cOpen, cHigh, cLow, cClose, cAdj, cVol] = col as [number, number, number, number, number, number, number];
  // Upper bound on rows: newline count + 1.
  let cap = 1;
  for (let k = eol; k < n; k++) if (bytes[k] === 0x0a) cap++;
  const day = new Int32Array(cap);
  const cols = [new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap)];
  const colIdx = [cOpen, cHigh, cLow, cClose, cAdj, cVol];
  const dropped = emptyDrops();
  const issues: LineIssue[] = [];
  const starts = new Int32Array(nFields + 1);
  const tmp = new Float64Array(1);
  let rows = 0;
  let rowsRead = 0;
  let lineNo = 1;
  pos = eol + 1;
  const note = (reason: string): void => {
    dropped.malformed++;
    if (issues.length < MAX_ISSUES) issues.push({ line: lineNo, reason });
  };
  while (pos < n) {
    lineNo++;
    let end = bytes.indexOf(0x0a, pos);
    const next = end < 0 ? n : end + 1;
    if (end < 0) end = n;
    let lineEnd = end;
    if (lineEnd > pos && bytes[lineEnd - 1] === 0x0d) lineEnd--;
    rowsRead++;
    if (lineEnd === pos) {
      dropped.blank++;
      pos = next;
      continue;
    }
    // Field boundaries.
    let f = 0;
    starts[0] = pos;
    for (let k = pos; k < lineEnd && f <= nFields; k++) {
      if (bytes[k] === 0x2c) {
        f++;
        if (f <= nFields) starts[f] = k + 1;
      }
    }
    if (f !== nFields - 1) {
      note(`expected ${nFields} fields, got ${f + 1}`);
      pos = next;
      continue;
    }
    starts[nFields] = lineEnd + 1;
    const fieldEnd = (c: number): number => starts[c + 1]! - 1;
    const d = parseDate(bytes, starts[cDate]!, fieldEnd(cDate));
    let isNull = false;
    let bad = Number.isNaN(d) ? 'Date is not a valid YYYY-MM-DD date in 1900..2099' : '';
    for (let k = 0; k < 6 && bad === ''; k++) {
      const c = colIdx[k]!;
      const r = parseNumber(bytes, starts[c]!, fieldEnd(c), tmp);
      if (r === NULL) isNull = true;
      else if (r === BAD) bad = `${REQUIRED_COLUMNS[k + 1]} is not a number`;
      else cols[k]![rows] = tmp[0]!;
    }
    if (bad === '' && !isNull) {
      const v = cols[5]![rows]!;
      if (!Number.isInteger(v)) bad = 'Volume is not a whole number';
      else if (v < 0) bad = 'Volume is negative';
    }
    if (bad !== '') {
      // An empty-but-for-the-date row is null, not malformed, even when its date is odd.
      note(bad);
    } else if (isNull) {
      dropped.null_values++;
    } else {
      day[rows] = d;
      rows++;
    }
    pos = next;
  }
  const out: ParsedBars = {
    rows,
    day: day.subarray(0, rows),
    open: cols[0]!.subarray(0, rows),
    high: cols[1]!.subarray(0, rows),
    low: cols[2]!.subarray(0, rows),
    close: cols[3]!.subarray(0, rows),
    adjClose: cols[4]!.subarray(0, rows),
    volume: cols[5]!.subarray(0, rows),
    rowsRead,
    dropped,
    issues,
  };
  return sortAndDedupe(out);
}

/**
 * The rows to keep, in date order: a stable sort by date that keeps the last row of each
 * duplicated date. Null when the rows are already strictly increasing (keep all, as they are).
 */
export function keepOrder(day: Int32Array, rows: number): Int32Array | null {
  let sorted = true;
  for (let i = 1; i < rows; i++) {
    if (day[i]! <= day[i - 1]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return null;
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => day[a]! - day[b]! || a - b);
  const keep: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const j = order[k + 1];
    if (j !== undefined && day[j] === day[order[k]!]) continue; // a later row has the same date: it wins
    keep.push(order[k]!);
  }
  return Int32Array.from(keep);
}

/** Picks `keep`'s rows of a column. */
export function pickRows<T extends Float64Array | Int32Array | Uint8Array>(a: T, keep: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(keep.length);
  for (let k = 0; k < keep.length; k++) out[k] = a[keep[k]!]!;
  return out;
}

/** Applies keepOrder to a parsed file, counting the dropped rows as 'duplicate'. */
export function sortAndDedupe(p: ParsedBars): ParsedBars {
  const keep = keepOrder(p.day, p.rows);
  if (keep === null) return p;
  return {
    ...p,
    rows: keep.length,
    day: pickRows(p.day, keep),
    open: pickRows(p.open, keep),
    high: pickRows(p.high, keep),
    low: pickRows(p.low, keep),
    close: pickRows(p.close, keep),
    adjClose: pickRows(p.adjClose, keep),
    volume: pickRows(p.volume, keep),
    dropped: { ...p.dropped, duplicate: p.dropped.duplicate + (p.rows - keep.length) },
  };
}
