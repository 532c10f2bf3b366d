/** @module sources/synthetic/price-model
 * One symbol's daily bars: geometric Brownian motion with heavy-tailed shocks, splits, reverse
 * splits and dividends, quoted on the grid of the day's era (before 1997-06-24 eighths, then
 * sixteenths, sub-dollar 1/64; from 2001-04-09 cents, sub-dollar 1/10000), with the split and
 * dividend factors that adjust earlier rows (as Yahoo's files print them). The day loop also steps
 * the volume model (volume-model.ts) and then applies the series quirks (quirks.ts). */
import type { Rng } from '../../core/rng.js';
import type { SymbolPlan } from './plan.js';
import { applySeriesQuirks } from './quirks.js';
import { drawVolumeModel, volumeOfDay } from './volume-model.js';

/** Quoting eras: sixteenths from 1997-06-24, decimals from 2001-04-09 (US decimalization). */
export const SIXTEENTHS_FROM = '1997-06-24';
export const DECIMALS_FROM = '2001-04-09';

/** The calendar indices where the quoting eras start (calendar length when after it). */
export interface QuoteEras {
  sixteenthsFrom: number;
  decimalsFrom: number;
}

/**
 * Quoted prices are grid keys: decimal era, < 10000 → key/1e4 dollars (sub-dollar), else
 * (key-10000)/100; fraction era, a negative key −n → n/64 dollars (eighths or sixteenths, 1/64
 * below a dollar). 0 is a zero price. Fractions are exact float32 values, so they print short
 * ('12.0625'); most decimals print with 16–17 digits ('25.299999237060547').
 * (Math.floor(v + 0.5) rounds like Math.round for v > 0 and is several times faster in V8.)
 */
export function quoteKey(x: number, per: number): number {
  if (per === 0) {
    const t = Math.floor(x * 1e4 + 0.5);
    if (t < 10_000) return t < 1 ? 1 : t;
    return 10_000 + Math.floor(x * 100 + 0.5);
  }
  if (x < 1) {
    const t = Math.floor(x * 64 + 0.5);
    return t < 1 ? -1 : -t;
  }
  return -(64 / per) * Math.floor(x * per + 0.5);
}

/** The dollar value of a grid key (inverse of quoteKey on the grid). */
export function keyValue(key: number): number {
  if (key < 0) return -key / 64;
  return key < 10_000 ? key / 1e4 : (key - 10_000) / 100;
}

/** Reused per-symbol buffers (capacity = calendar length). */
export class SeriesBuffers {
  readonly open: Int32Array;
  readonly high: Int32Array;
  readonly low: Int32Array;
  readonly close: Int32Array;
  readonly volume: Float64Array;
  /** Adjustment factor of each row (product of later split/dividend factors): Adj Close = Close × factor. */
  readonly factor: Float64Array;
  /** Split factor of each row (product of later split factors): printed Open … Close = quote × split. */
  readonly split: Float64Array;
  /** Random draws for the day loop, filled in bulk (5 normals and 2 uniforms a day). */
  readonly normals: Float64Array;
  readonly uniforms: Float64Array;
  constructor(days: number) {
    this.normals = new Float64Array(days * 5);
    this.uniforms = new Float64Array(days * 2);
    this.open = new Int32Array(days);
    this.high = new Int32Array(days);
    this.low = new Int32Array(days);
    this.close = new Int32Array(days);
    this.volume = new Float64Array(days);
    this.factor = new Float64Array(days);
    this.split = new Float64Array(days);
  }
}

/** Fills `b` with the series of `plan` (plan.length rows), drawing from the symbol's stream `rng`. */
export function generateSeries(plan: SymbolPlan, rng: Rng, b: SeriesBuffers, eras: QuoteEras): void {
  const n = plan.length;
  const etf = plan.asset === 'etf';
  const q = plan.quirks;
  const z0 = rng.normal();
  let price = q.has('one-row') ? 0.02 + 2 * rng.next() : Math.exp((etf ? Math.log(40) + 0.6 * z0 : Math.log(25) + 1.0 * z0));
  price = Math.min(Math.max(price, 0.05), 2500);
  const mu = etf ? 0.06 + 0.05 * rng.normal() : 0.07 + 0.12 * rng.normal();
  const sigma = Math.min(Math.max(etf ? 0.16 * Math.exp(0.35 * rng.normal()) : 0.32 * Math.exp(0.4 * rng.normal()), 0.05), 1.6);
  const sd = sigma / Math.sqrt(252);
  const drift = (mu - 0.5 * sigma * sigma) / 252;
  // Heavy tails: a normal scale mixture (a calm day, or w.p. tailP a 2.6× day), unit variance.
  const tailP = 0.04 + 0.08 * rng.next();
  const tailScale = 1 / Math.sqrt(1 - tailP + tailP * 2.6 * 2.6);
  const vm = drawVolumeModel(rng, etf, q);
  const divYield = rng.next() < (etf ? 0.8 : 0.6) ? 0.005 + 0.045 * rng.next() : 0;
  const divPhase = rng.int(63);
  const { open, high, low, close, volume, factor, split, normals, uniforms } = b;
  rng.fillNormal(normals, n * 5);
  rng.fillUniform(uniforms, n * 2);
  let prevClose = price;
  for (let j = 0; j < n; j++) {
    const ci = plan.start + j;
    const per = ci >= eras.decimalsFrom ? 0 : ci >= eras.sixteenthsFrom ? 16 : 8;
    let f = 1;
    let sf = 1;
    if (j > 0) {
      // Splits keep prices in a realistic band; reverse splits rescue penny stocks.
      if (price > 60 && rng.next() < 1 / 200) {
        const u = rng.next();
        // A 2-for-1 split keeps earlier fraction-era prices exact binary fractions (short text); 3-for-2 and 3-for-1 do not.
        const ratio = u < 0.35 ? 2 : u < 0.75 ? 1.5 : 3;
        price /= ratio;
        sf = 1 / ratio;
      } else if (price < 0.8 && !etf && rng.next() < 1 / 500) {
        price *= 10;
        sf = 10;
      }
      f = sf;
      if (divYield > 0 && j % 63 === divPhase) {
        const d = Math.round(price * divYield * 25) / 100; // quarterly, in cents
        if (d > 0 && d < prevClose) {
          price -= d;
          f *= 1 - d / prevClose;
        }
      }
    }
    factor[j] = f; // event factors of day j, made cumulative below
    split[j] = sf;
    const z = normals[5 * j]! * (uniforms[2 * j]! < tailP ? 2.6 * tailScale : tailScale);
    const c = price * Math.exp(drift + sd * z);
    // Small moves: 1 + a + a²/2 stands in for exp(a).
    const g = 0.3 * sd * normals[5 * j + 1]!;
    const o = price * (1 + g + 0.5 * g * g);
    const up = 0.5 * sd * Math.abs(normals[5 * j + 2]!);
    const down = 0.5 * sd * Math.abs(normals[5 * j + 3]!);
    const hi = Math.max(o, c) * (1 + up + 0.5 * up * up);
    const lo = Math.min(o, c) * (1 - down + 0.5 * down * down);
    // Quoting is monotone, so High ≥ max(Open, Close) and Low ≤ min(Open, Close) survive it.
    const ck = quoteKey(Math.min(c, 9e5), per);
    open[j] = quoteKey(Math.min(o, 9e5), per);
    high[j] = quoteKey(Math.min(hi, 9e5), per);
    low[j] = quoteKey(Math.min(lo, 9e5), per);
    close[j] = ck;
    price = keyValue(ck);
    prevClose = price;
    volume[j] = volumeOfDay(vm, z, normals, uniforms, j, rng);
  }
  applySeriesQuirks(q, n, rng, b);
  // Event factors → cumulative factor of each row (events apply to the rows before them).
  let cum = 1;
  let cumSplit = 1;
  for (let j = n - 1; j >= 0; j--) {
    const ev = factor[j]!;
    factor[j] = cum;
    cum *= ev;
    const sv = split[j]!;
    split[j] = cumSplit;
    cumSplit *= sv;
  }
}
