/** @module sources/synthetic/options
 * The synthetic generator's options: defaults, the benchmark size, range checks, the spec string
 * and the generator version that keys cached data. Generation itself is the other synthetic/ files. */
import { toDayNumber } from '../../core/calendar.js';
import { StockpipeError } from '../../core/errors.js';
import { meanListedDays } from './listing.js';

/** Bump when the generator's output changes for the same options (invalidates cached data). */
export const SYNTHETIC_GENERATOR_VERSION = 'synthetic-gen/2';

export interface SyntheticOptions {
  seed: number;
  symbols: number;
  /** Calendar length: the dataset spans round(252 × years) trading days from `start`. */
  years: number;
  /** First calendar day, YYYY-MM-DD (moved to the next trading day when it is none). */
  start: string;
}

/** What `npm start` uses: 877,724 rows, 95 MB (estimate 0.84M). */
export const SYNTHETIC_DEFAULTS: Readonly<SyntheticOptions> = { seed: 42, symbols: 500, years: 10, start: '2010-01-04' };

/**
 * The benchmark input, shaped like the full Kaggle dataset: 8,000 symbols over 1962-01-02 … 2019-12,
 * ≈ 28M rows (long 1962-on histories next to many short ones; listing.ts).
 */
export const SYNTHETIC_BENCH: Readonly<SyntheticOptions> = { seed: 42, symbols: 8000, years: 58, start: '1962-01-02' };

/** Trading days in the calendar for `years`. */
export function syntheticDayCount(years: number): number {
  return Math.max(1, Math.round(252 * years));
}

/**
 * Expected data rows: symbols × the mean listing length capped by the calendar (listing.ts): about
 * 0.67 of a 10-year calendar, 0.24 of the 58-year benchmark one.
 */
export function estimateSyntheticRows(opts: SyntheticOptions): number {
  return Math.round(opts.symbols * meanListedDays(syntheticDayCount(opts.years)));
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
