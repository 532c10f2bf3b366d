/** @module etl/csv-parse
 * Parses one Kaggle-layout daily-bars CSV (bytes) into typed columns, with every dropped row
 * counted by reason. Pure: no I/O. Numbers are parsed correctly rounded (as strtod would). */

import type { BarColumns } from '../db/bars-writer.js';
import { daysFromCivil } from '../core/calendar.js';
import { divPow10 } from './decimal.js';

/** Reasons a data line is not kept; every line read ends up kept or in exactly one of these. */
export const DROP_REASONS = ['null_values', 'malformed', 'duplicate', 'blank'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounts = Record<DropReason, number>;

export interface LineIssue {
  line: number;
  reason: string;
}

export interface ParsedBars extends BarColumns {
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

export { civilFromDays, daysFromCivil } from '../core/calendar.js';

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const TWO53 = 9007199254740992;
const latin1 = new TextDecoder('latin1');

/** Result codes of scanNumber beside OK. */
const OK = 0;
const NULL = -1;
const BAD = -2;

/** Outputs of scanNumber (module state: no allocation per field). */
let numValue = 0;
let numEnd = 0;

function sliceText(bytes: Uint8Array, start: number, end: number): string {
  // Buffer's latin1Slice is the fastest bytes → string here (no TextDecoder object per call).
  const b = bytes as Uint8Array & { latin1Slice?: (s: number, e: number) => string };
  return b.latin1Slice !== undefined ? b.latin1Slice(start, end) : latin1.decode(bytes.subarray(start, end));
}

/**
 * The exact path for mantissas ≥ 2^53: splits the significant digits of bytes[from, to) into the
 * first 15 (h) and the rest (l, k digits) and divides exactly; NaN when it cannot decide.
 */
function splitAndDivide(bytes: Uint8Array, from: number, to: number, frac: number): number {
  let h = 0;
  let l = 0;
  let k = 0;
  let sig = 0;
  for (let j = from; j < to; j++) {
    const c = bytes[j]!;
    if (c === 0x2e) continue;
    const d = c - 0x30;
    if (sig === 0 && d === 0) continue; // leading zero
    if (sig < 15) h = h * 10 + d;
    else {
      l = l * 10 + d;
      k++;
    }
    sig++;
  }
  return k <= 4 ? divPow10(h, k, l, POW10[k]!, POW10[frac]!) : NaN;
}

/**
 * Scans one field from `start` up to the next comma or `lineEnd`, parsing it as a decimal.
 * Sets numValue and numEnd (the delimiter's index); returns OK, NULL (empty or an NA string)
 * or BAD. Fast path (Clinger): integer mantissa < 2^53 and ≤ 22 fraction digits gives one
 * correctly rounded division; longer plain decimals go to Number() on the text (correctly
 * rounded too); anything unusual is checked against a strict pattern first.
 */
function scanNumber(bytes: Uint8Array, start: number, lineEnd: number): number {
  // The byte after a line (\r, \n, or past the end: undefined) is never a digit, so the digit
  // loops need no bounds check.
  let i = start;
  let c = bytes[i];
  const neg = c === 0x2d;
  if (neg) c = bytes[++i];
  const first = i;
  let m = 0;
  while (c !== undefined && c >= 0x30 && c <= 0x39) {
    m = m * 10 + (c - 0x30);
    c = bytes[++i];
  }
  const intEnd = i;
  let frac = 0;
  if (c === 0x2e) {
    c = bytes[++i];
    while (c !== undefined && c >= 0x30 && c <= 0x39) {
      m = m * 10 + (c - 0x30);
      frac++;
      c = bytes[++i];
    }
  }
  const digits = intEnd - first + frac;
  if ((c === 0x2c || i === lineEnd) && i <= lineEnd) {
    numEnd = i;
    if (digits > 0) {
      let v = NaN;
      if (m < TWO53 && frac <= 22) v = frac === 0 ? m : m / POW10[frac]!;
      else if (frac <= 22) v = splitAndDivide(bytes, first, i, frac);
      if (Number.isNaN(v)) v = Number(sliceText(bytes, first, i));
      numValue = neg ? -v : v;
      return OK;
    }
    if (i === start) return NULL;
  }
  // Something unusual: find the field's end and judge the text as a whole.
  while (i < lineEnd && bytes[i] !== 0x2c) i++;
  numEnd = i;
  let text = sliceText(bytes, start, i);
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  if (NA_STRINGS.has(text)) return NULL;
  // Number() accepts forms read_csv does not ('0x1A', ' 1', 'Infinity'): require a plain decimal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return BAD;
  const v = Number(text);
  if (!Number.isFinite(v)) return BAD;
  numValue = v;
  return OK;
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
  // slotOf[field] = 0 for Date, 1..6 for Open..Volume, -1 for a column we do not read.
  const slotOf = new Int8Array(nFields).fill(-1);
  col.forEach((c, k) => {
    if (c >= 0) slotOf[c] = k;
  });
  // Upper bound on rows: newline count + 1 (memchr-speed counting).
  let cap = 1;
  for (let k = bytes.indexOf(0x0a, eol + 1); k >= 0; k = bytes.indexOf(0x0a, k + 1)) cap++;
  const day = new Int32Array(cap);
  const cols = [new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap), new Float64Array(cap)];
  const [open, high, low, close, adj, vol] = cols as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  const dropped = emptyDrops();
  const issues: LineIssue[] = [];
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
    const lineEnd = end > pos && bytes[end - 1] === 0x0d ? end - 1 : end;
    rowsRead++;
    if (lineEnd === pos) {
      dropped.blank++;
      pos = next;
      continue;
    }
    let i = pos;
    let d = NaN;
    let isNull = false;
    let bad = '';
    let field = 0;
    for (; field < nFields; field++) {
      const slot = slotOf[field]!;
      if (slot === 0) {
        let e = i;
        while (e < lineEnd && bytes[e] !== 0x2c) e++;
        d = parseDate(bytes, i, e);
        if (Number.isNaN(d) && bad === '') bad = 'Date is not a valid YYYY-MM-DD date in 1900..2099';
        i = e;
      } else if (slot > 0) {
        const r = scanNumber(bytes, i, lineEnd);
        i = numEnd;
        if (r === NULL) isNull = true;
        else if (r === BAD) {
          if (bad === '') bad = `${REQUIRED_COLUMNS[slot]} is not a number`;
        } else cols[slot - 1]![rows] = numValue;
      } else {
        while (i < lineEnd && bytes[i] !== 0x2c) i++;
      }
      if (i >= lineEnd) break;
      i++; // past the comma
    }
    if (field !== nFields - 1 || i < lineEnd) {
      // too few fields (loop ended early) or too many (text left over)
      let count = 1;
      for (let k = pos; k < lineEnd; k++) if (bytes[k] === 0x2c) count++;
      note(`expected ${nFields} fields, got ${count}`);
    } else if (bad !== '') {
      note(bad);
    } else if (isNull) {
      dropped.null_values++;
    } else {
      const v = vol[rows]!;
      if (!Number.isInteger(v)) note('Volume is not a whole number');
      else if (v < 0) note('Volume is negative');
      else {
        day[rows] = d;
        rows++;
      }
    }
    pos = next;
  }
  const out: ParsedBars = {
    rows,
    day: day.subarray(0, rows),
    open: open.subarray(0, rows),
    high: high.subarray(0, rows),
    low: low.subarray(0, rows),
    close: close.subarray(0, rows),
    adjClose: adj.subarray(0, rows),
    volume: vol.subarray(0, rows),
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
