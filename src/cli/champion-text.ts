/** @module cli/champion-text
 * The lines a finished `run` ends with (`npm start` shows them before it serves): the model each
 * serving alias points at, its test scores next to its baselines' on the raw and the log scale, and
 * plainly which baseline beats it where one does. Reads the store only. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { baselineWins } from '../registry/model-summary.js';
import type { Registry } from '../registry/store.js';
import type { ModelVersion } from '../registry/types.js';

const f4 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4));
const sci = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : x.toExponential(3));
const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);

/** A volume model: rmse_log and raw RMSE (shares of daily volume) against every baseline scored with it. */
function volumeLines(mv: ModelVersion): string[] {
  const own = mv.metrics[mv.kind];
  if (!own) return [`champion ${mv.id} (${mv.kind}): no test metrics recorded`];
  const baselines = Object.keys(mv.metrics).filter((k) => k !== mv.kind);
  const backtest = mv.test_slice?.selection?.metrics?.rmse_log;
  const lines = [
    `champion ${mv.id} (${mv.kind})${backtest === undefined ? '' : `, backtest rmse_log ${f4(backtest)} (what promotion compares)`}`,
    `  test ${mv.test_slice ? `${mv.test_slice.date_min}..${mv.test_slice.date_max}, ${mv.test_slice.rows} rows` : ''}: rmse_log ${f4(own.rmse_log)}, R² log ${f4(own.r2_log)}; raw volume RMSE ${sci(own.rmse)} shares, R² ${f4(own.r2)}`,
  ];
  if (baselines.length > 0) lines.push(`  baselines: ${baselines.map((b) => `${b} rmse_log ${f4(mv.metrics[b]!.rmse_log)}, RMSE ${sci(mv.metrics[b]!.rmse)}`).join('; ')}`);
  // The wins are registry/model-summary's (the dashboard shows the same), in the CLI's wording.
  for (const w of baselineWins(mv)) lines.push(`  note: ${w.baselines.join(' and ')} ${w.baselines.length > 1 ? 'beat' : 'beats'} the champion ${w.scale === 'log' ? 'on the log scale' : 'on raw volume'} (${w.metric})`);
  return lines;
}

/** A day-ahead model: its skill against persistence (1 − MAE/MAE_persistence) for volume and Adj Close. */
function forecastLines(mv: ModelVersion): string[] {
  const own = mv.metrics.forecast ?? mv.metrics[mv.kind];
  if (!own) return [`forecast_champion ${mv.id}: no test metrics recorded`];
  const lines = [`forecast_champion ${mv.id}: next-day skill against persistence: volume ${pct(own.skill_volume)}, Adj Close ${pct(own.skill_adj_close)}`];
  if ((own.skill_volume ?? 0) <= 0) lines.push('  note: persistence (tomorrow = today) forecasts volume at least as well');
  return lines;
}

/** The summary lines for the serving aliases that point at a model (none: no line). Its scores are the store's: a
 * model whose folder was deleted is summed up with a note, not an error (a finished `run` failed with
 * SP_ERR_MODEL_MISSING here, exit 1 and `ok: false`, for a champion the run had not even used). */
export function championText(reg: Registry): string[] {
  const out: string[] = [];
  for (const alias of ['champion', 'forecast_champion']) {
    const id = reg.aliasTarget(alias);
    if (id === null) continue;
    const mv = reg.getModel(id, { checkFiles: false });
    out.push(...(alias === 'champion' ? volumeLines(mv) : forecastLines(mv)));
    const file = join(mv.path, 'model.json');
    if (!existsSync(file)) out.push(`  note: ${file} is missing: nothing can load ${alias} (restore ${mv.path}, or promote another model)`);
  }
  return out;
}
