/** @module dashboard/model-insights
 * What the model page computes from a model's own files and test rows (pure: data in, data out):
 * feature importance (splits and total split gain per feature, from model.json's trees), the test slice's residuals
 * (log1p-scale histogram, a recomputed rmse_log, a predicted-vs-actual sample) and loss curves cut
 * to a number of points. The routes (routes-models) read the files and rows. */
import type { VolumeScorer } from '../ml/volume-model.js';
import type { CurveSeries } from '../ml/training-curve.js';

export interface Importance {
  /** The booster: `volume` for a volume model; `adj_close` and `volume` for a day-ahead model. */
  booster: string;
  trees: number;
  /** Whether every tree records its split gains (models trained before they were recorded do not). */
  gain: boolean;
  /** splits, share (of splits); gain (the sum of the feature's split gains on the training rows, in the objective's units) and gain_share, null without gains. */
  features: { feature: string; splits: number; share: number; gain: number | null; gain_share: number | null }[];
}

interface TreesJson { feature_names?: unknown; trees?: unknown }

function treeImportance(booster: string, m: TreesJson): Importance | null {
  if (!Array.isArray(m.feature_names) || !Array.isArray(m.trees)) return null;
  const names = m.feature_names.map(String);
  const counts = new Array<number>(names.length).fill(0);
  const gains = new Array<number>(names.length).fill(0);
  const trees = m.trees as { feature?: unknown; gain?: unknown }[];
  const hasGain = trees.length > 0 && trees.every((t) => Array.isArray(t.gain) && Array.isArray(t.feature) && t.gain.length === t.feature.length);
  for (const t of trees) {
    if (!Array.isArray(t.feature)) continue;
    t.feature.forEach((f: unknown, i) => {
      if (typeof f !== 'number' || f < 0 || f >= names.length) return;
      counts[f]! += 1;
      if (hasGain) gains[f]! += Number((t.gain as unknown[])[i]) || 0;
    });
  }
  const total = counts.reduce((s, c) => s + c, 0);
  const totalGain = gains.reduce((s, g) => s + g, 0);
  const features = names.map((feature, i) => ({
    feature, splits: counts[i]!, share: total === 0 ? 0 : counts[i]! / total,
    gain: hasGain ? gains[i]! : null, gain_share: hasGain ? (totalGain === 0 ? 0 : gains[i]! / totalGain) : null,
  })).sort((a, b) => b.splits - a.splits || a.feature.localeCompare(b.feature));
  return { booster, trees: trees.length, gain: hasGain, features };
}

/** Splits and split gain per feature of each booster of a tree model (gbdt, rf, day-ahead); empty for polyreg and naive (no trees). */
export function featureImportance(model: unknown): Importance[] {
  const m = (model ?? {}) as TreesJson & { format?: unknown; adj_close?: { model?: TreesJson }; volume?: { model?: TreesJson } };
  if (m.format === 'stockpipe-trees') return [treeImportance('volume', m)].filter((x): x is Importance => x !== null);
  if (m.format === 'stockpipe-forecast') {
    return [treeImportance('adj_close', m.adj_close?.model ?? {}), treeImportance('volume', m.volume?.model ?? {})].filter((x): x is Importance => x !== null);
  }
  return [];
}

export interface Residuals {
  rows: number;
  /** Recomputed on these rows: equals the registered test rmse_log when the data is the model's. */
  rmse_log: number;
  mae_log: number;
  /** Mean of log1p(actual) − log1p(predicted): > 0 = the model predicts too little. */
  bias_log: number;
  histogram: { unit: string; edges: number[]; counts: number[]; below: number; above: number };
  /** Up to `points` rows, evenly spaced over the slice: actual and predicted Volume (shares). */
  sample: { actual: number[]; predicted: number[] };
}

/** Rows scored between two yields to the event loop (the server keeps answering predictions meanwhile). */
const YIELD_ROWS = 1 << 16;

/** Residuals log1p(Volume) − log1p(prediction) of every row, their histogram over ±`range` and an even sample. */
export async function residuals(s: VolumeScorer, rows: { vma: Float64Array; acm: Float64Array; volume: Float64Array }, opts: { bins?: number; range?: number; points?: number } = {}): Promise<Residuals> {
  const n = rows.volume.length;
  const bins = opts.bins ?? 40;
  const range = opts.range ?? 3;
  const counts = new Array<number>(bins).fill(0);
  let below = 0;
  let above = 0;
  let se = 0;
  let ae = 0;
  let sum = 0;
  const points = Math.min(n, opts.points ?? 1500);
  const stride = points === 0 ? 1 : n / points;
  const actual: number[] = [];
  const predicted: number[] = [];
  let next = 0;
  for (let i = 0; i < n; i++) {
    if (i > 0 && i % YIELD_ROWS === 0) await new Promise((r) => setImmediate(r));
    const p = s.predict(rows.vma[i]!, rows.acm[i]!);
    const y = rows.volume[i]!;
    const r = Math.log1p(Math.max(0, y)) - Math.log1p(p);
    se += r * r;
    ae += Math.abs(r);
    sum += r;
    if (r < -range) below++;
    else if (r >= range) above++;
    else counts[Math.min(bins - 1, Math.floor(((r + range) / (2 * range)) * bins))]! += 1;
    if (i >= next && actual.length < points) {
      actual.push(y);
      predicted.push(p);
      next = Math.floor((actual.length) * stride);
    }
  }
  const edges = Array.from({ length: bins + 1 }, (_, k) => Number((-range + (2 * range * k) / bins).toFixed(6)));
  return {
    rows: n,
    rmse_log: n === 0 ? Number.NaN : Math.sqrt(se / n),
    mae_log: n === 0 ? Number.NaN : ae / n,
    bias_log: n === 0 ? Number.NaN : sum / n,
    histogram: { unit: 'log1p(shares)', edges, counts, below, above },
    sample: { actual, predicted },
  };
}

/** A curve cut to at most `points` points: evenly spaced steps, always with the first, the last and the minimum. */
export function thinCurve(c: CurveSeries, points: number): CurveSeries & { total: number } {
  const n = c.steps.length;
  if (n <= points) return { ...c, total: n };
  let iMin = 0;
  for (let i = 1; i < n; i++) if (c.values[i]! < c.values[iMin]!) iMin = i;
  const keep = new Set<number>([0, n - 1, iMin]);
  for (let k = 0; keep.size < points && k < points; k++) keep.add(Math.round((k * (n - 1)) / (points - 1)));
  const idx = [...keep].sort((a, b) => a - b);
  return { ...c, steps: idx.map((i) => c.steps[i]!), values: idx.map((i) => c.values[i]!), total: n };
}
