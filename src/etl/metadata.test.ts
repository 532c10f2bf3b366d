import { describe, expect, it } from 'vitest';
import { parseSymbolMetadata } from './metadata.js';

const CSV = 'Symbol,Security Name\nA,Agilent\n';
/** The bytes as ingest reads them: decoded as UTF-8. */
const asRead = (bytes: Buffer): string => bytes.toString('utf8');

describe('parseSymbolMetadata', () => {
  it('finds Symbol and Security Name by header name', () => {
    const m = parseSymbolMetadata('Nasdaq Traded,Security Name,Symbol\nY,"Agilent, Inc.",A\n');
    expect(m).toEqual({ names: new Map([['A', 'Agilent, Inc.']]), rows: 1 });
  });

  it('says a UTF-16 file is UTF-16, with or without a byte order mark (it said "header lacks Symbol and Security Name")', () => {
    const withBom = parseSymbolMetadata(asRead(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(CSV, 'utf16le')])));
    expect(withBom).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('the file is UTF-16') });
    const bigEndian = parseSymbolMetadata(asRead(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(CSV, 'utf16le').swap16()])));
    expect(bigEndian).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('the file is UTF-16') });
    const noBom = parseSymbolMetadata(asRead(Buffer.from(CSV, 'utf16le')));
    expect(noBom).toEqual({ missing: ['Symbol', 'Security Name'], problem: expect.stringContaining('NUL bytes') });
  });

  it('still names the columns a UTF-8 header lacks', () => {
    expect(parseSymbolMetadata('Ticker,Security Name\nA,a\n')).toEqual({ missing: ['Symbol'] });
  });
});
