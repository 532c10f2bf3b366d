/** @module sources/synthetic/listing
 * How long each symbol has been listed, in trading days before the calendar's end: a mixture shaped
 * like the Kaggle files (a few symbols since 1962, many with 5–13k rows, most with a few hundred to
 * a few thousand), and its exact mean, which sizes the dataset. Which symbol gets which is plan.ts's. */
import type { Rng } from '../../core/rng.js';

/** Weight and uniform range [lo, hi) in trading days of each part; hi = Infinity: the whole calendar. */
const PARTS: readonly { weight: number; lo: number; hi: number }[] = [
  { weight: 0.04, lo: Infinity, hi: Infinity }, // listed before the calendar starts
  { weight: 0.15, lo: 5000, hi: 13_000 }, // 1969–2000 listings in a 1962–2019 calendar
  { weight: 0.45, lo: 1000, hi: 5000 },
  { weight: 0.36, lo: 100, hi: 1000 },
];

/** Draws a listing length (one uniform from `rng`; may exceed the calendar, which caps it). */
export function drawListingDays(rng: Rng): number {
  let u = rng.next();
  for (const p of PARTS) {
    if (u < p.weight) return p.hi === Infinity ? Infinity : Math.floor(p.lo + (u / p.weight) * (p.hi - p.lo));
    u -= p.weight;
  }
  return Infinity; // not reached: the weights sum to 1
}

/** E[min(L, days)] for the listing length L of drawListingDays: mean rows of a symbol's file. */
export function meanListedDays(days: number): number {
  let mean = 0;
  for (const { weight, lo, hi } of PARTS) {
    let e: number;
    if (hi === Infinity || days <= lo) e = days;
    else if (days >= hi) e = (lo + hi) / 2;
    else e = ((days - lo) / (hi - lo)) * ((lo + days) / 2) + ((hi - days) / (hi - lo)) * days;
    mean += weight * e;
  }
  return mean;
}
