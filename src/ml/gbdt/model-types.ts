/** @module ml/gbdt/model-types
 * The tree model's types (gbdt or random forest as flat typed arrays per tree), below both the
 * scorer (model.ts) and model.json I/O (model-json.ts), which import them. */
export type ModelKind = 'gbdt' | 'rf';
/** 'sum': base_score + Σ trees (gbdt); 'mean': base_score + (Σ trees) / number of trees (rf). */
export type Aggregation = 'sum' | 'mean';
/** What maps the raw output to the prediction, undoing what the caller did to the target before
 * training: log1p → max(0, expm1(raw)); 'log' (the log link of poisson, tweedie: the raw output is
 * the log of the prediction) → exp(raw); identity → raw. */
export type TargetTransform = 'identity' | 'log1p' | 'log';
export const TARGET_TRANSFORMS: readonly TargetTransform[] = ['identity', 'log1p', 'log'];

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
  /** Optional: each internal node's split gain on the training rows (0 at leaves); for feature importance, not used in scoring. */
  gain?: Float64Array;
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
