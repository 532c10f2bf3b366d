import { describe, expect, it } from 'vitest';
import { parseBarsCsv } from './csv-parse.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const BOM = '\uFEFF';
const H = 'Date,Open,High,Low,Close,Adj Close,Volume';
const QH = '"Date","Open","High","Low","Close","Adj Close","Volume"';

/** What a quoted file must parse to: kept volumes, malformed [line, reason] pairs, null and blank drops. */
interface Want {
  volumes: number[];
  opens?: number[];
  issues?: [number, string][];
  nulls?: number;
  blank?: number;
}

const CASES: [string, string, Want][] = [
  ['every field quoted', `${H}\n"2020-01-02","0.12","1","1","1","1","10"\n`, { volumes: [10], opens: [0.12] }],
  ['quoted header names', `${QH}\n2020-01-02,1.5,1,1,1,1,10\n`, { volumes: [10], opens: [1.5] }],
  ['quoted header with spaces around names', `" Date ", "Open" ,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,10\n`, { volumes: [10] }],
  ['mixed quoted and unquoted fields', `${QH}\n2020-01-02,"1.5",1,"1",1,1,10\n"2020-01-03",2,1,1,1,1,"11"\n`, { volumes: [10, 11], opens: [1.5, 2] }],
  ['BOM + quotes', `${BOM}${QH}\n"2020-01-02","1","1","1","1","1","10"\n`, { volumes: [10] }],
  ['CRLF + quotes', `${QH}\r\n"2020-01-02","1","1","1","1","1","10"\r\n2020-01-03,1,1,1,1,1,"11"\r\n`, { volumes: [10, 11] }],
  ['BOM + CRLF + quotes, no final line end', `${BOM}${QH}\r\n"2020-01-02","1","1","1","1","1","10"`, { volumes: [10] }],
  ['"" escape in a column not read', `${H},Note\n2020-01-02,1,1,1,1,1,10,"say ""hi"""\n`, { volumes: [10] }],
  ['"" escape in a read column', `${H}\n2020-01-02,"1""5",1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, 'Open is not a number']] }],
  ['quoted comma in a column not read', `${H},Note\n2020-01-02,1,1,1,1,1,10,"a, b"\n`, { volumes: [10] }],
  ['quoted line break in a column not read: later line numbers stay physical', `${H},Note\n2020-01-02,1,1,1,1,1,10,"a\nb"\n2020-01-03,x,1,1,1,1,11,\n`, { volumes: [10], issues: [[4, 'Open is not a number']] }],
  ['quoted comma in Volume', `${H}\n2020-01-02,1,1,1,1,1,"1,000"\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, 'Volume holds a quoted comma']] }],
  ['quoted line break in Open', `${H}\n2020-01-02,"1\n5",1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, 'Open holds a quoted line break']] }],
  ['text after a closing quote', `${H}\n2020-01-02,"1.5"0,1,1,1,1,10\n`, { volumes: [], issues: [[2, 'Open has text after its closing quote']] }],
  ['a quote never closed costs its line only', `${H}\n2020-01-02,"1.5,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n2020-01-06,1,1,1,1,1,12\n`, { volumes: [11, 12], issues: [[2, 'a quoted field is never closed']] }],
  ['a stray quote inside an unquoted field', `${H}\n2020-01-02,12"3,1,1,1,1,10\n`, { volumes: [], issues: [[2, 'Open is not a number']] }],
  ['an empty quoted field is null', `${H}\n2020-01-02,"",1,1,1,1,10\n`, { volumes: [], nulls: 1 }],
  ['a blank line between quoted lines', `${H}\n"2020-01-02",1,1,1,1,1,10\n\n"2020-01-03",1,1,1,1,1,11\n`, { volumes: [10, 11], blank: 1 }],
  ['quoted fields with too few fields', `${H}\n"2020-01-02","1","1"\n`, { volumes: [], issues: [[2, 'expected 7 fields, got 3']] }],
];

// Line ends, dates and bytes a careless export holds (each line either kept or reported, never silent).
const D = 'Date is not a valid YYYY-MM-DD date in 1900..2099';
const LINE_CASES: [string, string, Want][] = [
  ['CR-only line ends (classic Mac; pandas reads them)', `${H}\r2020-01-02,1,1,1,1,1,10\r2020-01-03,1,1,1,1,1,11\r`, { volumes: [10, 11] }],
  ['CR-only line ends with quotes', `${QH}\r"2020-01-02","1","1","1","1","1","10"\r`, { volumes: [10] }],
  ['a lone CR among LF lines joins two lines (reported)', `${H}\n2020-01-02,1,1,1,1,1,10\r2020-01-03,1,1,1,1,1,11\n2020-01-06,1,1,1,1,1,12\n`, { volumes: [12], issues: [[2, 'expected 7 fields, got 13']] }],
  ['2020-02-30', `${H}\n2020-02-30,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, D]] }],
  ['2019-02-29 (not a leap year)', `${H}\n2019-02-29,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, D]] }],
  ['1900-02-29 (not a leap year)', `${H}\n1900-02-29,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, D]] }],
  ['99999-01-01', `${H}\n99999-01-01,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, D]] }],
  ['0000-01-01', `${H}\n0000-01-01,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, D]] }],
  ['a date with a time', `${H}\n2020-01-02 00:00:00,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, D]] }],
  ['a NUL byte in a price', `${H}\n2020-01-02,1\u0000,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, 'Open is not a number']] }],
  ['a line of NUL bytes', `${H}\n\u0000\u0000\u0000\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [11], issues: [[2, 'expected 7 fields, got 1']] }],
  ['the header again mid-file (concatenated exports)', `${H}\n2020-01-02,1,1,1,1,1,10\n${H}\n2020-01-03,1,1,1,1,1,11\n`, { volumes: [10, 11], issues: [[3, D]] }],
  ['spaces around a number (read_csv reads the number)', `${H}\n2020-01-02, 1 ,1,1,1,1,10\n`, { volumes: [10], opens: [1] }],
  ['spaces alone', `${H}\n2020-01-02,  ,1,1,1,1,10\n`, { volumes: [], issues: [[2, 'Open is not a number']] }],
  ['full-width digits', `${H}\n2020-01-02,１,1,1,1,1,10\n`, { volumes: [], issues: [[2, 'Open is not a number']] }],
];

function check(csv: string, want: Want): void {
  const p = parseBarsCsv(enc(csv));
  expect(Array.from(p.volume)).toEqual(want.volumes);
  if (want.opens) expect(Array.from(p.open)).toEqual(want.opens);
  expect(p.issues.map((i) => [i.line, i.reason])).toEqual(want.issues ?? []);
  expect(p.dropped.null_values).toBe(want.nulls ?? 0);
  expect(p.dropped.blank).toBe(want.blank ?? 0);
  expect(p.rowsRead).toBe(p.rows + p.dropped.malformed + p.dropped.null_values + p.dropped.blank + p.dropped.duplicate);
}

describe('line ends, dates and bytes of careless exports', () => {
  it.each(LINE_CASES)('%s', (_, csv, want) => check(csv, want));
});

describe('RFC 4180 quoting', () => {
  it.each(CASES)('%s', (_, csv, want) => check(csv, want));
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** Naive RFC 4180 writer: quote when asked or when the text needs it, doubling quotes. */
const quote = (s: string, force: boolean): string => (force || /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/**
 * A random file twice: plain (no quotes anywhere, the fast path) and quoted at random with a Note
 * column holding commas, quotes and line breaks, CRLF or LF, a BOM or not. Also the physical line
 * of each plain line in the quoted file.
 */
function twinFiles(rnd: () => number): { plain: string; quoted: string; lineOf: number[] } {
  const eol = rnd() < 0.5 ? '\r\n' : '\n';
  const bom = rnd() < 0.3 ? BOM : '';
  const cols = ['Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume'];
  const plain: string[] = [cols.join(',')];
  const quoted: string[] = [[...cols, 'Note'].map((c) => quote(c, rnd() < 0.5)).join(',')];
  const lineOf = [1];
  let line = 1;
  const notes = ['', 'plain', 'a, b', 'say "hi"', 'two\nlines', 'x\r\ny,z', '""', ','];
  for (let r = 0; r < 60; r++) {
    const day = new Date(Date.UTC(2020, 0, 1 + Math.floor(rnd() * 90))).toISOString().slice(0, 10);
    const fields = [day, ...Array.from({ length: 5 }, () => (rnd() * 100).toFixed(Math.floor(rnd() * 6))), String(Math.floor(rnd() * 1e6))];
    const k = Math.floor(rnd() * 20);
    if (k === 0) fields[1] = 'abc'; // malformed
    if (k === 1) fields[6] = ''; // null
    if (k === 2) fields[0] = '2020-13-01'; // malformed date
    line += 1;
    lineOf.push(line);
    const note = notes[Math.floor(rnd() * notes.length)]!;
    plain.push(fields.join(','));
    quoted.push([...fields.map((f) => quote(f, rnd() < 0.5)), quote(note, rnd() < 0.3)].join(','));
    line += (note.match(/\n/g) ?? []).length;
  }
  return { plain: `${bom}${plain.join(eol)}${eol}`, quoted: `${bom}${quoted.join(eol)}${rnd() < 0.5 ? eol : ''}`, lineOf };
}

describe('quoted path against the unquoted fast path (naive twin)', () => {
  it('gives the same columns, drops and issues (at physical lines) on many seeds', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const { plain, quoted, lineOf } = twinFiles(lcg(seed));
      const a = parseBarsCsv(enc(plain));
      const b = parseBarsCsv(enc(quoted));
      expect(b.rows, `seed ${seed}`).toBe(a.rows);
      for (const k of ['day', 'open', 'high', 'low', 'close', 'adjClose', 'volume'] as const) expect(Array.from(b[k]), `seed ${seed} ${k}`).toEqual(Array.from(a[k]));
      expect(b.dropped).toEqual(a.dropped);
      expect(b.rowsRead).toBe(a.rowsRead);
      expect(b.issues).toEqual(a.issues.map((i) => ({ ...i, line: lineOf[i.line - 1] })));
    }
  });
});

describe('physical lines (where an appended line is numbered from)', () => {
  it('count each line of a record over several, with or without a last line end', () => {
    const cases: [string, number][] = [
      [`${H}\n`, 0],
      [`${H}\n2020-01-02,1,1,1,1,1,"1\n0"\n`, 2],
      [`${H}\n2020-01-02,1,1,1,1,1,"1\n0"\n2020-01-03,1,1,1,1,1,2`, 3],
      [`${QH}\n2020-01-02,1,1,1,1,1,10\n\n`, 2],
      [`${H}\n2020-01-02,1,1,1,1,1,"10\n2020-01-03,1,1,1,1,1,11\n`, 2],
      [`${H}\n2020-01-02,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,"11`, 2],
      [`${H}\n2020-01-02,1,1,1,1,1,10\n`, 1],
    ];
    for (const [text, lines] of cases) expect(parseBarsCsv(enc(text)).lines, JSON.stringify(text)).toBe(lines);
  });
});
