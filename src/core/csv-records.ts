/** @module core/csv-records
 * A small RFC 4180 record splitter for metadata-sized CSV text (symbols_valid_meta.csv, Yahoo's
 * answers), shared by etl/metadata and sources/yahoo. The bars' fast parser is etl/csv-parse. */

const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;

/**
 * Splits CSV text into records (RFC 4180: quoted fields, doubled quotes, CRLF; a leading BOM is
 * skipped). A quote opens a quoted run anywhere in a field and the text around it is kept, as
 * spreadsheets read `ab"c,d"e` (one field `abc,de`). Runs between delimiters are taken as slices of
 * the text, not char by char: a string concatenated a character at a time cost most of the time
 * (and its garbage collection) on the Kaggle metadata's 580 kB, which every ingest reads.
 */
export function parseCsvRecords(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const n = text.length;
  while (i < n) {
    if (quoted) {
      // Up to the next quote: a doubled one is a quote of the field, a single one closes the run.
      const q = text.indexOf('"', i);
      if (q < 0) {
        field += text.slice(i);
        break;
      }
      field += text.slice(i, q);
      if (text.charCodeAt(q + 1) === QUOTE) {
        field += '"';
        i = q + 2;
      } else {
        quoted = false;
        i = q + 1;
      }
      continue;
    }
    let j = i;
    let c = text.charCodeAt(j);
    while (j < n && c !== COMMA && c !== LF && c !== CR && c !== QUOTE) c = text.charCodeAt(++j);
    if (j > i) field += text.slice(i, j);
    if (j >= n) break;
    i = j + 1;
    if (c === QUOTE) quoted = true;
    else if (c === COMMA) {
      row.push(field);
      field = '';
    } else {
      if (c === CR && text.charCodeAt(i) === LF) i++;
      row.push(field);
      out.push(row);
      row = [];
      field = '';
    }
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    out.push(row);
  }
  return out;
}
