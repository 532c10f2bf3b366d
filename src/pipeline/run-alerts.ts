/** @module pipeline/run-alerts
 * The alerts around a pipeline run: the channels from the config (the SMTP password may come from
 * the environment the caller passes), a run's own alert (failure always, success when configured;
 * recorded in the store with the failed task's log tail, then delivered), and delivery of alerts
 * recorded elsewhere (monitor's). Never throws: an alert problem is logged, never fails the run. */
import { readFile } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { recordAlert, type AlertRecord } from '../registry/alerts.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { deliverAlert, type AlertChannels, type MailSender } from './alerts.js';
import { forEachAtMost } from '../core/at-most.js';
import type { RunOutcome } from './runner.js';

/** The alert channels of `alerts` (the SMTP password from STOCKPIPE_SMTP_PASSWORD when the file has none). */
export function alertChannelsOf(alerts: Config['alerts'], env: Readonly<Record<string, string | undefined>>): AlertChannels {
  const smtp = alerts.smtp ? { ...alerts.smtp, password: alerts.smtp.password ?? env.STOCKPIPE_SMTP_PASSWORD } : undefined;
  return { webhookUrl: alerts.webhook_url, smtp, onSuccess: alerts.on_success, timeoutMs: alerts.timeout_s * 1000 };
}

/** How many alerts are sent at once: a stalled channel holds a pass about one alerts.timeout_s per this many alerts, not
 * one per alert, and a burst of them stays a few connections to the webhook or SMTP server. */
export const ALERTS_AT_ONCE = 4;

/** Delivers alerts already recorded (e.g. by monitor) to the channels, up to ALERTS_AT_ONCE at a time; returns them in
 * their order as stored after, with how each channel answered (`delivered`; null when no channel is configured). Never throws. */
export async function deliverRecorded(ws: Workspace, alerts: readonly AlertRecord[], channels: AlertChannels, log: Logger, deps: { fetch?: typeof fetch; mail?: MailSender } = {}): Promise<AlertRecord[]> {
  if (!channels.webhookUrl && !channels.smtp) return [...alerts];
  const reg = openRegistry(ws);
  try {
    const out: AlertRecord[] = [...alerts];
    await forEachAtMost(alerts, ALERTS_AT_ONCE, async (a, i) => {
      out[i] = { ...a, delivered: await deliverAlert(reg, a, channels, { log, ...deps }) };
    });
    return out;
  } finally {
    reg.close();
  }
}

async function logTail(path: string, lines = 20): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return ''; // no log written (the task failed before it started)
  }
}

/** Records and delivers the run's alert (failure always; success when configured). Never throws. */
export async function alertForRun(reg: Registry, out: RunOutcome, channels: AlertChannels, log: Logger): Promise<void> {
  if (out.status === 'finished' && !channels.onSuccess) return;
  if (out.status === 'cancelled') return;
  try {
    const f = out.failed;
    const alert = recordAlert(reg, f
      ? { kind: 'task_failed', severity: 'error', pipeline: out.pipeline, run_id: out.run_id, message: `${out.pipeline} run ${out.run_id} failed at task ${f.task}: ${f.code}`,
        details: { task: f.task, error_code: f.code, error: f.message, log_path: f.log_path, log_tail: await logTail(f.log_path) } }
      : { kind: 'run_succeeded', severity: 'info', pipeline: out.pipeline, run_id: out.run_id, message: `${out.pipeline} run ${out.run_id} finished in ${out.seconds} s`, details: { tasks: out.tasks.map((t) => `${t.name}:${t.status}`).join(' ') } });
    await deliverAlert(reg, alert, channels, { log });
  } catch (err) {
    log.warn({ error: (err as Error).message }, 'could not record or deliver the run alert');
  }
}
