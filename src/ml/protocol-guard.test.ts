/** The test slice is for reporting only (docs/models.md): a dataset whose test-slice rows throw (or count)
 * when read proves that CV, early stopping, the refit and the promotion re-scoring never read them,
 * and that `train` reads them only once the model is final. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentProgress, type Progress } from '../core/progress.js';
import { civilFromDays } from '../etl/csv-parse.js';
import { crossValidate, pretestRows, refit } from './cv.js';
import type { VolumeDataset } from './dataset.js';
import { rescoreHolder } from './rescore.js';
import type { Rescored } from '../registry/promote.js';
import { timeSplit } from './split.js';
import { syntheticVolumeData } from './test-volume-data.js';
import { trainVolumeModel, type TrainParams } from './train.js';
import { scorerForTrees } from './tree-scorer.js';

/** `ds` with vma, acm and volume wrapped: reading a test row throws while armed, and is counted. */
function guarded(ds: VolumeDataset, test: Int32Array): { ds: VolumeDataset; armed: boolean; touched: number } {
  const rows = new Set(test);
  const g = { ds: { ...ds }, armed: true, touched: 0 };
  const wrap = (a: Float64Array, name: string): Float64Array =>
    new Proxy(a, {
      get(t, p) {
        if (typeof p === 'string' && /^\d+$/.test(p) && rows.has(Number(p))) {
          g.touched++;
          if (g.armed) throw new Error(`test-slice row ${p} of ${name} read`);
        }
        const v = Reflect.get(t, p) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  g.ds.vma = wrap(ds.vma, 'vma');
  g.ds.acm = wrap(ds.acm, 'acm');
  g.ds.volume = wrap(ds.volume, 'volume');
  return g;
}

const ds = syntheticVolumeData(10, 500, 9);
const s = timeSplit(ds.day);
const pre = pretestRows(s);
const params = { learning_rate: 0.2, num_leaves: 15, min_data_in_leaf: 20 };
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the test slice is never read to choose or promote a model', () => {
  it('CV (with patience, recency weights), the refit: no test-slice row read; the guard fires when one is passed', async () => {
    const g = guarded(ds, s.test);
    const cv = await crossValidate(g.ds, pre, { params, maxTrees: 40, patience: 5, folds: 3, halfLifeDays: 90 });
    const r = await refit(g.ds, pre, { params, trees: cv.iterations, refDay: s.testFrom!, halfLifeDays: 90 });
    expect(r.model.trees).toHaveLength(cv.iterations);
    expect(g.touched).toBe(0);
    // the guard is real: every row as "pre-test" puts test rows in the last fold
    const all = Int32Array.from({ length: ds.rows }, (_, i) => i);
    await expect(crossValidate(g.ds, all, { params, maxTrees: 5, folds: 3 })).rejects.toThrow(/test-slice row/);
    expect(g.touched).toBeGreaterThan(0);
  });

  it('CV and the refit of a log-link objective (poisson, tweedie): no test-slice row read', async () => {
    for (const objective of ['poisson', 'tweedie'] as const) {
      const g = guarded(ds, s.test);
      const cv = await crossValidate(g.ds, pre, { params: { ...params, objective }, maxTrees: 20, patience: 5, folds: 3 });
      const r = await refit(g.ds, pre, { params: { ...params, objective }, trees: cv.iterations, refDay: s.testFrom! });
      expect(r.model.targetTransform).toBe('log');
      expect(Number.isFinite(cv.score)).toBe(true);
      expect(g.touched).toBe(0);
    }
  });

  it('train reads the test slice only after the model is final, and its values change nothing but the report', async () => {
    const p: TrainParams = { kind: 'gbdt', split: 'time', seed: 42, threads: 1, trees: 40, maxDepth: 4, numLeaves: 15, learningRate: 0.2, minDataInLeaf: 20, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 5 };
    const g = guarded(ds, s.test);
    g.armed = false; // counting only: the report must read them, at the end
    let touchedWhenFinal = -1;
    const progress: Progress = { ...silentProgress, start: (label) => {
      if (label.startsWith('refit')) touchedWhenFinal = -2;
    }, stop: () => {
      if (touchedWhenFinal === -2) touchedWhenFinal = g.touched;
    } };
    const a = await trainVolumeModel(g.ds, p, { progress });
    expect(touchedWhenFinal).toBe(0); // nothing read up to the end of the refit
    expect(g.touched).toBeGreaterThan(0); // then the report read them
    // the same data with other values on the test rows: same folds, scores, model; other test metrics
    const other: VolumeDataset = { ...ds, vma: ds.vma.slice(), acm: ds.acm.slice(), volume: ds.volume.slice() };
    for (const i of s.test) {
      other.volume[i] = other.volume[i]! * 7 + 3;
      other.vma[i] = other.vma[i]! / 5;
      other.acm[i] = -other.acm[i]!;
    }
    const b = await trainVolumeModel(other, p, { progress: silentProgress });
    expect(b.scorer.toJSON()).toBe(a.scorer.toJSON());
    const noTime = (r: typeof a): unknown => ({ ...r.protocol, folds: r.protocol.folds.map(({ seconds: _s, ...f }) => f) });
    expect(noTime(b)).toEqual(noTime(a));
    expect(b.selection).toEqual(a.selection);
    expect(b.metrics.gbdt!.rmse_log).not.toBe(a.metrics.gbdt!.rmse_log);
  });

  it('promotion re-scoring reads the candidate folds\' validation rows only (recorded folds, or the default ones for a model without)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-guard-'));
    const testFrom = civilFromDays(s.testFrom!);
    dirs.push(dir);
    const cv = await crossValidate(ds, pre, { params, maxTrees: 20, folds: 3 });
    const holderFit = await refit(ds, pre, { params: { ...params, learning_rate: 0.05 }, trees: 20, refDay: s.testFrom! });
    const candFit = await refit(ds, pre, { params, trees: cv.iterations, refDay: s.testFrom! });
    const write = async (id: string, json: string): Promise<string> => {
      const path = join(dir, id);
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'model.json'), json);
      await writeFile(join(path, 'metrics.json'), JSON.stringify({ split: { kind: 'time', test_from: testFrom } }));
      return path;
    };
    const holder = { id: 'h', kind: 'gbdt', path: await write('h', scorerForTrees(holderFit.model).toJSON()) };
    const selection = { kind: 'cv' as const, data_hash: ds.dataHash, windows: cv.folds.map((f) => ({ from: f.valid_from, to: f.valid_to, rows: f.rows_valid })), metrics: { rmse_log: cv.score } };
    const slice = { date_min: testFrom, date_max: civilFromDays(18_499), rows: s.test.length, data_hash: `${ds.dataHash}:time` };
    const candidate = { id: 'c', kind: 'gbdt', path: await write('c', scorerForTrees(candFit.model).toJSON()), test_slice: { ...slice, selection } };
    const g = guarded(ds, s.test);
    const data = { volume: async () => g.ds, forecast: async () => Promise.reject(new Error('not a forecast')) };
    const r = (await rescoreHolder(data, candidate, holder, 'rmse_log')) as Rescored;
    expect(r).toMatchObject({ candidate_value: null });
    expect(r.value).toBeGreaterThan(0);
    // the data changed since the candidate was trained: it still keeps its own (out-of-sample) score;
    // its refitted model re-scored on its own windows would be scored on rows it was trained on
    const grown = (await rescoreHolder(data, { ...candidate, test_slice: { ...slice, selection: { ...selection, data_hash: 'f'.repeat(64) } } }, holder, 'rmse_log')) as Rescored;
    expect(grown).toMatchObject({ candidate_value: null, value: r.value });
    expect(grown.on).toMatch(/c's own score, from before its refit/);
    // an old candidate without a backtest: both measured on the default folds of its recorded split
    const both = (await rescoreHolder(data, { ...candidate, test_slice: slice }, holder, 'rmse_log')) as Rescored;
    expect(both.candidate_value).toBeGreaterThan(0);
    expect(both.on).toMatch(/both re-scored/);
    expect(g.touched).toBe(0);
  });
});
