/** @module serve/params
 * Strict parsing of the GET /predict query parameters (docs/api.md): one value each, a plain
 * decimal (integers, decimals, exponents), finite, at most 64 characters; vol_moving_avg ≥ 0.
 * Pure; returns issues instead of throwing, so the route can answer 400 with all of them. */
import { clip } from '../core/errors.js';
import { isDecimal } from '../http/validation.js';

export interface ParamIssue {
  param: string;
  code: 'missing' | 'repeated' | 'empty' | 'too_long' | 'not_a_number' | 'not_finite' | 'negative' | 'out_of_range' | 'unknown';
  message: string;
}

export const MAX_PARAM_LENGTH = 64;

/** Parses one parameter; pushes an issue and returns NaN when it is not acceptable. */
export function parseNumberParam(raw: unknown, name: string, opts: { nonNegative: boolean }, issues: ParamIssue[]): number {
  if (raw === undefined) {
    issues.push({ param: name, code: 'missing', message: `${name} is required` });
    return NaN;
  }
  if (Array.isArray(raw)) {
    issues.push({ param: name, code: 'repeated', message: `${name} is given ${raw.length} times; give it once` });
    return NaN;
  }
  const text = String(raw);
  if (text === '') {
    issues.push({ param: name, code: 'empty', message: `${name} is empty` });
    return NaN;
  }
  if (text.length > MAX_PARAM_LENGTH) {
    issues.push({ param: name, code: 'too_long', message: `${name} is ${text.length} characters long (at most ${MAX_PARAM_LENGTH})` });
    return NaN;
  }
  if (!isDecimal(text)) {
    issues.push({ param: name, code: 'not_a_number', message: `${name} must be a decimal number (got ${JSON.stringify(text)})` });
    return NaN;
  }
  const v = Number(text);
  if (!Number.isFinite(v)) {
    issues.push({ param: name, code: 'not_finite', message: `${name} must be finite (got ${JSON.stringify(text)})` });
    return NaN;
  }
  if (opts.nonNegative && v < 0) {
    issues.push({ param: name, code: 'negative', message: `${name} must be ≥ 0 (got ${text})` });
    return NaN;
  }
  return v;
}

/** Pushes an issue for each query parameter not in `known` (a misspelt name is not silently ignored); names are cut to 100 characters. */
export function checkUnknownParams(query: Record<string, unknown>, known: readonly string[], issues: ParamIssue[]): void {
  // The common case (every name known) allocates nothing: GET /predict's hot path.
  let any = false;
  for (const k in query) {
    if (Object.hasOwn(query, k) && !known.includes(k)) {
      any = true;
      break;
    }
  }
  if (!any) return;
  const unknown = Object.keys(query).filter((k) => !known.includes(k));
  // At most MAX_UNKNOWN_ISSUES named, the known list once: the answer stays small whatever the query holds.
  const named = unknown.slice(0, MAX_UNKNOWN_ISSUES).map((k) => clip(k));
  named.forEach((name, i) => {
    const more = unknown.length - named.length;
    const tail = i < named.length - 1 ? '' : `${more > 0 ? ` and ${more} more unknown parameters` : ''} (known: ${known.join(', ')})`;
    issues.push({ param: name, code: 'unknown', message: `unknown parameter ${JSON.stringify(name)}${tail}` });
  });
}

/** How many unknown parameters a 400 names one by one (the rest are counted). */
export const MAX_UNKNOWN_ISSUES = 10;

const NON_NEGATIVE = { nonNegative: true } as const;
const ANY_SIGN = { nonNegative: false } as const;

/** The two model inputs of a predict query (`vol_moving_avg` ≥ 0, `adj_close_rolling_med`), their problems added to `issues`. */
export function parseFeatureParams(q: Record<string, unknown>, issues: ParamIssue[]): { vma: number; acm: number } {
  return {
    vma: parseNumberParam(q.vol_moving_avg, 'vol_moving_avg', NON_NEGATIVE, issues),
    acm: parseNumberParam(q.adj_close_rolling_med, 'adj_close_rolling_med', ANY_SIGN, issues),
  };
}

/** The OpenAPI schema of those two inputs (GET /predict, GET /predict/interval). */
export const FEATURE_QUERY_PROPERTIES = {
  vol_moving_avg: { type: 'number', minimum: 0, description: 'mean Volume of the last 30 rows', example: 12345 },
  adj_close_rolling_med: { type: 'number', description: 'median Adj Close of the last 30 rows (may be negative)', example: 25 },
} as const;
