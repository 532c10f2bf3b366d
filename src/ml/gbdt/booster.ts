/** @module ml/gbdt/booster
 * Gradient boosting: base score, then per tree (seeded column and row samples) grow a tree on
 * the gradients, add it to the predictions, refresh gradients, score the validation set, and
 * stop early when the validation loss stalls (keeping the best iteration's trees). y comes
 * already transformed; the engine never sees log1p. */
import { StockpipeError } from '../../core/errors.js';
import { createRng, deriveSeed } from '../../core/rng.js';
import { binColumn, type NumericColumn } from './binning.js';
import { checkTrainSet, emptyBinned, featureEdges, featureNames, fitEdges, binSet, sampleFeatures, toTreeArrays, valueBinCounts, type IterationInfo, type TrainHooks, type TrainSet } from './dataset.js';
import type { TreeModel, TreeArrays } from './model.js';
import { getObjective } from './objectives/index.js';
import type { BinTree } from './kernels.js';
import type { BinnedMatrix } from './histogram.js';
import { betweenTrees, Engine } from './parallel.js';
import { monotoneOf, resolveGbdtParams, storedParams, type GbdtParams } from './params.js';
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
  return binSetsBy({ train: train.y.length, valid: valid ? valid.y.length : null }, train.columns.length, (f, set) => (set === 'train' ? train : valid!).columns[f]!, params);
}

/**
 * binSets over columns asked for one feature at a time (`column(f, set)`, of `rows` rows): the same
 * edges and bins. `done(f)` is called once feature f is binned, so that a caller holding the
 * columns only in its own store can let go of them before the next is read.
 */
export function binSetsBy(rows: { train: number; valid: number | null }, features: number, column: (f: number, set: 'train' | 'valid') => NumericColumn, params: Partial<GbdtParams> = {}, done?: (f: number) => void): BinnedSets {
  const p = resolveGbdtParams(params);
  const out: BinnedSets = { edges: [], train: emptyBinned(rows.train, features), valid: rows.valid === null ? null : emptyBinned(rows.valid, features) };
  for (let f = 0; f < features; f++) {
    const c = column(f, 'train');
    if (c.length !== rows.train) throw new RangeError(`binSetsBy: column ${f} has ${c.length} rows, not ${rows.train}`);
    const e = featureEdges(c, f, p.max_bin, p.bin_sample_size, p.seed);
    out.edges.push(e);
    binColumn(c, e, out.train.bins, f * rows.train);
    if (out.valid) binColumn(column(f, 'valid'), e, out.valid.bins, f * out.valid.rows);
    done?.(f);
  }
  return out;
}

/**
 * The targets and per-row starts the engine trains on. Identity link: y and init as given. Log
 * link: y must be ≥ 0; it is divided by its (weighted) mean s, and log s taken off every start,
 * so that μ = exp(raw) is unchanged while gradients and hessians are O(1) per row: λ, the leaf
 * sizes counted in Σ hessian and max_delta_step then mean what they mean for l2, whatever the
 * target's scale (volumes ~10^6). The trees and base score are those of the unscaled problem
 * up to λ; the reported losses are on y / s.
 */
function logLinkSets(logLink: boolean, train: TrainSet, valid: TrainSet | null): { y: TrainSet['y']; init: Float64Array | Float32Array | null; validY: TrainSet['y'] | null; validInit: Float64Array | Float32Array | null } {
  if (!logLink) return { y: train.y, init: train.init ?? null, validY: valid?.y ?? null, validInit: valid?.init ?? null };
  const check = (set: TrainSet, what: string): void => {
    for (let i = 0; i < set.y.length; i++) if (set.y[i]! < 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `${what} set: y[${i}] is ${set.y[i]}; a log-link objective needs a target ≥ 0`, { hint: 'Train poisson or tweedie on the raw, non-negative target (volumes), or use objective l2.' });
  };
  check(train, 'train');
  if (valid) check(valid, 'valid');
  const w = train.weight;
  let sy = 0;
  let sw = 0;
  for (let i = 0; i < train.y.length; i++) {
    const wi = w ? w[i]! : 1;
    sy += wi * train.y[i]!;
    sw += wi;
  }
  const scale = sw > 0 && sy > 0 ? sy / sw : 1;
  const logScale = Math.log(scale);
  const starts = (set: TrainSet): Float64Array => Float64Array.from({ length: set.y.length }, (_, i) => (set.init ? set.init[i]! : 0) - logScale);
  return { y: Float64Array.from(train.y, (v) => v / scale), init: starts(train), validY: valid ? Float64Array.from(valid.y, (v) => v / scale) : null, validInit: valid ? starts(valid) : null };
}

/** Trains a gradient-boosted tree ensemble; `valid` (may be null) drives early stopping. `binned`:
 * binSets of the same sets and binning parameters, used instead of binning them again (the sets'
 * columns are then not read and may be empty). */
export async function trainGbdt(train: TrainSet, valid: TrainSet | null, params: Partial<GbdtParams> = {}, hooks: TrainHooks = {}, binned?: BinnedSets): Promise<GbdtResult> {
  const p = resolveGbdtParams(params);
  if (binned && (valid !== null) !== (binned.valid !== null)) throw new RangeError('trainGbdt: the binned sets do not match the sets');
  checkTrainSet(train, 'train', undefined, binned?.train);
  const F = binned && train.columns.length === 0 ? binned.train.features : train.columns.length;
  if (valid) checkTrainSet(valid, 'valid', F, binned?.valid ?? undefined);
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
  const objective = getObjective(p.objective, { tweediePower: p.tweedie_variance_power, huberDelta: p.huber_delta });
  const ls = logLinkSets(objective.link === 'log', train, valid);
  if (binned && binned.train.features !== F) throw new RangeError('trainGbdt: the binned sets do not match the sets');
  const edges = binned?.edges ?? fitEdges(train.columns, p.max_bin, p.bin_sample_size, p.seed);
  const valueBins = valueBinCounts(edges);
  const base = objective.initScore(ls.y, weight ?? undefined, ls.init ?? undefined);
  const grow = { ...p, shrinkage: p.learning_rate, max_features: 0, monotone: monotoneOf(p, F) };
  if (p.max_depth > 0) grow.num_leaves = Math.min(p.num_leaves, 2 ** Math.min(p.max_depth, 30));
  const levels = useLevels(grow);
  const engine = new Engine({
    layout: levels ? { kind: 'levels', slots: levelSlots(grow.max_depth) } : { kind: 'leaves' },
    threads: p.threads,
    train: binned?.train ?? binSet(train.columns, edges),
    y: ls.y,
    weight,
    valid: valid ? { m: binned?.valid ?? binSet(valid.columns, edges), y: ls.validY! } : null,
    objective: p.objective,
    tweediePower: p.tweedie_variance_power,
    huberDelta: p.huber_delta,
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
    if (ls.init) for (let i = 0; i < n; i++) s.pred[i] = base + ls.init[i]!;
    if (s.valid && ls.validInit) for (let i = 0; i < s.valid.pred.length; i++) s.valid.pred[i] = base + ls.validInit[i]!;
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
      await betweenTrees(hooks.signal);
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
    featureNames: featureNames(train, F),
    baseScore: base,
    aggregation: 'sum',
    targetTransform: objective.link === 'log' ? 'log' : (train.targetTransform ?? 'identity'),
    params: storedParams(p),
    trees: trees.slice(0, kept),
  };
  return { model, best_iteration: kept, iterations: trees.length, log, initial_train_loss: initialLoss, seconds: (performance.now() - started) / 1000 };
}
