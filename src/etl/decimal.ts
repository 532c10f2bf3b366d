/** @module etl/decimal
 * Correctly rounded parsing of plain decimals with 16–19 significant digits (beyond Clinger's exact
 * fast path in csv-parse), straight from the bytes: the digits w split as A·10^K + B so that A·10^K
 * is an exact double, w held exactly as a double-double, q = w / 10^f corrected by its exact
 * residual (Dekker's product against a pre-split 10^f), and the rounding checked with the
 * correction nudged both ways by far more than its error. Where the two disagree (w/10^f is at or
 * within ~2^-45 ulp of a tie) it returns NaN and the caller falls back to Number() on the text.
 * No allocation, and the digits are not read a second time: A comes from csv-parse's inexact mantissa
 * (see parseLongDecimal), B from the last K digits. Pure. */

const SPLITTER = 134217729; // 2^27 + 1
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
/** 10^f split into 26-bit halves for Dekker's product (10^f is exact for f ≤ 22). */
const POW10_HI = POW10.map((p) => {
  const t = SPLITTER * p;
  return t - (t - p);
});
const POW10_LO = POW10.map((p, f) => p - POW10_HI[f]!);
/**
 * Trailing digits K split off n significant digits so that A·10^K = A·5^K·2^K is exact: the
 * smallest K with (10^(n−K) − 1)·5^K < 2^53 (16 → 1, 17 → 4, 18 → 7, 19 → 11).
 */
export const SPLIT_K = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 4, 7, 11];
/** Half-width of the rounding check, relative to the residual's terms (their error is < 2^-51). */
const BAND = 2 ** -45;

/**
 * RN(w / 10^frac) for the plain decimal in bytes[first, end): digits, with the point at `intEnd`
 * when intEnd < end (frac digits after it; none for '5.'), no sign, no exponent. `m` is csv-parse's
 * mantissa: the digits accumulated as m = m·10 + digit in doubles. Only the steps past 2^53 round
 * (the last n − 15 at most), each by at most 2^-53 of its value, and the steps after one multiply its
 * error by 10 as they multiply the value: |m − w| ≤ (n − 15)·2^-53·w, i.e. < 1.2 for 16 digits, < 23
 * for 17, < 334 for 18, < 4,441 for 19. That is far below 10^K / 2 (5; 5,000; 5·10^6; 5·10^10), so
 * A = round((m − B) / 10^K) is exact.
 * The caller guarantees ≥ 16 significant digits (its mantissa reached 2^53). NaN when there are more
 * than 19 significant digits, frac > 22, or the rounding is too close to a tie to decide.
 */
export function parseLongDecimal(bytes: Uint8Array, first: number, intEnd: number, end: number, frac: number, m: number): number {
  if (frac > 22) return NaN;
  let j = first;
  while (j < end && (bytes[j] === 0x30 || bytes[j] === 0x2e)) j++; // leading zeros (and the point)
  const hasPoint = intEnd < end;
  const n = end - j - (j < intEnd && hasPoint ? 1 : 0); // minus the point when it is among them
  if (n > 19 || n < 16) return NaN;
  const k = SPLIT_K[n]!;
  // B is the last k digits, read from the end (past the point when it is among them).
  let b = 0;
  let unit = 1;
  for (let e = end - 1, left = k; left > 0; e--) {
    const c = bytes[e]!;
    if (c === 0x2e) continue;
    b += (c - 0x30) * unit;
    unit *= 10;
    left--;
  }
  const a = Math.round((m - b) / POW10[k]!);
  // w = s + e exactly: a·10^k is exact (see SPLIT_K) and ≥ b, so Fast2Sum applies.
  const x = a * POW10[k]!;
  const s = x + b;
  const e = b - (s - x);
  const p = POW10[frac]!;
  const q = s / p;
  // q·p = qp + qpLo exactly (Dekker), and s − qp is exact (Sterbenz: qp is within 2× of s).
  const qp = q * p;
  let t = SPLITTER * q;
  const qh = t - (t - q);
  const ql = q - qh;
  const ph = POW10_HI[frac]!;
  const pl = POW10_LO[frac]!;
  const qpLo = qh * ph - qp + qh * pl + ql * ph + ql * pl;
  const d = s - qp;
  // w/p = q + (d − qpLo + e)/p exactly; the computed correction is off by < 2^-51 of its terms.
  const c = (d - qpLo + e) / p;
  t = ((Math.abs(d) + Math.abs(qpLo) + Math.abs(e)) * BAND) / p;
  const up = q + (c + t);
  return up === q + (c - t) ? up : NaN;
}
