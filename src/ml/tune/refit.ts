/** @module ml/tune/refit
 * `train --params-from STUDY`: the study's chosen configuration (its best evaluation at the highest
 * rung: parameters and the median of the folds' best iterations) refitted with ml/cv's refit on
 * every pre-test row of the time split, with the trial's training window and recency weights and
 * exactly that many trees (no early stopping: the CV chose the number). */
import { StockpipeError } from '../../core/errors.js';
import { civilFromDays } from '../../etl/csv-parse.js';
import { bestOf } from './study.js';
import { pretestRows, refit } from '../cv.js';
import type { Registry } from '../../registry/store.js';
import { getStudy, studyTrials } from '../../registry/studies.js';
import type { Progress } from '../../core/progress.js';
import type { VolumeDataset } from '../dataset.js';
import type { Slices } from '../split.js';
import { scorerForTrees } from '../tree-scorer.js';
import type { TreeFit } from '../tree-train.js';
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
}

export function studyChoice(reg: Registry, idOrName: string): StudyChoice {
  const s = getStudy(reg, idOrName);
  if (s.task !== 'volume') throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `study ${s.study_id} tuned the ${s.task} model; train --params-from takes a volume study`);
  const best = bestOf(studyTrials(reg, s.study_id), s.direction);
  if (best === null || best.best_iteration === null || best.score === null) throw new StockpipeError('SP_ERR_STUDY_INCOMPLETE', `study ${s.study_id} (${s.state}) has no complete trial yet`, { hint: `Continue it with \`stockpipe tune --resume ${s.study_id}\`.` });
  const data = (s.settings as { data?: { test_from?: string } }).data;
  return { study_id: s.study_id, trial: best.number, rung: best.rung, params: toTrialParams(best.params), trees: best.best_iteration, cv_score: best.score, metric: s.metric, seed: s.seed, test_from: data?.test_from ?? '' };
}

/** The fit train's `fit` hook runs for a study's choice. */
export function refitChoice(c: StudyChoice, threads: number) {
  return async (ds: VolumeDataset, s: Slices, hooks: { progress: Progress; signal?: AbortSignal }): Promise<TreeFit & { rows: { train: number; valid: number } }> => {
    const rows = pretestRows(s);
    const lines = [`# gbdt refit of study ${c.study_id} trial ${c.trial} on the ${rows.length} pre-test rows (before ${civilFromDays(s.testFrom!)}): ${c.trees} trees, target log1p(Volume) - log1p(vol_moving_avg); iteration`];
    hooks.progress.start('refit gbdt', c.trees);
    try {
      const r = await refit(ds, rows, {
        ...dataChoices(c.params), params: boosterParams(c.params, c.seed), trees: c.trees, refDay: s.testFrom!, threads, signal: hooks.signal,
        onIteration: (_f, t) => hooks.progress.update(t),
      });
      for (const it of r.log) lines.push(`${it.iteration} ${it.train_loss?.toPrecision(8) ?? '-'}`);
      return {
        scorer: scorerForTrees(r.model),
        log: `${lines.join('\n')}\n`,
        bestIteration: c.trees,
        params: { target: 'log1p', boost_from: 'naive', ...r.model.params, study_id: c.study_id, study_trial: c.trial, study_cv_score: c.cv_score, window_years: c.params.window_years, half_life_days: c.params.half_life_days, patience: c.params.patience },
        rows: { train: rows.length, valid: 0 },
      };
    } finally {
      hooks.progress.stop();
    }
  };
}
