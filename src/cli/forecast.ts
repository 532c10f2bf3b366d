/** @module cli/forecast
 * `stockpipe forecast [--model ID|ALIAS]`: for every symbol, the day-ahead forecast (SPEC §4.3) for
 * the next NYSE trading day after its last bar, from the model the alias `forecast_champion` (or
 * --model) names, written to the store's `forecasts` table in one transaction. Reads each symbol's
 * newest row of features.parquet (built with --extended) and batch-scores them on typed arrays. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { civilFromDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import { openDuckDB } from '../db/duckdb.js';
import { NextTradingDay } from '../features/lagged.js';
import { FORECAST_FEATURES, loadLastRows, modelColumns } from '../ml/forecast-dataset.js';
import { forecastFromJSON, scoreForecast } from '../ml/forecast-model.js';
import { writeForecasts, type ForecastInput } from '../registry/forecasts.js';
import { openRegistry } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';
import { FORECAST_ALIAS } from './train-forecast.js';

export interface ForecastData {
  model_id: string;
  run_id: string;
  /** The newest last bar over the symbols. */
  asof_date_max: string;
  /** The distinct target days written, sorted. */
  target_dates: string[];
  symbols: number;
  rows_in: number;
  rows_out: number;
  seconds: number;
}

export async function forecastCommand(ctx: CommandContext, opts: { model?: string } = {}): Promise<CommandResult<ForecastData>> {
  const t0 = performance.now();
  const ref = opts.model ?? FORECAST_ALIAS;
  const reg = openRegistry(ctx.ws, { now: ctx.now });
  try {
    const mv = reg.getModel(ref);
    if (mv.kind !== 'forecast') throw new StockpipeError('SP_ERR_USAGE', `model ${mv.id} ('${ref}') is a ${mv.kind} volume model, not a day-ahead forecast model`, { hint: 'Train one with `stockpipe train --task forecast --promote-if-better`, or pass --model <forecast-model-id>.' });
    const file = join(mv.path, 'model.json');
    const model = forecastFromJSON(await readFile(file, 'utf8'), file);
    const db = await openDuckDB(ctx.ws.duckdbSettings());
    let loaded: Awaited<ReturnType<typeof loadLastRows>>;
    try {
      loaded = await loadLastRows(db.connection, ctx.ws.featuresTable);
    } finally {
      db.close();
    }
    const { frame, symbols } = loaded;
    const byName = new Map<string, Float64Array>(modelColumns(frame).map((c, i) => [FORECAST_FEATURES[i]!, c]));
    const columns = model.featureNames.map((name) => {
      const c = byName.get(name);
      if (!c) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${file}: input '${name}' is not a day-ahead feature this stockpipe computes (${FORECAST_FEATURES.join(', ')})`);
      return c;
    });
    const scores = scoreForecast(model, columns, frame.adjClose);
    const runId = reg.startRun({ kind: 'forecast', name: `forecast ${mv.id}` });
    const cal = new NextTradingDay();
    const rows: ForecastInput[] = new Array(frame.rows);
    const targets = new Set<string>();
    let asofMax = -Infinity;
    for (let i = 0; i < frame.rows; i++) {
      const day = frame.day[i]!;
      const target = civilFromDays(cal.next(day));
      targets.add(target);
      if (day > asofMax) asofMax = day;
      rows[i] = { model_id: mv.id, symbol: symbols[i]!, asof_date: civilFromDays(day), target_date: target, adj_close: scores.adjClose[i]!, volume: scores.volume[i]!, last_adj_close: frame.adjClose[i]!, last_volume: frame.volume[i]!, run_id: runId };
    }
    try {
      writeForecasts(reg, rows);
    } catch (err) {
      reg.endRun(runId, 'failed', err instanceof Error ? err.message : String(err));
      throw err;
    }
    reg.endRun(runId, 'finished');
    const data: ForecastData = {
      model_id: mv.id,
      run_id: runId,
      asof_date_max: frame.rows > 0 ? civilFromDays(asofMax) : '',
      target_dates: [...targets].sort(),
      symbols: symbols.length,
      rows_in: frame.rows,
      rows_out: rows.length,
      seconds: Math.round(performance.now() - t0) / 1000,
    };
    const shown = data.target_dates.length > 3 ? `${data.target_dates.slice(-3).join(', ')} (+${data.target_dates.length - 3} earlier)` : data.target_dates.join(', ');
    const human = `forecast ${mv.id}: ${data.rows_out} symbols → target day(s) ${shown}; last bar ${data.asof_date_max}\n  written to ${reg.file} in ${data.seconds} s`;
    return { data, human };
  } finally {
    reg.close();
  }
}
