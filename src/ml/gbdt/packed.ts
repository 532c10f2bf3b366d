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
