import { describe, expect, it } from 'vitest';
import { decodeMetadata, parseSymbolMetadata } from './metadata.js';

const CSV = 'Symbol,Security Name\nA,Agilent\n';
/** The bytes as ingest reads them: decoded as UTF-8. */
const asRead = (bytes: Buffer): string => bytes.toString('utf8');

describe('parseSymbolMetadata', () => {
  it('finds Symbol and Security Name by header name', () => {
    const m = parseSymbolMetadata('Nasdaq Traded,Security Name,Symbol\nY,"Agilent, Inc.",A\n');
    expect(m).toEqual({ names: new Map([['A', 'Agilent, Inc.']]), rows: 1, duplicates: [] });
  });

  it('keeps the first name of a symbol given twice and lists the others (they were dropped without a word)', () => {
    const m = parseSymbolMetadata('Symbol,Security Name\nA,Agilent\nB,Bravo\nA,Alcoa\nC,\nC,Charlie\nA,Agilent\nB,Bravo\nA,Acme\n');
    expect(m).toEqual({
      names: new Map([['A', 'Agilent'], ['B', 'Bravo'], ['C', 'Charlie']]), rows: 8,
      // The same name twice is no conflict; an empty name is none either (the next row names it).
      duplicates: [{ symbol: 'A', kept: 'Agilent', ignored: ['Alcoa', 'Acme'] }],
    });
  });

  it('says a UTF-16 file is UTF-16, with or without a byte order mark (it said "header lacks Symbol and Security Name")', () => {
    const withBom = parseSymbolMetadata(asRead(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(CSV, 'utf16le')])));
    expect(withBom).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('the file is UTF-16') });
    const bigEndian = parseSymbolMetadata(asRead(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(CSV, 'utf16le').swap16()])));
    expect(bigEndian).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('the file is UTF-16') });
    const noBom = parseSymbolMetadata(asRead(Buffer.from(CSV, 'utf16le')));
    expect(noBom).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('NUL bytes') });
  });

  it('reads a Latin-1 / Windows-1252 file as written (it read "Soci\uFFFDt\uFFFD G\uFFFDn\uFFFDrale"); UTF-8 and UTF-16 as before', () => {
    const latin1 = Buffer.from('Symbol,Security Name\nGLE,Soci\u00e9t\u00e9 G\u00e9n\u00e9rale \u20ac\n', 'latin1');
    latin1[latin1.length - 2] = 0x80; // the euro sign in Windows-1252
    expect(parseSymbolMetadata(decodeMetadata(latin1))).toEqual({ names: new Map([['GLE', 'Soci\u00e9t\u00e9 G\u00e9n\u00e9rale \u20ac']]), rows: 1, duplicates: [] });
    const utf8 = Buffer.from('\uFEFFSymbol,Security Name\nGLE,Soci\u00e9t\u00e9\n', 'utf8');
    expect(decodeMetadata(utf8)).toBe(utf8.toString('utf8'));
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(CSV, 'utf16le')]);
    expect(parseSymbolMetadata(decodeMetadata(utf16))).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('the file is UTF-16') });
    expect(parseSymbolMetadata(decodeMetadata(Buffer.from(CSV, 'utf16le')))).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('NUL bytes') });
  });

  it('still names the columns a UTF-8 header lacks', () => {
    expect(parseSymbolMetadata('Ticker,Security Name\nA,a\n')).toEqual({ missing: ['Symbol'] });
  });
});
