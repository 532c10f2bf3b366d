/** @module sources/synthetic
 * The default source: a seeded generator that writes the Kaggle stock-market-dataset layout
 * (stocks/, etfs/, symbols_valid_meta.csv) with the real data's quirks (SPEC §1, §2).
 * Files are built as bytes (no per-number strings) and written with bounded concurrency. */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fromDayNumber, toDayNumber, tradingDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import { createRng, deriveSeed, type Rng } from '../core/rng.js';
import { manifestPath, rawDir, readManifest, writeManifest } from './manifest.js';
import type { FetchContext, FetchResult, Manifest, ManifestFile, Source } from './types.js';
import { beforeCommit } from '../core/commit-guard.js';

/** Bump when the generator's output changes for the same options (invalidates cached data). */
export const SYNTHETIC_GENERATOR_VERSION = 'synthetic-gen/1';

export interface SyntheticOptions {
  seed: number;
  symbols: number;
  /** Calendar length: the dataset spans round(252 × years) trading days from `start`. */
  years: number;
  /** First calendar day, YYYY-MM-DD (moved to the next trading day when it is none). */
  start: string;
}

/** What `npm start` uses: 920,972 rows, 99 MB (estimate 0.88M). */
export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = { seed: 42, symbols: 500, years: 10, start: '2010-01-04' };

/** The benchmark input: ≈ 28.4M rows, ≈ 3.06 GB, dates 2000-01-03 … 2019-12 (full Kaggle size in rows). */
export const SYNTHETIC_BENCH: Readonly<SyntheticOptions> = { seed: 42, symbols: 8000, years: 20, start: '2000-01-03' };

export const PRICE_HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume';
export const META_HEADER =
  'Nasdaq Traded,Symbol,Security Name,Listing Exchange,Market Category,ETF,Round Lot Size,Test Issue,Financial Status,CQS Symbol,NASDAQ Symbol,NextShares';

/** The quirks of real Kaggle files (SPEC §2); each is given to at least one symbol. */
export type Quirk =
  | 'negative-adj' | 'empty-row' | 'zero-open' | 'zero-volume' | 'mega-volume' | 'one-row'
  | 'float-volume' | 'header-only' | 'bom' | 'crlf' | 'malformed' | 'dash-ticker';

/** In priority order: with n symbols, symbol i (generation order) gets QUIRKS[i] for i < 12. */
export const QUIRKS: readonly Quirk[] = [
  'negative-adj', 'empty-row', 'zero-open', 'zero-volume', 'mega-volume', 'one-row',
  'float-volume', 'header-only', 'bom', 'crlf', 'malformed', 'dash-ticker',
];

/** Trading days in the calendar for `years`. */
export function syntheticDayCount(years: number): number {
  return Math.max(1, Math.round(252 * years));
}

/**
 * Expected data rows: symbols × 0.7 × round(252 × years). 40% of symbols span the whole
 * calendar and 60% start (IPO) on a uniform day, so the mean series is 0.4 + 0.6/2 = 0.7 of it.
 */
export function estimateSyntheticRows(opts: SyntheticOptions): number {
  return Math.round(opts.symbols * 0.7 * syntheticDayCount(opts.years));
}

/** The canonical --source spec string, e.g. synthetic:seed=42,symbols=500,years=10,start=2010-01-04. */
export function syntheticSpec(opts: SyntheticOptions): string {
  return `synthetic:seed=${opts.seed},symbols=${opts.symbols},years=${opts.years},start=${opts.start}`;
}

/** Fills defaults and checks ranges; throws SP_ERR_CONFIG_INVALID naming the bad option. */
export function resolveSyntheticOptions(opts: Partial<SyntheticOptions> = {}): SyntheticOptions {
  const given = Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)); // undefined → default
  const o: SyntheticOptions = { ...SYNTHETIC_DEFAULTS, ...given };
  const bad = (name: string, rule: string, got: unknown): never => {
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `synthetic --${name} must be ${rule} (got ${String(got)})`, {
      hint: `Remove --${name} to use the default ${String(SYNTHETIC_DEFAULTS[name as keyof SyntheticOptions])}.`,
    });
  };
  if (!Number.isSafeInteger(o.seed)) bad('seed', 'a whole number', o.seed);
  if (!Number.isInteger(o.symbols) || o.symbols < 1 || o.symbols > 200_000) bad('symbols', 'a whole number from 1 to 200000', o.symbols);
  if (!Number.isFinite(o.years) || o.years <= 0 || o.years > 100) bad('years', 'a number > 0 and ≤ 100', o.years);
  toDayNumber(o.start); // throws on a malformed date
  return o;
}

// ---------------------------------------------------------------------------------------------
// Plan: tickers, assets, IPO offsets, quirks, metadata membership (one master stream).

interface SymbolPlan {
  index: number;
  ticker: string;
  asset: 'stock' | 'etf';
  /** First calendar index and number of trading rows. */
  start: number;
  length: number;
  quirks: ReadonlySet<Quirk>;
  inMeta: boolean;
}

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const RESERVED = new Set(['CON', 'PRN', 'AUX', 'NUL']); // not valid file names on Windows

function letters(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[rng.int(26)]!;
  return s;
}

function tickerLength(rng: Rng): number {
  const u = rng.next();
  return u < 0.01 ? 1 : u < 0.08 ? 2 : u < 0.43 ? 3 : u < 0.93 ? 4 : 5;
}

function planSymbols(opts: SyntheticOptions, days: number): SymbolPlan[] {
  const rng = createRng(deriveSeed(opts.seed, -1));
  const n = opts.symbols;
  const quirks: Set<Quirk>[] = Array.from({ length: n }, () => new Set<Quirk>());
  for (let r = 0; r < QUIRKS.length; r++) quirks[r % n]!.add(QUIRKS[r]!);
  // Extra instances at larger sizes (the one-off quirks stay unique).
  for (let i = QUIRKS.length; i < n; i++) {
    const q = quirks[i]!;
    if (rng.next() < 0.03) q.add('float-volume');
    if (rng.next() < 0.03) q.add('zero-volume');
    if (rng.next() < 0.01) q.add('empty-row');
    if (rng.next() < 0.01) q.add('dash-ticker');
    if (rng.next() < 0.004) q.add('one-row');
    if (rng.next() < 0.003) q.add('mega-volume');
    if (rng.next() < 0.01) q.add('zero-open');
  }
  const stockOnly = (i: number): boolean => quirks[i]!.has('one-row') || quirks[i]!.has('dash-ticker');
  // ~25% ETFs, chosen among symbols that are not warrants or preferred shares.
  const etfCandidates = rng.shuffle([...Array(n).keys()].filter((i) => !stockOnly(i)));
  const etfs = new Set(etfCandidates.slice(0, n >= 2 ? Math.max(1, Math.round(n * 0.25)) : 0));
  // About a third of the symbols are missing from the metadata.
  const missing = new Set(rng.shuffle([...Array(n).keys()]).slice(0, Math.round(n / 3)));
  const used = new Set<string>();
  const plans: SymbolPlan[] = [];
  for (let i = 0; i < n; i++) {
    const q = quirks[i]!;
    let ticker: string;
    do {
      if (q.has('dash-ticker')) ticker = `${letters(rng, 2 + rng.int(3))}-${LETTERS[rng.int(3)]!}`;
      else if (q.has('one-row')) ticker = `${letters(rng, 3 + rng.int(2))}${rng.next() < 0.7 ? 'W' : 'R'}`;
      else ticker = letters(rng, tickerLength(rng));
    } while (used.has(ticker) || RESERVED.has(ticker));
    used.add(ticker);
    const full = q.has('negative-adj') || q.has('empty-row') || q.has('zero-open') || q.has('mega-volume') || q.has('malformed');
    let start = full || rng.next() < 0.4 ? 0 : rng.int(days);
    if (q.has('one-row')) start = days - 1;
    if (q.has('header-only')) start = days;
    else if (!q.has('one-row') && days - start < 2) start = Math.max(0, days - 2); // CRLF, BOM need lines
    plans.push({ index: i, ticker, asset: etfs.has(i) ? 'etf' : 'stock', start, length: days - start, quirks: q, inMeta: !missing.has(i) });
  }
  return plans;
}

// ---------------------------------------------------------------------------------------------
// Price series: geometric Brownian motion with heavy-tailed shocks, splits and dividends.

/**
 * Quoted prices are grid keys: < 10000 → key/1e4 dollars (sub-dollar), else (key-10000)/100.
 * (Math.floor(v + 0.5) rounds like Math.round for v > 0 and is several times faster in V8.)
 */
function quoteKey(x: number): number {
  const t = Math.floor(x * 1e4 + 0.5);
  if (t < 10_000) return t < 1 ? 1 : t;
  return 10_000 + Math.floor(x * 100 + 0.5);
}

function keyValue(key: number): number {
  return key < 10_000 ? key / 1e4 : (key - 10_000) / 100;
}

/** Reused per-symbol buffers (capacity = calendar length). */
class SeriesBuffers {
  readonly open: Int32Array;
  readonly high: Int32Array;
  readonly low: Int32Array;
  readonly close: Int32Array;
  readonly volume: Float64Array;
  /** Adjustment factor of each row (product of later split/dividend factors). */
  readonly factor: Float64Array;
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
  }
}

function generateSeries(plan: SymbolPlan, rng: Rng, b: SeriesBuffers): void {
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
  let logMed = etf ? Math.log(6e4) + 1.8 * rng.normal() : Math.log(4e5) + 1.5 * rng.normal();
  if (q.has('zero-volume')) logMed = Math.log(2e3) + 0.5 * rng.normal();
  if (q.has('mega-volume')) logMed = Math.log(1.6e9) + 0.1 * rng.normal();
  logMed = Math.max(logMed, Math.log(50));
  const volSd = 0.35 + 0.15 * rng.next();
  const zeroVolP = q.has('zero-volume') ? 0.05 : 0;
  const divYield = rng.next() < (etf ? 0.7 : 0.45) ? 0.005 + 0.045 * rng.next() : 0;
  const divPhase = rng.int(63);
  const { open, high, low, close, volume, factor, normals, uniforms } = b;
  rng.fillNormal(normals, n * 5);
  rng.fillUniform(uniforms, n * 2);
  let dev = 0;
  let prevClose = price;
  for (let j = 0; j < n; j++) {
    let f = 1;
    if (j > 0) {
      // Splits keep prices in a realistic band; reverse splits rescue penny stocks.
      if (price > 150 && rng.next() < 1 / 300) {
        const u = rng.next();
        const ratio = u < 0.7 ? 2 : u < 0.9 ? 3 : 1.5;
        price /= ratio;
        f = 1 / ratio;
      } else if (price < 0.8 && !etf && rng.next() < 1 / 500) {
        price *= 10;
        f = 10;
      }
      if (divYield > 0 && j % 63 === divPhase) {
        const d = Math.round(price * divYield * 25) / 100; // quarterly, in cents
        if (d > 0 && d < prevClose) {
          price -= d;
          f *= 1 - d / prevClose;
        }
      }
    }
    factor[j] = f; // event factor of day j, made cumulative below
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
    const ck = quoteKey(Math.min(c, 9e5));
    open[j] = quoteKey(Math.min(o, 9e5));
    high[j] = quoteKey(Math.min(hi, 9e5));
    low[j] = quoteKey(Math.min(lo, 9e5));
    close[j] = ck;
    price = keyValue(ck);
    prevClose = price;
    // Log-volume: AR(1) around the symbol's median, busier on big moves, rare spikes.
    dev = 0.7 * dev + volSd * 0.714 * normals[5 * j + 4]!;
    let lv = logMed + dev + 0.25 * (Math.abs(z) - 0.8);
    if (uniforms[2 * j + 1]! < 0.01) lv += Math.abs(normals[5 * j + 2]! + normals[5 * j + 3]!);
    if (lv > 23.7) lv = 23.7; // ≈ 2e10 shares: the tail stays heavy but plausible
    volume[j] = zeroVolP > 0 && rng.next() < zeroVolP ? 0 : Math.floor(Math.exp(lv) + 0.5);
  }
  // Quirks that edit the clean series. A zero Open (as in real early-year rows) is the one case
  // where Low ≤ min(Open, Close) does not hold.
  if (q.has('negative-adj') && n >= 4) factor[3] = -0.6; // a bad dividend record: rows 0-2 go negative
  if (q.has('zero-open')) for (let j = 0; j < Math.min(n, Math.max(3, Math.floor(n / 20))); j++) open[j] = 0;
  if (q.has('zero-volume') && n > 0) volume[n > 1 ? 1 : 0] = 0;
  if (q.has('mega-volume') && n > 0) volume[n - 1] = Math.max(volume[n - 1]!, 2 ** 31 + 1234567 * (1 + rng.int(900)));
  // Event factors → cumulative factor of each row (events apply to the rows before them).
  let cum = 1;
  for (let j = n - 1; j >= 0; j--) {
    const ev = factor[j]!;
    factor[j] = cum;
    cum *= ev;
  }
}

// ---------------------------------------------------------------------------------------------
// Number formatting straight into bytes. Prices print like the real files (pandas writing float32
// values read as doubles): String(Math.fround(x)), plus '.0' for whole numbers. String() costs
// ~400 ns a number here, so the shortest round-trip digits are computed exactly with base-1e7
// limbs instead (~120 ns), and quoted prices are cached per grid key.

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
const DIGITS4 = new Uint8Array(40_000);
for (let i = 0; i < 10_000; i++) {
  DIGITS4[i * 4] = Math.floor(i / 1000);
  DIGITS4[i * 4 + 1] = Math.floor(i / 100) % 10;
  DIGITS4[i * 4 + 2] = Math.floor(i / 10) % 10;
  DIGITS4[i * 4 + 3] = i % 10;
}
const LIMB_BUF = new Int32Array(16);
const DIG = new Uint8Array(128);

function writeAscii(buf: Uint8Array, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i);
  return pos;
}

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

/** Writes a whole number ≥ 0 (volumes; exact below 2^53). */
function writeUint(buf: Uint8Array, pos: number, v: number): number {
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
function copyWords(dst: DataView, at: number, src: DataView, from: number, len: number): void {
  for (let i = 0; i < len; i += 4) dst.setUint32(at + i, src.getUint32(from + i, true), true);
}

/** Formatted bytes of quoted prices by grid key (24-byte slots: length, then up to 23 bytes). */
class PriceCache {
  static readonly KEYS = 1_010_000; // up to $10,000.00
  private readonly slab = new Uint8Array(PriceCache.KEYS * 24 + 8);
  private readonly view = new DataView(this.slab.buffer);

  write(buf: Uint8Array, dv: DataView, pos: number, key: number): number {
    if (key === 0) return writeFloat32(buf, pos, 0);
    if (key >= PriceCache.KEYS) return writeFloat32(buf, pos, Math.fround(keyValue(key)));
    const slab = this.slab;
    const at = key * 24;
    let len = slab[at]!;
    if (len === 0) {
      len = writeFloat32(slab, at + 1, Math.fround(keyValue(key))) - at - 1;
      slab[at] = len;
    }
    copyWords(dv, pos, this.view, at + 1, len);
    return pos + len;
  }
}

// ---------------------------------------------------------------------------------------------
// CSV bytes of one symbol.

const MAX_ROW_BYTES = 176; // date + 5 prices of ≤ 26 bytes + a 13-digit volume + '.0' + CRLF

interface CalendarBytes {
  /** Day number of each calendar index. */
  days: Int32Array;
  /** 'YYYY-MM-DD' of each calendar index, 10 bytes each (+ slack). */
  dateView: DataView;
}

function calendarBytes(start: string, count: number): CalendarBytes {
  const list = tradingDays(start, count);
  const days = new Int32Array(list.length);
  const dates = new Uint8Array(list.length * 10 + 8);
  list.forEach((d, i) => {
    days[i] = toDayNumber(d);
    writeAscii(dates, i * 10, d);
  });
  return { days, dateView: new DataView(dates.buffer) };
}

/** Weekdays the exchange was closed inside the symbol's span: where real files have `DATE,,,,,,`. */
function pickEmptyDays(plan: SymbolPlan, cal: CalendarBytes, rng: Rng): number[] {
  if (plan.length < 2) return [];
  const first = cal.days[plan.start]!;
  const last = cal.days[plan.start + plan.length - 1]!;
  const closed: number[] = [];
  for (let i = plan.start + 1; i < plan.start + plan.length; i++) {
    for (let d = cal.days[i - 1]! + 1; d < cal.days[i]!; d++) {
      const wd = (((d + 4) % 7) + 7) % 7;
      if (wd !== 0 && wd !== 6) closed.push(d);
    }
  }
  const nineTwelve = toDayNumber('2001-09-12');
  if (nineTwelve > first && nineTwelve < last) return [nineTwelve];
  if (closed.length === 0) return [];
  const picks = new Set<number>([closed[rng.int(closed.length)]!, closed[rng.int(closed.length)]!]);
  return [...picks].sort((a, b) => a - b);
}

/** Bytes needed for a symbol's file (with slack for copyWords). */
function csvCapacity(rows: number): number {
  return 64 + rows * MAX_ROW_BYTES;
}

/** Writes the symbol's CSV into `buf` (at least csvCapacity bytes) and returns its length. */
function symbolCsv(plan: SymbolPlan, b: SeriesBuffers, cal: CalendarBytes, cache: PriceCache, emptyDays: number[], buf: Buffer): number {
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
  const { open, high, low, close, volume, factor } = b;
  const dates = cal.dateView;
  let e = 0;
  for (let j = 0; j < plan.length; j++) {
    const ci = plan.start + j;
    while (e < emptyDays.length && emptyDays[e]! < cal.days[ci]!) {
      pos = writeAscii(buf, pos, `${fromDayNumber(emptyDays[e++]!)},,,,,,${crlf ? '\r\n' : '\n'}`);
    }
    copyWords(dv, pos, dates, ci * 10, 10);
    buf[pos + 10] = 44;
    pos = cache.write(buf, dv, pos + 11, open[j]!);
    buf[pos++] = 44;
    pos = cache.write(buf, dv, pos, high[j]!);
    buf[pos++] = 44;
    pos = cache.write(buf, dv, pos, low[j]!);
    buf[pos++] = 44;
    const closeAt = pos;
    pos = cache.write(buf, dv, pos, close[j]!);
    const closeLen = pos - closeAt;
    buf[pos++] = 44;
    const f = factor[j]!;
    if (f === 1) {
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

// ---------------------------------------------------------------------------------------------
// symbols_valid_meta.csv

const NAME_A = ['Acme', 'Apex', 'Bright', 'Cedar', 'Delta', 'Ever', 'Frontier', 'Golden', 'Harbor', 'Iron', 'Jade', 'Keystone', 'Lumen', 'Meridian', 'North', 'Orion', 'Pioneer', 'Quantum', 'Redwood', 'Summit', 'Titan', 'United', 'Vertex', 'Willow', 'Zenith', 'Agilent', 'Blue Ridge', 'Coastal'];
const NAME_B = ['Technologies', 'Pharmaceuticals', 'Energy', 'Financial', 'Holdings', 'Bancorp', 'Industries', 'Therapeutics', 'Systems', 'Resources', 'Realty', 'Networks', 'Foods', 'Motors', 'Semiconductor', 'Biosciences'];
const SPONSORS = ['iShares', 'Vanguard', 'SPDR', 'Invesco', 'Schwab', 'First Trust', 'Global X', 'WisdomTree', 'ProShares', 'VanEck'];
const THEMES = ['Core S&P 500', 'Short-Term Bond', 'MSCI Emerging Markets', 'Russell 2000', 'Clean Energy', 'Semiconductor', 'Dividend Growth', 'Gold Trust', 'Aggregate Bond', 'Nasdaq 100'];

function pick<T>(rng: Rng, list: readonly T[]): T {
  return list[rng.int(list.length)]!;
}

function securityName(rng: Rng, plan: { ticker: string; asset: 'stock' | 'etf'; quirks: ReadonlySet<Quirk> }): string {
  const company = `${pick(rng, NAME_A)} ${pick(rng, NAME_B)}`;
  if (plan.asset === 'etf') return `${pick(rng, SPONSORS)} ${pick(rng, THEMES)} ETF`;
  if (plan.quirks.has('one-row')) return `${company} Acquisition Corp. - ${plan.ticker.endsWith('W') ? 'Warrant' : 'Rights'}`;
  if (plan.quirks.has('dash-ticker')) return `${company} 5.375% Series ${plan.ticker.slice(-1)} Cumulative Preferred Shares`;
  const forms = [`${company}, Inc. Common Stock`, `${company} Corporation Common Stock`, `${company}, Inc. - Class A Common Stock`, `${company} Ltd. - Ordinary Shares`, `${company} Inc. Common Stock `];
  return pick(rng, forms);
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function metadataCsv(opts: SyntheticOptions, plans: SymbolPlan[]): { text: string; rows: number } {
  const rng = createRng(deriveSeed(opts.seed, -2));
  const rows: Array<[string, string]> = [];
  const line = (symbol: string, name: string, etf: boolean, nasdaqSymbol: string, cqs: string): string => {
    const exch = etf ? pick(rng, ['P', 'P', 'P', 'Q', 'Z']) : pick(rng, ['N', 'N', 'Q', 'Q', 'Q', 'A']);
    const nasdaq = exch === 'Q';
    const category = nasdaq ? pick(rng, ['Q', 'G', 'S']) : ' ';
    return ['Y', symbol, csvField(name), exch, category, etf ? 'Y' : 'N', '100', 'N', nasdaq ? 'N' : '', nasdaq ? '' : cqs, nasdaqSymbol, 'N'].join(',');
  };
  for (const p of plans) {
    const name = securityName(rng, p);
    if (p.inMeta) rows.push([p.ticker, line(p.ticker, name, p.asset === 'etf', p.ticker, p.ticker)]);
  }
  // Rows for symbols that have no file: preferred shares (AGM$A) and when-issued (CARR.V).
  const extra = Math.max(2, Math.round(plans.length * 0.01));
  const used = new Set(plans.map((p) => p.ticker));
  for (let i = 0; i < extra; i++) {
    const base = letters(rng, 3 + rng.int(2));
    const company = `${pick(rng, NAME_A)} ${pick(rng, NAME_B)}`;
    const symbol = i % 2 === 0 ? `${base}$${LETTERS[rng.int(4)]!}` : `${base}.V`;
    if (used.has(symbol)) continue;
    used.add(symbol);
    const name = i % 2 === 0 ? `${company} 5.875% Non-Cumulative Preferred Stock, Series ${symbol.slice(-1)}` : `${company} Corporation Common Stock When Issued`;
    const nasdaqSymbol = symbol.replace('$', '-');
    rows.push([symbol, line(symbol, name, false, nasdaqSymbol, symbol.replace('$', 'p').replace('.V', '#'))]);
  }
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { text: `${META_HEADER}\n${rows.map((r) => r[1]).join('\n')}\n`, rows: rows.length };
}

// ---------------------------------------------------------------------------------------------
// Generation into a folder, and the Source.

/** Files written at once; generation (CPU) overlaps with these writes (thread pool). */
const WRITE_CONCURRENCY = 8;

export interface SyntheticResult {
  /** One entry per written file, paths relative to the folder, sorted by path. */
  files: ManifestFile[];
  /** Data rows over all price files (lines after the header, empty and malformed ones included). */
  rows: number;
  bytes: number;
}

/**
 * Writes the dataset for `opts` into `dir` (stocks/, etfs/, symbols_valid_meta.csv). Same options
 * → byte-identical files. `onProgress(done, total)` counts written files.
 */
export async function generateSynthetic(
  dir: string,
  opts: Partial<SyntheticOptions>,
  onProgress?: (doneFiles: number, totalFiles: number) => void,
  signal?: AbortSignal,
): Promise<SyntheticResult> {
  const o = resolveSyntheticOptions(opts);
  const days = syntheticDayCount(o.years);
  const cal = calendarBytes(o.start, days);
  const plans = planSymbols(o, days);
  await mkdir(join(dir, 'stocks'), { recursive: true });
  await mkdir(join(dir, 'etfs'), { recursive: true });
  const series = new SeriesBuffers(days);
  const cache = new PriceCache();
  const files: ManifestFile[] = [];
  const total = plans.length + 1;
  let done = 0;
  let rows = 0;
  let bytes = 0;
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  // Output buffers are reused once their write finished (no per-file allocation, less GC).
  const pool: Buffer[] = [];
  const capacity = csvCapacity(days + 8);
  const put = async (path: string, buf: Buffer, length: number, fileRows: number): Promise<void> => {
    const data = buf.subarray(0, length);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const target = join(dir, path);
    const task = (async () => {
      await writeFile(target, data);
      const st = await stat(target);
      files.push({ path, size: length, mtime_ms: st.mtimeMs, sha256, rows: fileRows });
      bytes += length;
      onProgress?.(++done, total);
    })()
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        if (buf.length === capacity) pool.push(buf);
      });
    pending.add(task);
    void task.finally(() => pending.delete(task));
    while (pending.size >= WRITE_CONCURRENCY) await Promise.race(pending);
  };
  try {
    for (const plan of plans) {
      signal?.throwIfAborted();
      if (failure !== undefined) break;
      const rng = createRng(deriveSeed(o.seed, plan.index));
      generateSeries(plan, rng, series);
      const empty = plan.quirks.has('empty-row') ? pickEmptyDays(plan, cal, rng) : [];
      const fileRows = plan.length + empty.length;
      const buf = fileRows <= days + 8 ? (pool.pop() ?? Buffer.allocUnsafe(capacity)) : Buffer.allocUnsafe(csvCapacity(fileRows));
      const length = symbolCsv(plan, series, cal, cache, empty, buf);
      rows += fileRows;
      await put(`${plan.asset === 'etf' ? 'etfs' : 'stocks'}/${plan.ticker}.csv`, buf, length, fileRows);
    }
    if (failure === undefined) {
      const meta = metadataCsv(o, plans);
      const data = Buffer.from(meta.text, 'utf8');
      await put('symbols_valid_meta.csv', data, data.length, meta.rows);
    }
  } finally {
    await Promise.all(pending); // never leave writes running into a folder the caller removes
  }
  if (failure !== undefined) throw failure;
  signal?.throwIfAborted();
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, rows, bytes };
}

/** The manifest's source_version: generator version + options; a change means regenerate. */
export function syntheticSourceVersion(opts: SyntheticOptions): string {
  return `${SYNTHETIC_GENERATOR_VERSION} ${syntheticSpec(opts)}`;
}

/** True when every manifest file is present in `root` with its recorded size. */
async function intact(manifest: Manifest, root: string): Promise<boolean> {
  for (const f of manifest.files) {
    const st = await stat(join(root, f.path)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null; // missing → regenerate
      throw err;
    });
    if (st === null || !st.isFile() || st.size !== f.size) return false;
  }
  return manifest.files.length > 0;
}

/** Removes data.tmp-<pid> / data.old-<pid> folders left by runs that died. */
async function removeStale(raw: string): Promise<void> {
  const names = await readdir(raw);
  for (const name of names) {
    const m = /^data\.(?:tmp|old)-(\d+)$/.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && isAlive(pid)) continue; // another fetch is running
    await rm(join(raw, name), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: existence check only
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The `synthetic` source (the default): generates raw/synthetic/data once per option set. */
export function syntheticSource(opts: Partial<SyntheticOptions> = {}): Source {
  const o = resolveSyntheticOptions(opts);
  return {
    id: 'synthetic',
    async fetch(ctx: FetchContext): Promise<FetchResult> {
      const log = ctx.log.child({ source: 'synthetic' });
      const raw = resolve(rawDir(ctx.workspace, 'synthetic'));
      const root = join(raw, 'data');
      const version = syntheticSourceVersion(o);
      let previous: Manifest | null = null;
      try {
        previous = await readManifest(ctx.workspace, 'synthetic');
      } catch (err) {
        if (!(err instanceof StockpipeError && err.code === 'SP_ERR_NO_RAW_DATA')) throw err;
        log.warn({ err: err.message }, 'unreadable synthetic manifest; regenerating');
      }
      if (previous !== null && previous.source_version === version && (await intact(previous, root))) {
        let manifest = previous;
        let path = manifestPath(ctx.workspace, 'synthetic');
        if (previous.root !== root) {
          manifest = { ...previous, root }; // the workspace moved: same files, new absolute path
          path = await writeManifest(ctx.workspace, manifest);
        }
        log.info({ files: manifest.files.length, root }, 'synthetic data unchanged (cached)');
        return { manifest, manifestPath: path, cached: true };
      }
      await mkdir(raw, { recursive: true });
      await removeStale(raw);
      const tmp = join(raw, `data.tmp-${process.pid}`);
      const old = join(raw, `data.old-${process.pid}`);
      await rm(tmp, { recursive: true, force: true });
      const startedMs = ctx.now().getTime();
      let result: SyntheticResult;
      ctx.progress.start('synthetic: files', o.symbols + 1);
      try {
        result = await generateSynthetic(tmp, o, (done) => ctx.progress.update(done), ctx.signal);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        throw err;
      } finally {
        ctx.progress.stop();
      }
      // Swap in the new folder; the previous one is removed only now.
      const hadOld = await stat(root).then(() => true, () => false);
      beforeCommit();
      if (hadOld) await rename(root, old);
      await rename(tmp, root);
      if (hadOld) await rm(old, { recursive: true, force: true });
      const manifest: Manifest = {
        format: 1,
        source: 'synthetic',
        source_spec: syntheticSpec(o),
        source_version: version,
        fetched_at: ctx.now().toISOString(),
        layout: 'dir',
        root,
        files: result.files,
        bytes: result.bytes,
      };
      const path = await writeManifest(ctx.workspace, manifest);
      log.info({ files: result.files.length, rows: result.rows, bytes: result.bytes, ms: ctx.now().getTime() - startedMs }, 'synthetic data generated');
      return { manifest, manifestPath: path, cached: false };
    },
  };
}
