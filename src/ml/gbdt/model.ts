/** @module ml/gbdt/model
 * The trained tree model (gbdt or random forest) as flat typed arrays per tree, and scoring:
 * one row without allocation, or a batch of columns. model.json I/O lives in ml/gbdt/model-json
 * and the types in model-types (both re-exported here); docs/model-format.md is the contract both follow. */
import type { ModelOffset, TreeArrays, TreeModel } from './model-types.js';

export { fromJSON, toJSON, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model-json.js';
export { TARGET_TRANSFORMS } from './model-types.js';
export type { Aggregation, ModelKind, ModelOffset, TargetTransform, TreeArrays, TreeModel } from './model-types.js';

/** The offset's value for a feature value. */
export function offsetValue(o: ModelOffset, x: number): number {
  return o.transform === 'log1p' ? Math.log1p(x > 0 ? x : 0) : x;
}

/** The leaf value of one tree for one row. */
export function treeValue(t: TreeArrays, row: ArrayLike<number>): number {
  const feature = t.feature;
  let i = 0;
  for (let f = feature[0]!; f >= 0; f = feature[i]!) i = row[f]! <= t.threshold[i]! ? t.left[i]! : t.right[i]!;
  return t.value[i]!;
}

/** The raw model output (before the target transform) for one row of feature values. */
export function predictRaw(model: TreeModel, row: ArrayLike<number>): number {
  const trees = model.trees;
  const o = model.offset;
  if (model.aggregation === 'sum') {
    let s = model.baseScore;
    for (let k = 0; k < trees.length; k++) s += treeValue(trees[k]!, row);
    return o ? s + offsetValue(o, row[o.feature]!) : s;
  }
  let s = 0;
  for (let k = 0; k < trees.length; k++) s += treeValue(trees[k]!, row);
  const raw = model.baseScore + s / trees.length;
  return o ? raw + offsetValue(o, row[o.feature]!) : raw;
}

/** Applies the target transform: log1p → max(0, expm1(raw)); log (log link) → exp(raw); identity → raw. */
export function untransform(model: Pick<TreeModel, 'targetTransform'>, raw: number): number {
  if (model.targetTransform === 'log1p') {
    const v = Math.expm1(raw);
    return v > 0 ? v : 0;
  }
  if (model.targetTransform === 'log') return Math.exp(raw);
  return raw;
}

/** The prediction for one row (feature values in feature_names order). Allocates nothing. */
export function predict(model: TreeModel, row: ArrayLike<number>): number {
  return untransform(model, predictRaw(model, row));
}

/** Rows scored together, tree by tree: one tree's nodes (≈ 3.5 KB at 64 leaves) stay in the
 * first-level cache while it goes over the block, and the block's input values (25 inputs × 512
 * rows × 4 bytes = 50 KB) in the second. Row by row instead, every row reads the whole model (a
 * day-ahead volume model of 900 trees is 3 MB). */
const SCORE_BLOCK = 512;

/** Raw outputs for the rows of `columns` (one array per feature) into out. Each row's trees are
 * summed in the model's order, from the same start as predictRaw, so the result is the same number. */
export function predictBatchRaw(model: TreeModel, columns: readonly (Float64Array | Float32Array)[], out: Float64Array): Float64Array {
  const n = out.length;
  const trees = model.trees;
  const nf = model.featureNames.length;
  if (columns.length !== nf) throw new RangeError(`predictBatch: model has ${nf} features, got ${columns.length} columns`);
  for (const c of columns) if (c.length < n) throw new RangeError(`predictBatch: a column has ${c.length} rows, out has ${n}`);
  const sum = model.aggregation === 'sum';
  const o = model.offset;
  for (let lo = 0; lo < n; lo += SCORE_BLOCK) {
    const hi = Math.min(n, lo + SCORE_BLOCK);
    // The block's running sums, kept in out itself.
    out.fill(sum ? model.baseScore : 0, lo, hi);
    for (let k = 0; k < trees.length; k++) {
      const { feature, threshold, left, right, value } = trees[k]!;
      const root = feature[0]!;
      if (root < 0) {
        for (let r = lo; r < hi; r++) out[r] = out[r]! + value[0]!;
        continue;
      }
      for (let r = lo; r < hi; r++) {
        let i = 0;
        for (let f = root; f >= 0; f = feature[i]!) i = columns[f]![r]! <= threshold[i]! ? left[i]! : right[i]!;
        out[r] = out[r]! + value[i]!;
      }
    }
    for (let r = lo; r < hi; r++) {
      const raw = sum ? out[r]! : model.baseScore + out[r]! / trees.length;
      out[r] = o ? raw + offsetValue(o, columns[o.feature]![r]!) : raw;
    }
  }
  return out;
}

/** Predictions (after the target transform) for the rows of `columns` into out. */
export function predictBatch(model: TreeModel, columns: readonly (Float64Array | Float32Array)[], out: Float64Array): Float64Array {
  predictBatchRaw(model, columns, out);
  if (model.targetTransform !== 'identity') for (let r = 0; r < out.length; r++) out[r] = untransform(model, out[r]!);
  return out;
}
