/** @module ml/tree-train
 * Fits the tree kinds (gbdt, rf) on a dataset's train slice with the native engine (ml/gbdt):
 * gathers the feature columns, applies the target transform (gbdt: log1p(Volume) by default; rf:
 * raw Volume, the classic setting), reports progress, writes the per-iteration training log. */
import type { Progress } from '../core/progress.js';
import { FEATURE_NAMES } from './baselines.js';
import type { VolumeDataset } from './dataset.js';
import { trainGbdt } from './gbdt/booster.js';
import type { IterationInfo, TrainSet } from './gbdt/dataset.js';
import { trainForest } from './gbdt/forest.js';
import type { GbdtParams } from './gbdt/params.js';
import type { ObjectiveName } from './gbdt/objectives/index.js';
import type { Slices } from './split.js';
import { scorerForTrees } from './tree-scorer.js';
import type { VolumeScorer } from './volume-model.js';

export interface TreeTrainParams {
  seed: number;
  threads: number;
  trees: number;
  maxDepth: number;
  numLeaves: number;
  learningRate: number;
  minDataInLeaf: number;
  lambdaL2: number;
  baggingFraction: number;
  featureFraction: number;
  earlyStopping: number;
  target?: 'log1p' | 'raw';
  /** gbdt's objective: l2 (default) or huber on the target (log1p(Volume)), or poisson / tweedie with
   * the log link on raw Volume (the target is then raw by definition). */
  objective?: ObjectiveName;
  /** Tweedie's variance power, 1 < p < 2 (objective tweedie). */
  tweediePower?: number;
  /** Huber's δ > 0 (objective huber: on the target as l2, squared inside δ, absolute beyond). */
  huberDelta?: number;
  /** gbdt with a log1p target: start from the naive forecast (trees fit log1p(Volume) −
   * log1p(vol_moving_avg), stored as the model's offset) or from the mean. Default naive. */
  boostFrom?: 'naive' | 'mean';
  /** gbdt, volume model: the predicted volume never falls as vol_moving_avg rises (adj_close_rolling_med
   * fixed): monotone_constraints "1,0" (docs/models.md). Every offset and link here rises with it too. */
  monotoneVma?: boolean;
}

export interface TreeFit {
  scorer: VolumeScorer;
  log: string;
  bestIteration: number | null;
  params: Record<string, unknown>;
}

/** The engine's set of rows `idx`: columns vma, acm; y = Volume, log1p(Volume), or (residual)
 * log1p(Volume) − log1p(max(0, vma)), the target of a gbdt boosted from the naive forecast. */
export function volumeTrainSet(ds: VolumeDataset, idx: Int32Array, log1p: boolean, residual = false): TrainSet {
  const n = idx.length;
  const vma = new Float64Array(n);
  const acm = new Float64Array(n);
  const y = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = idx[k]!;
    vma[k] = ds.vma[i]!;
    acm[k] = ds.acm[i]!;
    y[k] = log1p ? Math.log1p(ds.volume[i]!) - (residual ? Math.log1p(Math.max(0, ds.vma[i]!)) : 0) : ds.volume[i]!;
  }
  return { columns: [vma, acm], y, featureNames: FEATURE_NAMES, targetTransform: log1p ? 'log1p' : 'identity' };
}

/** The engine's set of rows `idx` for a gbdt of `objective`: l2 as volumeTrainSet on log1p(Volume)
 * (residual over the naive forecast when `naive`); a log-link objective: y = raw Volume, and when
 * `naive` each row starts from log1p(max(0, vma)) (init; the model's offset), so μ = (1 + vma)·e^(trees). */
export function gbdtVolumeSet(ds: VolumeDataset, idx: Int32Array, objective: ObjectiveName | undefined, naive: boolean): TrainSet {
  if (!isLogLink(objective)) return volumeTrainSet(ds, idx, true, naive);
  const set = volumeTrainSet(ds, idx, false);
  if (naive) set.init = Float64Array.from(idx, (i) => Math.log1p(Math.max(0, ds.vma[i]!)));
  return set;
}

/** poisson and tweedie: the log link on raw Volume (l2 and huber fit log1p(Volume)). */
export function isLogLink(objective: ObjectiveName | undefined): boolean {
  return objective === 'poisson' || objective === 'tweedie';
}

/** The engine's parameters for the CLI's tree flags (shared with the day-ahead model, ml/forecast-train). */
export function gbdtParams(p: TreeTrainParams): Partial<GbdtParams> {
  return {
    num_trees: p.trees,
    learning_rate: p.learningRate,
    num_leaves: p.numLeaves,
    max_depth: p.maxDepth,
    min_data_in_leaf: p.minDataInLeaf,
    lambda_l2: p.lambdaL2,
    bagging_fraction: p.baggingFraction,
    feature_fraction: p.featureFraction,
    early_stopping_rounds: p.earlyStopping,
    seed: p.seed,
    threads: Math.max(1, p.threads),
    ...(p.objective === undefined ? {} : { objective: p.objective }),
    ...(p.tweediePower === undefined ? {} : { tweedie_variance_power: p.tweediePower }),
    ...(p.huberDelta === undefined ? {} : { huber_delta: p.huberDelta }),
    ...(p.monotoneVma === true ? { monotone_constraints: '1,0' } : {}),
  };
}

/** What training.log and the params call the target: log1p, raw, or raw under the log link. */
export function targetName(p: Pick<TreeTrainParams, 'objective' | 'target'>, kind: 'gbdt' | 'rf'): string {
  if (kind === 'gbdt' && isLogLink(p.objective)) return 'raw';
  return p.target ?? (kind === 'gbdt' ? 'log1p' : 'raw');
}

const f = (x: number | null): string => (x === null ? '-' : x.toPrecision(8));

export async function fitTrees(kind: 'gbdt' | 'rf', ds: VolumeDataset, s: Slices, p: TreeTrainParams, hooks: { progress: Progress; signal?: AbortSignal }): Promise<TreeFit> {
  const logLink = kind === 'gbdt' && isLogLink(p.objective);
  const target = targetName(p, kind);
  const naive = kind === 'gbdt' && (target === 'log1p' || logLink) && (p.boostFrom ?? 'naive') === 'naive';
  const residual = naive && !logLink;
  const setOf = (rows: Int32Array): TrainSet => (logLink ? gbdtVolumeSet(ds, rows, p.objective, naive) : volumeTrainSet(ds, rows, target === 'log1p', residual));
  const train = setOf(s.train);
  const what = logLink
    ? `Volume, objective ${p.objective} (log link)${naive ? ', starting from log1p(vol_moving_avg)' : ''}`
    : residual ? 'log1p(Volume) - log1p(vol_moving_avg), i.e. boosting from the naive forecast' : target;
  const lines = [`# ${kind} on ${s.train.length} rows, target ${what}; iteration train_loss valid_loss (${logLink ? `mean ${p.objective} loss on Volume / its mean` : kind === 'gbdt' && p.objective !== undefined && p.objective !== 'l2' ? `mean ${p.objective} loss on the target` : 'mean squared error on the target'})`];
  hooks.progress.start(`train ${kind}`, p.trees);
  const onIteration = (it: IterationInfo): void => {
    lines.push(`${it.iteration} ${f(it.train_loss)} ${f(it.valid_loss)}`);
    hooks.progress.update(it.iteration);
  };
  try {
    if (kind === 'gbdt') {
      const valid = s.valid.length > 0 ? setOf(s.valid) : null;
      const r = await trainGbdt(
        train,
        valid,
        gbdtParams(p),
        { onIteration, signal: hooks.signal },
      );
      lines.push(`# best iteration ${r.best_iteration} of ${r.iterations}; initial train loss ${f(r.initial_train_loss)}`);
      if (naive) r.model.offset = { feature: 0, transform: 'log1p' };
      return { scorer: scorerForTrees(r.model), log: `${lines.join('\n')}\n`, bestIteration: r.best_iteration, params: { target, boost_from: naive ? 'naive' : 'mean', ...r.model.params } };
    }
    const r = await trainForest(
      train,
      { num_trees: p.trees, max_depth: p.maxDepth, min_data_in_leaf: 1, seed: p.seed, threads: Math.max(1, p.threads) },
      { onIteration, signal: hooks.signal },
    );
    lines.push(`# out-of-bag RMSE ${f(r.oob_rmse)} over ${r.oob_rows} rows (target ${target})`);
    return { scorer: scorerForTrees(r.model), log: `${lines.join('\n')}\n`, bestIteration: null, params: { target, oob_rmse: r.oob_rmse, ...r.model.params } };
  } finally {
    hooks.progress.stop();
  }
}
