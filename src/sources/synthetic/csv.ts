/** @module sources/synthetic/csv
 * One symbol's CSV file as bytes: header, rows from the series buffers (quotes through the cache, or
 * × the split factor where a later split adjusts them; Adj Close = quote × factor), and the file-level quirks (BOM, CRLF, float volumes, the malformed
 * line, empty rows on closed days). Writing the files is generate.ts's. */
import { fromDayNumber } from '../../core/calendar.js';
import { copyWords, writeAscii, writeUint } from './bytes.js';
import type { CalendarBytes } from './calendar.js';
import { writeFloat32 } from './float32.js';
import type { PriceCache } from './price-cache.js';
import { keyValue, type SeriesBuffers } from './price-model.js';
import type { SymbolPlan } from './plan.js';

export const PRICE_HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume';

const MAX_ROW_BYTES = 176; // date + 5 prices of ≤ 26 bytes + a 13-digit volume + '.0' + CRLF

/** Bytes needed for a symbol's file (with slack for copyWords). */
export function csvCapacity(rows: number): number {
  return 64 + rows * MAX_ROW_BYTES;
}

/** Writes the symbol's CSV into `buf` (at least csvCapacity bytes) and returns its length. */
export function symbolCsv(plan: SymbolPlan, b: SeriesBuffers, cal: CalendarBytes, cache: PriceCache, emptyDays: number[], buf: Buffer): number {
  const q = plan.quirks;
  const crlf = q.has('crlf');
  const floatVolume = q.has('float-volume');
  const malformedRow = q.has('malformed') && plan.length > 0 ? Math.floor(plan.length / 2) : -1;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  if (q.has('bom')) {
    buf[pos++] = 0xef;
    buf[pos++] = 0xbb;
    buf[pos++] = 0xbf;
  }
  pos = writeAscii(buf, pos, crlf ? `${PRICE_HEADER}\r\n` : `${PRICE_HEADER}\n`);
  const { open, high, low, close, volume, factor, split } = b;
  const dates = cal.dateView;
  let e = 0;
  for (let j = 0; j < plan.length; j++) {
    const ci = plan.start + j;
    while (e < emptyDays.length && emptyDays[e]! < cal.days[ci]!) {
      pos = writeAscii(buf, pos, `${fromDayNumber(emptyDays[e++]!)},,,,,,${crlf ? '\r\n' : '\n'}`);
    }
    copyWords(dv, pos, dates, ci * 10, 10);
    buf[pos + 10] = 44;
    const s = split[j]!;
    let closeAt: number;
    if (s === 1) {
      pos = cache.write(buf, dv, pos + 11, open[j]!);
      buf[pos++] = 44;
      pos = cache.write(buf, dv, pos, high[j]!);
      buf[pos++] = 44;
      pos = cache.write(buf, dv, pos, low[j]!);
      buf[pos++] = 44;
      closeAt = pos;
      pos = cache.write(buf, dv, pos, close[j]!);
    } else {
      // Yahoo's files print prices before a split divided by it (only Adj Close adds dividends).
      pos = writeFloat32(buf, pos + 11, Math.fround(keyValue(open[j]!) * s));
      buf[pos++] = 44;
      pos = writeFloat32(buf, pos, Math.fround(keyValue(high[j]!) * s));
      buf[pos++] = 44;
      pos = writeFloat32(buf, pos, Math.fround(keyValue(low[j]!) * s));
      buf[pos++] = 44;
      closeAt = pos;
      pos = writeFloat32(buf, pos, Math.fround(keyValue(close[j]!) * s));
    }
    const closeLen = pos - closeAt;
    buf[pos++] = 44;
    const f = factor[j]!;
    if (f === s) {
      copyWords(dv, pos, dv, closeAt, closeLen); // source ends before the target starts
      pos += closeLen;
    } else pos = writeFloat32(buf, pos, Math.fround(keyValue(close[j]!) * f));
    if (j !== malformedRow) {
      // The malformed line stops after Adj Close: 6 fields instead of 7.
      buf[pos++] = 44;
      pos = writeUint(buf, pos, volume[j]!);
      if (floatVolume) {
        buf[pos++] = 46;
        buf[pos++] = 48;
      }
    }
    if (crlf) buf[pos++] = 13;
    buf[pos++] = 10;
  }
  return pos;
}
