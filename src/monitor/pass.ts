/** @module monitor/pass
 * One monitoring pass over a workspace (`stockpipe monitor`): opens the store and DuckDB, resolves
 * the model (an alias or an id), runs monitor/run (matured forecasts scored, input drift, alerts past
 * the thresholds, retrain_needed), then hands the alerts it recorded to `deliver`. It never trains.
 * Returns the command's --json data. */
import type { MonitorConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB } from '../db/duckdb.js';
import type { AlertRecord } from '../registry/alerts.js';
import { openRegistry } from '../registry/store.js';
import { runMonitor, type MonitorResult } from './run.js';

export interface MonitorPassOptions {
  /** The workspace (with its DuckDB settings). */
  ws: Workspace;
  thresholds: MonitorConfig;
  now: () => Date;
  log: Logger;
  model?: string;
  /** A logical date: only data known by then (monitor/run's `until`). */
  until?: string;
  /**
   * Sends the alerts this pass recorded through the runner's channels (webhook/SMTP). The one call
   * site for delivery: the pipeline passes pipeline/alerts.ts here; unset = recorded only. Returns the alerts with how
   * each channel answered (`delivered`), as stored.
   */
  deliver?: (alerts: readonly AlertRecord[]) => Promise<AlertRecord[]>;
}

/** `stockpipe monitor --json` data. */
export interface MonitorData extends MonitorResult {
  /** The logical date the pass was bounded by (`--date`), or null. */
  logical_date: string | null;
  thresholds: MonitorConfig;
  rows_in: number;
  rows_out: number;
  seconds: number;
}

export async function monitorPass(o: MonitorPassOptions): Promise<MonitorData> {
  const t0 = performance.now();
  const reg = openRegistry(o.ws, { now: o.now });
  let result: MonitorResult;
  try {
    const db = await openDuckDB(o.ws.duckdbSettings());
    try {
      // An alias (champion) resolves to its model; any other value must be a model id the forecasts name
      // (an unknown one wrote drift points for nothing before).
      const known = (id: string): boolean => reg.get('read forecasts', 'SELECT 1 FROM forecasts WHERE model_id = ? LIMIT 1', [id]) !== undefined;
      const modelId = o.model === undefined ? undefined : (reg.findModel(o.model)?.id ?? (known(o.model) ? o.model : reg.getModel(o.model, { checkFiles: false }).id));
      result = await runMonitor({ ws: o.ws, reg, conn: db.connection, thresholds: o.thresholds, modelId, log: o.log, until: o.until });
    } finally {
      db.close();
    }
  } finally {
    reg.close();
  }
  // The --json alerts as stored after delivery: they said `delivered: null` (never tried) when a channel had failed.
  if (o.deliver && result.alerts.length > 0) result = { ...result, alerts: await o.deliver(result.alerts) };
  return {
    ...result, logical_date: o.until ?? null, thresholds: o.thresholds, rows_in: result.matured + result.pending, rows_out: result.points,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
}
