/** The loss as a tuned parameter (docs/tuning.md, "The loss"): a huber trial is scored with its loss
 * (the volume CV and the forecast's validation window), and `train --params-from` trains the
 * chosen loss (the volume refit, the forecast's volume booster). */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentProgress } from '../../core/progress.js';
import { completeTrial, createStudy, startTrial } from '../../registry/studies.js';
import { openRegistry } from '../../registry/store.js';
import { crossValidate } from '../cv.js';
import { syntheticVolumeData } from '../test-volume-data.js';
import { makeSlicesFromDays } from '../train.js';
import { parseTrainingLog } from '../training-curve.js';
import { preTestRows } from './data.js';
import { pretestDataset, studyEvaluator } from './evaluator.js';
import { studyChoice, refitChoice } from './refit.js';
import { DEFAULT_TRIAL, type TrialParams } from './space.js';

const huber: TrialParams = { ...DEFAULT_TRIAL, objective: 'huber', huber_delta: 0.1 };

describe('the loss of a trial', () => {
  const ds = syntheticVolumeData(10, 400, 5);
  const data = preTestRows(ds);

  it('volume: a huber trial is the CV of a huber booster, not the l2 one', async () => {
    const evaluate = studyEvaluator(data, 2);
    const [h, l] = [await evaluate({ params: huber, budget: 30, seed: 3, threads: 1 }), await evaluate({ params: DEFAULT_TRIAL, budget: 30, seed: 3, threads: 1 })];
    const { ds: pre, rows } = pretestDataset(data);
    const direct = await crossValidate(pre, rows, { params: { learning_rate: 0.1, num_leaves: 64, max_depth: 6, min_data_in_leaf: 100, lambda_l2: 1, objective: 'huber', huber_delta: 0.1, seed: 3 }, maxTrees: 30, patience: 10, folds: 2, threads: 1 });
    expect(h.fold_scores).toEqual(direct.folds.map((f) => f.best_score));
    expect(h.score).not.toBe(l.score);
  });

  it('train --params-from refits the chosen loss: a study whose best trial is huber gives a huber model', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-tune-loss-'));
    const reg = openRegistry(dir);
    try {
      createStudy(reg, { study_id: 's', name: 's', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 3, space: {}, settings: { data: { test_from: data.test_from, data_hash: data.data_hash } }, folds: 2 });
      for (const [number, params, score] of [[0, DEFAULT_TRIAL, 0.5], [1, huber, 0.4]] as const) {
        startTrial(reg, { study_id: 's', number, rung: 0, budget: 30, params: { ...params } });
        completeTrial(reg, { study_id: 's', number, rung: 0 }, { fold_scores: [score, score], fold_iterations: [20, 20], fold_trees: [20, 20], score, best_iteration: 20, seconds: 1 });
      }
      const c = studyChoice(reg, 's');
      expect(c.params).toMatchObject({ objective: 'huber', huber_delta: 0.1 });
      const out = await refitChoice(c, 1)(ds, makeSlicesFromDays(ds.day, data.test_from), { progress: silentProgress });
      expect(out.fit.params).toMatchObject({ objective: 'huber', huber_delta: 0.1, study_trial: 1 });
    } finally {
      reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a monotone trial is the CV of a constrained booster, and train --params-from refits it constrained ("1,0" in the model\'s params)', async () => {
    const held: TrialParams = { ...DEFAULT_TRIAL, monotone_vma: 1 };
    const evaluate = studyEvaluator(data, 2);
    const m = await evaluate({ params: held, budget: 30, seed: 3, threads: 1 });
    const { ds: pre, rows } = pretestDataset(data);
    const direct = await crossValidate(pre, rows, { params: { learning_rate: 0.1, num_leaves: 64, max_depth: 6, min_data_in_leaf: 100, lambda_l2: 1, objective: 'l2', monotone_constraints: '1,0', seed: 3 }, maxTrees: 30, patience: 10, folds: 2, threads: 1 });
    expect(m.fold_scores).toEqual(direct.folds.map((f) => f.best_score));
    const dir = await mkdtemp(join(tmpdir(), 'sp-tune-mono-'));
    const reg = openRegistry(dir);
    try {
      createStudy(reg, { study_id: 'm', name: 'm', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 3, space: {}, settings: { data: { test_from: data.test_from, data_hash: data.data_hash } }, folds: 2 });
      for (const [number, params, score] of [[0, DEFAULT_TRIAL, 0.5], [1, held, 0.4]] as const) {
        startTrial(reg, { study_id: 'm', number, rung: 0, budget: 30, params: { ...params } });
        completeTrial(reg, { study_id: 'm', number, rung: 0 }, { fold_scores: [score, score], fold_iterations: [20, 20], fold_trees: [20, 20], score, best_iteration: 20, seconds: 1 });
      }
      const out = await refitChoice(studyChoice(reg, 'm'), 1)(ds, makeSlicesFromDays(ds.day, data.test_from), { progress: silentProgress });
      expect(out.fit.params).toMatchObject({ monotone_constraints: '1,0', study_trial: 1 });
    } finally {
      reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('on changed data, the study keeps its own score in the model\'s params; the new folds\' score is the protocol\'s', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-tune-changed-'));
    const reg = openRegistry(dir);
    try {
      createStudy(reg, { study_id: 'c', name: 'c', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 3, space: {}, settings: { data: { test_from: data.test_from, data_hash: 'rows-it-tuned-on-then' } }, folds: 2 });
      startTrial(reg, { study_id: 'c', number: 0, rung: 0, budget: 10, params: { ...DEFAULT_TRIAL } });
      completeTrial(reg, { study_id: 'c', number: 0, rung: 0 }, { fold_scores: [0.123, 0.123], fold_iterations: [5, 5], fold_trees: [5, 5], score: 0.123, best_iteration: 5, seconds: 1 });
      const out = await refitChoice(studyChoice(reg, 'c'), 1)(ds, makeSlicesFromDays(ds.day, data.test_from), { progress: silentProgress });
      expect(out.fit.params).toMatchObject({ study_cv_score: 0.123, study_same_data: false });
      // Its training.log has the folds' curves (the model page's loss curves), as train's cv protocol writes them.
      expect(parseTrainingLog(out.fit.log).map((c) => c.key)).toEqual(['fold1.valid_rmse_log', 'fold2.valid_rmse_log', 'refit.train_loss']);
      expect(out.report.cv_rmse_log).not.toBe(0.123);
    } finally {
      reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('a choice with a training window is refitted on the rows in it, and says how many (not every pre-test row)', async () => {
    const long = syntheticVolumeData(4, 1200, 6);
    const pre = preTestRows(long);
    const dir = await mkdtemp(join(tmpdir(), 'sp-tune-window-'));
    const reg = openRegistry(dir);
    try {
      createStudy(reg, { study_id: 'w', name: 'w', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 3, space: {}, settings: { data: { test_from: pre.test_from, data_hash: pre.data_hash } }, folds: 2 });
      startTrial(reg, { study_id: 'w', number: 0, rung: 0, budget: 10, params: { ...DEFAULT_TRIAL, window_years: 2 } });
      completeTrial(reg, { study_id: 'w', number: 0, rung: 0 }, { fold_scores: [0.5, 0.5], fold_iterations: [5, 5], fold_trees: [5, 5], score: 0.5, best_iteration: 5, seconds: 1 });
      const s = makeSlicesFromDays(long.day, pre.test_from);
      const out = await refitChoice(studyChoice(reg, 'w'), 1)(long, s, { progress: silentProgress });
      const pretest = s.train.length + s.valid.length;
      const inWindow = [...s.train, ...s.valid].filter((i) => long.day[i]! >= s.testFrom! - Math.round(2 * 365.25)).length;
      expect(inWindow).toBeLessThan(pretest);
      expect(out.rowsFit).toBe(inWindow);
      expect(out.report.label).toContain(`refit on the ${inWindow} of the ${pretest} pre-test rows in the study's training window`);
    } finally {
      reg.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
