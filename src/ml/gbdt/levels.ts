/** @module ml/gbdt/levels
 * Level-wise kernels for full-depth trees: every row carries its current node id (Uint16), and one
 * sequential pass per level moves each row to its child and adds it to the histogram of its
 * node's smaller child. No index arrays: memory is read in order, whatever the data size. Rows out
 * of the bag carry node id + OOB_NODE, so they follow the tree without entering histograms.
 *
 * Speed notes (measured): work goes block by block; a branch-free pass moves rows and lists those
 * that need a histogram, then a second loop adds the listed rows (an unpredictable "smaller
 * child?" branch per row cost more than the histogram arithmetic). The kernels are closures over
 * the state's arrays, created once per thread: V8 then compiles the arrays as constants, about
 * 3× faster than passing them as arguments. Per-level tables live in shared memory for the same
 * reason; a job message carries only numbers. */
import { createRng, deriveSeed } from '../../core/rng.js';
import { HIST_STRIDE, type BinnedMatrix } from './histogram.js';
import type { Objective } from './objectives/index.js';

/** The parts of a thread's KernelState (state.ts, which builds the kernels) that the kernels read. */
export interface LevelState {
  n: number;
  m: BinnedMatrix;
  y: Float64Array;
  pred: Float64Array;
  grad: Float32Array;
  hess: Float32Array | null;
  weight: Float64Array | null;
  node: Uint16Array;
  partials: Float64Array;
  oobSum: Float64Array;
  oobCount: Uint16Array;
  valid: { m: BinnedMatrix; y: Float64Array; pred: Float64Array } | null;
  obj: Objective | null;
}

/** Node ids ≥ OOB_NODE are out-of-bag rows (at node id − OOB_NODE). Trees have < 512 nodes. */
export const OOB_NODE = 512;
/** Size of the per-node tables (in-bag and out-of-bag ids). */
export const NODE_TABLE = 2 * OOB_NODE;
/** Deepest tree the level-wise grower handles (2^9 − 1 nodes < OOB_NODE). */
export const MAX_LEVEL_DEPTH = 8;
/** Rows per block (the size of the thread-local row list). */
export const BLOCK = 8192;

/**
 * The per-level tables, shared with the workers (written by the main thread before a job):
 * next[nd] = left child id << 8 | threshold bin, or nd << 8 | 255 when node nd does not split
 * (its rows stay: no bin is above 255); col[nd] = split feature × rows (0 when no split);
 * slot[child] = offset of the child's histogram from the chunk's base, or −1 (no histogram);
 * value[nd] = leaf value; features[0..count) = the tree's features.
 */
export interface LevelTables {
  next: Int32Array;
  col: Int32Array;
  slot: Int32Array;
  value: Float64Array;
  features: Int32Array;
  /** A whole tree as one move table for the validation rows (col in validation-matrix columns). */
  vnext: Int32Array;
  vcol: Int32Array;
}

export interface LevelKernels {
  /** Root histogram of rows a..b with node id 0, into the histogram at base. */
  root(a: number, b: number, nFeatures: number, base: number): void;
  /** One level: move rows a..b, add rows whose child has a slot (when withHist). */
  level(a: number, b: number, withHist: boolean, nFeatures: number, base: number): void;
  /**
   * Tree boundary (gradient boosting): move rows a..b by the tables when `move` (the last level
   * was deferred), add value[node] to the predictions, refresh gradients, then — when `bag` — draw
   * the next tree's bag (fraction < 1: Bernoulli seeded by (seed, chunk)) into node ids and add the
   * in-bag rows to the root histogram at base. Returns Σ loss.
   */
  boundary(c: number, a: number, b: number, move: boolean, bag: boolean, fraction: number, seed: number, nFeatures: number, base: number): number;
  /** Random forest: add value[node] to the out-of-bag sums of rows a..b with an OOB node id. */
  oob(a: number, b: number): void;
  /**
   * Validation rows a..b: apply the tree in vnext/vcol (leaves stay) `depth` times, add value[leaf]
   * to their predictions; returns Σ loss.
   */
  valid(a: number, b: number, depth: number): number;
}

/** The level kernels over state s (which must have the node array and tables). */
export function createLevelKernels(s: LevelState, t: LevelTables): LevelKernels {
  const bins = s.m.bins;
  const n = s.n;
  const node = s.node;
  const grad = s.grad;
  const hess = s.hess;
  const weight = s.weight;
  const pred = s.pred;
  const y = s.y;
  const hist = s.partials;
  const oobSum = s.oobSum;
  const oobCount = s.oobCount;
  const obj = s.obj;
  const { next, col, slot, value, features, vnext, vcol } = t;
  const list = new Int32Array(BLOCK);
  const vnode = new Uint16Array(BLOCK);
  const vbins = s.valid?.m.bins ?? new Uint8Array(0);
  const vpred = s.valid?.pred ?? new Float64Array(0);
  const vy = s.valid?.y ?? new Float64Array(0);

  const moveRows = (a: number, b: number): void => {
    for (let r = a; r < b; r++) {
      const nd = node[r]!;
      const x = next[nd]!;
      node[r] = (x >> 8) + (((x & 255) - bins[col[nd]! + r]!) >>> 31);
    }
  };

  /** moveRows, listing the moved rows whose child has a histogram slot; returns the count. */
  const moveAndList = (a: number, b: number): number => {
    let k = 0;
    for (let r = a; r < b; r++) {
      const nd = node[r]!;
      const x = next[nd]!;
      const child = (x >> 8) + (((x & 255) - bins[col[nd]! + r]!) >>> 31);
      node[r] = child;
      list[k] = r;
      k += ~slot[child]! >>> 31; // 1 when slot ≥ 0
    }
    return k;
  };

  /** Two features, unit hessians: rows list[0..k) into base (+ slot[node] when bySlot). */
  const addList2 = (k: number, bySlot: boolean, base: number): void => {
    const c0 = features[0]! * n;
    const c1 = features[1]! * n;
    const h0 = base + features[0]! * HIST_STRIDE;
    const h1 = base + features[1]! * HIST_STRIDE;
    for (let i = 0; i < k; i++) {
      const r = list[i]!;
      const o = bySlot ? slot[node[r]!]! : 0;
      const g = grad[r]!;
      let j = o + h0 + (bins[c0 + r]! << 1);
      hist[j] = hist[j]! + g;
      hist[j + 1] = hist[j + 1]! + 1;
      j = o + h1 + (bins[c1 + r]! << 1);
      hist[j] = hist[j]! + g;
      hist[j + 1] = hist[j + 1]! + 1;
    }
  };

  /** Any features and hessians, feature by feature. */
  const addListGeneral = (k: number, bySlot: boolean, nFeatures: number, base: number): void => {
    for (let f = 0; f < nFeatures; f++) {
      const c = features[f]! * n;
      const h0 = base + features[f]! * HIST_STRIDE;
      for (let i = 0; i < k; i++) {
        const r = list[i]!;
        const j = (bySlot ? slot[node[r]!]! : 0) + h0 + (bins[c + r]! << 1);
        hist[j] = hist[j]! + grad[r]!;
        hist[j + 1] = hist[j + 1]! + (hess === null ? 1 : hess[r]!);
      }
    }
  };

  const addList = (k: number, bySlot: boolean, nFeatures: number, base: number): void => {
    if (nFeatures === 2 && hess === null) addList2(k, bySlot, base);
    else addListGeneral(k, bySlot, nFeatures, base);
  };

  /** pred += value[node]; gradients (and hessians) at the new prediction; returns Σ loss. */
  const addLeafValues = (a: number, b: number): number => {
    const o = obj!;
    let loss = 0;
    for (let r = a; r < b; r++) {
      const p = pred[r]! + value[node[r]!]!;
      pred[r] = p;
      const yr = y[r]!;
      grad[r] = o.grad(yr, p);
      loss += o.loss(yr, p);
    }
    if (weight !== null) {
      // Weighted: g·w, h·w and w·loss (hess is always stored then).
      loss = 0;
      for (let r = a; r < b; r++) {
        const wr = weight[r]!;
        grad[r] = grad[r]! * wr;
        hess![r] = (o.constantHessian ?? o.hess(y[r]!, pred[r]!)) * wr;
        loss += o.loss(y[r]!, pred[r]!) * wr;
      }
    } else if (hess !== null) for (let r = a; r < b; r++) hess[r] = o.hess(y[r]!, pred[r]!);
    return loss;
  };

  return {
    root(a, b, nFeatures, base) {
      for (let lo = a; lo < b; lo += BLOCK) {
        const hi = Math.min(b, lo + BLOCK);
        let k = 0;
        for (let r = lo; r < hi; r++) {
          list[k] = r;
          k += (node[r]! - 1) >>> 31; // 1 when node[r] = 0
        }
        addList(k, false, nFeatures, base);
      }
    },
    level(a, b, withHist, nFeatures, base) {
      for (let lo = a; lo < b; lo += BLOCK) {
        const hi = Math.min(b, lo + BLOCK);
        if (!withHist) moveRows(lo, hi);
        else addList(moveAndList(lo, hi), true, nFeatures, base);
      }
    },
    boundary(c, a, b, move, bag, fraction, seed, nFeatures, base) {
      const rng = bag && fraction < 1 ? createRng(deriveSeed(seed, c)) : null;
      let loss = 0;
      for (let lo = a; lo < b; lo += BLOCK) {
        const hi = Math.min(b, lo + BLOCK);
        if (move) moveRows(lo, hi);
        loss += addLeafValues(lo, hi);
        if (!bag) continue;
        let k = 0;
        if (rng === null) {
          node.fill(0, lo, hi);
          for (let r = lo; r < hi; r++) list[k++] = r;
        } else {
          for (let r = lo; r < hi; r++) {
            const out = +!(rng.next() < fraction);
            node[r] = out * OOB_NODE;
            list[k] = r;
            k += 1 - out;
          }
        }
        addList(k, false, nFeatures, base);
      }
      return loss;
    },
    valid(a, b, depth) {
      const o = obj!;
      let loss = 0;
      for (let lo = a; lo < b; lo += BLOCK) {
        const hi = Math.min(b, lo + BLOCK);
        vnode.fill(0);
        // Level by level over a block in cache: branch-free, unlike a per-row descent.
        for (let d = 0; d < depth; d++) {
          for (let r = lo; r < hi; r++) {
            const nd = vnode[r - lo]!;
            const x = vnext[nd]!;
            vnode[r - lo] = (x >> 8) + (((x & 255) - vbins[vcol[nd]! + r]!) >>> 31);
          }
        }
        for (let r = lo; r < hi; r++) {
          const p = vpred[r]! + value[vnode[r - lo]!]!;
          vpred[r] = p;
          loss += o.loss(vy[r]!, p);
        }
      }
      return loss;
    },
    oob(a, b) {
      for (let r = a; r < b; r++) {
        const nd = node[r]!;
        const out = nd >>> 9; // 1 when nd ≥ OOB_NODE; branch-free, as a third of the rows are out
        oobSum[r] = oobSum[r]! + out * value[nd]!;
        oobCount[r] = oobCount[r]! + out;
      }
    },
  };
}
