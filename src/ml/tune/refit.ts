/** @module ml/tune/refit
 * `train --params-from STUDY`: the study's chosen configuration (its best evaluation at the highest
 * rung: parameters and the median of the folds' best iterations) refitted with ml/cv's refit on
 * every pre-test row of the time split, with the trial's training window and recency weights and
 * exactly that many trees (no early stopping: the CV chose the number). Plugs into train's cv
 * protocol (ml/train-protocol) in place of its own CV: the backtest promotion compares is the CV. */
import { StockpipeError } from '../../core/errors.js';
import { civilFromDays } from '../../etl/csv-parse.js';
import { bestOf } from './study.js';
import { crossValidate, pretestRows, refit, refitRows, timeSeriesFolds } from '../cv.js';
import type { CvChoice, ProtocolReport } from '../train-protocol.js';
import { preTestRows } from './data.js';
import type { Registry } from '../../registry/store.js';
import { getStudy, studyTrials } from '../../registry/studies.js';
import type { Progress } from '../../core/progress.js';
import type { VolumeDataset } from '../dataset.js';
import type { Slices } from '../split.js';
import { scorerForTrees } from '../tree-scorer.js';
import { boosterParams, dataChoices } from './evaluator.js';
import { toTrialParams, type TrialParams } from './space.js';

/** What a study chose. */
export interface StudyChoice {
  study_id: string;
  trial: number;
  rung: number;
  params: TrialParams;
  /** The refit's number of trees: the median of the folds' best iterations at that evaluation. */
  trees: number;
  cv_score: number;
  metric: string;
  seed: number;
  /** The study's test cut (YYYY-MM-DD): the refit's test slice starts there too. */
  test_from: string;
  /** The hash of the pre-test rows the study tuned on. */
  data_hash: string;
  folds: number;
  /** The chosen evaluation's tree budget, fold scores and best iterations. */
  budget: number;
  fold_scores: number[];
  fold_iterations: number[];
}

/** The choice of a study of `task` (another task's study: SP_ERR_STUDY_MISMATCH). */
export function studyChoice(reg: Registry, idOrName: string, task: 'volume' | 'forecast' = 'volume'): StudyChoice {
  const s = getStudy(reg, idOrName);
  if (s.task !== task) {
    // Most often the train's --task is the one missing (or extra): it is the first way out, a new study of this task the second.
    throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `study ${s.study_id} tuned the ${s.task} model; train ${task === 'forecast' ? '--task forecast ' : ''}--params-from takes a ${task} study`, {
      hint: `Train the ${s.task} model on it (\`stockpipe train ${s.task === 'forecast' ? '--task forecast ' : ''}--params-from ${idOrName}\`), or tune the ${task} model first (\`stockpipe tune${task === 'forecast' ? ' --task forecast' : ''}\`).`,
    });
  }
  const best = bestOf(studyTrials(reg, s.study_id), s.direction, s.state === 'complete');
  if (best === null || best.best_iteration === null || best.score === null) {
    // A failed study (every evaluation failed) would fail the same way again when resumed.
    throw new StockpipeError('SP_ERR_STUDY_INCOMPLETE', `study ${s.study_id} (${s.state}) has no complete trial${s.state === 'failed' ? `: every evaluation failed (${s.error ?? 'see `stockpipe studies`'})` : ' yet'}`, {
      hint: s.state === 'failed' ? 'Fix what its error names (often too little data for the folds), then start a new study with `stockpipe tune`.' : `Continue it with \`stockpipe tune --resume ${s.study_id}\`.`,
    });
  }
  const data = (s.settings as { data?: { test_from?: string; data_hash?: string } }).data;
  return {
    study_id: s.study_id, trial: best.number, rung: best.rung, params: toTrialParams(best.params), trees: best.best_iteration, cv_score: best.score, metric: s.metric, seed: s.seed,
    test_from: data?.test_from ?? '', data_hash: data?.data_hash ?? '', folds: s.folds, budget: best.budget, fold_scores: best.fold_scores ?? [], fold_iterations: best.fold_iterations ?? [],
  };
}

/** The fold rows of a report: ml/cv's fold specs with the scores and best iterations given. */
function foldRows(ds: VolumeDataset, pretest: Int32Array, folds: number, windowDays: number | undefined, scores: readonly number[], iters: readonly number[]): ProtocolReport['folds'] {
  const first = (rows: Int32Array): string => civilFromDays(rows.reduce((m, i) => Math.min(m, ds.day[i]!), Infinity));
  const last = (rows: Int32Array): string => civilFromDays(rows.reduce((m, i) => Math.max(m, ds.day[i]!), -Infinity));
  return timeSeriesFolds(ds.day, pretest, folds, undefined, windowDays).map((f, k) => ({
    index: f.index, train_from: first(f.train), valid_from: civilFromDays(f.validFrom), valid_to: last(f.valid),
    rows_train: f.train.length, rows_valid: f.valid.length, best_iter: iters[k]!, best_score: scores[k]!, seconds: 0,
  }));
}

/**
 * train's cv-protocol step for a study's choice: the folds run again (same rule and budget) for the
 * out-of-fold residuals the prediction intervals calibrate on; the backtest score is the study's own
 * when the pre-test rows are the ones it tuned on (same hash), else the new folds'; then the refit.
 */
export function refitChoice(c: StudyChoice, threads: number) {
  return async (ds: VolumeDataset, s: Slices, hooks: { progress: Progress; signal?: AbortSignal }): Promise<CvChoice> => {
    const pretest = pretestRows(s);
    const choices = dataChoices(c.params);
    const params = boosterParams(c.params, c.seed);
    const same = preTestRows(ds, c.test_from).data_hash === c.data_hash;
    let scores = c.fold_scores;
    let iters = c.fold_iterations;
    let trees = c.trees;
    let cvScore = c.cv_score;
    // The folds run even when the study already scored them on these rows: their out-of-fold
    // residuals calibrate the prediction intervals (ml/conformal); the scores are then the study's.
    hooks.progress.start(`cv of study ${c.study_id} trial ${c.trial}`, c.folds);
    let oof: Float64Array;
    let curves: string[] = [];
    try {
      const cv = await crossValidate(ds, pretest, { ...choices, params, maxTrees: c.budget, patience: c.params.patience, folds: c.folds, threads, signal: hooks.signal, onFold: (f) => hooks.progress.update(f.index + 1) });
      oof = cv.oof.residual;
      // Each fold's curve, as train's cv protocol logs it (the dashboard's loss curves read them).
      curves = cv.folds.map((f) => `# fold ${f.index + 1} curve (rmse_log after each tree): ${f.curve.map((x) => x.toPrecision(6)).join(' ')}`);
      if (!same) {
        ({ score: cvScore, iterations: trees } = cv);
        scores = cv.folds.map((f) => f.best_score);
        iters = cv.folds.map((f) => f.best_iter);
      }
    } finally {
      hooks.progress.stop();
    }
    const fitRows = refitRows(ds, pretest, { ...choices, refDay: s.testFrom! }).length;
    const rowsText = fitRows === pretest.length ? `${pretest.length} pre-test rows` : `the ${fitRows} of the ${pretest.length} pre-test rows in the study's training window`;
    const lines = [
      `# study ${c.study_id} trial ${c.trial} (rung ${c.rung}): ${JSON.stringify(c.params)}`,
      ...curves,
      `# cv_rmse_log ${cvScore.toPrecision(8)} over ${c.folds} fold${c.folds === 1 ? '' : 's'} (${same ? 'the study\'s evaluation: the same pre-test rows' : 'cross-validated again: the pre-test rows changed since the study'}); fold best ${iters.join(', ')}`,
      `# refit: gbdt on ${rowsText} (before ${civilFromDays(s.testFrom!)}) with ${trees} trees, target log1p(Volume) - log1p(vol_moving_avg); iteration train_loss`,
    ];
    hooks.progress.start('refit gbdt', trees);
    let r;
    try {
      r = await refit(ds, pretest, { ...choices, params, trees, refDay: s.testFrom!, threads, signal: hooks.signal, onIteration: (_f, t) => hooks.progress.update(t) });
    } finally {
      hooks.progress.stop();
    }
    for (const it of r.log) lines.push(`${it.iteration} ${it.train_loss?.toPrecision(8) ?? '-'}`);
    const folds = foldRows(ds, pretest, c.folds, choices.trainWindowDays, scores, iters);
    return {
      fit: {
        scorer: scorerForTrees(r.model), log: `${lines.join('\n')}\n`, bestIteration: trees,
        params: { target: 'log1p', boost_from: 'naive', ...r.model.params, protocol: 'cv', folds: c.folds, study_id: c.study_id, study_trial: c.trial, study_cv_score: c.cv_score, study_same_data: same, window_years: c.params.window_years, half_life_days: c.params.half_life_days, patience: c.params.patience },
      },
      report: { name: 'cv', label: `cv (study ${c.study_id}, trial ${c.trial}): ${c.folds} fold${c.folds === 1 ? '' : 's'} in the pre-test dates, cv rmse_log ${cvScore.toFixed(4)}, refit on ${rowsText} with ${trees} trees`, folds, cv_rmse_log: cvScore, trees },
      selection: { kind: 'cv', data_hash: ds.dataHash, windows: folds.map((f) => ({ from: f.valid_from, to: f.valid_to, rows: f.rows_valid })), metrics: { rmse_log: cvScore } },
      oof,
      rowsFit: fitRows,
    };
  };
}
