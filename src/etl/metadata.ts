/** @module etl/metadata
 * Reads symbols_valid_meta.csv: finds Symbol and Security Name by header name (copies in the
 * wild drop or reorder columns) and returns Symbol → Security Name. Pure: takes the text. */

/** Splits CSV text into records (RFC 4180: quoted fields, doubled quotes, CRLF). */
export function parseCsvRecords(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else field += c;
      i++;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      out.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    out.push(row);
  }
  return out;
}

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
