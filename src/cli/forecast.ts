/** @module cli/forecast
 * `stockpipe forecast [--model ID|ALIAS]`: ml/forecast-next (every symbol's day-ahead forecast for
 * the next trading day after its last bar, written to the store) → the result for people and --json. */
import { forecastNextDay, type ForecastData } from '../ml/forecast-next.js';
import type { CommandContext, CommandResult } from './context.js';

export type { ForecastData };

export async function forecastCommand(ctx: CommandContext, opts: { model?: string; until?: string } = {}): Promise<CommandResult<ForecastData>> {
  const data = await forecastNextDay({ ws: ctx.ws, now: ctx.now }, opts);
  const shown = data.target_dates.length > 3 ? `${data.target_dates.slice(-3).join(', ')} (+${data.target_dates.length - 3} earlier)` : data.target_dates.join(', ');
  const human = `forecast ${data.model_id}: ${data.rows_out} symbols → target day(s) ${shown}; last bar ${data.asof_date_max}\n  written to ${ctx.ws.registryPath} in ${data.seconds} s`;
  return { data, human };
}
