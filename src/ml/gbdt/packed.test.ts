import { describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { trainGbdt } from './booster.js';
import { trainForest } from './forest.js';
import { predictRaw, type TreeModel } from './model.js';
import { gridTrees, packTrees, predictGridRaw, predictPackedRaw, type GridTrees } from './packed.js';
import { synthetic } from './test-data.js';

/** Random rows, some with NaN or values beyond the training range. */
function rows(n: number): Float64Array[] {
  const rng = createRng(9);
  return Array.from({ length: n }, (_, i) => Float64Array.of(i % 97 === 0 ? NaN : rng.next() * 14 - 2, i % 89 === 0 ? NaN : rng.normal() * 2));
}

function expectSameBits(model: TreeModel): void {
  const p = packTrees(model);
  let differ = 0;
  for (const r of rows(20_000)) if (!Object.is(predictPackedRaw(p, r), predictRaw(model, r))) differ++;
  expect(differ).toBe(0);
}

describe('packed trees', () => {
  const train = synthetic(4_000, 5);

  it('score exactly as predictRaw: gbdt (sum), with and without a log1p offset', async () => {
    const { model } = await trainGbdt(train, null, { num_trees: 30, threads: 1 });
    expect(model.aggregation).toBe('sum');
    expectSameBits(model);
    expectSameBits({ ...model, offset: { feature: 0, transform: 'log1p' } });
  });

  it('score exactly as predictRaw: rf (mean of trees)', async () => {
    const { model } = await trainForest(train, { num_trees: 9, max_depth: 5, threads: 1 });
    expect(model.aggregation).toBe('mean');
    expectSameBits(model);
  });

  it('a wrong child index would show: packing offsets every tree after the first', async () => {
    const { model } = await trainGbdt(train, null, { num_trees: 5, threads: 1 });
    const p = packTrees(model);
    expect(p.roots[1]).toBe(model.trees[0]!.feature.length);
    expect(p.left[p.roots[1]!]).toBe(model.trees[1]!.left[0]! + p.roots[1]!);
  });
});

describe('the table of a two-input model', () => {
  const train = synthetic(4_000, 5);

  /** Random rows, every cut itself and its neighbours (either side of `x ≤ threshold`), ±0, ±Infinity and NaN. */
  function probes(g: GridTrees): [number, number][] {
    const rng = createRng(11);
    const near = (c: Float64Array): number[] => [...c].flatMap((v) => [v, v - Math.abs(v) * 1e-15 - 1e-300, v + Math.abs(v) * 1e-15 + 1e-300]);
    const a = [...near(g.cuts0), 0, -0, Infinity, -Infinity, NaN, -1e300, 1e300];
    const b = [...near(g.cuts1), 0, -0, Infinity, -Infinity, NaN, -1e300, 1e300];
    const out: [number, number][] = [];
    for (let i = 0; i < 20_000; i++) out.push([rng.next() * 14 - 2, rng.normal() * 2]);
    for (let i = 0; i < 40_000; i++) out.push([a[Math.floor(rng.next() * a.length)]!, b[Math.floor(rng.next() * b.length)]!]);
    return out;
  }

  function expectSameBitsAsWalk(model: TreeModel): GridTrees {
    const p = packTrees(model);
    const g = gridTrees(p);
    expect(g).not.toBeNull();
    const row = new Float64Array(2);
    let differ = 0;
    for (const [x0, x1] of probes(g!)) if (!Object.is(predictGridRaw(g!, p, x0, x1, row), predictPackedRaw(p, Float64Array.of(x0, x1)))) differ++;
    expect(differ).toBe(0);
    return g!;
  }

  it('scores every row exactly as the walk down the trees: gbdt, with and without an offset on either input', async () => {
    const { model } = await trainGbdt(train, null, { num_trees: 40, threads: 1 });
    const g = expectSameBitsAsWalk(model);
    expect(g.cuts0.length).toBeGreaterThan(10);
    expect(g.cuts1.length).toBeGreaterThan(10);
    expectSameBitsAsWalk({ ...model, offset: { feature: 0, transform: 'log1p' } });
    expectSameBitsAsWalk({ ...model, offset: { feature: 1, transform: 'identity' } });
  });

  it('scores every row exactly as the walk down the trees: rf (mean of trees)', async () => {
    const { model } = await trainForest(train, { num_trees: 9, max_depth: 6, threads: 1 });
    expectSameBitsAsWalk(model);
  });

  it('one cell per distinct cut: -0 and 0 are one, and a repeated threshold is one', () => {
    const tree = { feature: Int32Array.of(0, 1, -1, -1, -1), threshold: Float64Array.of(-0, 0, 0, 0, 0), left: Int32Array.of(1, 2, 0, 0, 0), right: Int32Array.of(4, 3, 0, 0, 0), value: Float64Array.of(0, 0, 1, 2, 3) };
    const two = { feature: Int32Array.of(0, -1, -1), threshold: Float64Array.of(0, 0, 0), left: Int32Array.of(1, 0, 0), right: Int32Array.of(2, 0, 0), value: Float64Array.of(0, 10, 20) };
    const model = { trees: [tree, two], baseScore: 0.5 } as unknown as TreeModel;
    const g = expectSameBitsAsWalk({ ...model, aggregation: 'sum', targetTransform: 'identity', offset: null } as unknown as TreeModel);
    expect(g.cuts0.length === 1 && g.cuts0[0] === 0).toBe(true);
    expect(g.cuts1.length === 1 && g.cuts1[0] === 0).toBe(true);
    expect([...g.sums]).toEqual([0.5 + 1 + 10, 0.5 + 2 + 10, 0.5 + 3 + 20, 0.5 + 3 + 20]);
  });

  it('is not built for a model that splits on a third input, on a non-finite threshold, or beyond MAX_GRID_CELLS', () => {
    const leaf = (feature: number, threshold: number) => ({ feature: Int32Array.of(feature, -1, -1), threshold: Float64Array.of(threshold, 0, 0), left: Int32Array.of(1, 0, 0), right: Int32Array.of(2, 0, 0), value: Float64Array.of(0, 1, 2) });
    const of = (trees: unknown[]) => packTrees({ trees, baseScore: 0, aggregation: 'sum', targetTransform: 'identity', offset: null } as unknown as TreeModel);
    expect(gridTrees(of([leaf(0, 1), leaf(1, 2)]))).not.toBeNull();
    expect(gridTrees(of([leaf(0, 1), leaf(2, 2)]))).toBeNull();
    expect(gridTrees(of([leaf(0, Infinity)]))).toBeNull();
    // One tree splitting on `feature` at 0, 1, …, n − 1 (a chain: each split's right child is the next split).
    const chain = (feature: number, n: number) => ({
      feature: Int32Array.from({ length: 2 * n + 1 }, (_, i) => (i < n ? feature : -1)),
      threshold: Float64Array.from({ length: 2 * n + 1 }, (_, i) => (i < n ? i : 0)),
      left: Int32Array.from({ length: 2 * n + 1 }, (_, i) => (i < n ? n + i : 0)),
      right: Int32Array.from({ length: 2 * n + 1 }, (_, i) => (i < n - 1 ? i + 1 : i === n - 1 ? 2 * n : 0)),
      value: Float64Array.from({ length: 2 * n + 1 }, (_, i) => i),
    });
    expect(gridTrees(of([chain(0, 511), chain(1, 511)]))?.sums.length).toBe(512 * 512);
    expect(gridTrees(of([chain(0, 512), chain(1, 512)]))).toBeNull();
    const many = (f: number, n: number) => Array.from({ length: n }, (_, i) => leaf(f, i));
    // 130 × 130 cells: built for up to MAX_GRID_WORK / 16,900 trees (1,985), walked beyond.
    expect(gridTrees(of([...many(0, 129), ...many(1, 129), ...Array.from({ length: 1985 - 258 }, () => leaf(0, 0))]))).not.toBeNull();
    expect(gridTrees(of([...many(0, 129), ...many(1, 129), ...Array.from({ length: 1986 - 258 }, () => leaf(0, 0))]))).toBeNull();
  });
});
