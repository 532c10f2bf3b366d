import { describe, expect, it } from 'vitest';
import { civilFromDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import { crossValidate, medianIterations, pretestRows, recencyWeights, refit, timeSeriesFolds } from './cv.js';
import { toJSON } from './gbdt/model.js';
import { timeSplit } from './split.js';
import { syntheticVolumeData } from './test-volume-data.js';

const errCode = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof StockpipeError ? e.code : String(e);
  }
  return undefined;
};

describe('timeSeriesFolds', () => {
  it('matches the reference rule on a hand-made example', () => {
    // 20 pre-test rows on days 0..9 (two per day), unsorted, plus rows of the test slice that are not passed.
    const days = Int32Array.from([9, 0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 2, 0, 4, 50, 51]);
    const pretest = Int32Array.from({ length: 20 }, (_, i) => i);
    // Sorted days: 0 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 8 8 9 9. K = 3: starts at floor(20·0.7) = 14 → day 7,
    // floor(20·0.8) = 16 → day 8, floor(20·0.9) = 18 → day 9 (numpy: int(len·(1 − 0.1·(K − k)))).
    const f = timeSeriesFolds(days, pretest, 3);
    expect(f.map((x) => x.validFrom)).toEqual([7, 8, 9]);
    expect(f.map((x) => x.validTo)).toEqual([8, 9, null]);
    expect([...f[0]!.valid]).toEqual([12, 13]);
    expect([...f[1]!.valid]).toEqual([14, 15]);
    expect([...f[2]!.valid]).toEqual([0, 16]);
    expect([...f[0]!.train]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 17, 18, 19]);
    expect(f[2]!.train.length).toBe(18);
    // K = 2: floor(20·0.8) = 16 → day 8 and floor(20·0.9) = 18 → day 9.
    expect(timeSeriesFolds(days, pretest, 2).map((x) => x.validFrom)).toEqual([8, 9]);
    // The training-window start drops earlier rows from training only.
    const late = timeSeriesFolds(days, pretest, 3, 5);
    expect([...late[0]!.train].map((i) => days[i]!).sort()).toEqual([5, 5, 6, 6]);
    expect([...late[0]!.valid]).toEqual([12, 13]);
    // A sliding window of 2 days: each fold trains on the two days before its start.
    const slide = timeSeriesFolds(days, pretest, 3, undefined, 2);
    expect(slide.map((x) => [...x.train].map((i) => days[i]!).sort())).toEqual([[5, 5, 6, 6], [6, 6, 7, 7], [7, 7, 8, 8]]);
  });

  // Probed: `train --test-from 2010-02-18` on data from 2010-02-16 said "56 pre-test rows" and hinted "fewer --folds, or more
  // history", though years of history followed the cut: the pre-test rows were two days.
  it('a fold without validation rows names the days the pre-test rows cover, and hints a later --test-from', () => {
    const days = Int32Array.from([100, 100, 100, 101, 101, 101, 200]);
    const pretest = Int32Array.from([0, 1, 2, 3, 4, 5]);
    const err = (() => {
      try {
        timeSeriesFolds(days, pretest, 3);
      } catch (e) {
        return e as StockpipeError;
      }
      return null;
    })();
    expect(err?.code).toBe('SP_ERR_TRAIN_DATA');
    expect(err!.message).toBe(`fold 1 of 3 has no validation rows (6 pre-test rows on 2 days, ${civilFromDays(100)}..${civilFromDays(101)}: several folds start on the same day)`);
    expect(err!.hint).toMatch(/^Use a later --test-from/);
  });

  it('folds are time-ordered, do not overlap, and train strictly before they validate', () => {
    const ds = syntheticVolumeData(7, 300, 3);
    const s = timeSplit(ds.day);
    const pre = pretestRows(s);
    for (const K of [1, 3, 5, 9]) {
      const folds = timeSeriesFolds(ds.day, pre, K);
      const seen = new Set<number>();
      let lastDay = -Infinity;
      for (const f of folds) {
        let lo = Infinity;
        let hi = -Infinity;
        for (const i of f.valid) {
          expect(seen.has(i)).toBe(false);
          seen.add(i);
          lo = Math.min(lo, ds.day[i]!);
          hi = Math.max(hi, ds.day[i]!);
          expect(ds.day[i]!).toBeLessThan(s.testFrom!);
        }
        expect(lo).toBe(f.validFrom);
        expect(lo).toBeGreaterThan(lastDay);
        lastDay = hi;
        for (const i of f.train) expect(ds.day[i]!).toBeLessThan(f.validFrom);
        // expanding window: everything before the fold start trains
        expect(f.train.length).toBe(pre.filter((i) => ds.day[i]! < f.validFrom).length);
      }
      // the last K tenths of the pre-test rows, up to whole days
      expect(Math.abs(seen.size - 0.1 * K * pre.length)).toBeLessThan(2 * 7);
    }
  });

  it('rejects a fold count out of 1..9 and folds without rows', () => {
    const days = Int32Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    const pre = Int32Array.from({ length: 10 }, (_, i) => i);
    expect(errCode(() => timeSeriesFolds(days, pre, 0))).toBe('SP_ERR_USAGE');
    expect(errCode(() => timeSeriesFolds(days, pre, 10))).toBe('SP_ERR_USAGE');
    expect(errCode(() => timeSeriesFolds(days, pre, 3))).toBe('SP_ERR_TRAIN_DATA');
  });
});

describe('crossValidate', () => {
  const ds = syntheticVolumeData(12, 400, 5);
  const pre = pretestRows(timeSplit(ds.day));
  const params = { learning_rate: 0.2, num_leaves: 7, min_data_in_leaf: 20 };

  it('scores each fold by its curve minimum, the mean and median of them, and the out-of-fold residuals', async () => {
    const seen: number[] = [];
    const r = await crossValidate(ds, pre, { params, maxTrees: 40, folds: 3, onFold: (f) => seen.push(f.index) });
    expect(seen).toEqual([0, 1, 2]);
    expect(r.folds).toHaveLength(3);
    for (const f of r.folds) {
      expect(f.curve).toHaveLength(40);
      expect(f.best_score).toBe(Math.min(...f.curve));
      expect(f.curve.indexOf(f.best_score) + 1).toBe(f.best_iter);
      // the residuals are those of the best iteration: their RMS is the fold's best score
      const res = r.oof.residual.filter((_, k) => r.oof.fold[k] === f.index);
      expect(res.length).toBe(f.rows_valid);
      expect(Math.sqrt(res.reduce((s, x) => s + x * x, 0) / res.length)).toBeCloseTo(f.best_score, 12);
    }
    expect(r.score).toBeCloseTo(r.folds.reduce((s, f) => s + f.best_score, 0) / 3, 14);
    expect(r.iterations).toBe(medianIterations(r.folds.map((f) => f.best_iter)));
    // the model learns: better than the naive forecast (the curve's start is one tree away from it)
    expect(r.score).toBeLessThan(r.folds[0]!.curve[0]!);
    const again = await crossValidate(ds, pre, { params, maxTrees: 40, folds: 3, threads: 2 });
    expect(again.folds.map((f) => f.curve)).toEqual(r.folds.map((f) => f.curve));
    expect([...again.oof.residual]).toEqual([...r.oof.residual]);
  });

  it('patience stops a fold early; the half-life and training-window start change the fit', async () => {
    const base = await crossValidate(ds, pre, { params: { ...params, learning_rate: 0.8 }, maxTrees: 200, folds: 2 });
    const stopped = await crossValidate(ds, pre, { params: { ...params, learning_rate: 0.8 }, maxTrees: 200, folds: 2, patience: 5 });
    for (const f of stopped.folds) expect(f.curve.length).toBeLessThan(200);
    // the same trees up to the stop: the curve is a prefix of the full one, and its minimum the same
    const kept = stopped.folds[0]!.curve;
    expect(kept).toEqual(base.folds[0]!.curve.slice(0, kept.length));
    expect(stopped.folds[0]!.best_iter).toBe(base.folds[0]!.best_iter);
    const weighted = await crossValidate(ds, pre, { params, maxTrees: 20, folds: 2, halfLifeDays: 30 });
    const windowed = await crossValidate(ds, pre, { params, maxTrees: 20, folds: 2, trainFrom: ds.day[0]! + 150 });
    const plain = await crossValidate(ds, pre, { params, maxTrees: 20, folds: 2 });
    expect(weighted.score).not.toBe(plain.score);
    expect(windowed.folds[0]!.rows_train).toBeLessThan(plain.folds[0]!.rows_train);
    expect(windowed.folds[0]!.train_from).toBe('2019-09-11'); // day 18150
  });

  it('recency weights halve every half-life before the reference day', () => {
    const w = recencyWeights(Int32Array.of(100, 90, 80), Int32Array.of(0, 1, 2), 100, 10);
    expect([...w]).toEqual([1, 0.5, 0.25]);
    expect(errCode(() => recencyWeights(Int32Array.of(1), Int32Array.of(0), 1, 0))).toBe('SP_ERR_TRAIN_PARAMS');
  });

  it('refit: same seed and data give the same model file', async () => {
    const a = await refit(ds, pre, { params, trees: 25, refDay: 18_320 });
    const b = await refit(ds, pre, { params, trees: 25, refDay: 18_320, threads: 2 });
    expect(a.model.trees).toHaveLength(25);
    expect(toJSON(a.model)).toBe(toJSON(b.model));
    const c = await refit(ds, pre, { params: { ...params, seed: 7, feature_fraction: 0.5 }, trees: 25, refDay: 18_320 });
    expect(toJSON(c.model)).not.toBe(toJSON(a.model));
  });
});

describe('medianIterations', () => {
  it('is numpy median truncated to an integer', () => {
    expect(medianIterations([40, 7, 100])).toBe(40);
    expect(medianIterations([10, 15])).toBe(12);
    expect(medianIterations([5])).toBe(5);
  });
});
