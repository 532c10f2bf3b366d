/** @module cli/train-forecast
 * `stockpipe train --task forecast`: options → ml/train-forecast-run (the day-ahead model, its
 * folder, registration, promotion on `forecast_champion`) → the result for people (skill, the
 * metrics table, the promotion line) and --json. */
import { forecastColumns } from './models.js';
import type { ForecastTrainParams } from '../ml/forecast-train.js';
import { trainForecast, type TrainForecastData } from '../ml/train-forecast-run.js';
import type { CommandContext, CommandResult } from './context.js';
import { promotionLine } from './promotion-text.js';
import { trainEnv } from './train.js';

export type { TrainForecastData };

/** A skill for people: undefined (`-`) when persistence's error is 0; far below -1 in 4 digits (toFixed spells 1e21 and more out raw). */
const skill = (x: number): string => (!Number.isFinite(x) ? '-' : Math.abs(x) < 1e4 ? x.toFixed(4) : x.toPrecision(4));

export async function trainForecastCommand(ctx: CommandContext, p: ForecastTrainParams & { promoteIfBetter: boolean; asOf?: string; paramsFrom?: string }): Promise<CommandResult<TrainForecastData>> {
  const data = await trainForecast(trainEnv(ctx), p);
  const human = [
    `trained ${data.model_id} (day-ahead forecast) in ${data.train_seconds} s → ${data.path}`,
    `  split time on the target day: train ${data.rows_train}, validation ${data.rows_valid}, test ${data.rows_test} rows (targets ${data.test.date_min} .. ${data.test.date_max})${data.rows_skipped_gaps ? `; ${data.rows_skipped_gaps} rows skipped (next bar not the next trading day)` : ''}`,
    `  protocol ${data.protocol.label}`,
    `  skill vs persistence (1 - MAE/MAE_persistence): Adj Close ${skill(data.skill.adj_close)}, return ${skill(data.skill.return)}, Volume ${skill(data.skill.volume)}, log1p Volume ${skill(data.skill.volume_log)}`,
    data.study === null ? '' : `  volume booster: study ${data.study.study_id} trial ${data.study.trial} (validation ${data.study.metric} ${data.study.score.toFixed(4)}${data.study.same_data ? '' : '; the data changed since the study'})`,
    forecastColumns(data.metrics),
    `  ${promotionLine(data.promotion)}`,
  ].filter(Boolean).join('\n');
  return { data, human };
}
