/** @module ml/volume-model
 * One interface over every volume-model kind (gbdt, rf, polyreg, naive): predict Volume from
 * (vol_moving_avg, adj_close_rolling_med), serialize to model.json, load it back. */
import { clip, StockpipeError } from '../core/errors.js';
import { FEATURE_NAMES, naiveModel, predictNaive, predictPoly, type NaiveModel, type PolyModel } from './baselines.js';
import { treeScorer, isTreeModelJson } from './tree-scorer.js';

export const MODEL_KINDS = ['gbdt', 'rf', 'polyreg', 'naive'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface VolumeScorer {
  kind: ModelKind;
  /** Predicted Volume, ≥ 0. Allocates nothing. */
  predict(vma: number, acm: number): number;
  /** model.json text (deterministic). */
  toJSON(): string;
}

export function polyScorer(m: PolyModel): VolumeScorer {
  return { kind: 'polyreg', predict: (v, a) => predictPoly(m, v, a), toJSON: () => `${JSON.stringify(m, null, 1)}\n` };
}

export function naiveScorer(m: NaiveModel = naiveModel()): VolumeScorer {
  return { kind: 'naive', predict: (v) => predictNaive(m, v), toJSON: () => `${JSON.stringify(m, null, 1)}\n` };
}

/** The largest volume stockpipe answers (GET /predict, POST /predict, intervals) or exports: beyond
 * 2^53 − 1 a double is no longer an exact integer, and JSON would print it in exponent notation. */
export const MAX_SERVED_VOLUME = Number.MAX_SAFE_INTEGER;

/** A model's value as a served volume: rounded and clamped at 0; null when it is not one (NaN, or
 * beyond MAX_SERVED_VOLUME: inputs far outside the training data, e.g. a polyreg model's quadratic
 * extrapolated to a price it never saw). */
export function servedVolume(v: number): number | null {
  const r = Math.round(v);
  if (r > 0) return r <= MAX_SERVED_VOLUME ? r : null;
  return r <= 0 ? 0 : null;
}

/** Loads any model.json; `where` names the file in errors. */
export function scorerFromJSON(text: string, where: string): VolumeScorer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format === 'stockpipe-naive' || format === 'stockpipe-poly2') {
    // As the tree reader: a version this reader does not know could be mis-scored (docs/model-format.md).
    const version = (json as { format_version?: unknown }).format_version;
    if (version !== 1) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: format_version ${JSON.stringify(version)} is not supported (this reader knows 1)`);
  }
  // Scorers take (vol_moving_avg, adj_close_rolling_med) by position: a model naming other inputs, or
  // these in another order (valid trees for the format, docs/model-format.md), would be mis-scored.
  const names = (json as { feature_names?: unknown } | null)?.feature_names;
  if ((format === 'stockpipe-naive' || format === 'stockpipe-poly2' || isTreeModelJson(json)) && (!Array.isArray(names) || names.length !== FEATURE_NAMES.length || names.some((n, i) => n !== FEATURE_NAMES[i]))) {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: a volume model's feature_names must be ${JSON.stringify(FEATURE_NAMES)}, in that order (got ${clip(JSON.stringify(names) ?? 'none', 200)})`, {
      hint: 'Write the model with those two inputs, feature 0 being vol_moving_avg (docs/model-format.md).',
    });
  }
  if (format === 'stockpipe-naive') return naiveScorer(json as NaiveModel);
  if (format === 'stockpipe-poly2') {
    const m = json as PolyModel;
    if (!Array.isArray(m.coef) || m.coef.length !== 6 || !m.coef.every(Number.isFinite)) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: polyreg coef must be 6 finite numbers`);
    return polyScorer(m);
  }
  if (isTreeModelJson(json)) return treeScorer(json, where);
  throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: unknown model format ${JSON.stringify(format)}`, { hint: 'Expected stockpipe-trees, stockpipe-poly2 or stockpipe-naive (docs/model-format.md).' });
}

/** Predictions for the rows `idx` of (vma, acm). */
export function predictRows(s: VolumeScorer, vma: Float64Array, acm: Float64Array, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let k = 0; k < idx.length; k++) out[k] = s.predict(vma[idx[k]!]!, acm[idx[k]!]!);
  return out;
}
