/** @module ml/gbdt/packed
 * The serving form of a tree model: every tree's nodes in one set of typed arrays (child indices
 * made absolute, a root index per tree), scored in the same order and with the same arithmetic as
 * model.predictRaw, so the result is the same number, bit for bit. One row scores about twice as
 * fast as through the per-tree arrays (GET /predict's scoring; BENCHMARKS.md). */
import type { ModelOffset, TargetTransform, TreeModel } from './model-types.js';
import { offsetValue, untransform } from './model.js';

export interface PackedTrees {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  /** The root node of each tree. */
  roots: Int32Array;
  baseScore: number;
  /** 'mean' aggregation (rf): baseScore + Σ / trees; else baseScore + Σ. */
  mean: boolean;
  offset: ModelOffset | undefined;
  /** The model's target transform (its link): predictPacked applies it. */
  targetTransform: TargetTransform;
}

export function packTrees(m: TreeModel): PackedTrees {
  let n = 0;
  for (const t of m.trees) n += t.feature.length;
  const p: PackedTrees = {
    feature: new Int32Array(n), threshold: new Float64Array(n), left: new Int32Array(n), right: new Int32Array(n), value: new Float64Array(n),
    roots: new Int32Array(m.trees.length), baseScore: m.baseScore, mean: m.aggregation !== 'sum', offset: m.offset ?? undefined,
    targetTransform: m.targetTransform,
  };
  let base = 0;
  for (let k = 0; k < m.trees.length; k++) {
    const t = m.trees[k]!;
    p.roots[k] = base;
    p.feature.set(t.feature, base);
    p.threshold.set(t.threshold, base);
    p.value.set(t.value, base);
    for (let i = 0; i < t.feature.length; i++) {
      p.left[base + i] = t.left[i]! + base;
      p.right[base + i] = t.right[i]! + base;
    }
    base += t.feature.length;
  }
  return p;
}

/** model.predictRaw on the packed form. Allocates nothing. */
export function predictPackedRaw(p: PackedTrees, row: ArrayLike<number>): number {
  const { feature, threshold, left, right, value, roots } = p;
  let s = p.mean ? 0 : p.baseScore;
  for (let k = 0; k < roots.length; k++) {
    let i = roots[k]!;
    for (let f = feature[i]!; f >= 0; f = feature[i]!) i = row[f]! <= threshold[i]! ? left[i]! : right[i]!;
    s += value[i]!;
  }
  const raw = p.mean ? p.baseScore + s / roots.length : s;
  const o = p.offset;
  return o ? raw + offsetValue(o, row[o.feature]!) : raw;
}

/** model.predict on the packed form: the raw output through the model's link (log1p, log or identity). */
export function predictPacked(p: PackedTrees, row: ArrayLike<number>): number {
  return untransform(p, predictPackedRaw(p, row));
}

/**
 * A two-input tree model as one table: each input's split thresholds sorted (without repeats) cut
 * its axis into cells, and every row inside one cell takes the same path through every tree, so the
 * table holds each cell's sum of leaf values. Built by adding each tree's leaves to their cells, tree
 * by tree in the model's order from the same start as predictPackedRaw: each cell's sum is the same
 * additions in the same order, so the same number, bit for bit. A row costs two binary searches and
 * one read instead of a walk down every tree (GET /predict; BENCHMARKS.md).
 */
export interface GridTrees {
  /** Input 0's and input 1's thresholds, ascending, without repeats. */
  cuts0: Float64Array;
  cuts1: Float64Array;
  /** Cell (i, j) at i × (cuts1.length + 1) + j: the sum before the aggregation's division. */
  sums: Float64Array;
}

/** The largest table built (2 MiB of sums); a model with more cells is walked. */
export const MAX_GRID_CELLS = 1 << 18;
/** At most this many cell additions (cells × trees) build a table, about 50 ms here: it is built on the serving thread when a model loads. */
export const MAX_GRID_WORK = 1 << 25;

/** The first index whose cut is ≥ x (a row goes left at a split iff x ≤ its threshold): the row's cell on that axis. */
function cellOf(cuts: Float64Array, x: number): number {
  let lo = 0;
  let hi = cuts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= cuts[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The table of a model whose splits use inputs 0 and 1 only, with finite thresholds; null for any other (or beyond MAX_GRID_CELLS or MAX_GRID_WORK). */
export function gridTrees(p: PackedTrees): GridTrees | null {
  if (p.offset !== undefined && p.offset.feature > 1) return null;
  const seen: [number[], number[]] = [[], []];
  for (let i = 0; i < p.feature.length; i++) {
    const f = p.feature[i]!;
    if (f < 0) continue;
    if (f > 1 || !Number.isFinite(p.threshold[i]!)) return null;
    seen[f as 0 | 1].push(p.threshold[i]!);
  }
  const cuts = seen.map((s) => {
    s.sort((a, b) => a - b);
    // -0 and 0 are one cut: a comparison does not tell them apart.
    return Float64Array.from(s.filter((v, i) => i === 0 || v !== s[i - 1]));
  }) as [Float64Array, Float64Array];
  const width = cuts[1].length + 1;
  const cells = (cuts[0].length + 1) * width;
  if (cells > MAX_GRID_CELLS || cells * p.roots.length > MAX_GRID_WORK) return null;
  const sums = new Float64Array(cells).fill(p.mean ? 0 : p.baseScore);
  const { feature, threshold, left, right, value } = p;
  // Cells [lo0, hi0) × [lo1, hi1) reach `node`; a split at cut k sends cells ≤ k left.
  const fill = (node: number, lo0: number, hi0: number, lo1: number, hi1: number): void => {
    const f = feature[node]!;
    if (f < 0) {
      const v = value[node]!;
      for (let i = lo0; i < hi0; i++) for (let j = i * width + lo1, end = i * width + hi1; j < end; j++) sums[j]! += v;
      return;
    }
    const k = cellOf(cuts[f]!, threshold[node]!);
    if (f === 0) {
      if (lo0 <= k) fill(left[node]!, lo0, Math.min(hi0, k + 1), lo1, hi1);
      if (hi0 > k + 1) fill(right[node]!, Math.max(lo0, k + 1), hi0, lo1, hi1);
    } else {
      if (lo1 <= k) fill(left[node]!, lo0, hi0, lo1, Math.min(hi1, k + 1));
      if (hi1 > k + 1) fill(right[node]!, lo0, hi0, Math.max(lo1, k + 1), hi1);
    }
  };
  for (let t = 0; t < p.roots.length; t++) fill(p.roots[t]!, 0, cuts[0].length + 1, 0, width);
  return { cuts0: cuts[0], cuts1: cuts[1], sums };
}

/** predictPackedRaw of the row (x0, x1) through the table; a NaN input is walked (its rule is the trees'). */
export function predictGridRaw(g: GridTrees, p: PackedTrees, x0: number, x1: number, row: Float64Array): number {
  if (x0 !== x0 || x1 !== x1) {
    row[0] = x0;
    row[1] = x1;
    return predictPackedRaw(p, row);
  }
  const s = g.sums[cellOf(g.cuts0, x0) * (g.cuts1.length + 1) + cellOf(g.cuts1, x1)]!;
  const raw = p.mean ? p.baseScore + s / p.roots.length : s;
  const o = p.offset;
  return o ? raw + offsetValue(o, o.feature === 0 ? x0 : x1) : raw;
}
