/** @module etl/csv-quoted
 * The slow path of csv-parse for files holding a `"`: rewrites RFC 4180 quoting (quoted fields
 * and header names, `""` escapes, commas and line breaks inside quotes, CRLF) into plain lines the
 * byte-level parser reads, with each line's physical line number in the file and a precise reason
 * for lines it cannot rewrite. Columns csv-parse does not read are emptied. Pure. */

export interface Unquoted {
  /** Header names (BOM removed, quotes undone, trimmed). */
  names: string[];
  /** The data records, one plain line each, every one ending in \n. */
  bytes: Uint8Array;
  /** Physical 1-based line number (in the original file) where data record k starts. */
  lineOf: Int32Array;
  /** Data records that are malformed for a reason of quoting, by record index. */
  forced: Map<number, string>;
  /** Physical lines after the header (a record over several lines counts each). */
  lines: number;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
/** Stands in for a field of a read column that cannot be a number or date (its line is malformed). */
const SENTINEL = 0x3f; // '?'

/**
 * Rewrites `src` without quoting. `readColumns` are the header names csv-parse reads; a quoted
 * field of one of them holding a comma or a line break, text after a closing quote, or a quote
 * never closed makes its line malformed with that reason. After the first unclosed quote, quoted
 * fields may no longer span lines (so a stray quote costs one line, not the rest of the file).
 */
export function unquoteCsv(src: Uint8Array, readColumns: readonly string[]): Unquoted {
  const n = src.length;
  const out = new Uint8Array(n + 1);
  const utf8 = new TextDecoder('utf-8');
  let pos = n >= 3 && src[0] === 0xef && src[1] === 0xbb && src[2] === 0xbf ? 3 : 0;
  let o = 0;
  let line = 1;
  let multiline = true;
  let names: string[] = [];
  let read: boolean[] = [];
  const lineOf: number[] = [];
  const forced = new Map<number, string>();

  /** Parses one record from pos; returns a reason when the record is malformed by its quoting. */
  const record = (header: boolean): string => {
    const recStart = pos;
    const recOut = o;
    const recLine = line;
    let reason = '';
    let col = 0;
    for (;;) {
      const fieldOut = o;
      let comma = false;
      let breakIn = false;
      let trailing = false;
      const quoted = src[pos] === QUOTE;
      if (quoted) {
        let p = pos + 1;
        let closed = false;
        while (p < n) {
          const c = src[p]!;
          if (c === QUOTE) {
            if (src[p + 1] === QUOTE) {
              out[o++] = QUOTE;
              p += 2;
              continue;
            }
            p++;
            closed = true;
            break;
          }
          if (c === LF) {
            if (!multiline) break;
            line++;
            breakIn = true;
          } else if (c === CR) breakIn = true;
          else if (c === COMMA) comma = true;
          out[o++] = c;
          p++;
        }
        if (!closed) {
          // Unclosed: the line it starts on is malformed; go on with the next physical line.
          multiline = false;
          o = recOut;
          const eol = src.indexOf(LF, recStart);
          line = eol < 0 ? recLine : recLine + 1;
          pos = eol < 0 ? n : eol + 1;
          if (!header) out[o++] = SENTINEL;
          out[o++] = LF;
          return 'a quoted field is never closed';
        }
        // After the closing quote: a delimiter, a line end (CRLF or LF) or the end of the file.
        while (p < n && src[p] !== COMMA && src[p] !== LF && !(src[p] === CR && (p + 1 === n || src[p + 1] === LF))) {
          trailing = true;
          p++;
        }
        if (src[p] === CR) p++;
        pos = p;
      } else {
        while (pos < n && src[pos] !== COMMA && src[pos] !== LF) out[o++] = src[pos++]!;
        if (o > fieldOut && out[o - 1] === CR && (pos === n || src[pos] === LF)) o--;
      }
      // Header names: trimmed, and quotes undone also when spaces came first (` "Open"`), as before.
      if (header) names.push(utf8.decode(out.subarray(fieldOut, o)).trim().replace(/^"(.*)"$/, '$1'));
      else if (read[col] !== true) o = fieldOut;
      else if (comma || breakIn || trailing) {
        o = fieldOut;
        out[o++] = SENTINEL;
        if (reason === '') {
          const what = trailing ? 'has text after its closing quote' : `holds a quoted ${comma ? 'comma' : 'line break'}`;
          reason = `${names[col]} ${what}`;
        }
      }
      if (pos < n && src[pos] === COMMA) {
        out[o++] = COMMA;
        pos++;
        col++;
        continue;
      }
      if (pos < n) {
        pos++; // the \n
        line++;
      }
      out[o++] = LF;
      return reason;
    }
  };

  if (pos < n) {
    record(true);
    names = names.map((s, k) => (k === 0 ? s.replace(/^\uFEFF/, '') : s));
    read = names.map((s) => readColumns.includes(s));
    o = 0;
  }
  while (pos < n) {
    lineOf.push(line);
    const reason = record(false);
    if (reason !== '') forced.set(lineOf.length - 1, reason);
  }
  // `line` is the line after the last one read: one more when the file ends with a line end.
  const lines = Math.max(0, line - 1 - (n > 0 && src[n - 1] === LF ? 1 : 0));
  return { names, bytes: out.subarray(0, o), lineOf: Int32Array.from(lineOf), forced, lines };
}
