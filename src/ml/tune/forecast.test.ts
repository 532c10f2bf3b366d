import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentProgress } from '../../core/progress.js';
import { completeTrial, createStudy, startTrial, studyTrials } from '../../registry/studies.js';
import { openRegistry, type Registry } from '../../registry/store.js';
import type { ForecastFrame } from '../forecast-dataset.js';
import { FORECAST_VOLUME_LOSS } from '../forecast-loss.js';
import { trainForecastModel } from '../forecast-train.js';
import { FORECAST_DEFAULT_TRIAL } from './space.js';
import { assertScorable, forecastChoice, forecastEvaluator, forecastTuneData, FORECAST_METRIC } from './forecast.js';
import { rungPlan } from './halving.js';
import { DEFAULT_SPACE, sampleTrials } from './space.js';
import { runStudy } from './study.js';
import { parseDay } from '../split.js';
import { syntheticForecastFrame } from '../test-forecast-frame.js';

/** The test frame: inputs log_volume and z, one block. */
const frame = (symbols: number, days: number, seed: number): ForecastFrame => syntheticForecastFrame({ symbols, days, seed, start: '2015-01-02' });

const base = frame(6, 400, 1);
const trial0 = sampleTrials(DEFAULT_SPACE, 42, 1)[0]!;

describe('tune --task forecast: the rows', () => {
  it('holds only rows whose target day is before the test cut; every bar from the cut is NaN; the test values change nothing', async () => {
    const d = forecastTuneData(base);
    const cut = parseDay(d.test_from, 'cut');
    expect(d.rows).toBe(d.valid.hi);
    for (let k = 0; k < d.rows; k++) expect(d.frame.set.targetDay[k]!).toBeLessThan(cut);
    for (let i = 0; i < base.rows; i++) {
      if (base.day[i]! >= cut) {
        expect(d.frame.volume[i]).toBeNaN();
        expect(d.frame.adjClose[i]).toBeNaN();
      } else expect(d.frame.volume[i]).toBe(base.volume[i]);
    }
    // Other values on the test slice: the same data hash and the same evaluation, bit for bit.
    const other: ForecastFrame = { ...base, volume: base.volume.map((v, i) => (base.day[i]! >= cut ? v * 9 + 1 : v)), adjClose: base.adjClose.map((v, i) => (base.day[i]! >= cut ? -v : v)) };
    const d2 = forecastTuneData(other);
    expect(d2.data_hash).toBe(d.data_hash);
    const req = { params: trial0, budget: 60, seed: 42, threads: 1 };
    const [a, b] = [await forecastEvaluator(d)(req), await forecastEvaluator(d2)(req)];
    expect(b.score).toBe(a.score);
    expect(a.score).toBeGreaterThan(0);
    // The signal is learnable: better than persistence on the validation window.
    expect(a.score).toBeLessThan(0.95);
  });

  it('refuses, before any trial, data on which persistence\'s volume error is 0 (every volume 0 or constant): the metric has no value', () => {
    for (const v of [0, 1000]) {
      const flat: ForecastFrame = { ...base, volume: base.volume.map(() => v) };
      expect(() => assertScorable(forecastTuneData(flat))).toThrow(expect.objectContaining({ code: 'SP_ERR_TRAIN_DATA', message: expect.stringContaining("persistence's volume error is 0") }));
    }
  });

  it('scores what `train --task forecast` trains with the same settings: 1 − its validation volume skill', async () => {
    const d = forecastTuneData(base);
    const e = await forecastEvaluator(d)({ params: trial0, budget: 200, seed: 42, threads: 1 });
    const volume = { params: { learning_rate: trial0.learning_rate, num_leaves: trial0.num_leaves, max_depth: trial0.max_depth, min_data_in_leaf: trial0.min_data_in_leaf, lambda_l2: trial0.lambda_l2, seed: 42, num_trees: 200, early_stopping_rounds: trial0.patience }, record: {} };
    const out = await trainForecastModel(base, { seed: 42, threads: 1, trees: 200, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 100, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 10, volume }, { progress: silentProgress });
    expect(out.best_iteration.volume).toBe(e.best_iteration);
    expect(1 - out.valid_metrics!.skill_volume!).toBeCloseTo(e.score, 10);
  });

  it('a huber trial scores what `train --task forecast --objective huber --huber-delta δ` trains', async () => {
    const d = forecastTuneData(base);
    const huber = { ...trial0, objective: 'huber' as const, huber_delta: 0.1 };
    const e = await forecastEvaluator(d)({ params: huber, budget: 200, seed: 42, threads: 1 });
    const l2 = await forecastEvaluator(d)({ params: trial0, budget: 200, seed: 42, threads: 1 });
    expect(e.score).not.toBe(l2.score);
    const volume = { params: { learning_rate: 0.1, num_leaves: 64, max_depth: 6, min_data_in_leaf: 100, lambda_l2: 1, objective: 'huber' as const, huber_delta: 0.1, seed: 42, num_trees: 200, early_stopping_rounds: 10 }, record: {} };
    const out = await trainForecastModel(base, { seed: 42, threads: 1, trees: 200, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 100, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 10, volume }, { progress: silentProgress });
    expect(1 - out.valid_metrics!.skill_volume!).toBeCloseTo(e.score, 10);
  });

  it('trial 0 of a forecast study is `train --task forecast` without loss flags (its default Huber loss)', async () => {
    const d = forecastTuneData(base);
    const e = await forecastEvaluator(d)({ params: FORECAST_DEFAULT_TRIAL, budget: 200, seed: 42, threads: 1 });
    const out = await trainForecastModel(base, { seed: 42, threads: 1, trees: 200, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 100, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 10 }, { progress: silentProgress });
    expect(out.model.volume.params).toMatchObject({ objective: FORECAST_VOLUME_LOSS.objective, huber_delta: FORECAST_VOLUME_LOSS.huber_delta, learning_rate: FORECAST_VOLUME_LOSS.learning_rate });
    expect(out.best_iteration.volume).toBe(e.best_iteration);
    expect(1 - out.valid_metrics!.skill_volume!).toBeCloseTo(e.score, 10);
  });
});

describe('tune --task forecast: the study', () => {
  let dir: string;
  let reg: Registry;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sp-ftune-'));
    reg = openRegistry(dir);
  });
  afterEach(async () => {
    reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  const d = forecastTuneData(base);
  const rungs = rungPlan(4, 90);
  const make = (id: string) => {
    const study = createStudy(reg, { study_id: id, name: id, task: 'forecast', metric: FORECAST_METRIC, direction: 'minimize', seed: 42, space: { ...DEFAULT_SPACE }, settings: { trials: 4, rungs, data: { test_from: d.test_from, data_hash: d.data_hash } }, folds: 1 });
    return { study, rungs, trials: sampleTrials(DEFAULT_SPACE, 42, 4) };
  };
  const summary = (id: string) => studyTrials(reg, id).map((r) => [r.number, r.rung, r.budget, r.state, r.score, r.best_iteration]);

  it('same seed → the same study; an interrupted study resumed ends with the same trials, scores and choice; train --params-from reads it', async () => {
    const a = make('a');
    await runStudy({ reg, ...a, lanes: [forecastEvaluator(d)], seed: 42, threads: 1 });
    const b = make('b');
    await runStudy({ reg, ...b, lanes: [forecastEvaluator(d)], seed: 42, threads: 1 });
    expect(summary('b')).toEqual(summary('a'));
    // Interrupted after two evaluations, then resumed.
    const c = make('c');
    const ac = new AbortController();
    const inner = forecastEvaluator(d);
    let n = 0;
    const stopping = async (req: Parameters<typeof inner>[0]) => {
      if (++n === 3) {
        ac.abort('SIGTERM');
        throw new Error('interrupted');
      }
      return inner(req);
    };
    const first = await runStudy({ reg, ...c, lanes: [stopping], seed: 42, threads: 1, signal: ac.signal });
    expect(first.state).toBe('interrupted');
    const resumed = await runStudy({ reg, ...c, lanes: [forecastEvaluator(d)], seed: 42, threads: 1 });
    expect(resumed.state).toBe('complete');
    expect(resumed.reused).toBe(2);
    expect(summary('c')).toEqual(summary('a'));
    const choice = forecastChoice(reg, 'c', 1);
    expect(choice.choice.cv_score).toBe(resumed.best!.score);
    expect(choice.volume.params.num_trees).toBe(resumed.best!.budget);
    expect(choice.volume.record).toMatchObject({ study_id: 'c', study_trial: resumed.best!.number });
  });

  it('train --task forecast --params-from trains the chosen loss', () => {
    const huber = { ...sampleTrials(DEFAULT_SPACE, 42, 1)[0]!, objective: 'huber' as const, huber_delta: 0.2 };
    createStudy(reg, { study_id: 'h', name: 'h', task: 'forecast', metric: FORECAST_METRIC, direction: 'minimize', seed: 42, space: { ...DEFAULT_SPACE }, settings: { trials: 2, rungs: rungPlan(2, 90), data: { test_from: d.test_from, data_hash: d.data_hash } }, folds: 1 });
    for (const [number, params, score] of [[0, { ...huber, objective: 'l2' as const, huber_delta: null }, 0.9], [1, huber, 0.8]] as const) {
      startTrial(reg, { study_id: 'h', number, rung: 0, budget: 90, params: { ...params } });
      completeTrial(reg, { study_id: 'h', number, rung: 0 }, { fold_scores: [score], fold_iterations: [40], fold_trees: [40], score, best_iteration: 40, seconds: 1 });
    }
    const choice = forecastChoice(reg, 'h', 1);
    expect(choice.volume.params).toMatchObject({ objective: 'huber', huber_delta: 0.2 });
    expect(choice.volume.record).toMatchObject({ study_trial: 1, objective: 'huber', huber_delta: 0.2 });
  });
});
