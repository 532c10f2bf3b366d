/** @module cli/forecast
 * `stockpipe forecast [--model ID|ALIAS]`: ml/forecast-next (every symbol's day-ahead forecast for
 * the next trading day after its last bar, written to the store) → the result for people and --json.
 * For the bullmq executor (ml/forecast-partitions): `--plan PLAN.json --buckets L --stage DIR`, one
 * partition's forecasts into a stage folder; `--commit-stage COMMIT.json`, all of them written at once. */
import { resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { readJsonFile } from '../core/fs.js';
import { forecastNextDay, type ForecastData } from '../ml/forecast-next.js';
import { commitForecastStages, ForecastCommitSchema, type ForecastPartitionReport, ForecastPlanSchema, runForecastPartition } from '../ml/forecast-partitions.js';
import type { CommandContext, CommandResult } from './context.js';

export type { ForecastData };

export interface ForecastCommandOptions {
  model?: string;
  until?: string;
  plan?: string;
  buckets?: number[];
  stage?: string;
  commitStage?: string;
}

export async function forecastCommand(ctx: CommandContext, opts: ForecastCommandOptions = {}): Promise<CommandResult<ForecastData | ForecastPartitionReport>> {
  const env = { ws: ctx.ws, now: ctx.now };
  const part = [opts.plan, opts.buckets, opts.stage].filter((x) => x !== undefined).length;
  if (part > 0 && part < 3) throw new StockpipeError('SP_ERR_USAGE', 'a partition is --plan, --buckets and --stage together');
  if ((part > 0 || opts.commitStage !== undefined) && (opts.model !== undefined || opts.until !== undefined || (part > 0 && opts.commitStage !== undefined))) {
    throw new StockpipeError('SP_ERR_USAGE', '--plan and --commit-stage do not go with each other or with --model, --date: the plan names them');
  }
  if (opts.plan !== undefined && opts.buckets !== undefined && opts.stage !== undefined) {
    const p = await runForecastPartition(env, { plan: await readJsonFile(resolve(opts.plan), ForecastPlanSchema, 'forecast plan'), buckets: opts.buckets, stage: resolve(opts.stage) });
    return { data: p, human: `${p.stage}\n  buckets ${p.buckets.join(',')}: ${p.rows} forecasts of model ${p.model_id}\n  ${p.seconds} s` };
  }
  const data = opts.commitStage !== undefined
    ? await commitForecastStages(env, await readJsonFile(resolve(opts.commitStage), ForecastCommitSchema, 'forecast commit file'))
    : await forecastNextDay(env, opts);
  const shown = data.target_dates.length > 3 ? `${data.target_dates.slice(-3).join(', ')} (+${data.target_dates.length - 3} earlier)` : data.target_dates.join(', ');
  const w = data.window;
  // Another window: the model's inputs from vol_moving_avg and adj_close_rolling_med mean something else than it learned (as evaluate says).
  const window = w.same === false ? `\n  warning: features built with --window ${w.read}; the model was trained on --window ${w.trained_on}: vol_moving_avg and adj_close_rolling_med mean other things than it learned, and the forecasts with them (train a model on these features: \`stockpipe train --task forecast --promote-if-better\`)` : '';
  const human = `forecast ${data.model_id}: ${data.rows_out} symbols → target day(s) ${shown}; last bar ${data.asof_date_max}\n  written to ${ctx.ws.registryPath} in ${data.seconds} s${window}`;
  return { data, human };
}
