/** @module etl/metadata
 * Reads symbols_valid_meta.csv: finds Symbol and Security Name by header name (copies in the
 * wild drop or reorder columns) and returns Symbol → Security Name. Pure: takes the text. */
import { parseCsvRecords } from '../core/csv-records.js';

export interface SymbolMetadata {
  names: Map<string, string>;
  rows: number;
}

/** Returns null when the header lacks Symbol or Security Name (the caller reports it). */
export function parseSymbolMetadata(text: string): SymbolMetadata | { missing: string[] } {
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
