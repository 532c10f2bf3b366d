/** @module serve/app
 * The Fastify prediction API (docs/api.md): GET/POST /predict, GET /predict/interval (serve/intervals), /models, /forecast/:symbol,
 * /monitoring, /health, /ready, /metrics, /openapi.json and /docs; the dashboard's page and JSON
 * routes come from dashboard/routes. Route schemas document the API (OpenAPI 3); GET /predict
 * validates its query by hand (strict, and cheaper than a generic validator on the hot path). Error
 * bodies and 404/405 answers are http/errors' (the methods of a path from http/route-table), the
 * token check of mutating routes auth's, parameter checking http/validation's. Every route reads
 * the registry through the holder's one read-only handle. */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type onResponseHookHandler } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { MonitorConfigSchema, type MonitorConfig } from '../core/config.js';
import { registerDashboard } from '../dashboard/routes.js';
import { modelSearchQuery } from './model-search.js';
import { modelSummary } from '../registry/model-summary.js';
import { searchModels, type ModelSearch } from '../registry/tags.js';
import type { ControlOptions } from '../dashboard/routes-control.js';
import type { Logger } from '../core/log.js';
import { toWorkspace, type WorkspaceRef } from '../core/workspace.js';
import { forecastHistory } from '../registry/forecasts.js';
import { monitoringBody, monitoringQuerySchema, monitoringResponseSchema } from './monitoring.js';
import type { ChampionHolder } from './champion.js';
import { createApiMetrics, type ApiMetrics } from './metrics.js';
import { checkUnknownParams, FEATURE_QUERY_PROPERTIES, parseFeatureParams, type ParamIssue } from './params.js';
import { READ_ONLY_ROUTE, registerAuth, tokenRedactor } from './auth.js';
import { COVERAGE_HINT, coverageRangeMessage, coverageSchema, halfWidth, isCoverage, markCoverageExclusive, outOfRange, registerIntervalRoute } from './intervals.js';
import { servedVolume } from '../ml/volume-model.js';
import { intervalAround } from '../ml/conformal.js';
import { clientErrorHandler, documentErrors, errorSchema, frameworkErrorHandler, installErrorHandlers, installJsonBodyParser, MAX_PARAM_LENGTH, registerRunRecordRedaction, sendError, whenWritten, workspaceRoots } from '../http/errors.js';
import { collectRoutes } from '../http/route-table.js';
import { AJV_OPTIONS, NO_QUERY, registerParamValidation } from '../http/validation.js';

export const MAX_BATCH = 10_000;

/**
 * POST /predict's batch limit in the OpenAPI document (`maxItems` of `instances`): the route answers
 * 413 SP_ERR_PAYLOAD_TOO_LARGE beyond it by hand, where a `maxItems` in the validating schema would be a 400.
 */
export function documentBatchLimit<T>(doc: T): T {
  type Op = { requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, Record<string, unknown>> } }> } };
  const instances = (doc as { paths?: Record<string, { post?: Op }> }).paths?.['/predict']?.post?.requestBody?.content?.['application/json']?.schema?.properties?.instances;
  if (instances !== undefined) {
    instances.maxItems = MAX_BATCH;
    instances.description = `1 to ${MAX_BATCH.toLocaleString('en-US')} instances a request; more is a 413 SP_ERR_PAYLOAD_TOO_LARGE`;
  }
  return doc;
}
export const BODY_LIMIT_BYTES = 2 * 1024 * 1024;
/** How long a client may take to send a whole request (headers and body): a body cut short is
 * answered 408 after this, checked every `REQUEST_TIMEOUT_CHECK_MS` (Node's own interval). */
export const REQUEST_TIMEOUT_MS = 30_000;
const REQUEST_TIMEOUT_CHECK_MS = 30_000;

export interface AppOptions {
  /** The served workspace (its memory limit bounds the dashboard's DuckDB reads). */
  workspace: WorkspaceRef;
  /** The served model and the server's one read-only registry handle (closed with the app). */
  holder: ChampionHolder;
  /** Access log (one line per request); null turns it off. */
  accessLog: Logger | null;
  version: string;
  /** The monitor thresholds GET /monitoring reports (default: the config defaults). */
  monitor?: MonitorConfig;
  /** The built dashboard page (default dist/dashboard). */
  dashboardDir?: string;
  /** The API token mutating routes need (docs/security.md); undefined = none. */
  apiToken?: string;
  /** The address the server listens on (default 127.0.0.1): beyond loopback without a token, mutating routes are refused. */
  host?: string;
  /** Where 5xx errors are logged with their cause (default: the access log). */
  errorLog?: Logger | null;
  /** Which process answers (GET /ready); default: this pid, no cluster worker. */
  replica?: Replica;
  /** The metrics to count into (default: new ones; a cluster worker makes them first to share them with the primary). */
  metrics?: ApiMetrics;
  /** GET /metrics's text when it is not this process's registry alone (a cluster's aggregate, serve/cluster). */
  metricsText?: () => Promise<string>;
  /** How the dashboard starts runs (a CLI child) and the config's schedules. */
  control?: ControlOptions;
  /** The whole request's time limit and how often Node checks it (default REQUEST_TIMEOUT_MS; tests shorten both). */
  requestTimeout?: { ms: number; checkMs: number };
}

/** The process behind a load-balanced port: its pid and node:cluster worker id (null: a single process). */
export interface Replica {
  pid: number;
  worker: number | null;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route counts its own answers in the request metrics, not through the app's onResponse hook (GET /predict). */
    countsItself?: boolean;
  }
}

const PREDICT_PARAMS = ['vol_moving_avg', 'adj_close_rolling_med'] as const;

/** The hint of a GET /predict given a `coverage`: intervals come from the interval routes (docs/api.md), not from it. */
const PREDICT_COVERAGE_HINT = 'GET /predict answers the point prediction alone; for a prediction interval ask GET /predict/interval?vol_moving_avg=12345&adj_close_rolling_med=25&coverage=0.9 (or POST /predict with "coverage" in the body).';

const instanceSchema = {
  type: 'object',
  properties: { vol_moving_avg: { type: 'number', minimum: 0 }, adj_close_rolling_med: { type: 'number' } },
  required: ['vol_moving_avg', 'adj_close_rolling_med'],
  additionalProperties: false,
} as const;

const readySchema = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready'] },
    model: { type: 'string', description: 'the model version served (its registry id)' },
    kind: { type: 'string', description: 'gbdt, rf, polyreg or naive' },
    loaded_at: { type: 'string', description: 'when this process loaded it (ISO 8601)' },
    alias: { type: 'string', description: 'the registry alias this process follows (champion)' },
    pid: { type: 'integer', description: 'the answering process' },
    worker: { type: 'integer', nullable: true, description: 'its node:cluster worker id under serve --workers N (a replacement gets a new id); null for a single process' },
  },
  required: ['status', 'model', 'kind', 'loaded_at', 'alias', 'pid', 'worker'],
} as const;

export async function buildApp(opts: AppOptions): Promise<{ app: FastifyInstance; metrics: ApiMetrics }> {
  const metrics = opts.metrics ?? createApiMetrics();
  // Every answer is counted (serve/metrics) and logged when there is an access log: by an onResponse
  // hook on each route; by GET /predict's handler itself, where a hook costs about 1 µs a request
  // (BENCHMARKS.md), and a global hook would run on every route; unmatched ones by the not-found and
  // error handlers (installErrorHandlers), and those refused before routing by frameworkErrors.
  const { stats } = metrics;
  const accessLog = opts.accessLog;
  // A token a client put in the URL (it is only read from the Authorization header) is not written to the logs.
  const logUrl = tokenRedactor(opts.apiToken);
  const answered = (route: string, req: FastifyRequest, reply: FastifyReply): void => {
    const elapsed = reply.elapsedTime;
    stats.record(route, req.method, reply.statusCode, elapsed / 1000);
    if (accessLog) accessLog.info({ method: req.method, url: logUrl(req.url), status: reply.statusCode, ms: Math.round(elapsed * 1000) / 1000, model: reply.getHeader('x-model-id') });
  };
  const unmatched = (req: FastifyRequest, reply: FastifyReply): void => answered('unmatched', req, reply);
  const app = Fastify({
    logger: false, bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true, forceCloseConnections: 'idle',
    // Node checks neither limit while headersTimeout (default 60 s) exceeds requestTimeout: both are set.
    requestTimeout: opts.requestTimeout?.ms ?? REQUEST_TIMEOUT_MS,
    http: { headersTimeout: opts.requestTimeout?.ms ?? REQUEST_TIMEOUT_MS, connectionsCheckingInterval: opts.requestTimeout?.checkMs ?? REQUEST_TIMEOUT_CHECK_MS },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH }, ajv: AJV_OPTIONS, frameworkErrors: frameworkErrorHandler(unmatched),
    clientErrorHandler: clientErrorHandler((status) => {
      stats.record('unparsed', 'unknown', status, 0);
      accessLog?.info({ status, route: 'unparsed' }, `refused before parsing: ${status}`);
    }),
  });
  // Bodies are JSON only: a text/plain body is refused for its content type, as any other non-JSON one.
  app.removeContentTypeParser('text/plain');
  installJsonBodyParser(app, BODY_LIMIT_BYTES);
  // These before any route: they act when a route is added (the request counting below too).
  const routes = collectRoutes(app);
  const roots = workspaceRoots(toWorkspace(opts.workspace).root);
  registerRunRecordRedaction(app, roots);
  registerAuth(app, { token: opts.apiToken, host: opts.host });
  registerParamValidation(app);
  const answeredHook = (route: string): onResponseHookHandler => (req, reply, done) => {
    answered(route, req, reply);
    done();
  };
  app.addHook('onRoute', (route) => {
    if ((route.config as { countsItself?: unknown } | undefined)?.countsItself === true) return;
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    route.onResponse = [...existing, answeredHook(route.url)];
  });
  const { holder } = opts;
  const registry = holder.registry;
  app.addHook('onClose', async () => holder.close());
  holder.onSwap = (m) => {
    metrics.modelInfo.reset();
    metrics.modelInfo.set({ model_id: m.id, kind: m.kind }, 1);
  };
  if (holder.current) holder.onSwap(holder.current);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'stockpipe prediction API', version: opts.version, description: 'Predicts daily trading volume from the 30-day mean volume and the 30-day median adjusted close (docs/api.md).' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'The API token (STOCKPIPE_API_TOKEN); mutating routes only (docs/security.md).' } } },
    },
    transformObject: (doc) => documentErrors(documentBatchLimit(markCoverageExclusive('openapiObject' in doc ? doc.openapiObject : doc.swaggerObject))),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  installErrorHandlers(app, { log: opts.errorLog === undefined ? opts.accessLog : opts.errorLog, bodyLimit: BODY_LIMIT_BYTES, allowedMethods: routes.allowedMethods, workspaceRoot: roots, unmatched, logUrl });

  // A champion that cannot be loaded (its model.json broken) is not "none yet": training again would not replace it.
  const noModel = (reply: FastifyReply): FastifyReply => {
    const bad = holder.rejected;
    if (bad === undefined) return sendError(reply, 'SP_ERR_NO_MODEL', 'no champion model is loaded yet');
    return sendError(reply, 'SP_ERR_NO_MODEL', `the champion ${bad} cannot be loaded (its model.json is missing or invalid; the server log says why)`, { hint: `Restore models/${bad}/model.json (the server loads it on its next poll), or move champion to a loadable model: \`stockpipe models promote <id> --force\`.` });
  };

  const predictOne = (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const q = req.query as Record<string, unknown>;
    const issues: ParamIssue[] = [];
    const { vma, acm } = parseFeatureParams(q, issues);
    checkUnknownParams(q, PREDICT_PARAMS, issues);
    if (issues.length > 0) return sendError(reply, 'SP_ERR_BAD_REQUEST', issues.map((i) => i.message).join('; '), Object.hasOwn(q, 'coverage') ? { issues, hint: PREDICT_COVERAGE_HINT } : { issues });
    const model = holder.current;
    if (!model) return noModel(reply);
    const v = servedVolume(model.scorer.predict(vma, acm));
    if (v === null) return outOfRange(reply, model, 'prediction');
    // A HEAD request runs this handler too (Fastify's HEAD routes) and sends no prediction: not counted.
    if (req.method === 'GET') metrics.predicted.add(model.id, 1);
    return reply.header('x-model-id', model.id).send(v);
  };

  app.get(
    '/predict',
    {
      schema: {
        summary: 'Predict one day\'s trading volume',
        description: 'The whole body is the predicted volume, an integer ≥ 0. The model version is in the X-Model-Id header.',
        querystring: {
          type: 'object',
          properties: {
            ...FEATURE_QUERY_PROPERTIES,
          },
          required: ['vol_moving_avg', 'adj_close_rolling_med'],
          additionalProperties: false,
        },
        response: { 200: { type: 'integer', minimum: 0, description: 'predicted volume' }, 400: errorSchema, 422: errorSchema, 503: errorSchema },
      },
      // Validated by hand below (strict: repeated, empty, too-long, non-finite values).
      validatorCompiler: () => () => true,
      // Counted here, when the answer is handed to the socket, not by an onResponse hook.
      config: { countsItself: true },
    },
    (req: FastifyRequest, reply: FastifyReply) => {
      let sent: FastifyReply;
      try {
        sent = predictOne(req, reply);
      } catch (err) {
        // The error handler answers: counted once that answer is written.
        whenWritten(req, reply, (r, p) => answered('/predict', r, p));
        throw err;
      }
      answered('/predict', req, reply);
      return sent;
    },
  );


  app.post(
    '/predict',
    {
      config: READ_ONLY_ROUTE,
      schema: {
        summary: 'Predict many volumes at once (with prediction intervals when coverage is given)',
        querystring: NO_QUERY,
        body: { type: 'object', properties: { instances: { type: 'array', items: instanceSchema, minItems: 1 }, coverage: coverageSchema }, required: ['instances'], additionalProperties: false },
        response: {
          200: {
            type: 'object',
            properties: {
              volumes: { type: 'array', items: { type: 'integer' } }, model: { type: 'string' },
              coverage: { type: 'number', description: 'only with coverage: as asked' },
              lower: { type: 'array', items: { type: 'integer' }, description: 'only with coverage: the interval\'s lower bound per instance' },
              upper: { type: 'array', items: { type: 'integer' }, description: 'only with coverage: the interval\'s upper bound per instance' },
            },
          },
          400: errorSchema, 409: errorSchema, 413: errorSchema, 422: errorSchema, 503: errorSchema,
        },
      },
    },
    (req: FastifyRequest, reply: FastifyReply) => {
      const { instances, coverage } = req.body as { instances: { vol_moving_avg: number; adj_close_rolling_med: number }[]; coverage?: number };
      if (instances.length > MAX_BATCH) return sendError(reply, 'SP_ERR_PAYLOAD_TOO_LARGE', `${instances.length} instances; at most ${MAX_BATCH} per request`);
      if (coverage !== undefined && !isCoverage(coverage)) return sendError(reply, 'SP_ERR_BAD_REQUEST', coverageRangeMessage(coverage), { issues: [{ param: 'coverage', code: 'out_of_range', message: coverageRangeMessage(coverage) }], hint: COVERAGE_HINT });
      const model = holder.current;
      if (!model) return noModel(reply);
      const w = coverage === undefined ? null : halfWidth(model, coverage, reply);
      if (w !== null && typeof w !== 'number') return w;
      const volumes = new Array<number>(instances.length);
      const lower = w === null ? null : new Array<number>(instances.length);
      const upper = w === null ? null : new Array<number>(instances.length);
      for (let i = 0; i < instances.length; i++) {
        const x = instances[i]!;
        const v = model.scorer.predict(x.vol_moving_avg, x.adj_close_rolling_med);
        const p = servedVolume(v);
        if (p === null) return outOfRange(reply, model, `prediction for instances[${i}]`, `instances[${i}]`);
        volumes[i] = p;
        if (w !== null) {
          const b = intervalAround(v, w);
          const lo = servedVolume(b.lower);
          const hi = servedVolume(b.upper);
          if (lo === null || hi === null) return outOfRange(reply, model, `${hi === null ? 'upper' : 'lower'} bound for instances[${i}] at coverage ${coverage}`, `instances[${i}]`);
          lower![i] = lo;
          upper![i] = hi;
        }
      }
      metrics.predicted.add(model.id, instances.length);
      return reply.header('x-model-id', model.id).send(w === null ? { volumes, model: model.id } : { volumes, model: model.id, coverage, lower, upper });
    },
  );

  registerIntervalRoute(app, holder, metrics, noModel);

  app.get('/models', { schema: { summary: 'Registered model versions (newest first, 100 by default) with their aliases, tags and test metrics; searched by free text (id, kind, alias, tag), kind, alias or tag (key or key=value)', querystring: modelSearchQuery } }, (req) => {
    const q = req.query as ModelSearch & { limit: number; offset: number };
    return registry.read((reg) => {
      const found = searchModels(reg, q);
      // Each model's scores beside its baselines (units, the baselines that win): registry/model-summary, as the CLI's run summary.
      return { serving: holder.current?.id ?? null, models: found.models.map((m) => ({ ...m, summary: modelSummary(m) })), total: found.total, limit: q.limit, offset: q.offset };
    });
  });

  const thresholds = opts.monitor ?? MonitorConfigSchema.parse({});
  app.get('/monitoring', { schema: { summary: 'Forecast error over time per model (all symbols, or one), input drift, monitoring alerts, thresholds', querystring: monitoringQuerySchema, response: { 200: monitoringResponseSchema, 400: errorSchema, 404: errorSchema } } }, (req) =>
    registry.read((reg) => monitoringBody(reg, req.query as Record<string, string | undefined>, thresholds)));
  const forecastSchema = {
    type: 'object',
    properties: {
      symbol: { type: 'string' }, model_id: { type: 'string' }, asof_date: { type: 'string', description: 'the last bar the forecast saw' },
      target_date: { type: 'string', description: 'the next NYSE trading day: the day predicted' }, adj_close: { type: 'number', nullable: true },
      volume: { type: 'number', nullable: true }, last_adj_close: { type: 'number', nullable: true, description: 'persistence baseline (the asof bar)' },
      last_volume: { type: 'number', nullable: true }, created_at: { type: 'string' },
    },
  } as const;
  const forecastFields = (r: ReturnType<typeof forecastHistory>[number]) => ({ symbol: r.symbol, model_id: r.model_id, asof_date: r.asof_date, target_date: r.target_date, adj_close: r.adj_close, volume: r.volume, last_adj_close: r.last_adj_close, last_volume: r.last_volume, created_at: r.created_at });
  app.get(
    '/forecast/:symbol',
    {
      schema: {
        summary: "The symbol's latest day-ahead forecast (Adj Close and Volume for the next trading day)",
        params: { type: 'object', properties: { symbol: { type: 'string', minLength: 1, maxLength: 32, description: 'ticker, case-sensitive (e.g. AAPL)' } }, required: ['symbol'] },
        querystring: { type: 'object', properties: { history: { type: 'integer', minimum: 1, maximum: 1000, description: 'also return the last N forecasts, newest first' } }, additionalProperties: false },
        response: { 200: { ...forecastSchema, properties: { ...forecastSchema.properties, history: { type: 'array', items: forecastSchema } } }, 400: errorSchema, 404: errorSchema },
      },
    },
    (req: FastifyRequest, reply: FastifyReply) => {
      const { symbol } = req.params as { symbol: string };
      const { history } = req.query as { history?: number };
      const rows = registry.read((reg) => forecastHistory(reg, symbol, history ?? 1));
      if (rows.length === 0) return sendError(reply, 'SP_ERR_FORECAST_NOT_FOUND', `no forecast for symbol '${symbol}'`);
      const latest = forecastFields(rows[0]!);
      return history === undefined ? latest : { ...latest, history: rows.map(forecastFields) };
    },
  );

  app.get('/health', { schema: { summary: 'Liveness' } }, () => ({ status: 'ok' }));

  const replica = opts.replica ?? { pid: process.pid, worker: null };
  app.get('/ready', { schema: { summary: 'Readiness: 503 until a champion is loaded; then the model this process serves', response: { 200: readySchema, 503: errorSchema } } }, (_req, reply) => {
    const m = holder.current;
    if (!m) return noModel(reply);
    return { status: 'ready', model: m.id, kind: m.kind, loaded_at: m.loadedAt, alias: holder.alias, pid: replica.pid, worker: replica.worker };
  });

  const metricsText = opts.metricsText ?? (() => metrics.registry.metrics());
  app.get('/metrics', { schema: { summary: 'Prometheus metrics (with serve --workers N: the sum over the workers)' } }, async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metricsText());
  });

  await registerDashboard(app, { workspace: opts.workspace, holder, registry, assetsDir: opts.dashboardDir, control: opts.control });

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  return { app, metrics };
}
