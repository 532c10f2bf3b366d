/** @module validate/profile
 * A table's schema and statistics as a Profile, from the raw numbers db/table-stats gathers.
 * Pure: no I/O. Quantiles are exact up to 250k rows, else from a seeded sample (db/table-stats);
 * distinct counts are HyperLogLog estimates. */
import type { RawColumnStats, SymbolGroup } from '../db/table-stats.js';
import { QUANTILE_KEYS, type ColumnProfile, type Profile, type Quantiles, type SymbolsProfile } from './types.js';

/** The probabilities behind QUANTILE_KEYS, in the same order. */
export const QUANTILE_PROBS: readonly number[] = QUANTILE_KEYS.map((k) => Number(k.slice(1)) / 100);

/** The decile keys whose values become the drift bin edges. */
const DECILE_KEYS = ['p10', 'p20', 'p30', 'p40', 'p50', 'p60', 'p70', 'p80', 'p90'] as const;

export function columnProfile(rows: number, s: RawColumnStats): ColumnProfile {
  const nulls = rows - s.non_null;
  let quantiles: Quantiles | null = null;
  if (s.quantiles !== null && s.quantiles.length === QUANTILE_KEYS.length && s.quantiles.every(Number.isFinite)) {
    quantiles = Object.fromEntries(QUANTILE_KEYS.map((k, i) => [k, s.quantiles![i]!])) as Quantiles;
  }
  return {
    name: s.name,
    type: s.type,
    nulls,
    null_rate: rows > 0 ? nulls / rows : 0,
    non_finite: s.non_finite,
    min: s.min,
    max: s.max,
    // 12 significant digits: DuckDB's parallel sums differ in the last bits from run to run (and
    // between a whole-table and a partitioned check); the digits kept are the same.
    mean: s.mean === null ? null : Number(s.mean.toPrecision(12)),
    quantiles,
    distinct: s.distinct,
  };
}

/** Nearest-rank quantile of an ascending-sorted array (null when empty). */
export function sortedQuantile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[i]!;
}

export function symbolsProfile(groups: readonly SymbolGroup[]): SymbolsProfile {
  const n = Float64Array.from(groups, (g) => g.rows).sort();
  return { count: groups.length, rows_per_symbol: { min: n[0] ?? 0, p50: sortedQuantile(n, 0.5) ?? 0, max: n[n.length - 1] ?? 0 } };
}

/** Builds the Profile of a scanned table. `dates` are the distinct Date values in order. */
export function buildProfile(rows: number, stats: readonly RawColumnStats[], symbols: readonly SymbolGroup[] | null, dates: readonly string[] | null): Profile {
  return {
    rows,
    columns: stats.map((s) => columnProfile(rows, s)),
    symbols: symbols === null ? null : symbolsProfile(symbols),
    dates: dates === null || dates.length === 0 ? null : { min: dates[0]!, max: dates[dates.length - 1]!, count: dates.length },
  };
}

/** Drift bin edges of a numeric column: its deciles, strictly increasing (empty when constant). */
export function decileEdges(c: ColumnProfile): number[] {
  if (c.quantiles === null) return [];
  const edges: number[] = [];
  for (const k of DECILE_KEYS) {
    const e = c.quantiles[k];
    if (Number.isFinite(e) && (edges.length === 0 || e > edges[edges.length - 1]!)) edges.push(e);
  }
  return edges;
}
