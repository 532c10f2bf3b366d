/** @module ml/train-forecast-run
 * Training the day-ahead model end to end (`stockpipe train --task forecast`): the features table
 * (built with --extended; as of a snapshot with --as-of) → ml/forecast-train (two boosters, persistence baseline, skill) →
 * models/<model-id>/ registered as kind `forecast` (ml/train-run) → promotion on
 * `forecast_champion` (never `champion`, the volume model /predict serves): an empty alias takes
 * the model (`first`), `promoteIfBetter` moves it only when it beats the holder on the same test
 * slice. Returns the command's --json data; rendering is cli/'s. */
import { StockpipeError } from '../core/errors.js';
import { ensureWritableDir } from '../core/fs.js';
import { openRegistry } from '../registry/store.js';
import { forecastChoice, forecastTuneData } from './tune/forecast.js';
import type { PromoteDecision } from '../registry/types.js';
import type { DataLineage } from './dataset.js';
import { renderForecastCard } from './forecast-card.js';
import { forecastToJSON } from './forecast-model.js';
import { forecastSplitCuts, streamedTrainBins, trainForecastModel, type ForecastOutcome, type ForecastTrainParams } from './forecast-train.js';
import { featuresBuild, loadWorkspaceForecastData, workspaceRescorer } from './rescore.js';
import { lineageCard, procedureHash, trainAndRegister, type TrainEnv } from './train-run.js';
import { FORECAST_FEATURES, frameHash } from './forecast-dataset.js';
import { defaultPromoteMetric } from '../registry/promote.js';

import { FORECAST_ALIAS } from '../registry/alias-kinds.js';

export { FORECAST_ALIAS };

/** `stockpipe train --task forecast --json` data: the training outcome's counts, split, test slice and metrics, plus the registration. */
export interface TrainForecastData extends Pick<ForecastOutcome, 'rows_train' | 'rows_valid' | 'rows_test' | 'rows_skipped_gaps' | 'split' | 'test' | 'train_seconds' | 'best_iteration' | 'metrics' | 'protocol'> {
  model_id: string;
  kind: 'forecast';
  task: 'forecast';
  path: string;
  /** Rows of the features table read; rows_train + rows_valid + rows_test of them were usable. */
  rows_in: number;
  seconds: number;
  peak_rss_mb: number;
  /** The headline numbers: skill against persistence of the forecast on the test slice. */
  skill: { adj_close: number; return: number; volume: number; volume_log: number };
  data_hash: string;
  /** The store snapshots the data was read from. */
  lineage: DataLineage | null;
  /** What happened to `forecast_champion` (always present: outcome first | promoted | kept | not_requested). */
  promotion: PromoteDecision;
  /** `--params-from`: the study whose choice the volume booster was trained with (its validation score; same_data: the rows it tuned on are these). */
  study: { study_id: string; trial: number; metric: string; score: number; same_data: boolean } | null;
}

/** `--params-from STUDY` (a forecast study): the volume booster's settings, the study's seed and test cut. */
function fromStudy(env: TrainEnv, p: ForecastTrainParams & { paramsFrom?: string }): ForecastTrainParams & { study?: { choice: ReturnType<typeof forecastChoice>['choice'] } } {
  if (p.paramsFrom === undefined) return p;
  const reg = openRegistry(env.ws, { readonly: true, now: env.now });
  let r: ReturnType<typeof forecastChoice>;
  try {
    r = forecastChoice(reg, p.paramsFrom, p.threads);
  } finally {
    reg.close();
  }
  const c = r.choice;
  if (p.testFrom !== undefined && p.testFrom !== c.test_from) throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `study ${c.study_id} tuned on the rows before ${c.test_from}; --test-from ${p.testFrom} would test on rows it tuned on, or leave some out`, { hint: 'Drop --test-from: the study\'s test cut is used.' });
  // The study's test slice starts at its cut: a --date before it leaves no row to test (the error then sent to --test-from, which --params-from refuses).
  if (p.until !== undefined && p.until < c.test_from) {
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `--date ${p.until} is before the test cut of study ${c.study_id} (${c.test_from}): no row would be left to test on`, { hint: `Give a --date on or after ${c.test_from}, or train without --params-from.` });
  }
  return { ...p, seed: c.seed, testFrom: c.test_from, volume: r.volume, study: { choice: c } };
}

export async function trainForecast(env: TrainEnv, given: ForecastTrainParams & { promoteIfBetter: boolean; asOf?: string; paramsFrom?: string }): Promise<TrainForecastData> {
  const t0 = performance.now();
  const p = { ...given, ...fromStudy(env, given) };
  await ensureWritableDir(env.ws.root);
  // Cut at the split (ml/forecast-blocks). With the tree flags the training rows' inputs are binned
  // as they are read, a group at a time, and not kept; a study's choice (a training window, its data
  // hash) reads them, so they are kept, and let go of once binned.
  const stream = p.volume === undefined ? streamedTrainBins(p.testFrom, p, FORECAST_FEATURES) : null;
  const frame = await loadWorkspaceForecastData(env.ws, p.asOf, p.until, stream?.cuts ?? forecastSplitCuts(p.testFrom), stream?.sink);
  const dataHash = frameHash(frame);
  const c = p.study?.choice;
  const study = c === undefined ? null : { study_id: c.study_id, trial: c.trial, metric: c.metric, score: c.cv_score, same_data: forecastTuneData(frame, c.test_from).data_hash === c.data_hash };
  const r = await trainAndRegister(env.ws, env.now, {
    runName: 'train forecast',
    seed: p.seed,
    fit: () => trainForecastModel(frame, p, { progress: env.progress }, stream?.bins()),
    describe: (out) => ({
      kind: 'forecast',
      modelJson: forecastToJSON(out.model),
      metricsDoc: { split: out.split, protocol: out.protocol, test: out.test, metrics: out.metrics, valid: out.valid_metrics, data_hash: dataHash, data_until: p.until ?? null },
      trainingLog: out.training_log,
      card: ({ modelId, createdAt, runId }) => renderForecastCard({
        modelId,
        createdAt,
        dataPath: frame.path,
        dataHash,
        split: { train_rows: out.rows_train, valid_rows: out.rows_valid, test_rows: out.rows_test, test_from: out.split.test_from, valid_from: out.split.valid_from },
        test: out.test,
        features: out.model.featureNames,
        params: out.params,
        protocol: out.protocol.label,
        metrics: out.metrics,
        seconds: out.train_seconds,
        lineage: { run_id: runId, features: frame.path, data_hash: dataHash, ...lineageCard(frame.lineage), best_iteration: `adj_close ${out.best_iteration.adj_close}, volume ${out.best_iteration.volume}` },
      }),
      params: out.params,
      rows: { train: out.rows_train, valid: out.rows_valid, test: out.rows_test },
      loggedMetrics: out.metrics,
      metrics: out.metrics,
      test: out.test,
      // Promotion compares the validation window (held out before the test slice), never the test slice.
      selection: out.valid_window === null || out.valid_metrics === null ? null : { kind: 'validation', data_hash: dataHash, windows: [out.valid_window], metrics: out.valid_metrics, procedure: procedureHash('forecast', out.model.volume.featureNames, { ...p, features: featuresBuild(env.ws, frame.lineage) }) },
      sliceTag: 'forecast',
      data: { hash: dataHash, path: frame.path, rows: frame.rows, lineage: frame.lineage },
    }),
    alias: FORECAST_ALIAS,
    metric: defaultPromoteMetric('forecast'),
    promoteIfBetter: p.promoteIfBetter,
    rescore: workspaceRescorer(env.ws, { frame }),
  });
  const out = r.out;
  const fm = out.metrics.forecast!;
  return {
    model_id: r.modelId,
    kind: 'forecast',
    task: 'forecast',
    path: r.dir,
    rows_in: frame.rows,
    rows_train: out.rows_train,
    rows_valid: out.rows_valid,
    rows_test: out.rows_test,
    rows_skipped_gaps: out.rows_skipped_gaps,
    split: out.split,
    protocol: out.protocol,
    test: out.test,
    seconds: Math.round(performance.now() - t0) / 1000,
    train_seconds: out.train_seconds,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    best_iteration: out.best_iteration,
    metrics: out.metrics,
    skill: { adj_close: fm.skill_adj_close!, return: fm.skill_return!, volume: fm.skill_volume!, volume_log: fm.skill_volume_log! },
    data_hash: dataHash,
    lineage: frame.lineage ?? null,
    promotion: r.promotion,
    study,
  };
}
