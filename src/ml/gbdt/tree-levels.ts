/** @module ml/gbdt/tree-levels
 * Grows one full-depth tree level by level: the tree the leaf-wise grower (ml/gbdt/tree) makes
 * when num_leaves ≥ 2^max_depth — every leaf with a positive-gain split is split until max_depth —
 * but with one sequential pass over the rows per level (ml/gbdt/levels) instead of index
 * partitioning. Nodes are numbered breadth-first; the right child is always left + 1. */
import type { Rng } from '../../core/rng.js';
import { histogramTotals, subtractHistogram } from './histogram.js';
import type { BinTree } from './kernels.js';
import { MAX_LEVEL_DEPTH, NODE_TABLE, OOB_NODE } from './levels.js';
import { leafOutput, type SplitInfo } from './split.js';
import { attachSplit, splitBounds, splitFinder, type GrowOptions, type LeafStats } from './tree.js';

export interface LevelBackend {
  rootHistogram(features: Int32Array): Promise<Float64Array>;
  level(next: Int32Array, col: Int32Array, slot: Int32Array, nSlots: number, features: Int32Array): Promise<Float64Array[]>;
}

export interface LevelTree extends BinTree {
  /** Leaf value by node id for in-bag ids and out-of-bag ids (id + OOB_NODE); NODE_TABLE long. */
  nodeValue: Float64Array;
  /** With deferLast: the last level's tables (rows not moved yet; the caller's next pass moves them). */
  last: { next: Int32Array; col: Int32Array } | null;
}

/** Histograms one level pass may build: the smaller children of the nodes at depth max_depth − 2. */
export function levelSlots(maxDepth: number): number {
  return Math.max(1, 2 ** Math.max(0, maxDepth - 2));
}

/** Whether the level-wise grower applies: full trees (num_leaves ≥ 2^max_depth), 1 ≤ max_depth ≤ 8. */
export function useLevels(o: { max_depth: number; num_leaves: number }): boolean {
  return o.max_depth >= 1 && o.max_depth <= MAX_LEVEL_DEPTH && o.num_leaves >= 2 ** o.max_depth;
}

interface Leaf extends LeafStats {
  node: number;
  best: SplitInfo | null;
}

/**
 * Grows a tree on the rows whose node id is 0 (in the bag); `rows` is the matrix row count (for
 * column offsets), `stride` the Float64 size of one histogram. `rootHist` may come precomputed
 * (from the previous boundary pass). Leaves every row at its leaf's id, except with `deferLast`,
 * where the last level's move is left to the caller (returned in `last`).
 */
export async function growTreeLevels(
  backend: LevelBackend,
  valueBins: Int32Array,
  rows: number,
  stride: number,
  features: Int32Array,
  o: GrowOptions,
  rng: Rng | null,
  opts: { signal?: AbortSignal; rootHist?: Float64Array; deferLast?: boolean } = {},
): Promise<LevelTree> {
  const signal = opts.signal;
  const depth = o.max_depth;
  const maxNodes = 2 ** (depth + 1) - 1;
  const t = { feature: new Int32Array(maxNodes).fill(-1), bin: new Int32Array(maxNodes), left: new Int32Array(maxNodes).fill(-1), right: new Int32Array(maxNodes).fill(-1), value: new Float64Array(maxNodes), gain: new Float64Array(maxNodes) };
  const findBest = splitFinder(valueBins, features, o, rng);
  const value = (g: number, h: number): number => leafOutput(g, h, o.lambda_l2, o.max_delta_step) * o.shrinkage;
  const rootHist = opts.rootHist ?? (await backend.rootHistogram(features));
  const [g0, h0] = histogramTotals(rootHist, features[0]!);
  const root: Leaf = { node: 0, depth: 0, g: g0, h: h0, hist: rootHist, best: null };
  root.best = findBest(root);
  t.value[0] = value(g0, h0);
  let nodes = 1;
  let frontier: Leaf[] = [root];
  const next = new Int32Array(NODE_TABLE);
  const col = new Int32Array(NODE_TABLE);
  const slot = new Int32Array(NODE_TABLE);
  let last: LevelTree['last'] = null;
  for (let d = 0; d < depth; d++) {
    signal?.throwIfAborted();
    const splitting = frontier.filter((l) => l.best !== null);
    if (splitting.length === 0) break;
    for (let i = 0; i < NODE_TABLE; i++) next[i] = (i << 8) | 255; // rows of unsplit nodes stay
    col.fill(0);
    slot.fill(-1);
    const more = d + 1 < depth; // the children may split: build their histograms
    let nSlots = 0;
    for (const leaf of splitting) {
      const s = leaf.best!;
      const ln = nodes++;
      const rn = nodes++;
      attachSplit(t, leaf.node, s, ln, rn, value, o.shrinkage);
      next[leaf.node] = (ln << 8) | s.bin;
      next[leaf.node + OOB_NODE] = ((ln + OOB_NODE) << 8) | s.bin;
      col[leaf.node] = col[leaf.node + OOB_NODE] = s.feature * rows;
      if (more) slot[s.hl <= s.hr ? ln : rn] = stride * nSlots++;
    }
    if (!more && opts.deferLast) {
      last = { next: next.slice(), col: col.slice() };
      break;
    }
    const hists = await backend.level(next, col, slot, nSlots, features);
    const children: Leaf[] = [];
    splitting.forEach((leaf, k) => {
      const s = leaf.best!;
      const ln = t.left[leaf.node]!;
      let lh = leaf.hist;
      let rh = leaf.hist;
      if (more) {
        const small = hists[k]!;
        const large = subtractHistogram(leaf.hist, small, features);
        [lh, rh] = s.hl <= s.hr ? [small, large] : [large, small];
      }
      const [bl, br] = splitBounds(o, leaf, s);
      const l: Leaf = { node: ln, depth: d + 1, g: s.gl, h: s.hl, hist: lh, best: null, bounds: bl };
      const r: Leaf = { node: ln + 1, depth: d + 1, g: s.gr, h: s.hr, hist: rh, best: null, bounds: br };
      if (more) {
        l.best = findBest(l);
        r.best = findBest(r);
      }
      children.push(l, r);
    });
    frontier = children;
  }
  const nodeValue = new Float64Array(NODE_TABLE);
  for (let i = 0; i < nodes; i++) nodeValue[i] = nodeValue[i + OOB_NODE] = t.value[i]!;
  const trim = <T extends Int32Array | Float64Array>(a: T): T => a.slice(0, nodes) as T;
  return { feature: trim(t.feature), bin: trim(t.bin), left: trim(t.left), right: trim(t.right), value: trim(t.value), gain: trim(t.gain), nodeValue, last };
}
