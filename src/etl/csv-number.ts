/** @module etl/csv-number
 * The cold paths of csv-parse's number scanning: the exact int64 check of a Volume that the fast
 * path could not prove whole and in range (long mantissas, exponents, fractions), and telling a
 * non-finite price (inf literals, overflow) from text that is no number at all. Pure. */

/** Outcome codes of exactVolume. */
export const VOL_OK = 0;
export const VOL_NOT_WHOLE = 1;
export const VOL_OUT_OF_RANGE = 2;
export const VOL_NEGATIVE = 3;

export const VOLUME_REASONS = ['', 'Volume is not a whole number', 'Volume is out of the int64 range', 'Volume is negative'] as const;

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** 2^53: the first integer from which a double no longer holds every integer. */
const TWO53 = 9007199254740992n;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Outputs of exactVolume (module state, as in csv-parse). */
export let exactValue = 0;
/** The exact value when it is beyond ±2^53 (a double cannot hold it), else null. */
export let exactBig: bigint | null = null;

/**
 * Judges a Volume text exactly against int64: whole, in [−2^63, 2^63−1], not negative (in that
 * order of reasons). On VOL_OK sets exactValue (and exactBig for |v| ≥ 2^53). `text` is a plain
 * decimal the caller already accepted (digits, one point, an optional exponent).
 */
export function exactVolume(text: string): number {
  exactBig = null;
  const m = DECIMAL.exec(text);
  if (m === null) return VOL_NOT_WHOLE; // not reached: the caller checked the pattern
  const [, sign, int = '', frac = '', expText] = m;
  const digits = (int + frac).replace(/^0+/, '');
  if (digits === '') {
    exactValue = 0;
    return VOL_OK;
  }
  // Exponents are bounded before any power is built: 10^20 > 2^63 already.
  const exp = expText === undefined ? 0 : Number(expText);
  const shift = exp - frac.length; // value = digits × 10^shift
  let v: bigint;
  if (shift >= 0) {
    if (shift + digits.length > 20) return VOL_OUT_OF_RANGE;
    v = BigInt(digits) * 10n ** BigInt(shift);
  } else {
    // Whole only when the last -shift digits are zeros.
    if (-shift >= digits.length || !/^0+$/.test(digits.slice(shift))) return VOL_NOT_WHOLE;
    const whole = digits.slice(0, shift);
    if (whole.length > 20) return VOL_OUT_OF_RANGE;
    v = BigInt(whole);
  }
  if (sign === '-') v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return VOL_OUT_OF_RANGE;
  if (v < 0n) return VOL_NEGATIVE;
  exactValue = Number(v);
  if (v >= TWO53) exactBig = v;
  return VOL_OK;
}

const NON_FINITE = /^[+-]?(inf|infinity|nan)$/i;

/** True for inf/infinity/nan literals in any case and sign (pandas' own NA strings are nulls before this). */
export function isNonFiniteLiteral(text: string): boolean {
  return NON_FINITE.test(text);
}
