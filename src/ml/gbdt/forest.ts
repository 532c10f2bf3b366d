/** @module ml/gbdt/forest
 * Random forest on the same tree engine: each tree sees a seeded Poisson bootstrap (row
 * multiplicity k: hessian = k, gradient = −y·k, so a leaf value −G/H is the bootstrap mean of its
 * rows), tries max_features random features per split, and grows to max_depth. Prediction is the
 * mean of the trees; rows a tree never drew give out-of-bag predictions and oob_rmse. */
import { StockpipeError } from '../../core/errors.js';
import { createRng, deriveSeed } from '../../core/rng.js';
import { checkTrainSet, featureNames, fitEdges, binSet, toTreeArrays, valueBinCounts, type TrainHooks, type TrainSet } from './dataset.js';
import type { TreeArrays, TreeModel } from './model.js';
import { betweenTrees, Engine } from './parallel.js';
import { resolveForestParams, storedParams, type ForestParams } from './params.js';
import { growTree } from './tree.js';
import { growTreeLevels, levelSlots, useLevels } from './tree-levels.js';
import type { BinTree } from './kernels.js';

export interface ForestResult {
  model: TreeModel;
  /** RMSE (on y as given) of the out-of-bag predictions, over rows with at least one. */
  oob_rmse: number;
  /** Rows with at least one out-of-bag tree. */
  oob_rows: number;
  /** Per row: mean of the trees that did not draw it (NaN when every tree drew it). */
  oob_predictions: Float64Array;
  seconds: number;
}

/** Trains a random forest (aggregation 'mean', base_score 0). */
export async function trainForest(train: TrainSet, params: Partial<ForestParams> = {}, hooks: TrainHooks = {}): Promise<ForestResult> {
  const p = resolveForestParams(params);
  checkTrainSet(train, 'train');
  if (train.weight) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', 'the random forest takes no sample weights (gbdt does)');
  hooks.signal?.throwIfAborted();
  const started = performance.now();
  const n = train.y.length;
  const F = train.columns.length;
  const edges = fitEdges(train.columns, p.max_bin, p.bin_sample_size, p.seed);
  const valueBins = valueBinCounts(edges);
  const all = Int32Array.from({ length: F }, (_, i) => i);
  const grow = {
    num_leaves: p.num_leaves > 0 ? p.num_leaves : 2 ** p.max_depth,
    max_depth: p.max_depth,
    shrinkage: 1,
    max_features: p.max_features,
    lambda_l2: p.lambda_l2,
    min_data_in_leaf: p.min_data_in_leaf,
    min_sum_hessian_in_leaf: 0,
    min_gain_to_split: 0,
  };
  const levels = useLevels(grow);
  const engine = new Engine({
    layout: levels ? { kind: 'levels', slots: levelSlots(grow.max_depth) } : { kind: 'leaves' },
    threads: p.threads,
    train: binSet(train.columns, edges),
    y: train.y,
    valid: null,
    objective: null,
    hessian: true,
    oob: true,
  });
  const trees: TreeArrays[] = [];
  const oob = new Float64Array(n);
  let sse = 0;
  let rows = 0;
  try {
    for (let t = 0; t < p.num_trees; t++) {
      await betweenTrees(hooks.signal);
      const seed = deriveSeed(p.seed, 3_000_000 + t);
      const rng = createRng(deriveSeed(p.seed, 4_000_000 + t));
      let tree: BinTree;
      if (levels) {
        await engine.run({ op: 'nodes', poisson: true, fraction: p.sample_fraction, seed });
        const lt = await growTreeLevels(engine, valueBins, n, engine.state.stride, all, grow, rng, { signal: hooks.signal });
        await engine.oobNodes(lt.nodeValue);
        tree = lt;
      } else {
        const nIn = await engine.sample(true, p.sample_fraction, seed);
        tree = await growTree(engine, valueBins, { start: 0, end: nIn, identity: false }, all, grow, rng, hooks.signal);
        await engine.run({ op: 'oob', nIn, tree });
      }
      trees.push(toTreeArrays(tree, edges));
      hooks.onIteration?.({ iteration: t + 1, train_loss: null, valid_loss: null });
    }
    const { oobSum, oobCount } = engine.state;
    for (let r = 0; r < n; r++) {
      const c = oobCount[r]!;
      if (c === 0) {
        oob[r] = NaN;
        continue;
      }
      // Same order as scoring: Σ over trees, then divide.
      const v = oobSum[r]! / c;
      oob[r] = v;
      const d = v - train.y[r]!;
      sse += d * d;
      rows++;
    }
  } finally {
    await engine.close();
  }
  const model: TreeModel = {
    kind: 'rf',
    featureNames: featureNames(train),
    baseScore: 0,
    aggregation: 'mean',
    targetTransform: train.targetTransform ?? 'identity',
    params: storedParams(p),
    trees,
  };
  return { model, oob_rmse: rows > 0 ? Math.sqrt(sse / rows) : NaN, oob_rows: rows, oob_predictions: oob, seconds: (performance.now() - started) / 1000 };
}
