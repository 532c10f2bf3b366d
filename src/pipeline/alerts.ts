/** @module pipeline/alerts
 * Delivers a recorded alert to the configured channels: a webhook (POST JSON, Slack-compatible
 * `text` plus the whole alert) and/or e-mail over SMTP (nodemailer). Delivery never throws: each
 * channel's answer ('ok' or its error) is logged and written back to the alert in the store. */
import type { Logger } from '../core/log.js';
import { withoutUserinfo } from '../core/config.js';
import { markAlertDelivered, type AlertRecord } from '../registry/alerts.js';
import type { Registry } from '../registry/store.js';

export interface SmtpChannel {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
}

export interface AlertChannels {
  webhookUrl?: string;
  smtp?: SmtpChannel;
  onSuccess: boolean;
  timeoutMs: number;
}

/** How a message is mailed (tests pass a fake; default: a nodemailer SMTP transport). */
export type MailSender = (smtp: SmtpChannel, mail: { from: string; to: string[]; subject: string; text: string }, timeoutMs: number) => Promise<void>;

const smtpSender: MailSender = async (smtp, mail, timeoutMs) => {
  // Loaded when mail is sent, not with every command (≈ 0.08 s of start-up).
  const { default: nodemailer } = await import('nodemailer');
  // alerts.timeout_s bounds every wait, as the webhook's (fixed 10 s / 20 s waits took a minute per alert on a server that stalled).
  const transport = nodemailer.createTransport({
    host: smtp.host, port: smtp.port, secure: smtp.secure, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
    auth: smtp.user ? { user: smtp.user, pass: smtp.password ?? '' } : undefined,
  });
  try {
    await transport.sendMail(mail);
  } finally {
    transport.close();
  }
};

/** The alert as people read it: subject line and body (with the log tail when there is one). */
export function renderAlert(a: AlertRecord): { subject: string; text: string } {
  const d = a.details ?? {};
  const subject = `[stockpipe] ${a.severity.toUpperCase()} ${a.kind}${a.pipeline ? ` in ${a.pipeline}` : ''}: ${a.message}`.slice(0, 200);
  const lines = [a.message, '', `kind: ${a.kind}`, `severity: ${a.severity}`, `at: ${a.at}`];
  if (a.pipeline) lines.push(`pipeline: ${a.pipeline}`);
  if (a.run_id) lines.push(`run: ${a.run_id}`);
  for (const k of ['task', 'error_code', 'error', 'log_path']) if (d[k] !== undefined) lines.push(`${k}: ${String(d[k])}`);
  if (typeof d.log_tail === 'string' && d.log_tail !== '') lines.push('', 'log tail:', d.log_tail);
  return { subject, text: lines.join('\n') };
}

/** Text for a Slack-compatible `text` field: `&`, `<` and `>` escaped as Slack's mrkdwn asks, so a symbol or
 * message holding `<!channel>` or `<url|label>` (a file name from the data) is shown as written, never a mention or a link. */
export function slackText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A webhook error's message without the URL (a credential: whoever has it can post to the channel; e.g. "…includes credentials: <url>"), nor any URL's user and password. */
export function withoutWebhookUrl(message: string, url: string): string {
  // Not a URL: only its text as given is looked for.
  const href = URL.canParse(url) ? new URL(url).href : null;
  let out = message;
  for (const form of new Set([url, href])) if (form) out = out.split(form).join('<alerts.webhook_url>');
  return withoutUserinfo(out);
}

const seconds = (ms: number): string => `${ms / 1000} s`;

/** Whether a delivery failed for want of an answer: fetch's AbortSignal.timeout, nodemailer's ETIMEDOUT (connection, greeting, socket). */
function timedOut(err: unknown): boolean {
  const e = err as { name?: string; code?: string } | null;
  return e?.name === 'TimeoutError' || e?.code === 'ETIMEDOUT';
}

/** A redirect's answer as a delivery error (the alert was not delivered), naming the origin it points to; null for any other status. */
function redirectOf(res: Response, url: string): string | null {
  if (res.status < 300 || res.status > 399) return null;
  const to = res.headers.get('location');
  // Only its origin: the path may hold the hook's secret again (an http:// URL sent on to https://).
  const where = to === null || !URL.canParse(to, url) ? 'elsewhere' : `to ${new URL(to, url).origin}`;
  return `HTTP ${res.status}: a redirect ${where}, not followed (the alert was not delivered); set alerts.webhook_url to the URL the service gives`;
}

async function postWebhook(url: string, subject: string, text: string, alert: AlertRecord, timeoutMs: number, post: typeof fetch): Promise<string> {
  try {
    const res = await post(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'stockpipe-alerts' },
      body: JSON.stringify({ text: slackText(`${subject}\n${text}`), alert }),
      signal: AbortSignal.timeout(timeoutMs),
      // Not followed: a 301/302/303 turns the POST into a GET without the alert, whose 200 read as delivered.
      redirect: 'manual',
    });
    const result = res.ok ? 'ok' : redirectOf(res, url) ?? `HTTP ${res.status}`;
    await res.body?.cancel().catch(() => undefined);
    return result;
  } catch (err) {
    return timedOut(err) ? `no answer within ${seconds(timeoutMs)} (alerts.timeout_s)` : withoutWebhookUrl((err as Error).message, url);
  }
}

async function sendMail(smtp: SmtpChannel, subject: string, text: string, timeoutMs: number, send: MailSender): Promise<string> {
  try {
    await send(smtp, { from: smtp.from, to: smtp.to, subject, text }, timeoutMs);
    return 'ok';
  } catch (err) {
    return timedOut(err) ? `${smtp.host}:${smtp.port} did not answer within ${seconds(timeoutMs)} (alerts.timeout_s; ${(err as Error).message})` : (err as Error).message;
  }
}

/** Sends `alert` to every configured channel; returns channel → 'ok' | error, also stored. */
export async function deliverAlert(reg: Registry | null, alert: AlertRecord, channels: AlertChannels, deps: { log: Logger; fetch?: typeof fetch; mail?: MailSender }): Promise<Record<string, string>> {
  const { subject, text } = renderAlert(alert);
  const { webhookUrl, smtp } = channels;
  // Both channels at once: a stalled webhook does not hold the e-mail back (each waits at most alerts.timeout_s).
  const [webhook, mail] = await Promise.all([
    webhookUrl ? postWebhook(webhookUrl, subject, text, alert, channels.timeoutMs, deps.fetch ?? fetch) : undefined,
    smtp ? sendMail(smtp, subject, text, channels.timeoutMs, deps.mail ?? smtpSender) : undefined,
  ]);
  // webhook first, then smtp, as stored before.
  const out: Record<string, string> = {};
  if (webhook !== undefined) out.webhook = webhook;
  if (mail !== undefined) out.smtp = mail;
  for (const [channel, result] of Object.entries(out)) {
    if (result === 'ok') deps.log.info({ alert: alert.id, channel }, 'alert delivered');
    else deps.log.warn({ alert: alert.id, channel, error: result }, 'alert delivery failed');
  }
  if (reg !== null && Object.keys(out).length > 0) {
    try {
      markAlertDelivered(reg, alert.id, out);
    } catch (err) {
      deps.log.warn({ alert: alert.id, error: (err as Error).message }, 'could not record the alert delivery');
    }
  }
  return out;
}
