/** @module sources/synthetic/bytes
 * Writing ASCII and whole numbers straight into byte buffers (no per-number strings), and a
 * word-wise copy. The float32 price formatter is float32.ts. */

/** The 4 decimal digits (0-9, not ASCII) of each i < 10000 at DIGITS4[4i … 4i+3]. */
export const DIGITS4 = new Uint8Array(40_000);
for (let i = 0; i < 10_000; i++) {
  DIGITS4[i * 4] = Math.floor(i / 1000);
  DIGITS4[i * 4 + 1] = Math.floor(i / 100) % 10;
  DIGITS4[i * 4 + 2] = Math.floor(i / 10) % 10;
  DIGITS4[i * 4 + 3] = i % 10;
}

/** Writes `s` (ASCII) at `pos` and returns the new position. */
export function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

/** Writes a whole number ≥ 0 (volumes; exact below 2^53). */
export function writeUint(buf: Uint8Array, pos: number, v: number): number {
  if (v >= 1e8) {
    const hi = Math.floor(v / 1e8);
    pos = writeUint(buf, pos, hi);
    const lo = v - hi * 1e8; // 8 digits, zero-padded
    const a = ((lo / 10000) | 0) * 4;
    const b = (lo - (a >> 2) * 10000) * 4;
    for (let i = 0; i < 4; i++) buf[pos + i] = 48 + DIGITS4[a + i]!;
    for (let i = 0; i < 4; i++) buf[pos + 4 + i] = 48 + DIGITS4[b + i]!;
    return pos + 8;
  }
  let x = v | 0;
  const digits = x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6 : x < 10000000 ? 7 : 8;
  for (let end = pos + digits; end > pos; ) {
    const next = (x / 10) | 0;
    buf[--end] = 48 + x - next * 10;
    x = next;
  }
  return pos + digits;
}

/** Copies `len` bytes in 4-byte words. It may write up to 3 bytes past the end; every caller
 * writes more bytes after it, and buffers have slack, so those bytes are always overwritten. */
export function copyWords(dst: DataView, at: number, src: DataView, from: number, len: number): void {
  for (let i = 0; i < len; i += 4) dst.setUint32(at + i, src.getUint32(from + i, true), true);
}
