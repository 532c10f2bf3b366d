/** @module etl/metadata
 * Reads symbols_valid_meta.csv: finds Symbol and Security Name by header name (copies in the
 * wild drop or reorder columns) and returns Symbol → Security Name. Pure: takes the text. */
import { parseCsvRecords } from '../core/csv-records.js';

export interface SymbolMetadata {
  names: Map<string, string>;
  rows: number;
}

/**
 * Why the text (decoded as UTF-8) cannot hold a CSV header, or null: a UTF-16 file, by its byte order
 * mark (two U+FFFD once decoded) or NUL bytes in its first line. Said as the bars files say it.
 */
function encodingProblem(text: string): string | null {
  if (text.startsWith('\uFFFD\uFFFD')) return 'the file is UTF-16 (it starts with a UTF-16 byte order mark): save it as UTF-8 (or ASCII) CSV';
  const eol = text.indexOf('\n');
  if ((eol < 0 ? text : text.slice(0, eol)).includes('\u0000')) return 'the header holds NUL bytes (UTF-16 without a byte order mark, or not a text file): save it as UTF-8 CSV';
  return null;
}

/** Returns `missing` (the columns, and `problem` when the file is no UTF-8 text) when the header lacks Symbol or Security Name (the caller reports it). */
export function parseSymbolMetadata(text: string): SymbolMetadata | { missing: string[]; problem?: string } {
  const problem = encodingProblem(text);
  if (problem !== null) return { missing: ['Symbol', 'Security Name'], problem };
  const records = parseCsvRecords(text);
  const header = (records[0] ?? []).map((h) => h.trim());
  const iSym = header.indexOf('Symbol');
  const iName = header.indexOf('Security Name');
  if (iSym < 0 || iName < 0) return { missing: [iSym < 0 ? 'Symbol' : '', iName < 0 ? 'Security Name' : ''].filter(Boolean) };
  const names = new Map<string, string>();
  let rows = 0;
  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!;
    if (rec.length === 1 && rec[0] === '') continue;
    rows++;
    const sym = rec[iSym];
    const name = rec[iName];
    if (sym === undefined || sym === '' || names.has(sym)) continue;
    if (name !== undefined && name !== '') names.set(sym, name);
  }
  return { names, rows };
}
