/** @module ml/gbdt/kernels
 * The jobs (Op) run on the shared training state (ml/gbdt/state) and their chunk kernels. A job
 * is an Op over a range cut into fixed-size chunks; every chunk writes only its own outputs
 * (partial histograms, count, loss sum), so results do not depend on which thread ran which
 * chunk. Two layouts: 'leaves' (index arrays, partitioned per split) and 'levels' (a node id per
 * row; the kernels are in ml/gbdt/levels). */
import { createRng, deriveSeed } from '../../core/rng.js';
import { type BinnedMatrix, accumulateHistogram, clearHistogram } from './histogram.js';
import { OOB_NODE } from './levels.js';
import { copyBackChunk, partitionChunk, SIDE_NONE } from './partition.js';
import type { KernelState } from './state.js';

/** A tree in bin space: internal node i sends a row left when bins[feature[i]] <= bin[i]. */
export interface BinTree {
  feature: Int32Array;
  bin: Int32Array;
  left: Int32Array;
  right: Int32Array;
  value: Float64Array;
  /** Each internal node's split gain (0 at leaves): kept for importance, never read when scoring. */
  gain?: Float64Array;
}

export type Op =
  | { op: 'iota' }
  | { op: 'sample'; poisson: boolean; fraction: number; seed: number }
  | { op: 'hist'; start: number; end: number; identity: boolean; features: Int32Array }
  | { op: 'part'; start: number; end: number; feature: number; bin: number; side: number; features: Int32Array }
  | { op: 'copy'; start: number; end: number; nLeft: number }
  | { op: 'grad' }
  | { op: 'update'; nIn: number; leafStart: Int32Array; leafValue: Float64Array; tree: BinTree }
  | { op: 'valid'; tree: BinTree }
  | { op: 'oob'; nIn: number; tree: BinTree }
  | { op: 'nodes'; poisson: boolean; fraction: number; seed: number }
  // Levels layout: the tables (next, col, slot, value, features) are in shared memory.
  | { op: 'root'; nFeatures: number }
  | { op: 'level'; nSlots: number; nFeatures: number }
  | { op: 'boundary'; move: boolean; bag: boolean; fraction: number; seed: number; nFeatures: number }
  | { op: 'oobNodes' }
  | { op: 'validLevels'; depth: number };

/** The [start, end) range an op is chunked over. */
export function opRange(s: KernelState, op: Op): [number, number] {
  switch (op.op) {
    case 'hist':
    case 'part':
    case 'copy':
      return [op.start, op.end];
    case 'oob':
      return [op.nIn, s.n];
    case 'valid':
    case 'validLevels':
      return [0, s.valid?.m.rows ?? 0];
    default:
      return [0, s.n];
  }
}

/** The leaf value of row r of matrix m. */
export function binTreeValue(t: BinTree, m: BinnedMatrix, r: number): number {
  const bins = m.bins;
  const n = m.rows;
  let i = 0;
  // Children are allocated in pairs (right = left + 1): + 1 when the row's bin is above the threshold.
  for (let f = t.feature[0]!; f >= 0; f = t.feature[i]!) i = t.left[i]! + ((t.bin[i]! - bins[f * n + r]!) >>> 31);
  return t.value[i]!;
}

/** Runs chunk c of op on state s. */
export function runChunk(s: KernelState, op: Op, c: number): void {
  const [start, end] = opRange(s, op);
  const a = start + c * s.chunk;
  const b = Math.min(end, a + s.chunk);
  switch (op.op) {
    case 'iota':
      for (let r = a; r < b; r++) s.idx[r] = r;
      return;
    case 'sample':
    case 'nodes':
      return sampleChunk(s, op, c, a, b);
    case 'root': {
      const base = c * s.chunkStride;
      const features = s.tables!.features.subarray(0, op.nFeatures);
      clearHistogram(s.partials, base, features);
      s.lv!.root(a, b, op.nFeatures, base);
      return;
    }
    case 'level': {
      const base = c * s.chunkStride;
      const features = s.tables!.features.subarray(0, op.nFeatures);
      for (let k = 0; k < op.nSlots; k++) clearHistogram(s.partials, base + k * s.stride, features);
      s.lv!.level(a, b, op.nSlots > 0, op.nFeatures, base);
      return;
    }
    case 'boundary': {
      const base = c * s.chunkStride;
      if (op.bag) clearHistogram(s.partials, base, s.tables!.features.subarray(0, op.nFeatures));
      s.sums[c] = s.lv!.boundary(c, a, b, op.move, op.bag, op.fraction, op.seed, op.nFeatures, base);
      return;
    }
    case 'oobNodes':
      s.lv!.oob(a, b);
      return;
    case 'validLevels':
      s.sums[c] = s.lv!.valid(a, b, op.depth);
      return;
    case 'hist': {
      const base = c * s.chunkStride;
      clearHistogram(s.partials, base, op.features);
      accumulateHistogram(s.m, op.identity ? null : s.idx, a, b, s.grad, s.hess, op.features, s.partials, base);
      return;
    }
    case 'part': {
      const base = c * s.chunkStride;
      if (op.side !== SIDE_NONE) clearHistogram(s.partials, base, op.features);
      s.counts[c] = partitionChunk(s.m, s.idx, s.tmp, a, b, op.feature, op.bin, op.side, s.grad, s.hess, op.features, s.partials, base);
      return;
    }
    case 'copy':
      copyBackChunk(s.idx, s.tmp, s.counts, start, end, s.chunk, c, op.nLeft);
      return;
    case 'grad':
      s.sums[c] = gradients(s, null, a, b);
      return;
    case 'update':
      s.sums[c] = updateChunk(s, op, a, b);
      return;
    case 'valid': {
      const v = s.valid!;
      const obj = s.obj!;
      let loss = 0;
      for (let r = a; r < b; r++) {
        const p = v.pred[r]! + binTreeValue(op.tree, v.m, r);
        v.pred[r] = p;
        loss += obj.loss(v.y[r]!, p);
      }
      s.sums[c] = loss;
      return;
    }
    case 'oob':
      for (let i = a; i < b; i++) {
        const r = s.idx[i]!;
        s.oobSum[r] = s.oobSum[r]! + binTreeValue(op.tree, s.m, r);
        s.oobCount[r] = s.oobCount[r]! + 1;
      }
      return;
  }
}

/** Gradients (and hessians) of rows idx[a..b) (rows a..b when idx is null); returns Σ loss. */
function gradients(s: KernelState, idx: Int32Array | null, a: number, b: number): number {
  const obj = s.obj!;
  const y = s.y;
  const pred = s.pred;
  const grad = s.grad;
  const hess = s.hess;
  const w = s.weight;
  let loss = 0;
  if (w !== null) {
    // Weighted: g·w and h·w (hess is always stored then); Σ w·loss.
    for (let i = a; i < b; i++) {
      const r = idx === null ? i : idx[i]!;
      const yr = y[r]!;
      const p = pred[r]!;
      const wr = w[r]!;
      grad[r] = obj.grad(yr, p) * wr;
      hess![r] = (obj.constantHessian ?? obj.hess(yr, p)) * wr;
      loss += obj.loss(yr, p) * wr;
    }
    return loss;
  }
  for (let i = a; i < b; i++) {
    const r = idx === null ? i : idx[i]!;
    const yr = y[r]!;
    const p = pred[r]!;
    grad[r] = obj.grad(yr, p);
    if (hess !== null) hess[r] = obj.hess(yr, p);
    loss += obj.loss(yr, p);
  }
  return loss;
}

/**
 * Row sampling for one chunk of rows, seeded by (seed, chunk) so it does not depend on threads.
 * Bernoulli (bagging): a row is in the bag with probability `fraction`. Poisson (bootstrap): a
 * row's multiplicity k ~ Poisson(fraction); hess = k, grad = −y·k. 'sample' puts in-bag rows at
 * the front of the chunk's slice of tmp (then copied back to idx); 'nodes' sets node ids to 0 for
 * in-bag rows and OOB_NODE for the others.
 */
function sampleChunk(s: KernelState, op: Extract<Op, { op: 'sample' | 'nodes' }>, c: number, a: number, b: number): void {
  const toNodes = op.op === 'nodes';
  const node = s.node;
  const tmp = s.tmp;
  let l = a;
  let hi = b;
  if (!op.poisson && op.fraction >= 1) {
    if (toNodes) node.fill(0, a, b);
    else for (let r = a; r < b; r++) tmp[l++] = r;
  } else if (!op.poisson) {
    const rng = createRng(deriveSeed(op.seed, c));
    for (let r = a; r < b; r++) {
      const inBag = rng.next() < op.fraction;
      if (toNodes) node[r] = inBag ? 0 : OOB_NODE;
      else if (inBag) tmp[l++] = r;
      else tmp[--hi] = r;
    }
  } else {
    const rng = createRng(deriveSeed(op.seed, c));
    const p0 = Math.exp(-op.fraction);
    const hess = s.hess!;
    for (let r = a; r < b; r++) {
      // Inverse-CDF Poisson draw.
      const u = rng.next();
      let k = 0;
      let p = p0;
      let cdf = p0;
      while (u >= cdf && k < 64) {
        k++;
        p *= op.fraction / k;
        cdf += p;
      }
      hess[r] = k;
      s.grad[r] = -s.y[r]! * k;
      if (toNodes) node[r] = k > 0 ? 0 : OOB_NODE;
      else if (k > 0) tmp[l++] = r;
      else tmp[--hi] = r;
    }
  }
  s.counts[c] = toNodes ? 0 : l - a;
}

/** Adds the new tree to the predictions of positions [a, b) and refreshes their gradients. */
function updateChunk(s: KernelState, op: Extract<Op, { op: 'update' }>, a: number, b: number): number {
  const idx = s.idx;
  const pred = s.pred;
  const ls = op.leafStart;
  const nLeaves = ls.length;
  const inEnd = Math.min(b, op.nIn);
  if (a < inEnd) {
    // Leaves tile [0, nIn) in order of leafStart: find the one holding position a.
    let lo = 0;
    let hi = nLeaves - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (ls[mid]! <= a) lo = mid;
      else hi = mid - 1;
    }
    for (let k = lo, i = a; k < nLeaves && i < inEnd; k++) {
      const stop = Math.min(inEnd, k + 1 < nLeaves ? ls[k + 1]! : op.nIn);
      const v = op.leafValue[k]!;
      for (; i < stop; i++) {
        const r = idx[i]!;
        pred[r] = pred[r]! + v;
      }
    }
  }
  for (let i = Math.max(a, op.nIn); i < b; i++) {
    const r = idx[i]!;
    pred[r] = pred[r]! + binTreeValue(op.tree, s.m, r);
  }
  return gradients(s, idx, a, b);
}
