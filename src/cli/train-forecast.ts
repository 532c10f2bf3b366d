/** @module cli/train-forecast
 * `stockpipe train --task forecast`: features.parquet (built with --extended) → the day-ahead model
 * (ml/forecast-train) in models/<model-id>/ (model.json with both boosters, metrics.json,
 * training.log, card.md), registered as kind `forecast` with its run, params, metrics and data
 * version; then registry/promote on `forecast_champion` (never `champion`, the volume model the
 * API's /predict serves): an empty alias takes the model (`first`), `--promote-if-better` moves it
 * only when it beats the holder on the same test slice. */
import { createHash } from 'node:crypto';
import { ensureWritableDir } from '../core/fs.js';
import { writeModelFolder } from '../ml/artifacts.js';
import { parquetHash } from '../ml/dataset.js';
import { forecastMetricsTable, renderForecastCard } from '../ml/forecast-card.js';
import { forecastToJSON } from '../ml/forecast-model.js';
import { trainForecastModel, type ForecastOutcome, type ForecastTrainParams } from '../ml/forecast-train.js';
import { promote } from '../registry/promote.js';
import { openRegistry } from '../registry/store.js';
import type { PromoteDecision } from '../registry/types.js';
import type { CommandContext, CommandResult } from './context.js';
import { loadWorkspaceForecastFrame, workspaceRescorer } from './dataset.js';
import { promotionLine } from './promotion-text.js';
import { artifactRecords, registerOrRemove } from './train.js';

export const FORECAST_ALIAS = 'forecast_champion';
/** Promotion compares the Adj Close MAE on the same test slice (equivalently its skill). */
export const FORECAST_PROMOTE_METRIC = 'mae_adj_close';

/** The --json data: the training outcome's counts, split, test slice and metrics, plus the registration. */
export interface TrainForecastData extends Pick<ForecastOutcome, 'rows_train' | 'rows_valid' | 'rows_test' | 'rows_skipped_gaps' | 'split' | 'test' | 'train_seconds' | 'best_iteration' | 'metrics'> {
  model_id: string;
  kind: 'forecast';
  task: 'forecast';
  path: string;
  /** Rows of features.parquet read; rows_train + rows_valid + rows_test of them were usable. */
  rows_in: number;
  seconds: number;
  peak_rss_mb: number;
  /** The headline numbers: skill against persistence of the forecast on the test slice. */
  skill: { adj_close: number; return: number; volume: number; volume_log: number };
  data_hash: string;
  /** What happened to `forecast_champion` (always present: outcome first | promoted | kept | not_requested). */
  promotion: PromoteDecision;
}

export async function trainForecastCommand(ctx: CommandContext, p: ForecastTrainParams & { promoteIfBetter: boolean }): Promise<CommandResult<TrainForecastData>> {
  const t0 = performance.now();
  await ensureWritableDir(ctx.ws.root);
  const frame = await loadWorkspaceForecastFrame(ctx);
  const dataHash = await parquetHash(frame.path);
  const reg = openRegistry(ctx.ws);
  const runId = reg.startRun({ kind: 'train', name: 'train forecast', seed: p.seed });
  try {
    const out = await trainForecastModel(frame, p, { progress: ctx.progress });
    const createdAt = ctx.now().toISOString();
    const stamp = createdAt.replace(/[-:T]/g, '').slice(0, 14);
    const modelJson = forecastToJSON(out.model);
    const modelId = `forecast-${stamp}-${createHash('sha256').update(modelJson).update(runId).digest('hex').slice(0, 6)}`;
    const metricsDoc = { model_id: modelId, kind: 'forecast', split: out.split, test: out.test, metrics: out.metrics, valid: out.valid_metrics, data_hash: dataHash };
    const card = renderForecastCard({
      modelId,
      createdAt,
      dataPath: frame.path,
      dataHash,
      split: { train_rows: out.rows_train, valid_rows: out.rows_valid, test_rows: out.rows_test, test_from: out.split.test_from, valid_from: out.split.valid_from },
      test: out.test,
      features: out.model.featureNames,
      params: out.params,
      metrics: out.metrics,
      seconds: out.train_seconds,
      lineage: { run_id: runId, features: frame.path, data_hash: dataHash, best_iteration: `adj_close ${out.best_iteration.adj_close}, volume ${out.best_iteration.volume}` },
    });
    const dir = await writeModelFolder(ctx.ws, modelId, { modelJson, metrics: metricsDoc, trainingLog: out.training_log, card });
    const testSlice = { date_min: out.test.date_min, date_max: out.test.date_max, rows: out.test.rows, data_hash: `${dataHash}:forecast` };
    const artifacts = await artifactRecords(dir);
    await registerOrRemove(dir, () =>
      reg.transaction(() => {
        for (const a of artifacts) reg.logArtifact(runId, a);
        reg.recordDataVersion({ hash: dataHash, kind: 'features', path: frame.path, rows: frame.rows });
        reg.logParams(runId, { ...out.params, rows_train: out.rows_train, rows_valid: out.rows_valid, rows_test: out.rows_test });
        for (const [kind, m] of Object.entries(out.metrics)) reg.logMetrics(runId, m, { slice: `test/${kind}` });
        reg.registerModel({ model_id: modelId, kind: 'forecast', path: dir, metrics: out.metrics, test_slice: testSlice, run_id: runId, data_hash: dataHash, created_at: createdAt });
      }),
    );
    const promotion = await promote(reg, modelId, FORECAST_ALIAS, { metric: FORECAST_PROMOTE_METRIC, trigger: 'auto', mode: p.promoteIfBetter ? 'if-better' : 'if-empty', rescore: workspaceRescorer(ctx, { frame }) });
    reg.endRun(runId, 'finished');
    const fm = out.metrics.forecast!;
    const data: TrainForecastData = {
      model_id: modelId,
      kind: 'forecast',
      task: 'forecast',
      path: dir,
      rows_in: frame.rows,
      rows_train: out.rows_train,
      rows_valid: out.rows_valid,
      rows_test: out.rows_test,
      rows_skipped_gaps: out.rows_skipped_gaps,
      split: out.split,
      test: out.test,
      seconds: Math.round(performance.now() - t0) / 1000,
      train_seconds: out.train_seconds,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      best_iteration: out.best_iteration,
      metrics: out.metrics,
      skill: { adj_close: fm.skill_adj_close!, return: fm.skill_return!, volume: fm.skill_volume!, volume_log: fm.skill_volume_log! },
      data_hash: dataHash,
      promotion,
    };
    const human = [
      `trained ${modelId} (day-ahead forecast) in ${data.train_seconds} s → ${dir}`,
      `  split time on the target day: train ${out.rows_train}, validation ${out.rows_valid}, test ${out.rows_test} rows (targets ${out.test.date_min} .. ${out.test.date_max})${out.rows_skipped_gaps ? `; ${out.rows_skipped_gaps} rows skipped (next bar not the next trading day)` : ''}`,
      `  skill vs persistence (1 - MAE/MAE_persistence): Adj Close ${data.skill.adj_close.toFixed(4)}, return ${data.skill.return.toFixed(4)}, Volume ${data.skill.volume.toFixed(4)}, log1p Volume ${data.skill.volume_log.toFixed(4)}`,
      forecastMetricsTable(out.metrics),
      `  ${promotionLine(promotion)}`,
    ].filter(Boolean).join('\n');
    return { data, human };
  } catch (err) {
    reg.endRun(runId, 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    reg.close();
  }
}
