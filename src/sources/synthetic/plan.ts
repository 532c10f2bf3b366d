/** @module sources/synthetic/plan
 * The dataset plan, drawn from one master stream: each symbol's ticker, asset kind (stock or ETF),
 * first trading day (IPO; listing lengths are listing.ts's), quirks and whether the metadata lists it.
 * Series are price-model.ts's. */
import { createRng, deriveSeed, type Rng } from '../../core/rng.js';
import type { SyntheticOptions } from './options.js';
import { drawListingDays } from './listing.js';
import { assignQuirks, type Quirk } from './quirks.js';

export interface SymbolPlan {
  index: number;
  ticker: string;
  asset: 'stock' | 'etf';
  /** First calendar index and number of trading rows. */
  start: number;
  length: number;
  quirks: ReadonlySet<Quirk>;
  inMeta: boolean;
}

export const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const RESERVED = new Set(['CON', 'PRN', 'AUX', 'NUL']); // not valid file names on Windows

/** n random capital letters. */
export function letters(rng: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += LETTERS[rng.int(26)]!;
  return s;
}

function tickerLength(rng: Rng): number {
  const u = rng.next();
  return u < 0.01 ? 1 : u < 0.08 ? 2 : u < 0.43 ? 3 : u < 0.93 ? 4 : 5;
}

/** Symbols in generation order (the index seeds each one's series stream). */
export function planSymbols(opts: SyntheticOptions, days: number): SymbolPlan[] {
  const rng = createRng(deriveSeed(opts.seed, -1));
  const n = opts.symbols;
  const quirks = assignQuirks(rng, n);
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
    const listed = drawListingDays(rng);
    let start = full || listed >= days ? 0 : days - listed;
    if (q.has('one-row')) start = days - 1;
    if (q.has('header-only')) start = days;
    else if (!q.has('one-row') && days - start < 2) start = Math.max(0, days - 2); // CRLF, BOM need lines
    plans.push({ index: i, ticker, asset: etfs.has(i) ? 'etf' : 'stock', start, length: days - start, quirks: q, inMeta: !missing.has(i) });
  }
  return plans;
}
