import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { silentProgress } from '../core/progress.js';
import { createRng } from '../core/rng.js';
import { NextTradingDay } from '../features/lagged.js';
import { makeBlocks } from './forecast-blocks.js';
import { forecastRows, frameHash, type ForecastFrame } from './forecast-dataset.js';
import { forecastToJSON } from './forecast-model.js';
import { fillTarget, inputs, range } from './forecast-slices.js';
import { forecastSplitCuts, trainForecastModel, type ForecastTrainParams } from './forecast-train.js';
import { trainGbdt } from './gbdt/booster.js';
import { toJSON } from './gbdt/model.js';
import { parseDay } from './split.js';
import { makeSlicesFromDays } from './train.js';
import { gbdtParams } from './tree-train.js';

const FEATURES = ['log_volume', 'z', 'w'];

/**
 * A frame of `symbols` symbols over `days` NYSE trading days whose inputs are held in blocks cut
 * at `cuts` (from the target days): tomorrow's volume is today's times exp(0.4·z + noise), the
 * return follows w a little.
 */
function frame(symbols: number, days: number, cuts?: (targetDay: Int32Array) => readonly number[]): ForecastFrame {
  const rng = createRng(5);
  const cal = new NextTradingDay();
  const dates = [parseDay('2016-01-04', 'start')];
  while (dates.length < days) dates.push(cal.next(dates[dates.length - 1]!));
  const rows = symbols * days;
  const f = { rows, symbolStart: Int32Array.from({ length: symbols + 1 }, (_, s) => s * days), day: new Int32Array(rows), adjClose: new Float64Array(rows), volume: new Float64Array(rows) };
  const z = new Float64Array(rows);
  const w = new Float64Array(rows);
  for (let s = 0; s < symbols; s++) {
    let v = 1e5 * (1 + s);
    let p = 20 + s;
    for (let d = 0; d < days; d++) {
      const i = s * days + d;
      f.day[i] = dates[d]!;
      z[i] = rng.normal();
      w[i] = d % 7 === 3 ? Number.NaN : rng.normal();
      f.volume[i] = Math.round(v);
      f.adjClose[i] = p;
      v = 1e5 * (1 + s) * Math.exp(0.4 * z[i]! + 0.3 * rng.normal());
      p *= Math.exp(0.01 * rng.normal() + 0.002 * (Number.isNaN(w[i]!) ? 0 : w[i]!));
    }
  }
  const r = forecastRows(f);
  const n = r.row.length;
  const blocks = makeBlocks(n, FEATURES.length, cuts?.(r.targetDay));
  const ma20 = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const i = r.row[k]!;
    const value = [Math.log1p(f.volume[i]!), z[i]!, w[i]!];
    const b = blocks.find((q) => k >= q.lo && k < q.hi)!;
    value.forEach((x, c) => {
      b.x[c]![k - b.lo] = x;
    });
    ma20[k] = f.volume[i]!;
  }
  return { path: 'synthetic', ...f, set: { ...r, features: [...FEATURES], blocks, ma20 } };
}

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
    const out = await trainForecastModel(f, P, { progress: silentProgress });
    expect(toJSON(out.model.adjClose)).toBe(toJSON(direct.model));
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
