/** @module etl/csv-parse
 * Parses one Kaggle-layout daily-bars CSV (bytes) into typed columns, with every dropped row
 * counted by reason. Pure: no I/O. Numbers are parsed correctly rounded (as strtod would); a
 * price must be finite and a Volume a whole int64 ≥ 0, else the line is malformed. A file holding
 * a `"` is first rewritten without RFC 4180 quoting (csv-quoted); the byte loop never sees one. */

import { clip } from '../core/errors.js';
import { daysFromCivil } from '../core/calendar.js';
import { parseLongDecimal } from './decimal.js';
import { exactBig, exactValue, exactVolume, isNonFiniteLiteral, VOL_OK, VOL_OUT_OF_RANGE, VOLUME_REASONS } from './csv-number.js';
import { unquoteCsv, type Unquoted } from './csv-quoted.js';
import { emptyDrops, sortAndDedupe, type LineIssue, type ParsedBars } from './parsed-bars.js';

export { DROP_REASONS, emptyDrops, keepOrder, pickRows, sortAndDedupe, type DropCounts, type DropReason, type LineIssue, type ParsedBars } from './parsed-bars.js';

export const MAX_ISSUES = 20;
export const REQUIRED_COLUMNS = ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'] as const;

/** pandas' default NA strings: a field equal to one of these is null, as read_csv would make it. */
const NA_STRINGS = new Set(['', '#N/A', '#N/A N/A', '#NA', '-1.#IND', '-1.#QNAN', '-NaN', '-nan', '1.#IND', '1.#QNAN', '<NA>', 'N/A', 'NA', 'NULL', 'NaN', 'None', 'n/a', 'nan', 'null']);

/** Earliest and latest dates accepted (the Date dictionary of the prices table spans them). */
export const MIN_DAY = daysFromCivil(1900, 1, 1);
export const MAX_DAY = daysFromCivil(2099, 12, 31);

export class HeaderError extends Error {}

export { civilFromDays, daysFromCivil } from '../core/calendar.js';

const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const TWO53 = 9007199254740992;
const latin1 = new TextDecoder('latin1');

/** Result codes of scanNumber beside OK. */
const OK = 0;
const NULL = -1;
const BAD = -2;
const NOT_FINITE = -3;

/** Outputs of scanNumber (module state: no allocation per field). */
let numValue = 0;
let numEnd = 0;
/** The value did not come from the exact fast path (so a Volume needs exactVolume's check). */
let numInexact = false;

/**
 * A number field without the ASCII blanks around it: read_csv parses ` 1.5`, `7 ` and `\t3` as
 * numbers (its float and int parsers skip them), so they are numbers here too, not malformed.
 */
function unpad(text: string): string {
  return text.replace(/^[ \t\v\f]+|[ \t\v\f]+$/g, '');
}

function sliceText(bytes: Uint8Array, start: number, end: number): string {
  // Buffer's latin1Slice is the fastest bytes → string here (no TextDecoder object per call).
  const b = bytes as Uint8Array & { latin1Slice?: (s: number, e: number) => string };
  return b.latin1Slice !== undefined ? b.latin1Slice(start, end) : latin1.decode(bytes.subarray(start, end));
}

/**
 * Scans one field from `start` up to the next comma or `lineEnd`, parsing it as a decimal.
 * Sets numValue, numEnd (the delimiter's index) and numInexact; returns OK, NULL (empty or an NA
 * string), BAD or NOT_FINITE (an inf/nan literal, or beyond the double range). Fast path
 * (Clinger): integer mantissa < 2^53 and ≤ 22 fraction digits gives one correctly rounded
 * division, always finite; 16–19 significant digits go to decimal.ts's exact split (the usual real
 * price: float32 values printed with 16–17 digits), longer ones to Number() on the text (correctly
 * rounded too); anything unusual is checked against a strict pattern first.
 */
function scanNumber(bytes: Uint8Array, start: number, lineEnd: number): number {
  // The byte after a line (\r, \n, or past the end: undefined) is never a digit, so the digit
  // loops need no bounds check.
  numInexact = false;
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
      else {
        numInexact = true;
        v = parseLongDecimal(bytes, first, intEnd, i, frac, m);
        if (Number.isNaN(v)) {
          v = Number(sliceText(bytes, first, i));
          if (v === Infinity) return NOT_FINITE; // e.g. 400 digits
        }
      }
      numValue = neg ? -v : v;
      return OK;
    }
    if (i === start) return NULL;
  }
  // Something unusual: find the field's end and judge the text as a whole.
  while (i < lineEnd && bytes[i] !== 0x2c) i++;
  numEnd = i;
  // Quotes never get here: a file with a `"` was rewritten by unquoteCsv first.
  const raw = sliceText(bytes, start, i);
  if (NA_STRINGS.has(raw)) return NULL;
  const text = unpad(raw);
  // Number() accepts forms read_csv does not ('0x1A', 'Infinity'): require a plain decimal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return isNonFiniteLiteral(text) ? NOT_FINITE : BAD;
  const v = Number(text);
  if (!Number.isFinite(v)) return NOT_FINITE; // 1e309
  numInexact = true;
  numValue = v;
  return OK;
}

/** Days in each month of a common year (February's leap day is checked apart). */
const MONTH_DAYS = new Uint8Array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
/** The last year and month parseDate saw, and that month's day 0 (rows of a file share months). */
let lastYearMonth = -1;
let lastMonthDay0 = 0;

function parseDate(bytes: Uint8Array, start: number, end: number): number {
  if (end - start !== 10 || bytes[start + 4] !== 0x2d || bytes[start + 7] !== 0x2d) return NaN;
  const y0 = bytes[start]! - 0x30;
  const y1 = bytes[start + 1]! - 0x30;
  const y2 = bytes[start + 2]! - 0x30;
  const y3 = bytes[start + 3]! - 0x30;
  const m0 = bytes[start + 5]! - 0x30;
  const m1 = bytes[start + 6]! - 0x30;
  const d0 = bytes[start + 8]! - 0x30;
  const d1 = bytes[start + 9]! - 0x30;
  // Any byte outside '0'..'9' makes its digit outside 0..9 (unsigned compare).
  if ((y0 >>> 0) > 9 || (y1 >>> 0) > 9 || (y2 >>> 0) > 9 || (y3 >>> 0) > 9 || (m0 >>> 0) > 9 || (m1 >>> 0) > 9 || (d0 >>> 0) > 9 || (d1 >>> 0) > 9) return NaN;
  const y = y0 * 1000 + y1 * 100 + y2 * 10 + y3;
  const m = m0 * 10 + m1;
  const d = d0 * 10 + d1;
  if (m < 1 || m > 12 || d < 1) return NaN;
  if (d > MONTH_DAYS[m - 1]! && !(m === 2 && d === 29 && ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0))) return NaN;
  const ym = y * 16 + m;
  if (ym !== lastYearMonth) {
    lastMonthDay0 = daysFromCivil(y, m, 1) - 1;
    lastYearMonth = ym;
  }
  const day = lastMonthDay0 + d;
  return day < MIN_DAY || day > MAX_DAY ? NaN : day;
}

/** A header line is a few dozen bytes; a first line longer than this is not one (a file without line ends). */
const MAX_HEADER_BYTES = 64 * 1024;

/**
 * Refuses, with a message saying why, a file whose first line cannot be a CSV header: UTF-16 (a
 * BOM, or NUL bytes) or no line end within MAX_HEADER_BYTES. Either used to be reported as a header
 * lacking every column, quoting the whole first line (30 MB for a 30 MB file without line ends,
 * "cannot create a string" past 512 MB).
 */
function checkHeaderBytes(input: Uint8Array): void {
  if (input.length >= 2 && ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff))) {
    throw new HeaderError('the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8 (or ASCII) CSV');
  }
  let eol = input.indexOf(0x0a);
  if (eol < 0) eol = input.length;
  if (eol > MAX_HEADER_BYTES) throw new HeaderError(`the first line is longer than ${MAX_HEADER_BYTES} bytes (${eol === input.length ? 'the file has no line end' : `${eol} bytes`}): it is not a CSV header`);
  if (input.subarray(0, eol).indexOf(0) >= 0) throw new HeaderError('the header holds NUL bytes (UTF-16 without a byte order mark, or not a text file): save it as UTF-8 CSV');
  // A file read as LF-ended whose first line holds a CR before its end began with CR-only line ends
  // (its header then reads as the header and the rows after it): say so rather than "lacks 'Volume'".
  const cr = input.subarray(0, eol).indexOf(0x0d);
  if (cr >= 0 && cr < eol - 1) throw new HeaderError('the file mixes CR-only and LF (or CRLF) line ends (its first line ends with a lone CR): save it with one kind of line end');
}

/** At most 200 characters of a header for a message, control characters shown as '?'. */
function clipHeader(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is masked here
  const t = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clip(t, 200);
}

/** Splits the header line into names (BOM and CR stripped, quotes removed). */
function headerNames(text: string): string[] {
  return text.replace(/^\uFEFF/, '').replace(/\r$/, '').split(',').map((s) => s.trim().replace(/^"(.*)"$/, '$1'));
}

/**
 * Parses one file. Throws HeaderError when the header lacks a required column.
 * An empty file (0 bytes) is treated like a header-only file: 0 rows.
 */
/** Whether bytes[from, to) are all spaces and tabs. */
function onlyBlanks(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0x20 && bytes[i] !== 0x09) return false;
  return true;
}

export function parseBarsCsv(input: Uint8Array): ParsedBars {
  // Lines ended by CR alone (classic Mac, some exporters; pandas reads them): read them as LF. A
  // usual file has an LF in its first line, so the check is one short memchr.
  if (input.indexOf(0x0a) < 0 && input.indexOf(0x0d) >= 0) input = input.map((b) => (b === 0x0d ? 0x0a : b));
  checkHeaderBytes(input);
  // memchr-speed: a file without a quote (the usual case) goes straight to the byte loop.
  const q: Unquoted | null = input.indexOf(0x22) >= 0 ? unquoteCsv(input, REQUIRED_COLUMNS) : null;
  const bytes = q === null ? input : q.bytes;
  const n = bytes.length;
  let pos = 0;
  let eol = -1;
  let names: string[];
  if (q !== null) names = q.names;
  else {
    if (n >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) pos = 3;
    eol = bytes.indexOf(0x0a, pos);
    if (eol < 0) eol = n;
    names = headerNames(new TextDecoder('utf-8').decode(bytes.subarray(pos, eol)));
  }
  const empty = q === null && n - pos === 0;
  const col = REQUIRED_COLUMNS.map((c) => names.indexOf(c));
  if (!empty && col.some((c) => c < 0)) {
    const missing = REQUIRED_COLUMNS.filter((_, k) => col[k]! < 0);
    throw new HeaderError(`header lacks ${missing.map((m) => `'${m}'`).join(', ')} (got: ${clipHeader(names.join(','))})`);
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
  /** Exact volumes, allocated when the first row ≥ 2^53 is kept. */
  let volX: BigInt64Array | null = null;
  const note = (reason: string, value?: string): void => {
    dropped.malformed++;
    if (issues.length >= MAX_ISSUES) return;
    const issue: LineIssue = q === null ? { line: lineNo, reason } : { line: q.lineOf[lineNo - 2]!, reason: q.forced.get(lineNo - 2) ?? reason };
    if (value !== undefined && !q?.forced.has(lineNo - 2)) issue.value = value.length > 40 ? `${value.slice(0, 40)}…` : value;
    issues.push(issue);
  };
  while (pos < n) {
    lineNo++;
    let end = bytes.indexOf(0x0a, pos);
    const next = end < 0 ? n : end + 1;
    if (end < 0) end = n;
    const lineEnd = end > pos && bytes[end - 1] === 0x0d ? end - 1 : end;
    rowsRead++;
    if (lineEnd === pos || ((bytes[pos] === 0x20 || bytes[pos] === 0x09) && onlyBlanks(bytes, pos, lineEnd))) {
      // Empty, or only spaces and tabs: pandas' read_csv skips both as blank lines.
      dropped.blank++;
      pos = next;
      continue;
    }
    let i = pos;
    let d = NaN;
    let isNull = false;
    let bad = '';
    let badValue: string | undefined;
    let volStatus = VOL_OK;
    let volText = '';
    let big: bigint | null = null;
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
        if (r === OK) {
          cols[slot - 1]![rows] = numValue;
          if (numInexact && slot === 6) {
            // Long, exponent or fraction forms: judge the text exactly against int64.
            volText = unpad(sliceText(bytes, i, numEnd));
            volStatus = exactVolume(volText);
            if (volStatus === VOL_OK) {
              vol[rows] = exactValue;
              big = exactBig;
            }
          }
        } else if (r === NULL) isNull = true;
        else if (r === NOT_FINITE && slot === 6 && !isNonFiniteLiteral((volText = unpad(sliceText(bytes, i, numEnd))))) {
          volStatus = exactVolume(volText); // beyond the double range: out of int64 (or not whole)
        } else if (bad === '') {
          bad = `${REQUIRED_COLUMNS[slot]} ${r === NOT_FINITE ? 'is not finite' : 'is not a number'}`;
          if (r === NOT_FINITE) badValue = sliceText(bytes, i, numEnd);
        }
        i = numEnd;
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
      note(bad, badValue);
    } else if (isNull) {
      dropped.null_values++;
    } else {
      const v = vol[rows]!;
      if (volStatus !== VOL_OK) note(VOLUME_REASONS[volStatus]!, volStatus === VOL_OUT_OF_RANGE ? volText : undefined);
      else if (!Number.isInteger(v)) note('Volume is not a whole number');
      else if (v < 0) note('Volume is negative');
      else {
        if (big !== null && volX === null) {
          volX = new BigInt64Array(cap);
          for (let k = 0; k < rows; k++) volX[k] = BigInt(vol[k]!);
        }
        if (volX !== null) volX[rows] = big ?? BigInt(v);
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
    ...(volX === null ? {} : { volumeExact: volX.subarray(0, rows) }),
    rowsRead,
    lines: q === null ? rowsRead : q.lines,
    dropped,
    issues,
  };
  return sortAndDedupe(out);
}
