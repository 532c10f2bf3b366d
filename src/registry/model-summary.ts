/** @module registry/model-summary
 * What a model's test metrics say next to its baselines, as data: a volume model's raw (shares) and
 * log1p(shares) scores beside each baseline with the baselines that beat it plainly named, and a
 * day-ahead model's skill against persistence (volume and Adj Close). The CLI's run summary
 * (cli/champion-text) and the dashboard's Models view (GET /models/:id/page) read the same facts. */
import type { ModelVersion } from './types.js';

/** The unit of each metric: raw errors are in shares of daily volume, log errors in log1p(shares). */
export const METRIC_UNITS: Record<string, string> = {
  mae: 'shares', rmse: 'shares', r2: '', mae_log: 'log1p(shares)', rmse_log: 'log1p(shares)', r2_log: '',
  mae_volume: 'shares', rmse_volume: 'shares', mae_volume_log: 'log1p(shares)', rmse_volume_log: 'log1p(shares)',
  mae_adj_close: 'dollars of Adj Close', rmse_adj_close: 'dollars of Adj Close', mae_return: 'log return', rmse_return: 'log return',
  skill_volume: '1 − MAE/MAE_persistence', skill_adj_close: '1 − MAE/MAE_persistence', skill_return: '1 − MAE/MAE_persistence',
  skill_volume_log: '1 − MAE/MAE_persistence',
};

/** One row of the side-by-side table: the model or a baseline, scored on the same test rows. */
export interface ScoreRow {
  name: string;
  /** True for the model itself. */
  model: boolean;
  metrics: Record<string, number | null>;
}

/** Baselines that score better than the model on one metric (lower error). */
export interface BaselineWin {
  metric: string;
  scale: 'raw' | 'log';
  unit: string;
  baselines: string[];
  /** One sentence: "naive beats gbdt on raw volume (RMSE 1.335e7 vs 1.356e7 shares)". */
  note: string;
}

export interface VolumeSummary {
  task: 'volume';
  /** The metrics shown, raw first then log, each with its unit. */
  columns: { metric: string; scale: 'raw' | 'log'; unit: string }[];
  rows: ScoreRow[];
  wins: BaselineWin[];
}

export interface ForecastSummary {
  task: 'forecast';
  columns: { metric: string; unit: string }[];
  rows: ScoreRow[];
  skill_volume: number | null;
  skill_adj_close: number | null;
  notes: string[];
}

const VOLUME_COLUMNS = [['mae', 'raw'], ['rmse', 'raw'], ['r2', 'raw'], ['mae_log', 'log'], ['rmse_log', 'log'], ['r2_log', 'log']] as const;
const FORECAST_COLUMNS = ['skill_volume', 'skill_adj_close', 'mae_volume', 'rmse_volume', 'mae_volume_log', 'mae_adj_close', 'rmse_adj_close', 'mae_return'];

const val = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
const sci = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : Math.abs(x) >= 1000 ? x.toExponential(3) : x.toFixed(4));
const pct = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(1)}%`);

/** The metric sets of the model's own kind first, then the baselines by name. */
function orderedKinds(mv: ModelVersion, own: string): string[] {
  return [own, ...Object.keys(mv.metrics).filter((k) => k !== own).sort()].filter((k) => mv.metrics[k] !== undefined);
}

/** The baselines with a lower test rmse_log (log scale) and a lower raw RMSE than the model, each with a plain note. */
export function baselineWins(mv: Pick<ModelVersion, 'kind' | 'metrics'>): BaselineWin[] {
  const own = mv.metrics[mv.kind];
  if (!own) return [];
  const out: BaselineWin[] = [];
  for (const [metric, scale] of [['rmse_log', 'log'], ['rmse', 'raw']] as const) {
    const mine = own[metric];
    const better = Object.keys(mv.metrics).filter((b) => b !== mv.kind && (mv.metrics[b]![metric] ?? Infinity) < (mine ?? Infinity));
    if (better.length === 0) continue;
    const unit = METRIC_UNITS[metric]!;
    const what = scale === 'raw' ? 'on raw volume' : 'on the log scale';
    const vs = better.map((b) => `${b} ${sci(mv.metrics[b]![metric])}`).join(', ');
    out.push({ metric, scale, unit, baselines: better, note: `${better.join(' and ')} ${better.length > 1 ? 'beat' : 'beats'} ${mv.kind} ${what} (${metric}: ${vs} vs ${sci(mine)} ${unit})` });
  }
  return out;
}

/** A volume model's scores and its baselines', raw and log, with the baselines that win. */
export function volumeSummary(mv: ModelVersion): VolumeSummary {
  const rows = orderedKinds(mv, mv.kind).map((k) => ({ name: k, model: k === mv.kind, metrics: Object.fromEntries(VOLUME_COLUMNS.map(([m]) => [m, val(mv.metrics[k]![m])])) }));
  return { task: 'volume', columns: VOLUME_COLUMNS.map(([metric, scale]) => ({ metric, scale, unit: METRIC_UNITS[metric]! })), rows, wins: baselineWins(mv) };
}

/** A day-ahead model's skill against persistence and its errors, next to persistence and the other baselines. */
export function forecastSummary(mv: ModelVersion): ForecastSummary {
  const ownKey = mv.metrics.forecast ? 'forecast' : mv.kind;
  const own = mv.metrics[ownKey];
  const rows = orderedKinds(mv, ownKey).map((k) => ({ name: k, model: k === ownKey, metrics: Object.fromEntries(FORECAST_COLUMNS.map((m) => [m, val(mv.metrics[k]![m])])) }));
  const sv = val(own?.skill_volume);
  const sa = val(own?.skill_adj_close);
  const notes: string[] = [];
  if (own && (sv ?? 0) <= 0) notes.push('persistence (tomorrow = today) forecasts volume at least as well');
  if (own && sa !== null && Math.abs(sa) < 0.01) notes.push(`Adj Close skill ${pct(sa)}: essentially none (day-ahead prices are close to a random walk)`);
  return { task: 'forecast', columns: FORECAST_COLUMNS.map((metric) => ({ metric, unit: METRIC_UNITS[metric] ?? '' })), rows, skill_volume: sv, skill_adj_close: sa, notes };
}

/** The summary that fits the model's kind. */
export function modelSummary(mv: ModelVersion): VolumeSummary | ForecastSummary {
  return mv.kind === 'forecast' ? forecastSummary(mv) : volumeSummary(mv);
}
