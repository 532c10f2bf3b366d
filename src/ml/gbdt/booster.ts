/** @module ml/gbdt/booster
 * Gradient boosting: base score, then per tree (seeded column and row samples) grow a tree on
 * the gradients, add it to the predictions, refresh gradients, score the validation set, and
 * stop early when the validation loss stalls (keeping the best iteration's trees). y comes
 * already transformed; the engine never sees log1p. */
import { createRng, deriveSeed } from '../../core/rng.js';
import { checkTrainSet, featureNames, fitEdges, binSet, sampleFeatures, toTreeArrays, valueBinCounts, type IterationInfo, type TrainHooks, type TrainSet } from './dataset.js';
import type { TreeModel, TreeArrays } from './model.js';
import { getObjective } from './objectives/index.js';
import type { BinTree } from './kernels.js';
import type { BinnedMatrix } from './histogram.js';
import { Engine } from './parallel.js';
import { resolveGbdtParams, storedParams, type GbdtParams } from './params.js';
import { growTree } from './tree.js';
import { growTreeLevels, levelSlots, useLevels } from './tree-levels.js';

export interface GbdtResult {
  model: TreeModel;
  /** Trees kept (the best validation iteration; all trees without early stopping). */
  best_iteration: number;
  /** Trees grown before stopping. */
  iterations: number;
  /** One entry per grown tree. */
  log: IterationInfo[];
  /** Mean training loss of the base score alone (iteration 0). */
  initial_train_loss: number;
  /** Training time including binning, seconds. */
  seconds: number;
}

/** Bin edges and binned matrices of a training (and validation) set, made once and shared by several
 * boosters trained on the same columns (binSets); the model is the same as without them. */
export interface BinnedSets {
  edges: Float64Array[];
  train: BinnedMatrix;
  valid: BinnedMatrix | null;
}

/** What trainGbdt would bin for these sets and parameters (the same edges, the same bins). */
export function binSets(train: TrainSet, valid: TrainSet | null, params: Partial<GbdtParams> = {}): BinnedSets {
  const p = resolveGbdtParams(params);
  const edges = fitEdges(train.columns, p.max_bin, p.bin_sample_size, p.seed);
  return { edges, train: binSet(train.columns, edges), valid: valid ? binSet(valid.columns, edges) : null };
}

/** Trains a gradient-boosted tree ensemble; `valid` (may be null) drives early stopping. `binned`:
 * binSets of the same sets and binning parameters, used instead of binning them again. */
export async function trainGbdt(train: TrainSet, valid: TrainSet | null, params: Partial<GbdtParams> = {}, hooks: TrainHooks = {}, binned?: BinnedSets): Promise<GbdtResult> {
  const p = resolveGbdtParams(params);
  checkTrainSet(train, 'train');
  if (valid) checkTrainSet(valid, 'valid', train.columns.length);
  hooks.signal?.throwIfAborted();
  const started = performance.now();
  const weight = train.weight ?? null;
  const n = train.y.length;
  // Training losses are means: Σ loss / n, or Σ w·loss / Σ w with weights.
  let lossDiv = n;
  if (weight) {
    lossDiv = 0;
    for (let i = 0; i < weight.length; i++) lossDiv += weight[i]!;
  }
  const F = train.columns.length;
  const objective = getObjective(p.objective);
  if (binned && (binned.train.rows !== n || binned.train.features !== train.columns.length || (valid !== null) !== (binned.valid !== null))) throw new RangeError('trainGbdt: the binned sets do not match the sets');
  const edges = binned?.edges ?? fitEdges(train.columns, p.max_bin, p.bin_sample_size, p.seed);
  const valueBins = valueBinCounts(edges);
  const base = objective.initScore(train.y, weight ?? undefined);
  const grow = { ...p, shrinkage: p.learning_rate, max_features: 0 };
  if (p.max_depth > 0) grow.num_leaves = Math.min(p.num_leaves, 2 ** Math.min(p.max_depth, 30));
  const levels = useLevels(grow);
  const engine = new Engine({
    layout: levels ? { kind: 'levels', slots: levelSlots(grow.max_depth) } : { kind: 'leaves' },
    threads: p.threads,
    train: binned?.train ?? binSet(train.columns, edges),
    y: train.y,
    weight,
    valid: valid ? { m: binned?.valid ?? binSet(valid.columns, edges), y: valid.y } : null,
    objective: p.objective,
    hessian: objective.constantHessian === null || weight !== null,
    oob: false,
  });
  const trees: TreeArrays[] = [];
  const log: IterationInfo[] = [];
  let best = 0;
  let bestLoss = Infinity;
  let initialLoss = NaN;
  try {
    const s = engine.state;
    s.pred.fill(base);
    s.valid?.pred.fill(base);
    // Each tree's column sample and bag seed, fixed by (seed, tree) alone.
    const plan = (t: number): { features: Int32Array; seed: number; fraction: number } => {
      const rng = createRng(deriveSeed(p.seed, 1_000_000 + t));
      return { features: sampleFeatures(F, p.feature_fraction, (k) => rng.int(k)), seed: deriveSeed(p.seed, 2_000_000 + t), fraction: p.bagging_fraction };
    };
    let rootHist: Float64Array | null = null;
    if (levels) {
      const first = await engine.boundary({ value: null, next: null, col: null, bag: p.num_trees > 0 ? plan(0) : null });
      initialLoss = first.loss / lossDiv;
      rootHist = first.rootHist;
    } else initialLoss = engine.sum(await engine.run({ op: 'grad' })) / lossDiv;
    for (let t = 0; t < p.num_trees; t++) {
      hooks.signal?.throwIfAborted();
      const { features, seed: bagSeed } = plan(t);
      let tree: BinTree;
      let trainLoss: number;
      if (levels) {
        const lt = await growTreeLevels(engine, valueBins, n, s.stride, features, grow, null, { signal: hooks.signal, rootHist: rootHist!, deferLast: true });
        const b = await engine.boundary({ value: lt.nodeValue, next: lt.last?.next ?? null, col: lt.last?.col ?? null, bag: t + 1 < p.num_trees ? plan(t + 1) : null });
        trainLoss = b.loss / lossDiv;
        rootHist = b.rootHist;
        tree = lt;
      } else {
        let nIn = n;
        if (p.bagging_fraction < 1) nIn = await engine.sample(false, p.bagging_fraction, bagSeed);
        else await engine.run({ op: 'iota' });
        const lt = await growTree(engine, valueBins, { start: 0, end: nIn, identity: p.bagging_fraction >= 1 }, features, grow, null, hooks.signal);
        trainLoss = engine.sum(await engine.run({ op: 'update', nIn, leafStart: lt.leafStart, leafValue: lt.leafValue, tree: lt })) / lossDiv;
        tree = lt;
      }
      let validLoss: number | null = null;
      if (valid) validLoss = (levels ? await engine.validTree(tree) : engine.sum(await engine.run({ op: 'valid', tree }))) / valid.y.length;
      trees.push(toTreeArrays(tree, edges));
      const info: IterationInfo = { iteration: t + 1, train_loss: trainLoss, valid_loss: validLoss };
      log.push(info);
      hooks.onIteration?.(info);
      const loss = validLoss ?? trainLoss;
      if (loss < bestLoss) {
        bestLoss = loss;
        best = t + 1;
      } else if (valid && p.early_stopping_rounds > 0 && t + 1 - best >= p.early_stopping_rounds) break;
    }
  } finally {
    await engine.close();
  }
  const kept = valid && p.early_stopping_rounds > 0 ? best : trees.length;
  const model: TreeModel = {
    kind: 'gbdt',
    featureNames: featureNames(train),
    baseScore: base,
    aggregation: 'sum',
    targetTransform: train.targetTransform ?? 'identity',
    params: storedParams(p),
    trees: trees.slice(0, kept),
  };
  return { model, best_iteration: kept, iterations: trees.length, log, initial_train_loss: initialLoss, seconds: (performance.now() - started) / 1000 };
}
