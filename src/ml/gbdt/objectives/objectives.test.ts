import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../../core/errors.js';
import { createRng } from '../../../core/rng.js';
import { trainGbdt } from '../booster.js';
import { fromJSON, predictBatchRaw, predict, toJSON, type TreeModel } from '../model.js';
import { packTrees, predictPacked } from '../packed.js';
import { resolveGbdtParams, storedParams } from '../params.js';
import { leafOutput } from '../split.js';
import { getObjective, type Objective } from './index.js';
import { scorerFromJSON } from '../../volume-model.js';

const objectives: Array<[string, Objective]> = [
  ['l2', getObjective('l2')],
  ['poisson', getObjective('poisson')],
  ['tweedie 1.2', getObjective('tweedie', { tweediePower: 1.2 })],
  ['tweedie 1.5', getObjective('tweedie', { tweediePower: 1.5 })],
  ['tweedie 1.9', getObjective('tweedie', { tweediePower: 1.9 })],
  ['huber 0.2', getObjective('huber', { huberDelta: 0.2 })],
  ['huber 3', getObjective('huber', { huberDelta: 3 })],
];

describe('objectives: gradients and hessians', () => {
  for (const [name, o] of objectives) {
    it(`${name}: grad = dloss/dp and hess = dgrad/dp by central differences, over many (y, p)`, () => {
      const rng = createRng(7);
      for (let k = 0; k < 500; k++) {
        const y = o.link === 'log' ? (k % 10 === 0 ? 0 : rng.next() * 20) : rng.normal() * 5;
        const p = rng.normal() * 2;
        const e = 1e-5;
        // l2's gradient is that of ½(p − y)²; its reported loss is (p − y)².
        const half = o.name === 'l2' ? 0.5 : 1;
        const dl = (half * (o.loss(y, p + e) - o.loss(y, p - e))) / (2 * e);
        const dg = (o.grad(y, p + e) - o.grad(y, p - e)) / (2 * e);
        const g = o.grad(y, p);
        const h = o.constantHessian ?? o.hess(y, p);
        expect(Math.abs(g - dl)).toBeLessThan(1e-5 * (1 + Math.abs(g)));
        // huber's hessian is 1 everywhere (LightGBM's): exact inside δ, an upper bound beyond.
        if (o.name === 'huber') expect(h).toBeGreaterThanOrEqual(dg - 1e-5);
        else expect(Math.abs(h - dg)).toBeLessThan(1e-5 * (1 + Math.abs(h)));
        // Convex in p: a Newton step is a descent step.
        expect(h).toBeGreaterThan(0);
      }
    });

    it(`${name}: initScore is the constant that minimises the weighted loss around a per-row start`, () => {
      const rng = createRng(11);
      const n = 300;
      const y = Float64Array.from({ length: n }, () => (o.link === 'log' ? rng.next() * 50 : rng.normal() * 3 + 1));
      const w = Float64Array.from({ length: n }, () => 0.2 + rng.next());
      const init = Float64Array.from({ length: n }, () => rng.normal() * 0.5);
      const total = (c: number): number => {
        let s = 0;
        for (let i = 0; i < n; i++) s += w[i]! * o.loss(y[i]!, c + init[i]!);
        return s;
      };
      const c = o.initScore(y, w, init);
      expect(total(c)).toBeLessThan(total(c + 1e-3));
      expect(total(c)).toBeLessThan(total(c - 1e-3));
      let g = 0;
      for (let i = 0; i < n; i++) g += w[i]! * o.grad(y[i]!, c + init[i]!);
      expect(Math.abs(g)).toBeLessThan(1e-8 * n * 50);
    });
  }
});

describe('max_delta_step', () => {
  it('leafOutput bounds the Newton step to ±max_delta_step, and 0 leaves it alone', () => {
    expect(leafOutput(-100, 1, 0, 0.7)).toBe(0.7);
    expect(leafOutput(100, 1, 0, 0.7)).toBe(-0.7);
    expect(leafOutput(-0.3, 1, 0, 0.7)).toBeCloseTo(0.3, 15);
    expect(leafOutput(-100, 1, 0, 0)).toBe(100);
  });

  it('defaults: 0 for l2 (not stored), 0.7 for poisson and tweedie (stored); tweedie power checked', () => {
    expect(resolveGbdtParams({}).max_delta_step).toBe(0);
    expect(storedParams(resolveGbdtParams({}))).not.toHaveProperty('max_delta_step');
    expect(storedParams(resolveGbdtParams({}))).not.toHaveProperty('tweedie_variance_power');
    expect(resolveGbdtParams({ objective: 'poisson' }).max_delta_step).toBe(0.7);
    expect(storedParams(resolveGbdtParams({ objective: 'tweedie', tweedie_variance_power: 1.3 }))).toMatchObject({ objective: 'tweedie', tweedie_variance_power: 1.3, max_delta_step: 0.7 });
    expect(resolveGbdtParams({ objective: 'poisson', max_delta_step: 0 }).max_delta_step).toBe(0);
    // Each with the one bound that holds (2.5 named the inert rule's [1, 2] before).
    for (const bad of [1, 2, 2.5, 0.5]) expect(() => resolveGbdtParams({ objective: 'tweedie', tweedie_variance_power: bad })).toThrow(/strictly between 1 and 2/);
    expect(() => resolveGbdtParams({ objective: 'gamma' as 'l2' })).toThrow(/l2, poisson, tweedie, huber/);
    expect(resolveGbdtParams({ objective: 'huber' }).max_delta_step).toBe(0);
    expect(storedParams(resolveGbdtParams({ objective: 'huber', huber_delta: 0.2 }))).toMatchObject({ objective: 'huber', huber_delta: 0.2 });
    expect(storedParams(resolveGbdtParams({ objective: 'huber' }))).not.toHaveProperty('max_delta_step');
    expect(() => resolveGbdtParams({ objective: 'huber', huber_delta: 0 })).toThrow(StockpipeError);
  });

  /** Volumes with a few rows 10^4 times their group's level: the Newton step there is (y − μ)/μ ≈ 10^4. */
  function spiky(n: number, seed: number): { columns: Float64Array[]; y: Float64Array } {
    const rng = createRng(seed);
    const x = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 20));
    const y = Float64Array.from(x, (v, i) => Math.round(1000 * (1 + v) * (0.5 + rng.next()) * (i % 997 === 0 ? 1e4 : 1)));
    return { columns: [x], y };
  }

  for (const objective of ['poisson', 'tweedie'] as const) {
    it(`${objective}: with the guard every leaf moves the log prediction by at most learning_rate × max_delta_step; without it, steps are unbounded`, async () => {
      const d = spiky(5_000, 3);
      const params = { objective, num_trees: 5, learning_rate: 1, max_depth: 6, num_leaves: 64, min_data_in_leaf: 1, lambda_l2: 0 };
      const guarded = await trainGbdt(d, null, params);
      let most = 0;
      for (const t of guarded.model.trees) for (let i = 0; i < t.value.length; i++) if (t.feature[i]! < 0) most = Math.max(most, Math.abs(t.value[i]!));
      expect(most).toBeLessThanOrEqual(0.7 + 1e-12);
      expect(most).toBeGreaterThan(0.69); // the guard was active
      const free = await trainGbdt(d, null, { ...params, max_delta_step: 0 });
      let freeMost = 0;
      for (const t of free.model.trees) for (let i = 0; i < t.value.length; i++) if (t.feature[i]! < 0) freeMost = Math.max(freeMost, Math.abs(t.value[i]!));
      // Poisson's step at a spike is (y − μ)/μ ≈ 10^4 before the trees average it; Tweedie's
      // tends to 1/(ρ − 1) = 2 there: both past the guard.
      expect(freeMost).toBeGreaterThan(objective === 'poisson' ? 3 : 1.5);
    });
  }

  it('the worker threads use the same objective and power as the main thread: 1 and 2 threads give the same model', async () => {
    const d = spiky(40_000, 8);
    const p = { objective: 'tweedie' as const, tweedie_variance_power: 1.3, num_trees: 8 };
    const one = await trainGbdt(d, null, { ...p, threads: 1 });
    const two = await trainGbdt(d, null, { ...p, threads: 2 });
    expect(toJSON(two.model)).toBe(toJSON(one.model));
    // and the power matters: another ρ is another model
    expect(toJSON((await trainGbdt(d, null, { ...p, tweedie_variance_power: 1.7, threads: 2 })).model)).not.toBe(toJSON(one.model));
  });

  it('a log-link objective refuses a negative target (SP_ERR_TRAIN_DATA)', async () => {
    const err = await trainGbdt({ columns: [new Float64Array([1, 2, 3])], y: new Float64Array([1, -1, 2]) }, null, { objective: 'poisson', num_trees: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StockpipeError);
    expect((err as StockpipeError).code).toBe('SP_ERR_TRAIN_DATA');
  });
});

/**
 * The naive twin: Newton boosting of an objective written out plainly — unscaled targets,
 * per-row gradients from the objective's formulas, every threshold between distinct values
 * scanned at every node, depth-first to a fixed depth, leaf steps clamped. With λ = 0 and no
 * leaf-size limits the engine's choices do not depend on its internal target scale, so the two
 * must agree up to the engine's float32 gradients.
 */
function naiveBoost(x: Float64Array, y: Float64Array, init: Float64Array | null, o: Objective, trees: number, depth: number, lr: number, mds: number): Float64Array {
  const n = y.length;
  const base = o.initScore(y, undefined, init ?? undefined);
  const p = Float64Array.from({ length: n }, (_, i) => base + (init ? init[i]! : 0));
  for (let t = 0; t < trees; t++) {
    const g = Float64Array.from({ length: n }, (_, i) => o.grad(y[i]!, p[i]!));
    const h = Float64Array.from({ length: n }, (_, i) => o.constantHessian ?? o.hess(y[i]!, p[i]!));
    const step = new Float64Array(n);
    const grow = (rows: number[], d: number): void => {
      let G = 0;
      let H = 0;
      for (const r of rows) {
        G += g[r]!;
        H += h[r]!;
      }
      let best: { gain: number; thr: number } | null = null;
      if (d < depth) {
        const values = [...new Set(rows.map((r) => x[r]!))].sort((a, b) => a - b);
        for (let k = 0; k + 1 < values.length; k++) {
          let gl = 0;
          let hl = 0;
          for (const r of rows) if (x[r]! <= values[k]!) {
            gl += g[r]!;
            hl += h[r]!;
          }
          const gain = (gl * gl) / hl + ((G - gl) * (G - gl)) / (H - hl) - (G * G) / H;
          if (gain > (best?.gain ?? 0)) best = { gain, thr: values[k]! };
        }
      }
      if (best === null) {
        let v = -G / H;
        if (mds > 0) v = Math.max(-mds, Math.min(mds, v));
        for (const r of rows) step[r] = v * lr;
        return;
      }
      grow(rows.filter((r) => x[r]! <= best.thr), d + 1);
      grow(rows.filter((r) => x[r]! > best.thr), d + 1);
    };
    grow(Array.from({ length: n }, (_, i) => i), 0);
    for (let i = 0; i < n; i++) p[i] = p[i]! + step[i]!;
  }
  return p;
}

describe('log-link boosting against its naive twin', () => {
  for (const [objective, power] of [['poisson', 1.5], ['tweedie', 1.5], ['tweedie', 1.2]] as const) {
    for (const guard of [0.7, 0]) {
      it(`${objective}${objective === 'tweedie' ? ` ${power}` : ''}, max_delta_step ${guard}: the engine's raw outputs are the twin's (with a per-row start)`, async () => {
        const rng = createRng(5);
        const n = 2_000;
        const x = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 30));
        const init = Float64Array.from(x, (v) => Math.log1p(100 * (1 + (v % 7))));
        const y = Float64Array.from(x, (v) => Math.round(100 * (1 + (v % 7)) * Math.exp(0.05 * v) * (0.3 + 1.4 * rng.next())));
        const o = getObjective(objective, { tweediePower: power });
        const r = await trainGbdt({ columns: [x], y, init }, null, { objective, tweedie_variance_power: power, num_trees: 6, learning_rate: 0.3, max_depth: 2, num_leaves: 4, min_data_in_leaf: 0, min_sum_hessian_in_leaf: 0, lambda_l2: 0, max_delta_step: guard });
        const model: TreeModel = { ...r.model, offset: null };
        const raw = predictBatchRaw(model, [x], new Float64Array(n));
        const twin = naiveBoost(x, y, init, o, 6, 2, 0.3, guard);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(raw[i]! + init[i]! - twin[i]!));
        expect(worst).toBeLessThan(1e-4);
        expect(r.model.targetTransform).toBe('log');
      });
    }
  }
});

describe('huber', () => {
  it('pulls less toward spikes than l2: on data with rare large outliers its fit stays near the median, l2\'s moves toward the mean', async () => {
    const rng = createRng(12);
    const n = 4_000;
    const x = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 4));
    const y = Float64Array.from(x, (v, i) => v + 0.1 * rng.normal() + (i % 20 === 0 ? 8 : 0));
    const fitted = async (objective: 'l2' | 'huber') => predictBatchRaw((await trainGbdt({ columns: [x], y }, null, { objective, huber_delta: 0.2, num_trees: 60, learning_rate: 0.3, min_data_in_leaf: 1 })).model, [Float64Array.of(0, 1, 2, 3)], new Float64Array(4));
    const h = await fitted('huber');
    const l = await fitted('l2');
    for (let v = 0; v < 4; v++) {
      expect(Math.abs(h[v]! - v)).toBeLessThan(0.05); // the median of each group is about v
      expect(l[v]! - v).toBeGreaterThan(0.3); // the mean is v + 8/20
    }
  });
});

describe('the log link in scoring', () => {
  it('predict, model.json round trip and the packed scorer all give exp(raw), bit for bit', async () => {
    const rng = createRng(9);
    const n = 3_000;
    const x0 = Float64Array.from({ length: n }, () => rng.next() * 10);
    const x1 = Float64Array.from({ length: n }, () => rng.normal());
    const y = Float64Array.from(x0, (v, i) => Math.round(50 * Math.exp(0.3 * v + 0.2 * x1[i]!) * (0.5 + rng.next())));
    const r = await trainGbdt({ columns: [x0, x1], y }, null, { objective: 'tweedie', tweedie_variance_power: 1.4, num_trees: 30 });
    const back = fromJSON(JSON.parse(toJSON(r.model)), 'model.json');
    expect(back.targetTransform).toBe('log');
    expect(back.params).toMatchObject({ objective: 'tweedie', tweedie_variance_power: 1.4, max_delta_step: 0.7 });
    const packed = packTrees(back);
    const raw = predictBatchRaw(r.model, [x0, x1], new Float64Array(n));
    let sePred = 0;
    let seMean = 0;
    const mean = y.reduce((a, b) => a + b, 0) / n;
    for (let i = 0; i < n; i++) {
      const row = [x0[i]!, x1[i]!];
      const v = predict(back, row);
      expect(v).toBe(Math.exp(raw[i]!));
      expect(predictPacked(packed, row)).toBe(v);
      sePred += (Math.log1p(v) - Math.log1p(y[i]!)) ** 2;
      seMean += (Math.log1p(mean) - Math.log1p(y[i]!)) ** 2;
    }
    // It learnt the exp(0.3·x0) trend: far better than the mean on the log scale.
    expect(sePred).toBeLessThan(0.3 * seMean);
  });

  it('a served volume model (model.json → scorerFromJSON, what GET /predict loads) of a log-link objective predicts (1 + vma)·exp(raw)', async () => {
    const rng = createRng(4);
    const n = 2_000;
    const vma = Float64Array.from({ length: n }, () => 1e5 * (1 + 20 * rng.next()));
    const acm = Float64Array.from({ length: n }, () => 10 + 90 * rng.next());
    const y = Float64Array.from(vma, (v, i) => Math.round(v * (0.5 + rng.next()) * (acm[i]! > 50 ? 1.3 : 0.8)));
    const init = Float64Array.from(vma, (v) => Math.log1p(v));
    const r = await trainGbdt({ columns: [vma, acm], y, init, featureNames: ['vol_moving_avg', 'adj_close_rolling_med'] }, null, { objective: 'poisson', num_trees: 20 });
    r.model.offset = { feature: 0, transform: 'log1p' };
    const served = scorerFromJSON(toJSON(r.model), 'model.json');
    for (let i = 0; i < 50; i++) {
      const raw = predictBatchRaw({ ...r.model, offset: null }, [vma.subarray(i, i + 1), acm.subarray(i, i + 1)], new Float64Array(1))[0]!;
      expect(served.predict(vma[i]!, acm[i]!)).toBeCloseTo((1 + vma[i]!) * Math.exp(raw), 4);
    }
  });
});
