import { describe, expect, it } from 'vitest';
import { trainGbdt } from './booster.js';
import { binSet, fitEdges, valueBinCounts } from './dataset.js';
import { binTreeValue } from './kernels.js';
import { treeValue, type TreeArrays } from './model.js';
import { Engine } from './parallel.js';
import { splitGain } from './split.js';
import { synthetic } from './test-data.js';
import { growTree, type GrowOptions } from './tree.js';
import { growTreeLevels, levelSlots } from './tree-levels.js';

function depthOf(t: TreeArrays): number {
  const d = new Int32Array(t.feature.length);
  let max = 0;
  for (let i = 0; i < t.feature.length; i++) {
    if (t.feature[i]! < 0) continue;
    d[t.left[i]!] = d[t.right[i]!] = d[i]! + 1;
    max = Math.max(max, d[i]! + 1);
  }
  return max;
}

/** Brute-force best root split over both features (gradients g, unit hessians). */
function bruteRoot(cols: Float64Array[], g: Float32Array, lambda: number, minData: number): { feature: number; threshold: number; gain: number } {
  let G = 0;
  for (const v of g) G += v;
  let best = { feature: -1, threshold: NaN, gain: 0 };
  cols.forEach((x, f) => {
    const order = Array.from(x.keys()).sort((a, b) => x[a]! - x[b]!);
    let gl = 0;
    for (let k = 0; k < order.length - 1; k++) {
      gl += g[order[k]!]!;
      const v = x[order[k]!]!;
      if (x[order[k + 1]!] === v) continue; // only between distinct values
      const hl = k + 1;
      const hr = x.length - hl;
      if (hl < minData || hr < minData) continue;
      const gain = splitGain(gl, hl, G - gl, hr, lambda);
      if (gain > best.gain) best = { feature: f, threshold: v, gain };
    }
  });
  return best;
}

describe('one tree', () => {
  for (const [name, shape] of [
    ['level-wise (full depth 3)', { max_depth: 3, num_leaves: 8 }],
    ['leaf-wise (5 leaves)', { max_depth: -1, num_leaves: 5 }],
  ] as const) {
    it(`${name}: leaf values are the optimum −ΣG/(n+λ) of their rows, root split is the brute-force best`, async () => {
      const data = synthetic(300, 7);
      const lambda = 2.5;
      const { model } = await trainGbdt(data, null, { num_trees: 1, learning_rate: 1, lambda_l2: lambda, min_data_in_leaf: 5, ...shape });
      const tree = model.trees[0]!;
      const g = Float32Array.from(data.y, (y) => model.baseScore - y);
      const sums = new Map<number, { g: number; n: number }>();
      for (let i = 0; i < data.y.length; i++) {
        let node = 0;
        while (tree.feature[node]! >= 0) node = data.columns[tree.feature[node]!]![i]! <= tree.threshold[node]! ? tree.left[node]! : tree.right[node]!;
        const s = sums.get(node) ?? { g: 0, n: 0 };
        s.g += g[i]!;
        s.n += 1;
        sums.set(node, s);
      }
      const leaves = [...tree.feature.keys()].filter((i) => tree.feature[i]! < 0);
      // λ > 0 can make every split of a small node lose gain, so a level may stay unsplit.
      expect(leaves.length).toBeLessThanOrEqual(shape.num_leaves);
      expect(leaves.length).toBeGreaterThan(shape.num_leaves / 2);
      if (shape.max_depth > 0) expect(depthOf(tree)).toBe(shape.max_depth);
      for (const leaf of leaves) {
        const s = sums.get(leaf)!;
        expect(s.n).toBeGreaterThanOrEqual(5);
        expect(tree.value[leaf]!).toBeCloseTo(-s.g / (s.n + lambda), 6);
      }
      const root = bruteRoot(data.columns, g, lambda, 5);
      expect(tree.feature[0]).toBe(root.feature);
      expect(tree.threshold[0]).toBe(root.threshold);
    });
  }

  it('the level-wise and the leaf-wise grower build the same full-depth tree', async () => {
    const data = synthetic(20_000, 3);
    const edges = fitEdges(data.columns, 255, 200_000, 1);
    const m = binSet(data.columns, edges);
    const features = Int32Array.of(0, 1);
    const o: GrowOptions = { num_leaves: 16, max_depth: 4, shrinkage: 0.3, max_features: 0, lambda_l2: 1, min_data_in_leaf: 20, min_sum_hessian_in_leaf: 1e-3, min_gain_to_split: 0 };
    const mk = (levels: boolean): Engine =>
      new Engine({ layout: levels ? { kind: 'levels', slots: levelSlots(4) } : { kind: 'leaves' }, threads: 1, train: m, y: data.y, valid: null, objective: 'l2', hessian: false, oob: false });
    const a = mk(false);
    const b = mk(true);
    try {
      for (const e of [a, b]) for (let i = 0; i < data.y.length; i++) e.state.grad[i] = -data.y[i]!;
      await a.run({ op: 'iota' });
      await b.run({ op: 'nodes', poisson: false, fraction: 1, seed: 0 });
      const ta = await growTree(a, valueBinCounts(edges), { start: 0, end: data.y.length, identity: true }, features, o, null);
      const tb = await growTreeLevels(b, valueBinCounts(edges), data.y.length, b.state.stride, features, o, null);
      expect(ta.feature.length).toBe(tb.feature.length);
      for (let r = 0; r < data.y.length; r++) expect(binTreeValue(tb, m, r)).toBeCloseTo(binTreeValue(ta, m, r), 12);
      // Every row sits at its leaf in the level layout.
      for (let r = 0; r < data.y.length; r += 97) expect(tb.feature[b.state.node[r]!]).toBe(-1);
      // …and the leaf-wise ranges tile the rows in leaf order.
      expect(ta.leafStart[0]).toBe(0);
      const model = { feature: ta.feature, threshold: Float64Array.from(ta.bin), left: ta.left, right: ta.right, value: ta.value };
      for (let k = 0; k < ta.leafStart.length; k++) {
        const end = k + 1 < ta.leafStart.length ? ta.leafStart[k + 1]! : data.y.length;
        for (let i = ta.leafStart[k]!; i < end; i += 13) {
          const r = a.state.idx[i]!;
          const row = [m.bins[r]!, m.bins[m.rows + r]!];
          expect(treeValue(model, row)).toBe(ta.leafValue[k]);
        }
      }
    } finally {
      await a.close();
      await b.close();
    }
  });
});
