/** @module cli/train
 * `stockpipe train`: options → ml/train-volume (fit, model folder, registration, promotion on
 * `champion`) → the result for people (the metrics table, the promotion line) and --json. */
import type { RegressionMetrics } from '../ml/metrics/regression.js';
import type { TrainParams } from '../ml/train.js';
import type { TrainEnv } from '../ml/train-run.js';
import { trainVolume, type TrainData } from '../ml/train-volume.js';
import type { CommandContext, CommandResult } from './context.js';
import { promotionLine } from './promotion-text.js';
import { baselineWins } from '../registry/model-summary.js';
import type { ModelVersion } from '../registry/types.js';

export type { TrainData };

/** `-` for an undefined metric (R² of a slice whose volumes do not vary; null in --json). */
const fmt = (x: number): string => (!Number.isFinite(x) ? '-' : Math.abs(x) >= 1e4 ? x.toExponential(3) : x.toFixed(4));

/** The metrics table people read: one row per model kind. */
export function metricsTable(metrics: Record<string, RegressionMetrics>, highlight: string): string {
  const head = `  ${'model'.padEnd(16)}${['MAE', 'RMSE', 'R2', 'MAE_log', 'RMSE_log', 'R2_log'].map((h) => h.padStart(12)).join('')}`;
  const rows = Object.entries(metrics).map(([k, m]) => `  ${(k === highlight ? `${k} *` : k).padEnd(16)}${[m.mae, m.rmse, m.r2, m.mae_log, m.rmse_log, m.r2_log].map((v) => fmt(v).padStart(12)).join('')}`);
  return [head, ...rows].join('\n');
}

/** What a training run needs from the command's context. */
export function trainEnv(ctx: CommandContext): TrainEnv {
  return { ws: ctx.ws, now: ctx.now, progress: ctx.progress };
}

export async function trainCommand(ctx: CommandContext, p: TrainParams & { promoteIfBetter: boolean; asOf?: string; paramsFrom?: string }): Promise<CommandResult<TrainData>> {
  const data = await trainVolume(trainEnv(ctx), p);
  const human = [
    `trained ${data.model_id} (${data.kind}) in ${data.train_seconds} s → ${data.path}`,
    `  split ${data.split.kind}${data.split.leaky ? ' (random: leaky across time, for comparison only)' : ''}: train ${data.rows_train}, validation ${data.rows_valid}, test ${data.rows_test} rows (${data.test.date_min} .. ${data.test.date_max})`,
    `  protocol ${data.protocol.label}`,
    `  test slice (scored once, after choosing):`,
    metricsTable(data.metrics, data.kind),
    '  (MAE, RMSE: shares of daily volume; the _log columns: log1p(shares))',
    ...baselineWins({ kind: data.kind as ModelVersion['kind'], metrics: data.metrics as unknown as ModelVersion['metrics'] }).map((w) => `  note: ${w.note}`),
    data.lineage === null ? '' : `  data: features snapshot ${data.lineage.features_snapshot}${data.lineage.prices_snapshot === null ? '' : ` (prices snapshot ${data.lineage.prices_snapshot})`}, hash ${data.data_hash.slice(0, 16)}`,
    `  ${promotionLine(data.promotion)}`,
  ].filter(Boolean).join('\n');
  return { data, human };
}
