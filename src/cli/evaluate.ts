/** @module cli/evaluate
 * `stockpipe evaluate [id|alias]`: ml/evaluate (the model on its own test slice next to the
 * baselines, the run recorded) → the result for people (metrics table, per-slice lines) and --json. */
import { evaluateModel, isForecastEvaluation, type EvaluateData, type EvaluateForecastData } from '../ml/evaluate.js';
import { forecastColumns } from './models.js';
import type { CommandContext, CommandResult } from './context.js';
import { metricsTable } from './train.js';

export type { EvaluateData, EvaluateForecastData };

/** Which features snapshot was scored, and a warning when it is not the one the model was trained on. */
function snapshotLine(data: EvaluateData | EvaluateForecastData): string {
  const s = data.snapshot;
  if (s.read === null) return '';
  const w = s.window;
  // Another window: the inputs themselves mean something else (a 10-row mean where the model learned a 30-row one).
  const window = w.same === false ? `\n  features built with --window ${w.read}; the model was trained on --window ${w.trained_on}: vol_moving_avg and adj_close_rolling_med mean other things than it learned, and the scores with them` : '';
  if (s.same !== false) return `  features snapshot ${s.read}${s.same === true ? ' (the one it was trained on)' : ''}${window}`;
  return `  features snapshot ${s.read}, not ${s.trained_on}, the one it was trained on: rows may have changed since, and the scores with them (\`--as-of ${s.trained_on}\` scores what it was trained and tested on)${window}`;
}

export async function evaluateCommand(ctx: CommandContext, ref: string | undefined, asOf?: string): Promise<CommandResult<EvaluateData | EvaluateForecastData>> {
  const data = await evaluateModel({ ws: ctx.ws }, ref, asOf);
  if (isForecastEvaluation(data)) {
    const human = [
      `${data.model_id} (day-ahead forecast) on its test slice (target days ${data.test.date_min} .. ${data.test.date_max}, ${data.test.rows} rows${data.split.until === null ? '' : `; rows dated up to ${data.split.until}, its --date`})`,
      forecastColumns(data.metrics),
      snapshotLine(data),
    ].filter((l) => l !== '').join('\n');
    return { data, human };
  }
  const { slices } = data;
  const byAsset = Object.entries(slices.by_asset).map(([k, m]) => `${k} rmse_log ${m.rmse_log.toFixed(4)} (${m.rows} rows)`).join(', ');
  const human = [
    `${data.model_id} (${data.kind}) on its ${data.split.kind} test slice ${data.test.date_min} .. ${data.test.date_max}, ${data.test.rows} rows${data.split.kind === 'random' ? ' — random split: leaky across time, for comparison only' : ''}`,
    metricsTable(data.metrics, data.kind),
    ...Object.entries(data.baselines_skipped).map(([kind, why]) => `  ${kind} baseline ${why}`),
    `  by asset: ${byAsset}`,
    `  by year: ${Object.entries(slices.by_year).map(([k, m]) => `${k} ${m.rmse_log.toFixed(4)}`).join(', ')} (rmse_log)`,
    // All ten in order as before; numbered when a tie of one volume (zero-volume days) swallowed some.
    `  by volume decile (rmse_log): ${slices.by_volume_decile.map((d) => (slices.by_volume_decile.length === 10 ? '' : `${d.decile}:`) + d.rmse_log.toFixed(3)).join(' ')}`,
    snapshotLine(data),
  ].filter((l) => l !== '').join('\n');
  return { data, human };
}
