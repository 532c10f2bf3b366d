/** @module etl/decimal
 * Correctly rounded M / 10^f for decimal mantissas of 16–19 significant digits (beyond
 * Clinger's exact fast path), without building a string: M is held exactly as a double-double,
 * the residual of a candidate quotient is computed with error-free products (Dekker), and the
 * candidate is moved by one ulp until it is the nearest double (ties to even). Where the residual
 * is too close to a tie to decide in double-double, it returns NaN and the caller falls back to
 * Number() on the text. Pure. */

const SPLITTER = 134217729; // 2^27 + 1
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
let lo = 0;

/** a*b = return + lo, exactly (Dekker/Veltkamp). */
function twoProduct(a: number, b: number): number {
  const p = a * b;
  let t = SPLITTER * a;
  const ah = t - (t - a);
  const al = a - ah;
  t = SPLITTER * b;
  const bh = t - (t - b);
  const bl = b - bh;
  lo = ah * bh - p + ah * bl + al * bh + al * bl;
  return p;
}

/** ulp of a positive double ≥ 2^-970 (built from the exponent bits: Math.pow is slow here). */
function ulp(q: number): number {
  f64[0] = q;
  const exp = (u32[1]! >>> 20) & 0x7ff;
  u32[1] = (exp - 52) << 20;
  u32[0] = 0;
  return f64[0]!;
}

const TIE_BAND = 2 ** -40;

/** The adjacent double above (dir = 1) or below (dir = -1) a positive double. */
function step(q: number, dir: 1 | -1): number {
  f64[0] = q;
  if (dir === 1) {
    if (u32[0] === 0xffffffff) {
      u32[0] = 0;
      u32[1]!++;
    } else u32[0]!++;
  } else if (u32[0] === 0) {
    u32[0] = 0xffffffff;
    u32[1]!--;
  } else u32[0]!--;
  return f64[0]!;
}

/**
 * RN((h × 10^k + l) / 10^f) for 0 ≤ h < 10^15, 0 ≤ l < 10^k, k ≤ 4, f ≤ 22; NaN when undecided.
 * All powers of ten used are exact doubles.
 */
export function divPow10(h: number, k: number, l: number, pk: number, p: number): number {
  // M = mh + ml exactly.
  const ph = twoProduct(h, pk);
  const pl = lo;
  const s = ph + l;
  const bv = s - ph;
  const sErr = ph - (s - bv) + (l - bv);
  const mh = s;
  const ml = sErr + pl; // both integers below 2^13 in magnitude: exact
  if (mh === 0) return 0;
  let q = mh / p;
  for (let iter = 0; iter < 4; iter++) {
    // R = M - q*p, exact but for the last subtraction (see the band check below).
    const qh = twoProduct(q, p);
    const ql = lo;
    const r = mh - qh + ml - ql;
    const half = (ulp(q) * p) / 2; // exact: a power of two times p
    const ar = Math.abs(r);
    const band = half * TIE_BAND;
    if (Math.abs(ar - half) <= band) return NaN; // too close to a tie to be sure
    if (ar < half) return q;
    q = step(q, r > 0 ? 1 : -1);
  }
  return NaN;
}
