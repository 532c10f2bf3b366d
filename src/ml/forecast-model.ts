/** @module ml/forecast-model
 * The day-ahead model (docs/models.md) as one model.json holding two stockpipe-trees boosters
 * (docs/model-format.md, "stockpipe-forecast"): `adj_close` predicts the next trading day's log
 * return of Adj Close, `volume` the next day's Volume (log1p target, boosted from persistence).
 * Deterministic writing, strict reading (SP_ERR_MODEL_FORMAT), and batch scoring over typed
 * arrays. Training lives in ml/forecast-train; the inputs in ml/forecast-dataset. */
import { StockpipeError } from '../core/errors.js';
import { fromJSON, predictBatch, predictBatchRaw, toJSON, type TreeModel } from './gbdt/model.js';

export const FORECAST_FORMAT = 'stockpipe-forecast';
export const FORECAST_FORMAT_VERSION = 1;

export interface ForecastModel {
  featureNames: string[];
  /** Output: ln(AdjClose_t+1 / AdjClose_t). */
  adjClose: TreeModel;
  /** Output: Volume_t+1 (target_transform log1p undone, ≥ 0). */
  volume: TreeModel;
}

const indent = (text: string): string => text.trimEnd().split('\n').join('\n  ');

/** model.json text: same model → same bytes (each booster as `stockpipe-trees` writes it). */
export function forecastToJSON(m: ForecastModel): string {
  return [
    '{',
    ` "format": ${JSON.stringify(FORECAST_FORMAT)},`,
    ` "format_version": ${FORECAST_FORMAT_VERSION},`,
    ' "horizon": "next_trading_day",',
    ` "feature_names": ${JSON.stringify(m.featureNames)},`,
    ' "adj_close": {"output": "log_return", "model":',
    `  ${indent(toJSON(m.adjClose))}},`,
    ' "volume": {"output": "volume", "model":',
    `  ${indent(toJSON(m.volume))}}`,
    '}',
    '',
  ].join('\n');
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parses and validates a forecast model.json; `where` names the file in errors. */
export function forecastFromJSON(text: string, where: string): ForecastModel {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const bad = (what: string): never => {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: ${what}`);
  };
  if (!isObj(json)) return bad('the top level must be a JSON object');
  if (json.format !== FORECAST_FORMAT) bad(`format must be ${JSON.stringify(FORECAST_FORMAT)} (got ${JSON.stringify(json.format)}); is this a day-ahead model?`);
  if (json.format_version !== FORECAST_FORMAT_VERSION) bad(`format_version ${JSON.stringify(json.format_version)} is not supported (this reader knows ${FORECAST_FORMAT_VERSION})`);
  if (json.horizon !== 'next_trading_day') bad(`horizon must be "next_trading_day" (got ${JSON.stringify(json.horizon)})`);
  const names = json.feature_names;
  if (!Array.isArray(names) || names.length === 0 || !names.every((s) => typeof s === 'string')) return bad('feature_names must be a non-empty array of strings');
  const part = (key: 'adj_close' | 'volume', output: string): TreeModel => {
    const p = json[key];
    if (!isObj(p)) return bad(`${key} must be an object {output, model}`);
    if (p.output !== output) bad(`${key}.output must be ${JSON.stringify(output)} (got ${JSON.stringify(p.output)})`);
    const m = fromJSON(p.model, `${where} (${key}.model)`);
    if (m.featureNames.length !== names.length || m.featureNames.some((n, i) => n !== names[i])) bad(`${key}.model.feature_names differ from feature_names`);
    return m;
  };
  const adjClose = part('adj_close', 'log_return');
  if (adjClose.targetTransform !== 'identity') bad('adj_close.model.target_transform must be "identity" (its output is a log return)');
  return { featureNames: names as string[], adjClose, volume: part('volume', 'volume') };
}

export interface ForecastScores {
  ret: Float64Array;
  adjClose: Float64Array;
  volume: Float64Array;
}

/** Scores every row of `columns` (feature_names order): the return, the price it implies from
 * `lastAdjClose` (AdjClose_t · e^return), and the volume (≥ 0). */
export function scoreForecast(m: ForecastModel, columns: readonly (Float64Array | Float32Array)[], lastAdjClose: Float64Array): ForecastScores {
  const n = lastAdjClose.length;
  const ret = predictBatchRaw(m.adjClose, columns, new Float64Array(n));
  const adjClose = new Float64Array(n);
  for (let i = 0; i < n; i++) adjClose[i] = lastAdjClose[i]! * Math.exp(ret[i]!);
  const volume = predictBatch(m.volume, columns, new Float64Array(n));
  return { ret, adjClose, volume };
}
