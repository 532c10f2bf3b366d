/** @module sources/synthetic/float32
 * Number formatting straight into bytes. Prices print like the real files (pandas writing float32
 * values read as doubles): String(Math.fround(x)), plus '.0' for whole numbers. String() costs
 * ~400 ns a number here, so the shortest round-trip digits are computed exactly with base-1e7
 * limbs instead (~120 ns). Caching per grid key is price-cache.ts's. */
import { DIGITS4, writeAscii } from './bytes.js';

const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);
const LIMB = 1e7;
const MAX_K = 63;
const LIMBS = 14;
const POW5_LIMBS = new Float64Array((MAX_K + 1) * LIMBS);
const POW5_LEN = new Int32Array(MAX_K + 1);
{
  let cur = [1];
  for (let k = 0; k <= MAX_K; k++) {
    POW5_LEN[k] = cur.length;
    cur.forEach((l, i) => (POW5_LIMBS[k * LIMBS + i] = l));
    const next: number[] = [];
    let carry = 0;
    for (const l of cur) {
      const v = l * 5 + carry;
      next.push(v % LIMB);
      carry = Math.floor(v / LIMB);
    }
    if (carry > 0) next.push(carry);
    cur = next;
  }
}
const POW5 = new Float64Array(MAX_K + 1).map((_, k) => 5 ** k);
const POW10 = new Float64Array(120).map((_, k) => Number(`1e${k}`));
const POW2_NEG = new Float64Array(64).map((_, t) => 2 ** (-t - 30));
const LIMB_BUF = new Int32Array(16);
const DIG = new Uint8Array(128);

/** The reference path: JS's own shortest round-trip string, '.0' added to whole numbers. */
function pythonFloat(x: number): string {
  const s = String(x);
  return /^-?\d+$/.test(s) ? `${s}.0` : s;
}

/** Digits p … p+15 (of the significant digits starting at DIG[o]) as an integer; zeros past len. */
function take16(o: number, p: number, len: number): number {
  let v = 0;
  const end = p + 16;
  const lim = end < len ? end : len;
  let j = p;
  for (; j < lim; j++) v = v * 10 + DIG[o + j]!;
  for (; j < end; j++) v *= 10;
  return v;
}

/** Whether rounding to p digits goes up: above half, or an exact half with an odd last digit. */
function roundsUp(o: number, p: number, trimmedLen: number, rest16: number): boolean {
  if (rest16 !== 5e15) return rest16 > 5e15;
  if (trimmedLen > p + 1) return true;
  return (DIG[o + p - 1]! & 1) === 1;
}

/**
 * Writes String(x) (with '.0' for whole numbers) for a double `x` that is a float32 value, and
 * returns the new position. Exact: x = m·2^-k, so x·10^k = m·5^k is an integer computed in limbs;
 * the shortest p whose rounding stays within half a double ulp is chosen, ties to even (ECMA-262
 * Number::toString). Rare cases (near-ties, huge or tiny values) fall back to String().
 */
export function writeFloat32(buf: Uint8Array, pos: number, x: number): number {
  if (x === 0) {
    buf[pos] = 48;
    buf[pos + 1] = 46;
    buf[pos + 2] = 48;
    return pos + 3;
  }
  if (x < 0) {
    buf[pos++] = 45;
    x = -x;
  }
  F32[0] = x;
  const bits = U32[0]!;
  const e = bits >>> 23;
  if (e === 0 || e === 255 || F32[0] !== x) return writeAscii(buf, pos, pythonFloat(x));
  let m = (bits & 0x7fffff) | 0x800000;
  const k0 = 150 - e;
  if (k0 <= 0) return writeAscii(buf, pos, pythonFloat(x));
  const isPow2 = m === 0x800000; // the ulp below is half the ulp above
  let t = 31 - Math.clz32(m & -m);
  if (t > k0) t = k0;
  m >>>= t;
  const k = k0 - t;
  if (k === 0 || k > MAX_K) return writeAscii(buf, pos, pythonFloat(x));
  // N = m · 5^k in base-1e7 limbs, least significant first.
  let nl = 0;
  let carry = 0;
  const base = k * LIMBS;
  const np = POW5_LEN[k]!;
  for (let i = 0; i < np; i++) {
    const v = POW5_LIMBS[base + i]! * m + carry;
    let hi = Math.floor(v * 1e-7);
    let r = v - hi * LIMB;
    if (r < 0) {
      hi--;
      r += LIMB;
    } else if (r >= LIMB) {
      hi++;
      r -= LIMB;
    }
    LIMB_BUF[nl++] = r;
    carry = hi;
  }
  while (carry > 0) {
    const hi = Math.floor(carry / LIMB);
    LIMB_BUF[nl++] = carry - hi * LIMB;
    carry = hi;
  }
  let w = 0;
  for (let i = nl - 1; i >= 0; i--) {
    const v = LIMB_BUF[i]! | 0;
    const h4 = ((v / 10000) | 0) * 4;
    const l4 = (v - (h4 >> 2) * 10000) * 4;
    DIG[w] = DIGITS4[h4 + 1]!;
    DIG[w + 1] = DIGITS4[h4 + 2]!;
    DIG[w + 2] = DIGITS4[h4 + 3]!;
    DIG[w + 3] = DIGITS4[l4]!;
    DIG[w + 4] = DIGITS4[l4 + 1]!;
    DIG[w + 5] = DIGITS4[l4 + 2]!;
    DIG[w + 6] = DIGITS4[l4 + 3]!;
    w += 7;
  }
  let o = 0;
  while (DIG[o] === 0) o++;
  const len = w - o;
  let trimmed = len;
  while (DIG[o + trimmed - 1] === 0) trimmed--;
  let point = len - k; // digits before the decimal point
  const halfUlp = POW5[k]! * POW2_NEG[t]!; // half a double ulp, in units of N
  let best: number;
  let bestUp = false;
  if (trimmed <= 17) best = trimmed;
  else {
    if (isPow2) return writeAscii(buf, pos, pythonFloat(x));
    best = 17; // 17 digits always round-trip
    bestUp = roundsUp(o, 17, trimmed, take16(o, 17, len));
  }
  for (let p = best - 1; p >= 1; p--) {
    const rest = take16(o, p, len);
    const up = roundsUp(o, p, trimmed, rest);
    const dist = up ? (1e16 - rest) / 1e16 : rest / 1e16;
    let h = halfUlp / POW10[len - p]!;
    if (isPow2 && !up) h *= 0.5;
    if (Math.abs(dist - h) <= 1e-9 * h) return writeAscii(buf, pos, pythonFloat(x));
    if (dist >= h) break; // fewer digits cannot be closer
    best = p;
    bestUp = up;
  }
  if (bestUp) {
    let j = best - 1;
    while (j >= 0 && DIG[o + j] === 9) DIG[o + j--] = 0;
    if (j >= 0) DIG[o + j]!++;
    else {
      DIG[o] = 1;
      point++;
    }
  }
  let s = best;
  while (s > 1 && DIG[o + s - 1] === 0) s--;
  if (point >= s) {
    if (point > 21) return writeAscii(buf, pos, pythonFloat(x));
    for (let j = 0; j < s; j++) buf[pos++] = 48 + DIG[o + j]!;
    for (let j = s; j < point; j++) buf[pos++] = 48;
    buf[pos++] = 46;
    buf[pos++] = 48;
    return pos;
  }
  if (point > 0) {
    for (let j = 0; j < point; j++) buf[pos++] = 48 + DIG[o + j]!;
    buf[pos++] = 46;
    for (let j = point; j < s; j++) buf[pos++] = 48 + DIG[o + j]!;
    return pos;
  }
  if (point > -6) {
    buf[pos++] = 48;
    buf[pos++] = 46;
    for (let j = point; j < 0; j++) buf[pos++] = 48;
    for (let j = 0; j < s; j++) buf[pos++] = 48 + DIG[o + j]!;
    return pos;
  }
  return writeAscii(buf, pos, pythonFloat(x));
}
