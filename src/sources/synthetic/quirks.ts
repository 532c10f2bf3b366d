/** @module sources/synthetic/quirks
 * The quirks of real Kaggle files (docs/data.md): which symbols get which, and the edits they make to a
 * clean price series. The file-level quirks (BOM, CRLF, the malformed line, empty rows) are applied
 * where the bytes are written (csv.ts, calendar.ts); tickers of warrants and preferreds in plan.ts. */
import type { Rng } from '../../core/rng.js';

/** The quirks of real Kaggle files (docs/data.md); each is given to at least one symbol. */
export type Quirk =
  | 'negative-adj' | 'empty-row' | 'zero-open' | 'zero-volume' | 'mega-volume' | 'one-row'
  | 'float-volume' | 'header-only' | 'bom' | 'crlf' | 'malformed' | 'dash-ticker';

/** In priority order: with n symbols, symbol i (generation order) gets QUIRKS[i] for i < 12. */
export const QUIRKS: readonly Quirk[] = [
  'negative-adj', 'empty-row', 'zero-open', 'zero-volume', 'mega-volume', 'one-row',
  'float-volume', 'header-only', 'bom', 'crlf', 'malformed', 'dash-ticker',
];

/** The quirks of each of `n` symbols: every quirk once, then extra instances at larger sizes. */
export function assignQuirks(rng: Rng, n: number): Set<Quirk>[] {
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
  return quirks;
}

/**
 * Quirks that edit the clean series of `n` rows in `b` (price-model's SeriesBuffers; factor still
 * holds each day's event factor).
 * A zero Open (as in real early-year rows) is the one case where Low ≤ min(Open, Close) does not hold.
 */
export function applySeriesQuirks(q: ReadonlySet<Quirk>, n: number, rng: Rng, b: { readonly open: Int32Array; readonly volume: Float64Array; readonly factor: Float64Array }): void {
  const { open, volume, factor } = b;
  if (q.has('negative-adj') && n >= 4) factor[3] = -0.6; // a bad dividend record: rows 0-2 go negative
  if (q.has('zero-open')) for (let j = 0; j < Math.min(n, Math.max(3, Math.floor(n / 20))); j++) open[j] = 0;
  if (q.has('zero-volume') && n > 0) volume[n > 1 ? 1 : 0] = 0;
  if (q.has('mega-volume') && n > 0) volume[n - 1] = Math.max(volume[n - 1]!, 2 ** 31 + 1234567 * (1 + rng.int(900)));
}
