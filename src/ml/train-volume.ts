/** @module ml/train-volume
 * Training the volume model end to end (`stockpipe train [--as-of X]`): the features table (as of a snapshot) → ml/train (fit, test
 * metrics next to the baselines) → models/<model-id>/ (model.json, metrics.json, training.log,
 * card.md) registered with its run, params, metrics and data version (ml/train-run) → promotion
 * on `champion`: an empty alias takes the model (`first`), `promoteIfBetter` moves it only when it
 * beats the holder on the backtest over the pre-test folds (never the test slice: ml/train-protocol);
 * `--params-from STUDY` refits a tuning study's choice (ml/tune/refit). Returns the command's --json data; rendering is cli/'s. */
import { StockpipeError } from '../core/errors.js';
import { ensureWritableDir } from '../core/fs.js';
import { openRegistry } from '../registry/store.js';
import { refitChoice, studyChoice, type StudyChoice } from './tune/refit.js';
import type { PromoteDecision } from '../registry/types.js';
import { renderCard } from './artifacts.js';
import { conformalToJSON, type CoverageRow, type UnreportedCoverage } from './conformal.js';
import type { RegressionMetrics } from './metrics/regression.js';
import { featuresBuild, loadWorkspaceVolumeData, workspaceRescorer } from './rescore.js';
import { trainVolumeModel, type TrainOutcome, type TrainParams } from './train.js';
import { lineageCard, metricSets, procedureHash, trainAndRegister, type TrainEnv } from './train-run.js';
import type { DataLineage } from './dataset.js';
import type { ProtocolReport } from './train-protocol.js';
import type { SelectionSlice } from '../registry/types.js';

/** `stockpipe train --json` data (volume task). */
export interface TrainData {
  model_id: string;
  kind: string;
  path: string;
  rows_train: number;
  rows_valid: number;
  rows_test: number;
  split: { kind: string; test_from: string | null; valid_from: string | null; leaky: boolean };
  test: { date_min: string; date_max: string; rows: number };
  seconds: number;
  train_seconds: number;
  peak_rss_mb: number;
  best_iteration: number | null;
  /** How the model was chosen: cv (folds, cv_rmse_log, trees), holdout or random-holdout. */
  protocol: ProtocolReport;
  /** Mean of the CV folds' best rmse_log (protocol cv), else null. */
  cv_rmse_log: number | null;
  /** What promotion compares, with the score (never the test slice). */
  selection: SelectionSlice | null;
  metrics: Record<string, RegressionMetrics>;
  /** Prediction intervals: calibration source and size, coverage on the test slice (null: none). */
  intervals: { source: string; n: number; coverage: CoverageRow[]; not_reported: UnreportedCoverage[] } | null;
  data_hash: string;
  /** The store snapshots the data was read from (features, and the prices it was built from). */
  lineage: DataLineage | null;
  /** What happened to `champion` (always present: outcome first | promoted | kept | not_requested). */
  promotion: PromoteDecision;
}

/** The volume model's two inputs (the serving contract), as its procedure fingerprint names them. */
const VOLUME_INPUTS = ['vol_moving_avg', 'adj_close_rolling_med'];

export const VOLUME_ALIAS = 'champion';
/** Promotion compares the log-scale RMSE of the backtest (CV folds or validation window; never the test slice). */
export const VOLUME_PROMOTE_METRIC = 'rmse_log';

/** metrics.json's and the card's `intervals`: where they were calibrated and their test coverage (null: none). */
function intervalsDoc(out: TrainOutcome): { source: string; n: number; coverage: CoverageRow[]; not_reported: UnreportedCoverage[] } | null {
  return out.intervals ? { source: out.intervals.source, n: out.intervals.n, coverage: out.interval_coverage, not_reported: out.interval_not_reported } : null;
}

/** `--params-from STUDY`: the study's choice, and train's options set from it (the study's test cut, its refit). */
function fromStudy(env: TrainEnv, p: TrainParams & { paramsFrom?: string }): TrainParams & { choice?: Pick<StudyChoice, 'study_id' | 'trial' | 'params' | 'trees'> } {
  if (p.paramsFrom === undefined) return p;
  const reg = openRegistry(env.ws, { readonly: true, now: env.now });
  let c: StudyChoice;
  try {
    c = studyChoice(reg, p.paramsFrom);
  } finally {
    reg.close();
  }
  if (p.testFrom !== undefined && p.testFrom !== c.test_from) throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `study ${c.study_id} tuned on the rows before ${c.test_from}; --test-from ${p.testFrom} would test on rows it tuned on, or leave some out`, { hint: 'Drop --test-from: the study\'s test cut is used.' });
  // `choice`: what the refit fits (the study's settings and trees), for the procedure fingerprint: `fit` is a closure over it.
  return { ...p, seed: c.seed, testFrom: c.test_from, protocol: 'cv', folds: c.folds, fit: refitChoice(c, p.threads), choice: { study_id: c.study_id, trial: c.trial, params: c.params, trees: c.trees } };
}

export async function trainVolume(env: TrainEnv, given: TrainParams & { promoteIfBetter: boolean; asOf?: string; paramsFrom?: string }): Promise<TrainData> {
  const t0 = performance.now();
  const p = { ...given, ...fromStudy(env, given) };
  await ensureWritableDir(env.ws.root);
  const ds = await loadWorkspaceVolumeData(env.ws, p.asOf);
  const procedure = procedureHash(p.kind, VOLUME_INPUTS, { ...p, features: featuresBuild(env.ws, ds.lineage) });
  const withProcedure = (o: TrainOutcome): TrainOutcome => ({ ...o, selection: o.selection && { ...o.selection, procedure } });
  const r = await trainAndRegister(env.ws, env.now, {
    runName: p.paramsFrom === undefined ? `train ${p.kind}` : `train ${p.kind} --params-from ${p.paramsFrom}`,
    seed: p.seed,
    fit: () => trainVolumeModel(ds, p, { progress: env.progress }),
    describe: (trained) => {
      const out = withProcedure(trained);
      return {
      kind: p.kind,
      modelJson: out.scorer.toJSON(),
      metricsDoc: { split: out.split, protocol: out.protocol, cv_rmse_log: out.protocol.cv_rmse_log, selection: out.selection, test: out.test, metrics: out.metrics, valid: out.valid_metrics, slices: out.slices, intervals: intervalsDoc(out), data_hash: ds.dataHash },
      trainingLog: out.training_log,
      intervalsJson: out.intervals ? conformalToJSON(out.intervals) : undefined,
      card: ({ modelId, createdAt, runId }) => renderCard({
        modelId,
        kind: p.kind,
        createdAt,
        dataPath: ds.path,
        dataHash: ds.dataHash,
        split: { kind: out.split.kind, train_rows: out.rows_train, valid_rows: out.rows_valid, test_rows: out.rows_test, test_from: out.split.test_from, valid_from: out.split.valid_from },
        params: out.params,
        metrics: out.metrics,
        protocol: out.protocol,
        selection: out.selection,
        seconds: out.train_seconds,
        intervals: intervalsDoc(out) ?? undefined,
        lineage: { run_id: runId, features: ds.path, data_hash: ds.dataHash, ...lineageCard(ds.lineage), best_iteration: String(out.best_iteration ?? 'n/a') },
      }),
      params: out.params,
      rows: { train: out.rows_train, valid: out.rows_valid, test: out.rows_test },
      loggedMetrics: Object.fromEntries(Object.entries(out.metrics).map(([k, m]) => [k, { mae: m.mae, rmse: m.rmse, r2: m.r2, mae_log: m.mae_log, rmse_log: m.rmse_log, r2_log: m.r2_log }])),
      metrics: metricSets(out.metrics),
      test: out.test,
      selection: out.selection,
      sliceTag: out.split.kind,
      data: { hash: ds.dataHash, path: ds.path, rows: ds.rows, lineage: ds.lineage },
      };
    },
    alias: VOLUME_ALIAS,
    metric: VOLUME_PROMOTE_METRIC,
    promoteIfBetter: p.promoteIfBetter,
    rescore: workspaceRescorer(env.ws, { ds }),
  });
  const out = withProcedure(r.out);
  return {
    model_id: r.modelId,
    kind: p.kind,
    path: r.dir,
    rows_train: out.rows_train,
    rows_valid: out.rows_valid,
    rows_test: out.rows_test,
    split: out.split,
    test: out.test,
    seconds: Math.round(performance.now() - t0) / 1000,
    train_seconds: out.train_seconds,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    best_iteration: out.best_iteration,
    protocol: out.protocol,
    cv_rmse_log: out.protocol.cv_rmse_log,
    selection: out.selection,
    metrics: out.metrics,
    intervals: intervalsDoc(out),
    data_hash: ds.dataHash,
    lineage: ds.lineage ?? null,
    promotion: r.promotion,
  };
}
