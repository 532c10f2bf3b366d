/** @module sources/synthetic/options
 * The synthetic generator's options: defaults, the benchmark size, range checks, the spec string
 * and the generator version that keys cached data. Generation itself is the other synthetic/ files. */
import { toDayNumber } from '../../core/calendar.js';
import { StockpipeError } from '../../core/errors.js';

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

/** The manifest's source_version: generator version + options; a change means regenerate. */
export function syntheticSourceVersion(opts: SyntheticOptions): string {
  return `${SYNTHETIC_GENERATOR_VERSION} ${syntheticSpec(opts)}`;
}
