/** @module serve/intervals
 * Prediction intervals in the API (docs/api.md): GET /predict/interval (one instance, query
 * parameters checked by hand like GET /predict's) and the optional `coverage` of POST /predict.
 * The half-width for a coverage comes from the served model's split-conformal calibration
 * (ml/conformal, loaded by serve/champion); a model without one answers SP_ERR_NO_INTERVALS, a
 * coverage beyond n/(n+1) SP_ERR_COVERAGE_UNATTAINABLE. GET /predict itself is not touched. */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { conformalQuantile, intervalAround, maxCoverage } from '../ml/conformal.js';
import { MAX_SERVED_VOLUME, servedVolume } from '../ml/volume-model.js';
import { errorSchema, sendError } from '../http/errors.js';
import type { ChampionHolder, LoadedModel } from './champion.js';
import type { ApiMetrics } from './metrics.js';
import { checkUnknownParams, FEATURE_QUERY_PROPERTIES, parseFeatureParams, parseNumberParam, type ParamIssue } from './params.js';

/** The coverage GET /predict/interval uses when none is given. */
export const DEFAULT_COVERAGE = 0.9;

const INTERVAL_PARAMS = ['vol_moving_avg', 'adj_close_rolling_med', 'coverage'] as const;

/**
 * The JSON schema of a `coverage` value. 0 and 1 themselves are refused by hand (isCoverage):
 * OpenAPI 3.0 and Ajv spell exclusive bounds differently.
 */
export const coverageSchema = { type: 'number', minimum: 0, maximum: 1, description: 'the probability the interval should cover the actual volume, strictly between 0 and 1, e.g. 0.9' } as const;

/** The OpenAPI document with every `coverage` (a query parameter or a body property bounded 0–1)
 * marked exclusive at both ends (OpenAPI 3.0's `exclusiveMinimum: true`, which Ajv's draft-07 would
 * read as a number): the server refuses 0 and 1 by hand (isCoverage), and the document says so. */
export function markCoverageExclusive<T>(doc: T): T {
  const mark = (schema: unknown): void => {
    const o = schema as Record<string, unknown> | undefined;
    if (o?.minimum !== 0 || o.maximum !== 1) return;
    o.exclusiveMinimum = true;
    o.exclusiveMaximum = true;
  };
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.name === 'coverage' && o.in === 'query') mark(o.schema);
      if (o.properties !== null && typeof o.properties === 'object') mark((o.properties as Record<string, unknown>).coverage);
      for (const x of Object.values(o)) walk(x);
    }
  };
  walk(doc);
  return doc;
}

/** The hint of a 400 on GET /predict/interval. */
const INTERVAL_HINT = 'See /docs for the parameters; e.g. GET /predict/interval?vol_moving_avg=12345&adj_close_rolling_med=25&coverage=0.9 (coverage strictly between 0 and 1; 0.9 when left out).';

/** The hint of a bad `coverage` in a POST /predict body. */
export const COVERAGE_HINT = 'Give "coverage" as a number strictly between 0 and 1 (e.g. 0.9 for 90%), or leave it out for the volumes alone.';

/** 0 < c < 1. */
export const isCoverage = (c: number): boolean => c > 0 && c < 1;

export const coverageRangeMessage = (raw: unknown): string => `coverage must be between 0 and 1, both excluded (got ${String(raw)}; e.g. 0.9 for 90%)`;

/** Parses a query `coverage` (default DEFAULT_COVERAGE); pushes an issue when it is not in (0, 1). */
export function parseCoverageParam(raw: unknown, issues: ParamIssue[]): number {
  if (raw === undefined) return DEFAULT_COVERAGE;
  const before = issues.length;
  const c = parseNumberParam(raw, 'coverage', { nonNegative: false }, issues);
  if (issues.length > before) return NaN;
  if (!isCoverage(c)) {
    issues.push({ param: 'coverage', code: 'out_of_range', message: coverageRangeMessage(raw) });
    return NaN;
  }
  return c;
}

/** The half-width (log1p scale) for `coverage`, or the error answer already sent (reply). */
export function halfWidth(model: LoadedModel, coverage: number, reply: FastifyReply): number | FastifyReply {
  const cal = model.intervals;
  if (cal === null) return sendError(reply, 'SP_ERR_NO_INTERVALS', `model ${model.id} has no prediction intervals: ${model.intervalsProblem ?? 'none were stored'}`);
  const q = conformalQuantile(cal, coverage);
  if (q === null) {
    const max = maxCoverage(cal);
    return sendError(reply, 'SP_ERR_COVERAGE_UNATTAINABLE', `coverage ${coverage} needs more than the ${cal.n} calibration residuals of model ${model.id}: at most ${Math.floor(max * 1e6) / 1e6}`, { hint: `Ask for a coverage ≤ ${Math.floor(max * 1e6) / 1e6}.` });
  }
  return q;
}

/** The answer when a model's value for a request is no volume (servedVolume null): 422
 * SP_ERR_PREDICTION_OUT_OF_RANGE naming what overflowed (`what`: "prediction", "instances[3]'s
 * upper bound", …). */
export function outOfRange(reply: FastifyReply, model: LoadedModel, what: string, param?: string): FastifyReply {
  const message = `model ${model.id}'s ${what} is no volume the API can answer (beyond ${MAX_SERVED_VOLUME} or not a number): the inputs lie far outside the data it was trained on`;
  return sendError(reply, 'SP_ERR_PREDICTION_OUT_OF_RANGE', message, param === undefined ? {} : { issues: [{ param, code: 'out_of_range', message }] });
}

/** GET /predict/interval. `noModel` answers 503 when nothing is served. */
export function registerIntervalRoute(app: FastifyInstance, holder: ChampionHolder, metrics: ApiMetrics, noModel: (reply: FastifyReply) => FastifyReply): void {
  app.get(
    '/predict/interval',
    {
      schema: {
        summary: "Predict one day's trading volume with a prediction interval",
        description: 'The point prediction (as GET /predict) and the split-conformal interval [lower, upper] meant to hold the actual volume with probability `coverage` (docs/models.md).',
        querystring: {
          type: 'object',
          properties: {
            ...FEATURE_QUERY_PROPERTIES,
            coverage: { ...coverageSchema, default: DEFAULT_COVERAGE, example: 0.9 },
          },
          required: ['vol_moving_avg', 'adj_close_rolling_med'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              prediction: { type: 'integer', minimum: 0, description: 'predicted volume (as GET /predict)' },
              lower: { type: 'integer', minimum: 0 },
              upper: { type: 'integer', minimum: 0 },
              coverage: { type: 'number' },
              model_id: { type: 'string' },
            },
            required: ['prediction', 'lower', 'upper', 'coverage', 'model_id'],
          },
          400: errorSchema, 409: errorSchema, 422: errorSchema, 503: errorSchema,
        },
      },
      // Validated by hand below, as GET /predict (strict: repeated, empty, too-long, non-finite values).
      validatorCompiler: () => () => true,
    },
    (req: FastifyRequest, reply: FastifyReply) => {
      const q = req.query as Record<string, unknown>;
      const issues: ParamIssue[] = [];
      const { vma, acm } = parseFeatureParams(q, issues);
      const coverage = parseCoverageParam(q.coverage, issues);
      checkUnknownParams(q, INTERVAL_PARAMS, issues);
      if (issues.length > 0) return sendError(reply, 'SP_ERR_BAD_REQUEST', issues.map((i) => i.message).join('; '), { issues, hint: INTERVAL_HINT });
      const model = holder.current;
      if (!model) return noModel(reply);
      const w = halfWidth(model, coverage, reply);
      if (typeof w !== 'number') return w;
      const v = model.scorer.predict(vma, acm);
      const b = intervalAround(v, w);
      const prediction = servedVolume(v);
      if (prediction === null) return outOfRange(reply, model, 'prediction');
      const lower = servedVolume(b.lower);
      const upper = servedVolume(b.upper);
      if (lower === null || upper === null) return outOfRange(reply, model, `${upper === null ? 'upper' : 'lower'} bound at coverage ${coverage}`, 'coverage');
      // A HEAD runs this handler too (Fastify's HEAD routes) and sends no prediction: not counted, as GET /predict.
      if (req.method === 'GET') metrics.predicted.add(model.id, 1);
      return reply.header('x-model-id', model.id).send({ prediction, lower, upper, coverage, model_id: model.id });
    },
  );
}
