import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../core/errors.js';
import { createRng } from '../../core/rng.js';
import { trainGbdt } from './booster.js';
import { fromJSON, predict, predictBatch, predictRaw, toJSON, type TreeModel } from './model.js';
import { synthetic } from './test-data.js';

async function smallModel(targetTransform: 'identity' | 'log1p' = 'identity'): Promise<TreeModel> {
  const d = synthetic(4_000, 21);
  return (await trainGbdt({ ...d, targetTransform }, null, { num_trees: 12, max_depth: 4, num_leaves: 16 })).model;
}

function randomRows(n: number, seed: number): Float64Array[] {
  const rng = createRng(seed);
  const a = new Float64Array(n);
  const b = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = rng.next() * 12 - 1;
    b[i] = rng.normal() * 1.5;
  }
  return [a, b];
}

const modelFormatCode = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof StockpipeError ? e.code : String(e);
  }
  return undefined;
};

describe('model.json', () => {
  it('round-trips: fromJSON(toJSON(m)) predicts identically on 1,000 random rows; the text is stable', async () => {
    const m = await smallModel('log1p');
    const text = toJSON(m);
    const back = fromJSON(text);
    expect(toJSON(back)).toBe(text);
    const cols = randomRows(1000, 3);
    const a = predictBatch(m, cols, new Float64Array(1000));
    const b = predictBatch(back, cols, new Float64Array(1000));
    expect([...b]).toEqual([...a]);
    const row = new Float64Array(2);
    for (let i = 0; i < 1000; i++) {
      row[0] = cols[0]![i]!;
      row[1] = cols[1]![i]!;
      expect(predict(back, row)).toBe(a[i]);
    }
  });

  it('applies the target transform: log1p → max(0, expm1(raw))', async () => {
    const m = await smallModel('log1p');
    const row = [3, 0.5];
    expect(predict(m, row)).toBe(Math.max(0, Math.expm1(predictRaw(m, row))));
    const neg: TreeModel = { ...m, baseScore: -5, trees: [] };
    expect(predict(neg, row)).toBe(0);
    expect(predict({ ...neg, targetTransform: 'identity' }, row)).toBe(-5);
  });

  it('sends NaN right at every split and sums (gbdt) or averages (rf) the trees', () => {
    const tree = { feature: Int32Array.of(0, -1, -1), threshold: Float64Array.of(1.5, 0, 0), left: Int32Array.of(1, -1, -1), right: Int32Array.of(2, -1, -1), value: Float64Array.of(0, 10, 20) };
    const m: TreeModel = { kind: 'gbdt', featureNames: ['x'], baseScore: 1, aggregation: 'sum', targetTransform: 'identity', params: {}, trees: [tree, tree] };
    expect(predict(m, [1.5])).toBe(21);
    expect(predict(m, [1.6])).toBe(41);
    expect(predict(m, [NaN])).toBe(41);
    expect(predict({ ...m, kind: 'rf', aggregation: 'mean', baseScore: 0 }, [NaN])).toBe(20);
  });

  it('scores a batch in blocks of rows, tree by tree, to the same numbers as one row at a time (sum and mean, offset, a leaf-only tree, NaN, Float32 columns)', async () => {
    const m = await smallModel('log1p');
    // A leaf-only tree among the others, and 1,300 rows: two full blocks and a part.
    const leaf = { feature: Int32Array.of(-1), threshold: Float64Array.of(0), left: Int32Array.of(-1), right: Int32Array.of(-1), value: Float64Array.of(0.125) };
    const n = 1300;
    const cols = randomRows(n, 5);
    for (let i = 0; i < n; i += 97) cols[i % 2]![i] = Number.NaN;
    const f32 = cols.map((c) => Float32Array.from(c));
    const row = new Float64Array(2);
    for (const model of [m, { ...m, trees: [...m.trees.slice(0, 5), leaf, ...m.trees.slice(5)], offset: { feature: 0, transform: 'log1p' as const } }, { ...m, kind: 'rf' as const, aggregation: 'mean' as const, baseScore: 0.5 }]) {
      for (const c of [cols, f32]) {
        const batch = predictBatch(model, c, new Float64Array(n));
        for (let i = 0; i < n; i++) {
          row[0] = c[0]![i]!;
          row[1] = c[1]![i]!;
          if (!Object.is(batch[i], predict(model, row))) expect.fail(`row ${i}: batch ${batch[i]} against ${predict(model, row)}`);
        }
      }
    }
  });

  it('rejects corrupted files with SP_ERR_MODEL_FORMAT', async () => {
    const good = JSON.parse(toJSON(await smallModel())) as Record<string, unknown>;
    const t0 = (good.trees as Record<string, number[]>[])[0]!;
    const n = t0.feature!.length;
    const internal = t0.feature!.findIndex((f) => f >= 0);
    const leaf = t0.feature!.findIndex((f) => f < 0);
    const withTree = (patch: Record<string, unknown>): unknown => ({ ...good, trees: [{ ...t0, ...patch }] });
    const bad: [string, unknown][] = [
      ['not JSON', '{"format": '],
      ['not an object', '[1]'],
      ['wrong format', { ...good, format: 'lightgbm' }],
      ['wrong version', { ...good, format_version: 2 }],
      ['unknown kind', { ...good, kind: 'xgb' }],
      ['unknown aggregation', { ...good, aggregation: 'max' }],
      ['unknown NaN rule', { ...good, nan_rule: 'left' }],
      ['unknown transform', { ...good, target_transform: 'log2' }],
      ['no feature names', { ...good, feature_names: [] }],
      ['duplicate feature names', { ...good, feature_names: ['a', 'a'] }],
      ['non-finite base score (1e999)', '{"format":"stockpipe-trees","format_version":1,"base_score":1e999}'],
      ['base score missing', { ...good, base_score: undefined }],
      ['trees not an array', { ...good, trees: {} }],
      ['rf without trees', { ...good, aggregation: 'mean', trees: [] }],
      ['array lengths differ', withTree({ value: t0.value!.slice(1) })],
      ['missing array', withTree({ threshold: undefined })],
      ['child out of range', withTree({ left: t0.left!.map((c, i) => (i === internal ? n + 3 : c)) })],
      ['child points backwards', withTree({ right: t0.right!.map((c, i) => (i === internal ? 0 : c)) })],
      ['leaf with children', withTree({ left: t0.left!.map((c, i) => (i === leaf ? 1 : c)) })],
      ['feature out of range', withTree({ feature: t0.feature!.map((f, i) => (i === internal ? 2 : f)) })],
      ['non-integer feature', withTree({ feature: t0.feature!.map((f, i) => (i === internal ? 0.5 : f)) })],
      ['string value', withTree({ value: t0.value!.map((v, i) => (i === leaf ? 'x' : v)) })],
      ['params not an object', { ...good, params: 3 }],
    ];
    for (const [what, input] of bad) expect(modelFormatCode(() => fromJSON(typeof input === 'string' ? input : JSON.stringify(input))), what).toBe('SP_ERR_MODEL_FORMAT');
    // Non-finite numbers inside a tree (JSON can carry them as 1e999).
    const text = toJSON(await smallModel()).replace(/"value":\[([^,\]]+)/, '"value":[1e999');
    expect(modelFormatCode(() => fromJSON(text))).toBe('SP_ERR_MODEL_FORMAT');
    expect(modelFormatCode(() => fromJSON(JSON.stringify(good)))).toBeUndefined();
  });

  it('scores the example in docs/model-format.md as the page says', () => {
    const page = readFileSync(new URL('../../../docs/model-format.md', import.meta.url), 'utf8');
    const json = /## Example[\s\S]*?```json\n([\s\S]*?)```/.exec(page)![1]!;
    const m = fromJSON(json);
    expect(predictRaw(m, [100000, 20])).toBeCloseTo(12.12, 12);
    expect(predict(m, [100000, 20])).toBeCloseTo(183504.5149, 3);
    expect(predictRaw(m, [NaN, 20])).toBeCloseTo(12.82, 12);
  });

  it('names what is wrong', () => {
    expect(() => fromJSON('{"format":"stockpipe-trees","format_version":9}', 'models/x/model.json')).toThrow(expect.objectContaining({ code: 'SP_ERR_MODEL_FORMAT', message: expect.stringMatching(/models\/x\/model.json: format_version 9/) }));
  });

  it('an offset (boosting from a feature) round-trips and is added to the raw output', async () => {
    const { trainGbdt } = await import('./booster.js');
    const { fromJSON, toJSON, predictRaw } = await import('./model.js');
    const cols = [Float64Array.from({ length: 300 }, (_, i) => i * 10), Float64Array.from({ length: 300 }, (_, i) => (i % 7) - 3)];
    const y = Float64Array.from({ length: 300 }, (_, i) => Math.log1p(i * 10) * 0.1 + ((i % 7) - 3) * 0.01);
    const { model } = await trainGbdt({ columns: cols, y }, null, { num_trees: 5, num_leaves: 4 });
    const plain = predictRaw(model, [500, 1]);
    const plainNeg = predictRaw(model, [-5, 1]);
    model.offset = { feature: 0, transform: 'log1p' };
    const back = fromJSON(toJSON(model));
    expect(back.offset).toEqual({ feature: 0, transform: 'log1p' });
    expect(predictRaw(back, [500, 1])).toBe(plain + Math.log1p(500));
    expect(predictRaw(back, [-5, 1])).toBe(plainNeg + 0); // log1p of max(x, 0)
    expect(toJSON(back)).toBe(toJSON(model));
    const text = toJSON(model).replace('"feature":0,"transform"', '"feature":9,"transform"');
    expect(() => fromJSON(text)).toThrow(expect.objectContaining({ code: 'SP_ERR_MODEL_FORMAT', message: expect.stringMatching(/offset.feature/) }));
  });
  it('records each split\'s gain (6 significant digits; leaves 0): the root\'s equals the split\'s loss reduction on the data; a model without gains loads and scores the same', async () => {
    const d = synthetic(4_000, 21);
    const { model } = await trainGbdt({ ...d, targetTransform: 'identity' }, null, { num_trees: 12, max_depth: 4, num_leaves: 16 });
    for (const t of model.trees) {
      expect(t.gain).toBeDefined();
      t.feature.forEach((f, i) => (f < 0 ? expect(t.gain![i]).toBe(0) : expect(t.gain![i]).toBeGreaterThan(0)));
      for (const g of t.gain!) expect(Number(g.toPrecision(6))).toBe(g);
    }
    // Tree 0 starts from base_score (the mean of y): l2 gradients base − y, hessians 1, lambda_l2 0.
    const t0 = model.trees[0]!;
    const col = d.columns[t0.feature[0]!]!;
    let [gl, hl, gr, hr] = [0, 0, 0, 0];
    for (let i = 0; i < d.y.length; i++) {
      const g = model.baseScore - d.y[i]!;
      if (col[i]! <= t0.threshold[0]!) [gl, hl] = [gl + g, hl + 1];
      else [gr, hr] = [gr + g, hr + 1];
    }
    const want = (gl * gl) / hl + (gr * gr) / hr - ((gl + gr) * (gl + gr)) / (hl + hr);
    expect(t0.gain![0]! / want).toBeCloseTo(1, 5);
    // The gains are written after the scoring arrays and read back; without them (a model written before) it scores the same.
    const text = toJSON(model);
    expect(text).toMatch(/"value":\[[^\]]*\],"gain":\[/);
    expect(toJSON(fromJSON(text))).toBe(text);
    const older = text.replace(/,"gain":\[[^\]]*\]/g, '');
    expect(older).not.toContain('"gain"');
    const old = fromJSON(older);
    expect(old.trees.every((t) => t.gain === undefined)).toBe(true);
    const cols = randomRows(500, 4);
    expect([...predictBatch(old, cols, new Float64Array(500))]).toEqual([...predictBatch(model, cols, new Float64Array(500))]);
    // A malformed gain is refused like any other field.
    expect(modelFormatCode(() => fromJSON(text.replace(/"gain":\[0*[^,\]]*/, '"gain":[-1')))).toBe('SP_ERR_MODEL_FORMAT');
    expect(modelFormatCode(() => fromJSON(text.replace(/"gain":\[[^,\]]*,/, '"gain":[')))).toBe('SP_ERR_MODEL_FORMAT');
  });
});
