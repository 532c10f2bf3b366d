/** @module cli/monitor
 * `stockpipe monitor [--model ID]`: one monitoring pass (monitor/run.ts) over the workspace — scores
 * matured forecasts, measures input drift, records alerts past the config's `monitor` thresholds —
 * and reports whether the daily pipeline should retrain. It never trains. */
import type { MonitorConfig } from '../core/config.js';
import { openDuckDB } from '../db/duckdb.js';
import { runMonitor, type MonitorResult } from '../monitor/run.js';
import type { AlertRecord } from '../registry/alerts.js';
import { openRegistry } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';

export interface MonitorCommandOptions {
  model?: string;
  /**
   * Sends the alerts this pass recorded through the runner's channels (webhook/SMTP). The one call
   * site for delivery: the pipeline passes pipeline/alerts.ts here; unset = recorded only.
   */
  deliver?: (alerts: readonly AlertRecord[]) => Promise<void>;
}

export interface MonitorData extends MonitorResult {
  thresholds: MonitorConfig;
  rows_in: number;
  rows_out: number;
  seconds: number;
}

const f = (x: number | null, digits = 4): string => (x === null ? '-' : Math.abs(x) >= 1000 ? x.toFixed(0) : x.toFixed(digits));

export async function monitorCommand(ctx: CommandContext, opts: MonitorCommandOptions = {}): Promise<CommandResult<MonitorData>> {
  const t0 = performance.now();
  const reg = openRegistry(ctx.ws, { now: ctx.now });
  let result: MonitorResult;
  try {
    const db = await openDuckDB(ctx.ws.duckdbSettings());
    try {
      // An alias (champion) resolves to its model; any other value is taken as a forecasts.model_id.
      const modelId = opts.model === undefined ? undefined : (reg.findModel(opts.model)?.id ?? opts.model);
      result = await runMonitor({ ws: ctx.ws, reg, conn: db.connection, thresholds: ctx.config.monitor, modelId, log: ctx.log });
    } finally {
      db.close();
    }
  } finally {
    reg.close();
  }
  if (opts.deliver && result.alerts.length > 0) await opts.deliver(result.alerts);
  const data: MonitorData = {
    ...result, thresholds: ctx.config.monitor, rows_in: result.matured + result.pending, rows_out: result.points,
    seconds: Math.round(performance.now() - t0) / 1000,
  };
  const lines = [
    `monitor: ${data.scored} forecasts scored now, ${data.matured} matured in total, ${data.pending} pending; ${data.points} points written (${data.seconds} s)`,
    ...(data.models.length > 0 ? [`  ${'model'.padEnd(34)} ${'days'.padStart(4)} ${'mape_adj'.padStart(9)} ${'mape_vol'.padStart(9)} ${'skill_adj'.padStart(9)} ${'skill_vol'.padStart(9)} ${'pending'.padStart(8)}`] : []),
    ...data.models.map((m) => `  ${m.model_id.padEnd(34)} ${String(m.window.days).padStart(4)} ${f(m.mape_adj_close).padStart(9)} ${f(m.mape_volume).padStart(9)} ${f(m.skill_adj_close).padStart(9)} ${f(m.skill_volume).padStart(9)} ${String(m.pending).padStart(8)}`),
    ...data.drift.map((d) => `  drift ${d.column.padEnd(16)} PSI ${f(d.psi, 3)} (${d.from}..${d.to} vs ${d.reference_from}..${d.reference_to}) ${d.status}`),
    ...data.alerts.map((a) => `  ALERT ${a.kind}: ${a.message}`),
    `  retrain needed: ${data.retrain_needed ? 'yes' : 'no'}`,
  ];
  return { data, human: lines.join('\n') };
}
