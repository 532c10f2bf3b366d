import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { silentProgress } from '../core/progress.js';
import { makeBlocks } from './forecast-blocks.js';
import { frameHash, type ForecastFrame } from './forecast-dataset.js';
import { forecastToJSON } from './forecast-model.js';
import { fillTarget, inputs, range } from './forecast-slices.js';
import { forecastSplitCuts, trainForecastModel, type ForecastTrainParams } from './forecast-train.js';
import { trainGbdt } from './gbdt/booster.js';
import { binSet, featureEdges } from './gbdt/dataset.js';
import { resolveGbdtParams } from './gbdt/params.js';
import { toJSON } from './gbdt/model.js';
import { makeSlicesFromDays } from './train.js';
import { gbdtParams } from './tree-train.js';
import { syntheticForecastFrame } from './test-forecast-frame.js';

const FEATURES = ['log_volume', 'z', 'w'];

/** The test frame: 3 inputs (log_volume, z, w), held in blocks cut at `cuts`. */
const frame = (symbols: number, days: number, cuts?: (targetDay: Int32Array) => readonly number[]): ForecastFrame => syntheticForecastFrame({ symbols, days, seed: 5, start: '2016-01-04', w: true, cuts });

const P: ForecastTrainParams = { seed: 11, threads: 1, trees: 60, maxDepth: 4, numLeaves: 16, learningRate: 0.1, minDataInLeaf: 20, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 8 };

describe('day-ahead inputs in row blocks', () => {
  it('a frame cut at the split trains the same model and metrics as one block, releases the training rows\' inputs but log_volume, and keeps its hash', async () => {
    const one = frame(8, 420);
    const cut = frame(8, 420, forecastSplitCuts(undefined));
    expect(one.set.blocks).toHaveLength(1);
    expect(cut.set.blocks).toHaveLength(3);
    const hash = frameHash(one);
    expect(frameHash(cut)).toBe(hash);
    const a = await trainForecastModel(one, P, { progress: silentProgress });
    const b = await trainForecastModel(cut, P, { progress: silentProgress });
    expect(forecastToJSON(b.model)).toBe(forecastToJSON(a.model));
    expect(b.metrics).toEqual(a.metrics);
    expect(b.valid_metrics).toEqual(a.valid_metrics);
    expect(b.training_log).toBe(a.training_log);
    // The training block let go of every input but log_volume; validation and test kept theirs.
    const [train, valid, test] = cut.set.blocks;
    expect(train!.hi).toBe(a.rows_train);
    expect(train!.x.map((c) => c !== null)).toEqual([true, false, false]);
    expect(valid!.x.every((c) => c !== null) && test!.x.every((c) => c !== null)).toBe(true);
    expect(one.set.blocks[0]!.x.every((c) => c !== null)).toBe(true);
    expect(frameHash(cut)).toBe(hash);
    const err = (() => {
      try {
        inputs(cut, ['z'], { lo: 0, hi: 5 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StockpipeError);
    expect((err as StockpipeError).code).toBe('SP_ERR_INTERNAL');
  });

  it('the Adj Close booster equals one trained on the input columns themselves (no shared bins)', async () => {
    const f = frame(6, 360, forecastSplitCuts(undefined));
    const s = makeSlicesFromDays(f.set.targetDay);
    const train = range(s.train);
    const valid = range(s.valid);
    // Before training releases anything: the columns as the old path read them.
    const columns = inputs(f, FEATURES, train).map((c) => c.slice());
    const validColumns = inputs(f, FEATURES, valid);
    const y = fillTarget(f, train, 'ret', new Float64Array(train.hi - train.lo));
    const vy = fillTarget(f, valid, 'ret', new Float64Array(valid.hi - valid.lo));
    const direct = await trainGbdt({ columns, y, featureNames: FEATURES, targetTransform: 'identity' }, { columns: validColumns, y: vy, featureNames: FEATURES }, { ...gbdtParams(P), objective: 'l2' });
    const out = await trainForecastModel(f, { ...P, protocol: 'holdout' }, { progress: silentProgress });
    expect(toJSON(out.model.adjClose)).toBe(toJSON(direct.model));
  });

  it('the default protocol refits both boosters on every pre-test row with the trees the validation window chose; promotion\'s score stays the early-stopped boosters\'', async () => {
    const hold = await trainForecastModel(frame(6, 360, forecastSplitCuts(undefined)), { ...P, protocol: 'holdout' }, { progress: silentProgress });
    const fresh = frame(6, 360, forecastSplitCuts(undefined));
    const s = makeSlicesFromDays(fresh.set.targetDay);
    const train = range(s.train);
    const all = { lo: train.lo, hi: range(s.valid).hi };
    // Before training releases anything: the columns of the train slice (the edges) and of every pre-test row.
    const trainColumns = inputs(fresh, FEATURES, train).map((c) => c.slice());
    const allColumns = inputs(fresh, FEATURES, all).map((c) => c.slice());
    const y = fillTarget(fresh, all, 'ret', new Float64Array(all.hi - all.lo));
    const out = await trainForecastModel(fresh, P, { progress: silentProgress });
    expect(hold.protocol).toMatchObject({ name: 'holdout', rows_fit: train.hi - train.lo });
    expect(out.protocol).toMatchObject({ name: 'cv', trees: hold.best_iteration.volume, trees_adj_close: hold.best_iteration.adj_close, rows_fit: all.hi - all.lo });
    expect(out.protocol.label).toMatch(/^cv, 1 fold: the validation window/);
    expect(out.best_iteration).toEqual(hold.best_iteration);
    expect(out.valid_metrics).toEqual(hold.valid_metrics);
    expect(out.model.volume.trees).toHaveLength(hold.best_iteration.volume);
    expect(out.model.adjClose.trees).toHaveLength(hold.best_iteration.adj_close);
    expect(out.metrics.forecast).not.toEqual(hold.metrics.forecast);
    expect(out.training_log).toMatch(/^# volume refit: gbdt on \d+ rows/m);
    // The Adj Close refit is a plain fit on every pre-test row, binned on the train slice's edges.
    const p = { ...gbdtParams(P), objective: 'l2' as const, num_trees: hold.best_iteration.adj_close, early_stopping_rounds: 0 };
    const rp = resolveGbdtParams(p);
    const edges = trainColumns.map((c, k) => featureEdges(c, k, rp.max_bin, rp.bin_sample_size, rp.seed));
    const direct = await trainGbdt({ columns: allColumns, y, featureNames: FEATURES, targetTransform: 'identity' }, null, p, {}, { edges, train: binSet(allColumns, edges), valid: null });
    expect(toJSON(out.model.adjClose)).toBe(toJSON(direct.model));
  });

  it('the refitted model does not depend on the test slice: other bars and inputs there change its report only', async () => {
    const a = frame(6, 360, forecastSplitCuts(undefined));
    const b = frame(6, 360, forecastSplitCuts(undefined));
    const cut = b.set.targetDay[range(makeSlicesFromDays(b.set.targetDay).test).lo]!;
    for (let i = 0; i < b.rows; i++) {
      if (b.day[i]! < cut) continue;
      b.volume[i] = b.volume[i]! * 3 + 17;
      b.adjClose[i] = b.adjClose[i]! * 0.5;
    }
    for (const c of b.set.blocks[2]!.x) c!.fill(Number.NaN);
    const ma = await trainForecastModel(a, P, { progress: silentProgress });
    const mb = await trainForecastModel(b, P, { progress: silentProgress });
    expect(forecastToJSON(mb.model)).toBe(forecastToJSON(ma.model));
    expect(mb.valid_metrics).toEqual(ma.valid_metrics);
    expect(mb.metrics.forecast).not.toEqual(ma.metrics.forecast);
  });

  it('a range across blocks is a copy of the same values; a view within one', () => {
    const one = frame(3, 200);
    const cut = frame(3, 200, () => [100, 250]);
    const n = one.set.row.length;
    for (const r of [{ lo: 0, hi: n }, { lo: 90, hi: 260 }, { lo: 120, hi: 240 }]) {
      const a = inputs(one, FEATURES, r);
      const b = inputs(cut, FEATURES, r);
      b.forEach((c, k) => expect(Array.from(c)).toEqual(Array.from(a[k]!)));
    }
    expect(inputs(cut, ['z'], { lo: 120, hi: 240 })[0]!.buffer).toBe(cut.set.blocks[1]!.x[1]!.buffer);
    expect(() => makeBlocks(10, 1, [6, 3])).toThrow(/ascend/);
  });
});

describe('bars that are never on consecutive trading days', () => {
  it('are SP_ERR_TRAIN_DATA saying the next bar comes later than the next trading day, not that history is short', async () => {
    const weekly = syntheticForecastFrame({ symbols: 3, days: 80, seed: 5, start: '2016-01-04', every: 5 });
    expect(weekly.set.row.length).toBe(0);
    let err: unknown;
    try {
      await trainForecastModel(weekly, P, { progress: silentProgress });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StockpipeError);
    expect((err as StockpipeError).code).toBe('SP_ERR_TRAIN_DATA');
    expect((err as StockpipeError).message).toContain(`the ${weekly.set.skippedGaps} rows with enough history are each followed by a bar later than the next NYSE trading day`);
    expect(weekly.set.skippedGaps).toBeGreaterThan(0);
    expect((err as StockpipeError).hint).toMatch(/daily bars/);
  });
});
