/** @module ml/metrics/slices
 * Per-slice metrics of one model's test predictions (docs/models.md): stock vs etf, deciles of the
 * actual volume, calendar years. Pure. */
import { regressionMetrics, type RegressionMetrics } from './regression.js';

export interface SliceMetrics {
  overall: RegressionMetrics;
  by_asset: Record<string, RegressionMetrics>;
  /** Decile k (1..10) of the test rows' actual Volume, with its volume range. Rows of one volume stay in one decile
   * (the cut moves past the tie), so the ranges do not overlap; a decile a tie swallowed whole is left out. */
  by_volume_decile: (RegressionMetrics & { decile: number; volume_min: number; volume_max: number })[];
  by_year: Record<string, RegressionMetrics>;
}

function groupIdx(n: number, key: (i: number) => string): Map<string, Int32Array> {
  const lists = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const k = key(i);
    let l = lists.get(k);
    if (!l) lists.set(k, (l = []));
    l.push(i);
  }
  return new Map([...lists].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, l]) => [k, Int32Array.from(l)]));
}

/** `y`, `pred`, `day`, `isStock` are aligned (the test rows only). */
export function sliceMetrics(y: Float64Array, pred: Float64Array, day: Int32Array, isStock: Uint8Array): SliceMetrics {
  const n = y.length;
  const byAsset: Record<string, RegressionMetrics> = {};
  for (const [k, idx] of groupIdx(n, (i) => (isStock[i] ? 'stock' : 'etf'))) byAsset[k] = regressionMetrics(y, pred, idx);
  const byYear: Record<string, RegressionMetrics> = {};
  for (const [k, idx] of groupIdx(n, (i) => String(new Date(day[i]! * 86400000).getUTCFullYear()))) byYear[k] = regressionMetrics(y, pred, idx);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => y[a]! - y[b]! || a - b);
  const deciles: SliceMetrics['by_volume_decile'] = [];
  // The cut before position c moves up while it would split rows of one volume (a run of zero-volume days, say).
  const cut = (d: number): number => {
    let c = Math.floor((d * n) / 10);
    while (c > 0 && c < n && y[order[c]!] === y[order[c - 1]!]) c++;
    return c;
  };
  for (let d = 0; d < 10 && n > 0; d++) {
    const idx = order.slice(cut(d), cut(d + 1));
    if (idx.length === 0) continue;
    deciles.push({ decile: d + 1, volume_min: y[idx[0]!]!, volume_max: y[idx[idx.length - 1]!]!, ...regressionMetrics(y, pred, idx) });
  }
  return { overall: regressionMetrics(y, pred), by_asset: byAsset, by_volume_decile: deciles, by_year: byYear };
}
