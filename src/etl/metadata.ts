/** @module etl/metadata
 * Reads symbols_valid_meta.csv: finds Symbol and Security Name by header name (copies in the
 * wild drop or reorder columns) and returns Symbol → Security Name (the first row naming a symbol;
 * the symbols named otherwise in later rows are listed). Pure: takes the text. */
import { parseCsvRecords } from '../core/csv-records.js';

export interface SymbolMetadata {
  names: Map<string, string>;
  rows: number;
  /** Symbols given more than one Security Name (in file order): the first row naming one is kept, the others ignored. */
  duplicates: MetadataDuplicate[];
}

export interface MetadataDuplicate {
  symbol: string;
  kept: string;
  ignored: string[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }); // a BOM kept, as Buffer#toString kept it (the CSV reader drops it)
/** Windows-1252's 0x80–0x9F (the rest is Latin-1); 0 = unassigned (kept as the C1 control, as WHATWG does).
 * By hand: Node 20's TextDecoder('windows-1252') decodes these as Latin-1's C1 controls. */
const CP1252_HIGH = [0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
  0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178];

function decodeWindows1252(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 8192) {
    const codes = Array.from(bytes.subarray(i, i + 8192), (b) => (b >= 0x80 && b <= 0x9f ? CP1252_HIGH[b - 0x80] || b : b));
    out.push(String.fromCharCode(...codes));
  }
  return out.join('');
}

/**
 * The metadata file's text: UTF-8, or, when its bytes are no valid UTF-8 and hold no
 * UTF-16 mark or NUL byte, Windows-1252 (the superset of Latin-1 that spreadsheet programs save):
 * "Société Générale" saved so reads as written, not with U+FFFD. A UTF-16 file stays decoded as UTF-8
 * so that parseSymbolMetadata says what it is.
 */
export function decodeMetadata(bytes: Uint8Array): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) || bytes.includes(0);
    return utf16 ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : decodeWindows1252(bytes);
  }
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
  const duplicates = new Map<string, MetadataDuplicate>();
  let rows = 0;
  for (let r = 1; r < records.length; r++) {
    const rec = records[r]!;
    if (rec.length === 1 && rec[0] === '') continue;
    rows++;
    const sym = rec[iSym];
    const name = rec[iName];
    if (sym === undefined || sym === '' || name === undefined || name === '') continue;
    const kept = names.get(sym);
    if (kept === undefined) names.set(sym, name);
    else if (name !== kept) {
      // The first name kept, as before; another one is reported (ingest's metadata_duplicates), not silently dropped.
      const d = duplicates.get(sym) ?? { symbol: sym, kept, ignored: [] };
      if (!d.ignored.includes(name)) d.ignored.push(name);
      duplicates.set(sym, d);
    }
  }
  return { names, rows, duplicates: [...duplicates.values()] };
}
