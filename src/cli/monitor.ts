/** @module cli/monitor
 * `stockpipe monitor [--model ID]`: monitor/pass (matured forecasts scored, input drift, alerts past
 * the config's `monitor` thresholds, whether to retrain) → the result for people and --json. */
import type { AlertRecord } from '../registry/alerts.js';
import { monitorPass, type MonitorData } from '../monitor/pass.js';
import type { CommandContext, CommandResult } from './context.js';

export type { MonitorData };

export interface MonitorCommandOptions {
  model?: string;
  /** A logical date: only data known by then. */
  until?: string;
  /** Sends the alerts this pass recorded (cli/run's deliverAlerts); unset = recorded only. */
  deliver?: (alerts: readonly AlertRecord[]) => Promise<AlertRecord[]>;
}

/** The channels an alert could not be sent to, and why (it stays recorded in the store). */
const undelivered = (a: AlertRecord): string => {
  const failed = Object.entries(a.delivered ?? {}).filter(([, r]) => r !== 'ok');
  return failed.length === 0 ? '' : ` (not delivered: ${failed.map(([c, r]) => `${c}: ${r}`).join('; ')})`;
};

const f = (x: number | null, digits = 4): string => (x === null ? '-' : Math.abs(x) >= 1000 ? x.toFixed(0) : x.toFixed(digits));

export async function monitorCommand(ctx: CommandContext, opts: MonitorCommandOptions = {}): Promise<CommandResult<MonitorData>> {
  const data = await monitorPass({
    ws: ctx.ws, thresholds: ctx.config.monitor,
    now: ctx.now, log: ctx.log, model: opts.model, until: opts.until, deliver: opts.deliver,
  });
  return { data, human: monitorHuman(data) };
}

/** The pass for people, rendered from the --json data. */
export function monitorHuman(data: MonitorData): string {
  const lines = [
    `monitor: ${data.scored} forecasts scored now, ${data.matured} matured in total, ${data.pending} pending; ${data.points} points written (${data.seconds} s)`,
    ...(data.models.length > 0 ? [`  ${'model'.padEnd(34)} ${'days'.padStart(4)} ${'mape_adj'.padStart(9)} ${'mape_vol'.padStart(9)} ${'skill_adj'.padStart(9)} ${'skill_vol'.padStart(9)} ${'pending'.padStart(8)}`] : []),
    ...data.models.map((m) => `  ${m.model_id.padEnd(34)} ${String(m.window.days).padStart(4)} ${f(m.mape_adj_close).padStart(9)} ${f(m.mape_volume).padStart(9)} ${f(m.skill_adj_close).padStart(9)} ${f(m.skill_volume).padStart(9)} ${String(m.pending).padStart(8)}`),
    ...data.drift.map((d) => `  drift ${d.column.padEnd(16)} PSI ${f(d.psi, 3)} (${d.from}..${d.to} vs ${d.reference_from}..${d.reference_to}) ${d.status}`),
    ...(data.drift.length > 0 && data.drift_reference.fallback !== null
      ? [`  drift reference: the days before the recent window, not the forecast champion's training period (monitor.drift_reference "training"): ${data.drift_reference.fallback}`]
      : []),
    ...data.alerts.map((a) => `  ALERT ${a.kind}: ${a.message}${undelivered(a)}`),
    `  retrain needed: ${data.retrain_needed ? 'yes' : 'no'}`,
  ];
  return lines.join('\n');
}
