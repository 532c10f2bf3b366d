/** @module sources/synthetic/price-cache
 * The formatted bytes of each quoted price, cached by grid key: most prices repeat, so each is
 * formatted (float32.ts) once per run and then copied. Fraction-era keys (negative) have their own
 * slots. */
import { copyWords } from './bytes.js';
import { writeFloat32 } from './float32.js';
import { keyValue } from './price-model.js';

/** Formatted bytes of quoted prices by grid key (24-byte slots: length, then up to 23 bytes). */
export class PriceCache {
  static readonly KEYS = 1_010_000; // up to $10,000.00
  static readonly FRACTION_KEYS = 64 * 5000; // up to $5,000 in 64ths
  private readonly slab = new Uint8Array((PriceCache.KEYS + PriceCache.FRACTION_KEYS) * 24 + 8);
  private readonly view = new DataView(this.slab.buffer);

  write(buf: Uint8Array, dv: DataView, pos: number, key: number): number {
    if (key === 0) return writeFloat32(buf, pos, 0);
    if (key >= PriceCache.KEYS || key <= -PriceCache.FRACTION_KEYS) return writeFloat32(buf, pos, Math.fround(keyValue(key)));
    const slab = this.slab;
    const at = (key < 0 ? PriceCache.KEYS - key : key) * 24;
    let len = slab[at]!;
    if (len === 0) {
      len = writeFloat32(slab, at + 1, Math.fround(keyValue(key))) - at - 1;
      slab[at] = len;
    }
    copyWords(dv, pos, this.view, at + 1, len);
    return pos + len;
  }
}
