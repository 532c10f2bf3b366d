/** @module ml/train-protocol
 * How `stockpipe train` chooses a volume model without looking at the test slice (docs/models.md,
 * docs/models.md "Evaluation protocol"):
 * - `cv` (default on the time split): gbdt's number of trees by expanding-window CV inside the
 *   pre-test dates (ml/cv), refit on every pre-test row with the median of the folds' best
 *   iterations; naive and polyreg get the same folds' scores (polyreg refitted per fold, then on all
 *   pre-test rows). rf has no validation curve: it keeps the holdout protocol.
 * - `holdout` (`--folds 0` / `--protocol holdout`): trained on the train slice, gbdt early-stopped
 *   on the validation slice (the comparison of the previous protocol); scored there for promotion.
 * - `random-holdout` (`--split random`): the labelled leaky comparison; no selection score.
 * The selection slice (folds or window, and the score) is what promotion compares. */
import { civilFromDays } from '../etl/csv-parse.js';
import { fitPolyreg } from './baselines.js';
import { crossValidate, DEFAULT_FOLDS, pretestRows, refit, timeSeriesFolds, type CvFoldResult } from './cv.js';
import type { VolumeDataset } from './dataset.js';
import type { Progress } from '../core/progress.js';
import { regressionMetrics } from './metrics/regression.js';
import type { SelectionSlice } from '../registry/types.js';
import type { Slices } from './split.js';
import { gbdtParams, isLogLink, targetName, type TreeFit, type TreeTrainParams } from './tree-train.js';
import { scorerForTrees } from './tree-scorer.js';
import { naiveScorer, polyScorer, predictRows, type ModelKind, type VolumeScorer } from './volume-model.js';

export type ProtocolName = 'cv' | 'holdout' | 'random-holdout';

/** What metrics.json, card.md and `train --json` say about the protocol. */
export interface ProtocolReport {
  name: ProtocolName;
  /** One line for people. */
  label: string;
  /** The folds (cv), without their curves (those are in training.log). */
  folds: Array<Omit<CvFoldResult, 'curve'>>;
  /** Mean of the folds' best rmse_log (cv), else null. */
  cv_rmse_log: number | null;
  /** Trees of the final model chosen by the protocol (gbdt), else null. */
  trees: number | null;
}

export function protocolName(kind: ModelKind, split: 'time' | 'random', folds: number, protocol?: 'cv' | 'holdout'): ProtocolName {
  if (split === 'random') return 'random-holdout';
  if (protocol === 'holdout' || folds === 0 || kind === 'rf') return 'holdout';
  return 'cv';
}

const f4 = (x: number): string => x.toFixed(4);

function windowOf(ds: VolumeDataset, rows: Int32Array): { from: string; to: string; rows: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const i of rows) {
    lo = Math.min(lo, ds.day[i]!);
    hi = Math.max(hi, ds.day[i]!);
  }
  return { from: civilFromDays(lo), to: civilFromDays(hi), rows: rows.length };
}

function rmseLog(scorer: VolumeScorer, ds: VolumeDataset, rows: Int32Array): number {
  return regressionMetrics(Float64Array.from(rows, (i) => ds.volume[i]!), predictRows(scorer, ds.vma, ds.acm, rows)).rmse_log;
}

export interface CvChoice {
  fit: TreeFit;
  report: ProtocolReport;
  selection: SelectionSlice;
  /** Out-of-fold residuals yLog − predLog (each fold's validation rows at its best iteration): the intervals' calibration. */
  oof: Float64Array;
  /** The rows the refit trained on when not every pre-test row (a study's training window). */
  rowsFit?: number;
}

/** gbdt under the cv protocol: CV over the pre-test folds, refit on every pre-test row. */
export async function gbdtByCv(ds: VolumeDataset, s: Slices, p: TreeTrainParams & { folds: number }, hooks: { progress: Progress; signal?: AbortSignal }): Promise<CvChoice> {
  const pretest = pretestRows(s);
  const params = gbdtParams(p);
  const boostFrom = p.boostFrom ?? 'naive';
  const objective = params.objective ?? 'l2';
  const lines = [`# protocol cv: ${p.folds} expanding-window fold${p.folds === 1 ? '' : 's'} inside the pre-test dates (before ${civilFromDays(s.testFrom!)}), up to ${p.trees} trees, patience ${p.earlyStopping}, objective ${objective}${isLogLink(objective) ? ' on Volume (log link)' : ' on log1p(Volume)'}`];
  hooks.progress.start(`cv ${p.folds} folds`, p.folds * p.trees);
  let cv;
  try {
    cv = await crossValidate(ds, pretest, {
      params,
      maxTrees: p.trees,
      patience: p.earlyStopping,
      folds: p.folds,
      boostFrom,
      threads: p.threads,
      signal: hooks.signal,
      onIteration: (fold, tree) => hooks.progress.update(fold * p.trees + tree),
    });
  } finally {
    hooks.progress.stop();
  }
  for (const f of cv.folds) {
    lines.push(`# fold ${f.index + 1}: train ${f.train_from}..(before ${f.valid_from}) ${f.rows_train} rows, validate ${f.valid_from}..${f.valid_to} ${f.rows_valid} rows; best ${f.best_iter} trees, rmse_log ${f.best_score.toPrecision(8)}`);
    lines.push(`# fold ${f.index + 1} curve (rmse_log after each tree): ${f.curve.map((x) => x.toPrecision(6)).join(' ')}`);
  }
  lines.push(`# cv_rmse_log ${cv.score.toPrecision(8)} (mean of the fold minima); refit trees ${cv.iterations} (median of ${cv.folds.map((f) => f.best_iter).join(', ')})`);
  lines.push(`# refit: gbdt on all ${pretest.length} pre-test rows, ${cv.iterations} trees; iteration train_loss (${objective === 'l2' ? 'mean squared error on the target' : isLogLink(objective) ? `mean ${objective} loss on Volume / its mean` : `mean ${objective} loss on the target`})`);
  hooks.progress.start('refit gbdt', cv.iterations);
  let r;
  try {
    r = await refit(ds, pretest, {
      params,
      trees: cv.iterations,
      refDay: s.testFrom!,
      boostFrom,
      threads: p.threads,
      signal: hooks.signal,
      onIteration: (_f, tree) => hooks.progress.update(tree),
    });
  } finally {
    hooks.progress.stop();
  }
  for (const it of r.log) lines.push(`${it.iteration} ${it.train_loss === null ? '-' : it.train_loss.toPrecision(8)}`);
  const folds = cv.folds.map(({ curve: _curve, ...rest }) => rest);
  const label = `cv: ${cv.folds.length} fold${cv.folds.length === 1 ? '' : 's'} in the pre-test dates${objective === 'l2' ? '' : `, objective ${objective}`}, cv rmse_log ${f4(cv.score)}, refit on ${pretest.length} pre-test rows with ${cv.iterations} trees (fold best ${cv.folds.map((f) => f.best_iter).join(', ')})`;
  return {
    fit: { scorer: scorerForTrees(r.model), log: `${lines.join('\n')}\n`, bestIteration: cv.iterations, params: { target: targetName(p, 'gbdt'), boost_from: boostFrom, ...r.model.params, protocol: 'cv', folds: p.folds } },
    report: { name: 'cv', label, folds, cv_rmse_log: cv.score, trees: cv.iterations },
    oof: cv.oof.residual,
    selection: { kind: 'cv', data_hash: ds.dataHash, windows: cv.folds.map((f) => ({ from: f.valid_from, to: f.valid_to, rows: f.rows_valid })), metrics: { rmse_log: cv.score } },
  };
}

/**
 * naive or polyreg under the cv protocol: each fold's rmse_log (polyreg fitted on the fold's
 * training rows), their mean; the final model (polyreg: fitted on all pre-test rows).
 */
export function baselineByCv(kind: 'naive' | 'polyreg', ds: VolumeDataset, s: Slices, folds: number): { scorer: VolumeScorer; report: ProtocolReport; selection: SelectionSlice } {
  const pretest = pretestRows(s);
  const specs = timeSeriesFolds(ds.day, pretest, folds);
  const scorerOn = (rows: Int32Array): VolumeScorer => (kind === 'naive' ? naiveScorer() : polyScorer(fitPolyreg(ds.vma, ds.acm, ds.volume, rows)));
  const rows = specs.map((f) => {
    const score = rmseLog(scorerOn(f.train), ds, f.valid);
    const w = windowOf(ds, f.valid);
    return { index: f.index, train_from: windowOf(ds, f.train).from, valid_from: w.from, valid_to: w.to, rows_train: f.train.length, rows_valid: f.valid.length, best_iter: 0, best_score: score, seconds: 0 };
  });
  const score = rows.reduce((a, f) => a + f.best_score, 0) / rows.length;
  return {
    scorer: scorerOn(pretest),
    report: { name: 'cv', label: `cv: ${rows.length} fold${rows.length === 1 ? '' : 's'} in the pre-test dates, cv rmse_log ${f4(score)}${kind === 'polyreg' ? `, refit on ${pretest.length} pre-test rows` : ''}`, folds: rows, cv_rmse_log: score, trees: null },
    selection: { kind: 'cv', data_hash: ds.dataHash, windows: rows.map((f) => ({ from: f.valid_from, to: f.valid_to, rows: f.rows_valid })), metrics: { rmse_log: score } },
  };
}

/** The holdout protocol's selection: the model's rmse_log on the validation window (time split only). */
export function holdoutSelection(scorer: VolumeScorer, ds: VolumeDataset, s: Slices): SelectionSlice | null {
  if (s.kind !== 'time' || s.valid.length === 0) return null;
  return { kind: 'validation', data_hash: ds.dataHash, windows: [windowOf(ds, s.valid)], metrics: { rmse_log: rmseLog(scorer, ds, s.valid) } };
}

export function holdoutReport(name: 'holdout' | 'random-holdout', kind: ModelKind, best: number | null): ProtocolReport {
  const label =
    name === 'random-holdout'
      ? 'random-holdout: random 80/20 split (leaky across time, comparison only); no backtest score for promotion'
      : `holdout: trained on the train slice${kind === 'gbdt' ? `, early-stopped on the validation slice (${best} trees)` : kind === 'rf' ? ' (rf has no validation curve: no CV)' : ''}; promotion compares the validation window`;
  return { name, label, folds: [], cv_rmse_log: null, trees: kind === 'gbdt' ? best : null };
}

export { DEFAULT_FOLDS };
