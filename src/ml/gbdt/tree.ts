/** @module ml/gbdt/tree
 * Grows one tree leaf-wise (best-first) on binned data: always splits the leaf with the largest
 * gain, within num_leaves and max_depth (max_depth 6 with num_leaves 64 gives full depth-6 trees).
 * Row partitioning and histograms are the backend's (ml/gbdt/parallel); the smaller child's
 * histogram is built while partitioning, the larger one by subtraction from the parent. */
import type { Rng } from '../../core/rng.js';
import { histogramTotals, HIST_STRIDE, subtractHistogram } from './histogram.js';
import type { BinTree } from './kernels.js';
import { SIDE_LEFT, SIDE_NONE, SIDE_RIGHT } from './partition.js';
import { bestConstrainedSplit, bestSplitForFeature, childBounds, FREE, leafOutput, type LeafBounds, type SplitInfo, type SplitParams } from './split.js';


/** Turns `node` into an internal node splitting as `s`, with children ln and rn as leaves. Shared by both growers. */
export function attachSplit(t: BinTree, node: number, s: SplitInfo, ln: number, rn: number, value: (g: number, h: number) => number, shrinkage: number): void {
  t.feature[node] = s.feature;
  t.bin[node] = s.bin;
  t.left[node] = ln;
  t.right[node] = rn;
  // Under monotone constraints the split carries its children's values, held within their bounds.
  t.value[ln] = s.outL === undefined ? value(s.gl, s.hl) : s.outL * shrinkage;
  t.value[rn] = s.outR === undefined ? value(s.gr, s.hr) : s.outR * shrinkage;
  if (t.gain) t.gain[node] = s.gain;
}

/** The bounds of the two children of a leaf split as `s` (monotone constraints; FREE without). */
export function splitBounds(o: GrowOptions, leaf: LeafStats, s: SplitInfo): [LeafBounds, LeafBounds] {
  return o.monotone ? childBounds(s, leaf.bounds ?? FREE, o.monotone[s.feature] ?? 0) : [FREE, FREE];
}

export interface TreeBackend {
  histogram(start: number, end: number, identity: boolean, features: Int32Array): Promise<Float64Array>;
  split(start: number, end: number, feature: number, bin: number, side: number, features: Int32Array): Promise<{ nLeft: number; hist: Float64Array | null }>;
}

export interface GrowOptions extends SplitParams {
  num_leaves: number;
  /** ≤ 0: no depth limit. */
  max_depth: number;
  /** Multiplies every leaf value (the learning rate; 1 for forests). */
  shrinkage: number;
  /** Bound on each leaf's value before shrinkage (0 / absent: none). */
  max_delta_step?: number;
  /** Features tried per split, drawn with `rng` (0 or ≥ the tree's features: all). */
  max_features: number;
  /** Per feature: +1 the tree's value may only rise with it, −1 only fall, 0 free (null / absent: no constraint). */
  monotone?: Int8Array | null;
}

/** A grown tree: nodes in creation order (root 0), plus its leaves in index-range order. */
export interface GrownTree extends BinTree {
  /** First index position of each leaf's rows; leaves tile [start, end) in this order. */
  leafStart: Int32Array;
  leafValue: Float64Array;
  leafNode: Int32Array;
}

/** What split search needs to know about a leaf. */
export interface LeafStats {
  depth: number;
  g: number;
  h: number;
  hist: Float64Array;
  /** Its allowed values under monotone constraints (absent: free). */
  bounds?: LeafBounds;
}

/**
 * The best split of a leaf over the candidate features (all of `features`, or max_features of
 * them drawn with rng per call); null at max_depth or when nothing has positive gain. Ties keep
 * the lowest feature.
 */
export function splitFinder(valueBins: Int32Array, features: Int32Array, o: GrowOptions, rng: Rng | null): (leaf: LeafStats) => SplitInfo | null {
  const pool = Int32Array.from(features);
  const candidates = (): Int32Array => {
    if (rng === null || o.max_features <= 0 || o.max_features >= pool.length) return features;
    for (let i = 0; i < o.max_features; i++) {
      const j = i + rng.int(pool.length - i);
      const x = pool[i]!;
      pool[i] = pool[j]!;
      pool[j] = x;
    }
    return pool.slice(0, o.max_features).sort();
  };
  return (leaf) => {
    if (o.max_depth > 0 && leaf.depth >= o.max_depth) return null;
    let best: SplitInfo | null = null;
    const mono = o.monotone ?? null;
    for (const f of candidates()) {
      const s = mono === null
        ? bestSplitForFeature(leaf.hist, f * HIST_STRIDE, valueBins[f]!, leaf.g, leaf.h, f, o)
        : bestConstrainedSplit(leaf.hist, f * HIST_STRIDE, valueBins[f]!, leaf.g, leaf.h, f, o, mono[f] ?? 0, leaf.bounds ?? FREE);
      if (s !== null && (best === null || s.gain > best.gain)) best = s;
    }
    return best;
  };
}

interface Leaf extends LeafStats {
  node: number;
  start: number;
  end: number;
  best: SplitInfo | null;
}

/**
 * Grows a tree over index positions [start, end) using `features` (sorted; the tree's column
 * sample). valueBins[f] is the number of value bins of feature f. `identity` says idx[i] = i.
 */
export async function growTree(
  backend: TreeBackend,
  valueBins: Int32Array,
  range: { start: number; end: number; identity: boolean },
  features: Int32Array,
  o: GrowOptions,
  rng: Rng | null,
  signal?: AbortSignal,
): Promise<GrownTree> {
  const maxNodes = 2 * o.num_leaves - 1;
  const t = { feature: new Int32Array(maxNodes).fill(-1), bin: new Int32Array(maxNodes), left: new Int32Array(maxNodes).fill(-1), right: new Int32Array(maxNodes).fill(-1), value: new Float64Array(maxNodes), gain: new Float64Array(maxNodes) };
  const findBest = splitFinder(valueBins, features, o, rng);
  const value = (g: number, h: number): number => leafOutput(g, h, o.lambda_l2, o.max_delta_step) * o.shrinkage;

  const rootHist = await backend.histogram(range.start, range.end, range.identity, features);
  const [g0, h0] = histogramTotals(rootHist, features[0]!);
  const root: Leaf = { node: 0, start: range.start, end: range.end, depth: 0, g: g0, h: h0, hist: rootHist, best: null };
  root.best = findBest(root);
  t.value[0] = value(g0, h0);
  let nodes = 1;
  const leaves: Leaf[] = [root];
  while (leaves.length < o.num_leaves) {
    signal?.throwIfAborted();
    let pick = -1;
    for (let i = 0; i < leaves.length; i++) {
      const b = leaves[i]!.best;
      if (b === null) continue;
      const cur = pick < 0 ? null : leaves[pick]!;
      if (cur === null || b.gain > cur.best!.gain || (b.gain === cur.best!.gain && leaves[i]!.node < cur.node)) pick = i;
    }
    if (pick < 0) break;
    const leaf = leaves[pick]!;
    const s = leaf.best!;
    // Children that can never split (depth limit, or this split fills num_leaves) need no histogram.
    const more = !(o.max_depth > 0 && leaf.depth + 1 >= o.max_depth) && leaves.length + 1 < o.num_leaves;
    const side = !more ? SIDE_NONE : s.hl <= s.hr ? SIDE_LEFT : SIDE_RIGHT;
    const { nLeft, hist } = await backend.split(leaf.start, leaf.end, s.feature, s.bin, side, features);
    const small = hist ?? leaf.hist;
    const large = hist ? subtractHistogram(leaf.hist, small, features) : leaf.hist;
    const ln = nodes++;
    const rn = nodes++;
    attachSplit(t, leaf.node, s, ln, rn, value, o.shrinkage);
    const mid = leaf.start + nLeft;
    const [bl, br] = splitBounds(o, leaf, s);
    const l: Leaf = { node: ln, start: leaf.start, end: mid, depth: leaf.depth + 1, g: s.gl, h: s.hl, hist: side === SIDE_LEFT ? small : large, best: null, bounds: bl };
    const r: Leaf = { node: rn, start: mid, end: leaf.end, depth: leaf.depth + 1, g: s.gr, h: s.hr, hist: side === SIDE_LEFT ? large : small, best: null, bounds: br };
    l.best = more ? findBest(l) : null;
    r.best = more ? findBest(r) : null;
    leaves.splice(pick, 1, l, r);
  }
  // leaves stays in index-range order: a split replaces a leaf by its left then right child.
  const trim = <T extends Int32Array | Float64Array>(a: T): T => a.slice(0, nodes) as T;
  return {
    feature: trim(t.feature),
    bin: trim(t.bin),
    left: trim(t.left),
    right: trim(t.right),
    value: trim(t.value),
    gain: trim(t.gain),
    leafStart: Int32Array.from(leaves, (x) => x.start),
    leafValue: Float64Array.from(leaves, (x) => t.value[x.node]!),
    leafNode: Int32Array.from(leaves, (x) => x.node),
  };
}
