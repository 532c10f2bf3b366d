/** @module sources/synthetic/float32.test
 * The float32 formatter against JS's own shortest round-trip text (the naive twin). */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { writeFloat32 } from './float32.js';

/** Python-style float text: String() plus '.0' on whole numbers (what pandas writes). */
function pyFloat(x: number): string {
  const s = String(x);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

describe('writeFloat32', () => {
  const buf = new Uint8Array(64);
  const text = (x: number): string => Buffer.from(buf.subarray(0, writeFloat32(buf, 0, x))).toString('latin1');

  it('prints like the real files', () => {
    expect(text(Math.fround(32.54649353027344))).toBe('32.54649353027344');
    expect(text(Math.fround(25.3))).toBe('25.299999237060547');
    expect(text(Math.fround(0.0434))).toBe('0.04340000078082085');
    expect(text(0)).toBe('0.0');
    expect(text(4.4375)).toBe('4.4375');
    expect(text(25)).toBe('25.0');
    expect(text(Math.fround(-1.5276211500167847))).toBe('-1.5276211500167847');
  });

  it('equals String(Math.fround(x)) on random float32 values', () => {
    const rng = createRng(7);
    const bits = new Uint32Array(1);
    const f32 = new Float32Array(bits.buffer);
    const mismatches: string[] = [];
    let checked = 0;
    const check = (x: number): void => {
      checked++;
      if (text(x) !== pyFloat(x)) mismatches.push(`${pyFloat(x)} printed as ${text(x)}`);
    };
    for (let i = 0; i < 500_000; i++) {
      bits[0] = rng.uint32(); // any bit pattern: all exponents, both signs
      if (Number.isFinite(f32[0]!)) check(f32[0]!);
      check(Math.fround(Math.round(rng.next() * 1e7) / 100)); // quoted prices
      check(Math.fround((rng.next() - 0.2) * 300)); // adjusted prices, some negative
    }
    expect(mismatches.slice(0, 10)).toEqual([]);
    expect(checked).toBeGreaterThan(1_400_000);
  });
});
