import { describe, expect, it } from 'vitest';
import { civilFromDays, daysFromCivil, HeaderError, MAX_DAY, MIN_DAY, parseBarsCsv } from './csv-parse.js';

const H = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dates = (p: ReturnType<typeof parseBarsCsv>): string[] => Array.from(p.day, civilFromDays);

describe('parseBarsCsv', () => {
  it('parses a plain file into typed columns', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,1.5,2.25,1,2,1.9,100\n2020-01-03,2,3,1.5,2.5,2.4,200\n`));
    expect(p.rows).toBe(2);
    expect(dates(p)).toEqual(['2020-01-02', '2020-01-03']);
    expect(Array.from(p.open)).toEqual([1.5, 2]);
    expect(Array.from(p.adjClose)).toEqual([1.9, 2.4]);
    expect(Array.from(p.volume)).toEqual([100, 200]);
    expect(p.rowsRead).toBe(2);
  });

  it('drops rows empty but for the date as null_values', () => {
    const p = parseBarsCsv(enc(`${H}2001-09-11,1,1,1,1,1,5\n2001-09-12,,,,,,\n2001-09-13,1,1,1,1,1,6\n`));
    expect(p.rows).toBe(2);
    expect(p.dropped.null_values).toBe(1);
    expect(p.rowsRead).toBe(3);
  });

  it('treats pandas NA strings as null', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,NaN,1,1,1,1,5\n2020-01-03,1,1,1,1,null,5\n2020-01-06,1,1,1,1,1,N/A\n`));
    expect(p.rows).toBe(0);
    expect(p.dropped.null_values).toBe(3);
  });

  it('reads numbers padded with blanks as read_csv does (` 1.5`, `2.5 `, a tab), not as malformed', () => {
    // pandas 1.5: read_csv gives Adj Close 1.5, 2.5, 3.5 and Volume 100, 7, 1000 for these rows.
    const p = parseBarsCsv(enc(`${H}2020-01-02,1,1,1,1, 1.5,100\n2020-01-03,1,1,1,1,2.5 ,  7\n2020-01-06,1,1,1,1,\t3.5,"1e3 "\n2020-01-07,1,1,1,1, NaN,5\n2020-01-08,1,1,1,1,  ,5\n`));
    expect(Array.from(p.adjClose)).toEqual([1.5, 2.5, 3.5]);
    expect(Array.from(p.volume)).toEqual([100, 7, 1000]);
    // ` NaN` is no NA string to read_csv (the column turns to text) and blanks alone are no number: malformed.
    expect(p.issues.map((m) => m.line)).toEqual([5, 6]);
    expect(p.rowsRead).toBe(5);
  });

  it('reads float-typed volumes as integers and keeps zero prices, zero volume, negative Adj Close', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,0.0,0.0,0.0,25.3,-1.25,84375.0\n2020-01-03,0,1,0,1,1,0\n`));
    expect(p.rows).toBe(2);
    expect(Array.from(p.volume)).toEqual([84375, 0]);
    expect(p.adjClose[0]).toBe(-1.25);
  });

  it('keeps volumes beyond 2^31 exact', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,1,1,1,1,1,2326635323\n2020-01-03,1,1,1,1,1,9007199254740991\n`));
    expect(Array.from(p.volume)).toEqual([2326635323, 9007199254740991]);
  });

  it('survives a BOM and CRLF line ends', () => {
    const p = parseBarsCsv(enc(`\uFEFF${H.replace('\n', '\r\n')}2020-01-02,1,2,0.5,1.5,1.5,10\r\n2020-01-03,1,2,0.5,1.5,1.5,11\r\n`));
    expect(p.rows).toBe(2);
    expect(Array.from(p.volume)).toEqual([10, 11]);
  });

  it('handles header-only, empty and one-row files', () => {
    expect(parseBarsCsv(enc(H)).rows).toBe(0);
    expect(parseBarsCsv(enc(H.trimEnd())).rowsRead).toBe(0);
    expect(parseBarsCsv(new Uint8Array(0)).rows).toBe(0);
    const one = parseBarsCsv(enc(`${H}2023-04-13,0.0434,0.0882,0.0351,0.056,0.056,119`));
    expect(one.rows).toBe(1);
    expect(one.volume[0]).toBe(119);
  });

  it('reports malformed lines by line number and keeps counting', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,1,1,1,1,1,5\n2020-01-03,1,1,1,1,5\n2020-01-06,12.3.4,1,1,1,1,5\n2020-13-01,1,1,1,1,1,5\n2020-01-08,1,1,1,1,1,5.5\n2020-01-09,1,1,1,1,1,7\n`));
    expect(p.rows).toBe(2);
    expect(p.dropped.malformed).toBe(4);
    expect(p.issues.map((i) => i.line)).toEqual([3, 4, 5, 6]);
    expect(p.rowsRead).toBe(p.rows + p.dropped.malformed);
  });

  it('counts a blank line in the middle as read and dropped (blank)', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,1,1,1,1,1,5\n\n2020-01-03,1,1,1,1,1,5\n`));
    expect(p.rows).toBe(2);
    expect(p.dropped.blank).toBe(1);
    expect(p.rowsRead).toBe(3);
  });

  it('counts a line of only spaces and tabs as blank, as pandas\' read_csv skips it (it was malformed, "expected 7 fields, got 1")', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-02,1,1,1,1,1,5\n   \n\t\n \t \r\n2020-01-03,1,1,1,1,1,5\n`));
    expect([p.rows, p.dropped.blank, p.dropped.malformed, p.rowsRead]).toEqual([2, 3, 0, 5]);
    // A blank-led line with a field is no blank line.
    const q = parseBarsCsv(enc(`${H} ,1,1,1,1,1,5\n`));
    expect([q.dropped.blank, q.rows + q.dropped.malformed + q.dropped.null_values]).toEqual([0, 1]);
  });

  it('sorts by date and keeps the last row of a duplicated date', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-03,1,1,1,1,1,30\n2020-01-02,1,1,1,1,1,20\n2020-01-03,1,1,1,1,1,31\n`));
    expect(dates(p)).toEqual(['2020-01-02', '2020-01-03']);
    expect(Array.from(p.volume)).toEqual([20, 31]);
    expect(p.dropped.duplicate).toBe(1);
  });

  it('finds columns by header name in any order', () => {
    const p = parseBarsCsv(enc('Volume,Adj Close,Close,Low,High,Open,Date\n7,6,5,4,3,2,2020-01-02\n'));
    expect(p.volume[0]).toBe(7);
    expect(p.adjClose[0]).toBe(6);
    expect(p.open[0]).toBe(2);
  });

  it('rejects a header without a required column', () => {
    expect(() => parseBarsCsv(enc('Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,5\n'))).toThrow(HeaderError);
  });

  // [what, file bytes, what the message says]: a file that cannot start with a CSV header is refused
  // with a short message saying why (it quoted the whole first line: 30 MB for a file without line ends).
  const HDR = H.trimEnd();
  const u16 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf16le'));
  it.each([
    ['UTF-16 LE with a BOM', u16(`\uFEFF${HDR}\r\n2020-01-02,1,1,1,1,1,10\r\n`), /UTF-16/],
    ['UTF-16 BE with a BOM', new Uint8Array(Buffer.from(u16(`\uFEFF${HDR}\n`)).swap16()), /UTF-16/],
    ['UTF-16 LE without a BOM', u16(`${HDR}\r\n2020-01-02,1,1,1,1,1,10\r\n`), /NUL/],
    ['3 MB without a line end', enc('a'.repeat(3_000_000)), /longer than 65536 bytes/],
    ['3 MB of NUL bytes', new Uint8Array(3_000_000), /longer than 65536 bytes/],
    ['a 100 KB first line holding a quote', enc(`"${'a'.repeat(100_000)}\n`), /longer than 65536 bytes/],
    ['lower-case names', enc(`${HDR.toLowerCase()}\n2020-01-02,1,1,1,1,1,10\n`), /lacks/],
    ['semicolons', enc(`${HDR.replaceAll(',', ';')}\n2020-01-02;1;1;1;1;1;10\n`), /lacks/],
    ['data without a header', enc('2020-01-02,1,1,1,1,1,10\n'), /lacks/],
    ['CR-only line ends, then CRLF ones (a CR-only file appended to)', enc(`${HDR}\r2020-01-02,1,1,1,1,1,10\r2020-01-03,1,1,1,1,1,11\r\n`), /mixes CR-only and LF/],
    ['a long wrong header (cut in the message)', enc(`${'x,'.repeat(20_000)}\n`), /characters\)\)$/],
  ])('refuses %s: %s', (_what, bytes, says) => {
    let err: unknown;
    try {
      parseBarsCsv(bytes);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeaderError);
    expect((err as Error).message).toMatch(says);
    expect((err as Error).message.length).toBeLessThan(400);
  });

  it('parses numbers exactly as Number() (correctly rounded) on many random decimals', () => {
    let seed = 12345;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const texts: string[] = [];
    for (let i = 0; i < 5000; i++) {
      const kind = i % 4;
      const x = kind === 0 ? Math.fround(rnd() * 1000) : kind === 1 ? rnd() * 1e-3 : kind === 2 ? rnd() * 1e6 : -rnd() * 50;
      texts.push(kind === 3 ? x.toFixed(1 + (i % 17)) : String(x));
    }
    texts.push('1e-05', '2.5E+3', '0.1', '123456789012345678', '.5', '5.');
    const body = texts.map((t, i) => `${civilFromDays(daysFromCivil(2000, 1, 1) + i)},${t},1,1,1,1,1`).join('\n');
    const p = parseBarsCsv(enc(`${H}${body}\n`));
    expect(p.rows).toBe(texts.length);
    for (let i = 0; i < texts.length; i++) expect(p.open[i]).toBe(Number(texts[i]));
  });

  it('reads every calendar date of 1900–2099 and refuses every other YYYY-MM-DD text (the month cache across files)', () => {
    const lines: string[] = [];
    const want: number[] = [];
    for (let day = daysFromCivil(1899, 12, 25); day <= daysFromCivil(2100, 1, 5); day++) {
      lines.push(`${civilFromDays(day)},1,1,1,1,1,1`);
      if (day >= MIN_DAY && day <= MAX_DAY) want.push(day);
    }
    // Days past a month's end (leap rules: 1900 and 2100 are not leap years, 2000 is), months 00 and 13, day 00, non-digits.
    for (const bad of ['1900-02-29', '2023-02-29', '2100-02-29', '2021-04-31', '2021-06-31', '2021-09-31', '2021-11-31', '2021-01-32', '2021-00-10', '2021-13-01', '2021-01-00', '2021-0a-01', '2021-01-1/', '20x1-01-01', '2021/01/01', '2021-1-01']) lines.push(`${bad},1,1,1,1,1,1`);
    const p = parseBarsCsv(enc(`${H}${lines.join('\n')}\n`));
    expect(Array.from(p.day)).toEqual(want);
    expect(p.dropped.malformed).toBe(lines.length - want.length);
    // Another file, with months in a different order, after the cache holds this one's last month.
    const q = parseBarsCsv(enc(`${H}2099-12-31,1,1,1,1,1,1\n2000-02-29,1,1,1,1,1,1\n2099-12-01,1,1,1,1,1,1\n`));
    expect(Array.from(q.day)).toEqual([daysFromCivil(2000, 2, 29), daysFromCivil(2099, 12, 1), daysFromCivil(2099, 12, 31)]);
  });

  it('converts civil dates both ways', () => {
    expect(daysFromCivil(1970, 1, 1)).toBe(0);
    expect(civilFromDays(daysFromCivil(2024, 2, 29))).toBe('2024-02-29');
    expect(civilFromDays(daysFromCivil(1962, 1, 2))).toBe('1962-01-02');
  });
});
