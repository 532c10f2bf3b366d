/** @module registry/alerts
 * Alerts in the store: every alert raised (a failed task, an error past a monitoring threshold,
 * drift, a missing scheduled run) is recorded here first, then delivered by pipeline/alerts.ts,
 * which writes back how each channel answered. */
import type { ALERT_SEVERITIES } from './schema.js';
import type { Registry } from './store.js';

export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export interface AlertInput {
  kind: string;
  severity: AlertSeverity;
  message: string;
  pipeline?: string | null;
  run_id?: string | null;
  details?: Record<string, unknown>;
}

export interface AlertRecord {
  id: number;
  at: string;
  kind: string;
  severity: AlertSeverity;
  pipeline: string | null;
  run_id: string | null;
  message: string;
  details: Record<string, unknown> | null;
  /** Channel → 'ok' or the delivery error; null until delivery was tried. */
  delivered: Record<string, string> | null;
}

interface Row extends Omit<AlertRecord, 'details' | 'delivered'> {
  details: string | null;
  delivered: string | null;
}

const toRecord = (r: Row): AlertRecord => ({
  ...r,
  details: r.details === null ? null : (JSON.parse(r.details) as Record<string, unknown>),
  delivered: r.delivered === null ? null : (JSON.parse(r.delivered) as Record<string, string>),
});

/** Records an alert; returns it with its id and time. */
export function recordAlert(reg: Registry, a: AlertInput): AlertRecord {
  const at = reg.timestamp();
  const { lastInsertRowid } = reg.run('record alert', 'INSERT INTO alerts (at, kind, severity, pipeline, run_id, message, details) VALUES (?, ?, ?, ?, ?, ?, ?)',
    [at, a.kind, a.severity, a.pipeline ?? null, a.run_id ?? null, a.message, a.details === undefined ? null : JSON.stringify(a.details)]);
  return { id: lastInsertRowid, at, kind: a.kind, severity: a.severity, pipeline: a.pipeline ?? null, run_id: a.run_id ?? null, message: a.message, details: a.details ?? null, delivered: null };
}

export function markAlertDelivered(reg: Registry, id: number, delivered: Record<string, string>): void {
  reg.run('mark alert delivered', 'UPDATE alerts SET delivered = ? WHERE id = ?', [JSON.stringify(delivered), id]);
}

/** Whether a drift alert was already recorded for this measurement: the column's window ending on
 * `date`, against the same reference window, past the same threshold (an alert recorded before the
 * threshold was stored in its details counts as the same threshold). */
export function driftAlerted(reg: Registry, m: { date: string; column: string; from: string; reference_from: string; reference_to: string; threshold: number }): boolean {
  return reg.all('find drift alert', `SELECT 1 FROM alerts WHERE kind = 'drift' AND json_extract(details, '$.date') = @date AND json_extract(details, '$.column') = @column
    AND json_extract(details, '$.from') = @from AND json_extract(details, '$.reference_from') = @reference_from AND json_extract(details, '$.reference_to') = @reference_to
    AND coalesce(json_extract(details, '$.threshold'), @threshold) = @threshold LIMIT 1`, m).length > 0;
}

/**
 * Monitor's alerts (error_threshold, drift) whose data window (details.from..details.to: days of the data, not when
 * the alert was recorded) meets from..to, newest first; `model`: that model's error alerts and every drift alert.
 */
export function listMonitorAlerts(reg: Registry, opts: { from?: string; to?: string; model?: string; limit: number }): AlertRecord[] {
  return reg.all<Row>('list monitor alerts', `SELECT * FROM alerts WHERE kind IN ('error_threshold', 'drift')
    AND (@from IS NULL OR coalesce(json_extract(details, '$.to'), json_extract(details, '$.date'), substr(at, 1, 10)) >= @from)
    AND (@to IS NULL OR coalesce(json_extract(details, '$.from'), json_extract(details, '$.date'), substr(at, 1, 10)) <= @to)
    AND (@model IS NULL OR kind = 'drift' OR json_extract(details, '$.model_id') = @model)
    ORDER BY at DESC, id DESC LIMIT @limit`, { from: opts.from ?? null, to: opts.to ?? null, model: opts.model ?? null, limit: opts.limit }).map(toRecord);
}

/** Alerts, newest first (paged; `since` = ISO time). */
export function listAlerts(reg: Registry, opts: { since?: string; kind?: string; limit?: number; offset?: number } = {}): AlertRecord[] {
  return reg.all<Row>('list alerts', `SELECT * FROM alerts WHERE (@since IS NULL OR at >= @since) AND (@kind IS NULL OR kind = @kind)
    ORDER BY at DESC, id DESC LIMIT @limit OFFSET @offset`, { since: opts.since ?? null, kind: opts.kind ?? null, limit: opts.limit ?? 100, offset: opts.offset ?? 0 }).map(toRecord);
}
