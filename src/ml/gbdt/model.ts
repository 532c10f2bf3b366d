/** @module ml/gbdt/model
 * The trained tree model (gbdt or random forest) as flat typed arrays per tree, and scoring:
 * one row without allocation, or a batch of columns. model.json I/O lives in ml/gbdt/model-json
 * (re-exported here); docs/model-format.md is the contract both follow. */
export { fromJSON, toJSON, MODEL_FORMAT, MODEL_FORMAT_VERSION } from './model-json.js';

export type ModelKind = 'gbdt' | 'rf';
/** 'sum': base_score + Σ trees (gbdt); 'mean': base_score + (Σ trees) / number of trees (rf). */
export type Aggregation = 'sum' | 'mean';
/** What the caller did to the target before training; scoring undoes it. */
export type TargetTransform = 'identity' | 'log1p';
export const TARGET_TRANSFORMS: readonly TargetTransform[] = ['identity', 'log1p'];

/**
 * One tree. Node 0 is the root; children always have larger indices than their parent. At an
 * internal node (feature ≥ 0) a row goes to left when x[feature] <= threshold, else to right —
 * NaN compares false, so NaN always goes right. A leaf has feature −1 and left = right = −1.
 */
export interface TreeArrays {
  feature: Int32Array;
  threshold: Float64Array;
  left: Int32Array;
  right: Int32Array;
  /** Leaf output; at internal nodes the output the node had as a leaf (not used in scoring). */
  value: Float64Array;
}

export interface TreeModel {
  kind: ModelKind;
  featureNames: string[];
  baseScore: number;
  aggregation: Aggregation;
  targetTransform: TargetTransform;
  params: Record<string, number | string | boolean | null>;
  trees: TreeArrays[];
  /**
   * Optional per-row offset added to the raw output: transform(x[feature]) — e.g. log1p of the
   * naive forecast, so the trees model the residual over it. log1p applies to max(x, 0).
   */
  offset?: ModelOffset | null;
}

export interface ModelOffset {
  feature: number;
  transform: 'identity' | 'log1p';
}

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

/** Applies the target transform: log1p → max(0, expm1(raw)); identity → raw. */
export function untransform(model: TreeModel, raw: number): number {
  if (model.targetTransform === 'log1p') {
    const v = Math.expm1(raw);
    return v > 0 ? v : 0;
  }
  return raw;
}

/** The prediction for one row (feature values in feature_names order). Allocates nothing. */
export function predict(model: TreeModel, row: ArrayLike<number>): number {
  return untransform(model, predictRaw(model, row));
}

/** Raw outputs for the rows of `columns` (one array per feature) into out. */
export function predictBatchRaw(model: TreeModel, columns: readonly (Float64Array | Float32Array)[], out: Float64Array): Float64Array {
  const n = out.length;
  const trees = model.trees;
  const nf = model.featureNames.length;
  if (columns.length !== nf) throw new RangeError(`predictBatch: model has ${nf} features, got ${columns.length} columns`);
  for (const c of columns) if (c.length < n) throw new RangeError(`predictBatch: a column has ${c.length} rows, out has ${n}`);
  for (let r = 0; r < n; r++) {
    let s = model.aggregation === 'sum' ? model.baseScore : 0;
    for (let k = 0; k < trees.length; k++) {
      const t = trees[k]!;
      let i = 0;
      for (let f = t.feature[0]!; f >= 0; f = t.feature[i]!) i = columns[f]![r]! <= t.threshold[i]! ? t.left[i]! : t.right[i]!;
      s += t.value[i]!;
    }
    const raw = model.aggregation === 'sum' ? s : model.baseScore + s / trees.length;
    out[r] = model.offset ? raw + offsetValue(model.offset, columns[model.offset.feature]![r]!) : raw;
  }
  return out;
}

/** Predictions (after the target transform) for the rows of `columns` into out. */
export function predictBatch(model: TreeModel, columns: readonly (Float64Array | Float32Array)[], out: Float64Array): Float64Array {
  predictBatchRaw(model, columns, out);
  if (model.targetTransform !== 'identity') for (let r = 0; r < out.length; r++) out[r] = untransform(model, out[r]!);
  return out;
}
