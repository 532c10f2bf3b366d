/** @module validate/drift
 * Distribution drift by PSI (monitor/psi) on the reference's decile bins, with the alert threshold
 * taken from the reference's own normal variation: the PSI of each month against the month before.
 * No p-values: PSI does not grow with the row count, and identical data gives exactly 0. Pure. */
import { psiFromCounts } from '../monitor/psi.js';
import type { BinSpec, PeriodBins } from '../db/table-stats.js';
import { sortedQuantile } from './profile.js';
import type { ColumnDrift } from './types.js';

export interface DriftOptions {
  /** Threshold = max(floor, k × p95 of the month-over-month PSIs). */
  k: number;
  floor: number;
  /** Months with fewer binned values than this are too noisy to count as normal variation. */
  minPeriodRows: number;
}

function sum(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return s;
}

/** The month-over-month PSIs of one column (consecutive months that both have enough values). */
export function normalPsis(periods: readonly Float64Array[], minPeriodRows: number): Float64Array {
  const out: number[] = [];
  let prev: Float64Array | null = null;
  for (const c of periods) {
    if (sum(c) < minPeriodRows) continue;
    if (prev !== null) out.push(psiFromCounts(prev, c));
    prev = c;
  }
  return Float64Array.from(out.filter(Number.isFinite)).sort();
}

/** The reference's drift baseline of each binned column: total counts, normal PSIs, threshold. */
export function driftBaseline(specs: readonly BinSpec[], periods: readonly PeriodBins[], opts: DriftOptions): Record<string, ColumnDrift> {
  const out: Record<string, ColumnDrift> = {};
  const totals = totalCounts(specs, periods);
  specs.forEach((s, i) => {
    const total = totals[i]!;
    const normal = normalPsis(periods.map((p) => p.counts[i]!), opts.minPeriodRows);
    const p95 = sortedQuantile(normal, 0.95);
    let last: { period: string; counts: number[] } | null = null;
    for (const p of periods) if (sum(p.counts[i]!) >= opts.minPeriodRows) last = { period: p.period, counts: [...p.counts[i]!] };
    out[s.column] = {
      edges: [...s.edges],
      counts: [...total],
      normal: { periods: normal.length, p50: sortedQuantile(normal, 0.5), p95, max: normal.length > 0 ? normal[normal.length - 1]! : null },
      threshold: Math.max(opts.floor, opts.k * (p95 ?? 0)),
      last_period: last,
    };
  });
  return out;
}

/** Sums per-period bin counts into one count array per spec. */
export function totalCounts(specs: readonly BinSpec[], periods: readonly PeriodBins[]): Float64Array[] {
  return specs.map((s, i) => {
    const total = new Float64Array(s.edges.length + 1);
    for (const p of periods) {
      const c = p.counts[i]!;
      for (let k = 0; k < total.length; k++) total[k]! += c[k]!;
    }
    return total;
  });
}

/** PSI of new counts against a column's baseline (NaN when either side has no values). */
export function columnPsi(base: ColumnDrift, counts: ArrayLike<number>): number {
  return psiFromCounts(base.counts, counts);
}

/** PSI of the new rows' counts against the baseline's last month (NaN without one or with too few rows). */
export function newRowsPsi(base: ColumnDrift, counts: ArrayLike<number>, minRows: number): number {
  if (!base.last_period || sum(counts) < minRows) return Number.NaN;
  return psiFromCounts(base.last_period.counts, counts);
}

export { sum as sumCounts };
