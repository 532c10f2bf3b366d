/** @module serve/monitoring
 * GET /monitoring (docs/api.md, docs/data.md): the error series per model (all symbols, or ?symbol=), input drift
 * and monitoring alerts from the store, and the thresholds in force. Its query and response
 * schemas (OpenAPI). The numbers are written by `stockpipe monitor`; this only reads them. */
import type { MonitorConfig } from '../core/config.js';
import { listMonitorAlerts, type AlertRecord } from '../registry/alerts.js';
import { driftSeries, monitorSeries, SERIES_METRICS, type DriftPoint, type ModelSeries } from '../registry/monitoring.js';
import type { Registry } from '../registry/store.js';
import { checkDateRange } from '../http/validation.js';

const ALERT_LIMIT = 100;

export const monitoringQuerySchema = {
  type: 'object',
  properties: {
    model: { type: 'string', minLength: 1, maxLength: 200, description: 'a model id or alias (default: every model)' },
    symbol: { type: 'string', minLength: 1, maxLength: 32, description: 'one symbol\'s series (default: all symbols together)' },
    from: { type: 'string', format: 'date', description: 'first day, YYYY-MM-DD' },
    to: { type: 'string', format: 'date', description: 'last day, YYYY-MM-DD' },
  },
  additionalProperties: false,
} as const;

const nullableNumber = { type: 'number', nullable: true } as const;

export const monitoringResponseSchema = {
  type: 'object',
  properties: {
    models: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          model_id: { type: 'string' },
          series: {
            type: 'array',
            items: { type: 'object', properties: { date: { type: 'string' }, n: { type: 'integer' }, ...Object.fromEntries(SERIES_METRICS.map((m) => [m, nullableNumber])) } },
          },
        },
      },
    },
    drift: { type: 'array', items: { type: 'object', properties: { date: { type: 'string' }, column: { type: 'string' }, psi: nullableNumber, n: { type: 'integer' } } } },
    alerts: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'integer' }, at: { type: 'string' }, kind: { type: 'string' }, severity: { type: 'string' },
          pipeline: { type: 'string', nullable: true }, run_id: { type: 'string', nullable: true }, message: { type: 'string' },
          details: { type: 'object', nullable: true, additionalProperties: true }, delivered: { type: 'object', nullable: true, additionalProperties: { type: 'string' } },
        },
      },
    },
    thresholds: { type: 'object', additionalProperties: true },
  },
  required: ['models', 'drift', 'alerts', 'thresholds'],
} as const;

export interface MonitoringBody {
  models: ModelSeries[];
  drift: DriftPoint[];
  alerts: AlertRecord[];
  thresholds: MonitorConfig;
}

/** Whether any monitor point was recorded for this model id (a model's series outlives its registry row). */
function monitored(reg: Registry, id: string): boolean {
  return reg.all<{ one: number }>('read monitor points', 'SELECT 1 AS one FROM monitor_points WHERE model_id = ? LIMIT 1', [id]).length > 0;
}

/** The body of GET /monitoring for a validated query. */
export function monitoringBody(reg: Registry, q: { model?: string; symbol?: string; from?: string; to?: string }, thresholds: MonitorConfig): MonitoringBody {
  checkDateRange(q.from, q.to);
  const model = q.model === undefined ? undefined : (reg.findModel(q.model)?.id ?? q.model);
  // from/to are days of the data, as for the series: an alert's is its window (a backfill of 2012 alerts in 2026; the time
  // it was recorded made every alert of a past range vanish), and a model's are its own error alerts and the drift ones.
  const alerts = listMonitorAlerts(reg, { from: q.from, to: q.to, model, limit: ALERT_LIMIT });
  const models = monitorSeries(reg, { model, symbol: q.symbol, from: q.from, to: q.to });
  // A name that is no registered model and has no monitored series is a typo: SP_ERR_MODEL_NOT_FOUND (404), as
  // everywhere a model is named, not an empty answer. (getModel throws it, with the hint.)
  if (q.model !== undefined && models.length === 0 && reg.findModel(q.model) === null && !monitored(reg, q.model)) reg.getModel(q.model, { checkFiles: false });
  return {
    models,
    drift: driftSeries(reg, { from: q.from, to: q.to }),
    alerts,
    thresholds,
  };
}
