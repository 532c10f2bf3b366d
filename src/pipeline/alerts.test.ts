import { mkdtemp, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toWorkspace } from '../core/workspace.js';
import { listAlerts, recordAlert } from '../registry/alerts.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { deliverAlert, renderAlert, withoutWebhookUrl, type AlertChannels } from './alerts.js';
import { ALERTS_AT_ONCE, deliverRecorded } from './run-alerts.js';

/** A minimal SMTP server on 127.0.0.1 that accepts one message per session and keeps its DATA. */
function smtpServer(received: string[]): Server {
  return createServer((sock) => {
    let inData = false;
    let data = '';
    let buf = '';
    sock.write('220 localhost ESMTP test\r\n');
    sock.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      let i: number;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            received.push(data);
            sock.write('250 OK queued\r\n');
          } else data += `${line}\n`;
          continue;
        }
        const cmd = line.slice(0, 4).toUpperCase();
        if (cmd === 'EHLO' || cmd === 'HELO') sock.write('250-localhost\r\n250 AUTH PLAIN LOGIN\r\n');
        else if (cmd === 'AUTH') sock.write('235 2.7.0 Authentication successful\r\n');
        else if (cmd === 'DATA') { inData = true; sock.write('354 End data with <CR><LF>.<CR><LF>\r\n'); }
        else if (cmd === 'QUIT') { sock.write('221 Bye\r\n'); sock.end(); }
        else sock.write('250 OK\r\n');
      }
    });
  });
}

let ws: string;
let reg: Registry;
const log = pino({ level: 'silent' });
beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-alerts-'));
  reg = openRegistry(ws);
});
afterEach(async () => {
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

const failed = () => recordAlert(reg, {
  kind: 'task_failed', severity: 'error', pipeline: 'train', run_id: 'r1', message: 'train run r1 failed at task ingest: SP_ERR_INPUT_MALFORMED',
  details: { task: 'ingest', error_code: 'SP_ERR_INPUT_MALFORMED', error: 'stocks/A.csv:7: wrong field count', log_path: '/ws/runs/r1/ingest.log', log_tail: 'line one\nSP_ERR_INPUT_MALFORMED at stocks/A.csv:7' },
});

describe('alert delivery', () => {
  it('mails the alert over SMTP (nodemailer) with the task, error code and log tail, and records "ok"', async () => {
    const received: string[] = [];
    const server = smtpServer(received);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const channels: AlertChannels = { smtp: { host: '127.0.0.1', port: (server.address() as AddressInfo).port, secure: false, user: 'ops', password: 'pw', from: 'stockpipe@example.com', to: ['ops@example.com'] }, onSuccess: false, timeoutMs: 5000 };
      const out = await deliverAlert(reg, failed(), channels, { log });
      expect(out).toEqual({ smtp: 'ok' });
      expect(received).toHaveLength(1);
      expect(received[0]).toMatch(/Subject: \[stockpipe\] ERROR task_failed in train/);
      expect(received[0]).toMatch(/error_code: SP_ERR_INPUT_MALFORMED/);
      expect(received[0]).toMatch(/log tail:\nline one/);
      expect(listAlerts(reg)[0]!.delivered).toEqual({ smtp: 'ok' });
    } finally {
      server.close();
    }
  });

  it('a failing channel is logged and recorded, never thrown; the other channel still delivers', async () => {
    const got: unknown[] = [];
    const http = createHttpServer((req, res) => { let b = ''; req.on('data', (c: Buffer) => { b += c.toString(); }); req.on('end', () => { got.push(JSON.parse(b)); res.end(); }); });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r())); // nothing listens there now
    try {
      const channels: AlertChannels = {
        webhookUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/hook`,
        smtp: { host: '127.0.0.1', port: deadPort, secure: false, from: 'a@b.c', to: ['d@e.f'] },
        onSuccess: false, timeoutMs: 2000,
      };
      const alert = failed();
      const out = await deliverAlert(reg, alert, channels, { log });
      expect(out.webhook).toBe('ok');
      expect(out.smtp).toMatch(/ECONNREFUSED/);
      expect((got[0] as { alert: { id: number } }).alert.id).toBe(alert.id);
      expect(listAlerts(reg)[0]!.delivered).toMatchObject({ webhook: 'ok' });
      const hook500 = await deliverAlert(reg, alert, { webhookUrl: `http://127.0.0.1:${deadPort}/`, onSuccess: false, timeoutMs: 1000 }, { log });
      expect(hook500.webhook).toMatch(/fetch failed|ECONNREFUSED/);
    } finally {
      http.close();
    }
  });

  it('never stores or logs the webhook URL: a URL with credentials, which fetch refuses quoting it whole', async () => {
    const lines: string[] = [];
    const spy = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const url = 'http://hookuser:HOOKPW@127.0.0.1:9/services/T0/B0/SECRETPATH';
    const out = await deliverAlert(reg, failed(), { webhookUrl: url, onSuccess: false, timeoutMs: 1000 }, { log: spy });
    expect(out.webhook).toMatch(/credentials: <alerts.webhook_url>/);
    const stored = JSON.stringify(listAlerts(reg).map((a) => a.delivered));
    for (const text of [out.webhook!, stored, lines.join('\n')]) expect(text).not.toMatch(/HOOKPW|hookuser|SECRETPATH/);
    expect(withoutWebhookUrl(`failed: ${new URL('http://u:p@Example.com/x').href} and https://a:b@other/`, 'http://u:p@Example.com/x')).toBe('failed: <alerts.webhook_url> and https://(credentials not shown)@other/');
  });

  it('escapes the webhook text as Slack asks, so a file name from the data is no mention nor link; the alert object stays as recorded', async () => {
    const got: { text: string; alert: { details: { error: string } } }[] = [];
    const http = createHttpServer((req, res) => { let b = ''; req.on('data', (c: Buffer) => { b += c.toString(); }); req.on('end', () => { got.push(JSON.parse(b) as (typeof got)[number]); res.end(); }); });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const error = 'stocks/<!channel> <https:evil.example|click> & co.csv:7: expected 7 fields, got 4';
      const alert = recordAlert(reg, { kind: 'task_failed', severity: 'error', pipeline: 'train', run_id: 'r1', message: 'train run r1 failed at task ingest: SP_ERR_INPUT_MALFORMED', details: { task: 'ingest', error } });
      const out = await deliverAlert(reg, alert, { webhookUrl: `http://127.0.0.1:${(http.address() as AddressInfo).port}/hook`, onSuccess: false, timeoutMs: 2000 }, { log });
      expect(out.webhook).toBe('ok');
      expect(got[0]!.text).toContain('error: stocks/&lt;!channel&gt; &lt;https:evil.example|click&gt; &amp; co.csv:7');
      expect(got[0]!.text).not.toMatch(/[<>]/);
      expect(got[0]!.alert.details.error).toBe(error);
    } finally {
      http.close();
    }
  });

  it('a webhook that redirects is a failed delivery naming the redirect, not followed: a 302 made the POST a GET without the alert, recorded "ok"', async () => {
    const seen: string[] = [];
    const http = createHttpServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/moved') res.writeHead(200).end('ok');
      else res.writeHead(Number(req.url!.slice(1)), { location: 'https://hooks.example.net/services/T0/B0/SECRET' }).end();
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
      for (const status of [301, 302, 307]) {
        const out = await deliverAlert(reg, failed(), { webhookUrl: `${base}/${status}`, onSuccess: false, timeoutMs: 2000 }, { log });
        expect(out.webhook).toBe(`HTTP ${status}: a redirect to https://hooks.example.net, not followed (the alert was not delivered); set alerts.webhook_url to the URL the service gives`);
        expect(listAlerts(reg)[0]!.delivered).toEqual(out);
      }
      expect(seen).toEqual(['POST /301', 'POST /302', 'POST /307']);
    } finally {
      http.close();
    }
  });

  it('alerts.timeout_s bounds both channels: an SMTP server that never greets, a webhook that never answers, each fail within it and say so', async () => {
    const silent = createServer(() => undefined); // accepts, never speaks
    const hang = createHttpServer(() => undefined); // reads the POST, never answers
    await Promise.all([silent, hang].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    try {
      const port = (silent.address() as AddressInfo).port;
      const t0 = performance.now();
      const out = await deliverAlert(reg, failed(), {
        webhookUrl: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/hook`,
        smtp: { host: '127.0.0.1', port, secure: false, from: 'a@b.c', to: ['d@e.f'] }, onSuccess: false, timeoutMs: 300,
      }, { log });
      expect(performance.now() - t0).toBeLessThan(3000); // nodemailer's own waits were 10 s (greeting) and 20 s (socket)
      expect(out).toEqual({ webhook: 'no answer within 0.3 s (alerts.timeout_s)', smtp: `127.0.0.1:${port} did not answer within 0.3 s (alerts.timeout_s; Greeting never received)` });
    } finally {
      silent.close();
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('alerts go out a few at once, both channels together: six alerts to a stalled webhook and SMTP server took 6 × 2 timeouts, one after another', async () => {
    let open = 0;
    let firstWave = 0; // connections opened before any closed
    let closed = false;
    const count = (sock: { on: (e: 'close', f: () => void) => void }): void => {
      open += 1;
      if (!closed) firstWave = open;
      sock.on('close', () => { open -= 1; closed = true; });
    };
    const silent = createServer(count); // accepts, never greets
    const hang = createHttpServer(() => undefined); // reads the POST, never answers
    hang.on('connection', count);
    await Promise.all([silent, hang].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    try {
      const port = (silent.address() as AddressInfo).port;
      const alerts = Array.from({ length: 6 }, failed);
      const out = await deliverRecorded(toWorkspace(ws), alerts, {
        webhookUrl: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/hook`,
        smtp: { host: '127.0.0.1', port, secure: false, from: 'a@b.c', to: ['d@e.f'] }, onSuccess: false, timeoutMs: 600,
      }, log);
      expect(firstWave).toBeGreaterThanOrEqual(2 * ALERTS_AT_ONCE); // was 1: one channel of one alert at a time
      const outcome = { webhook: 'no answer within 0.6 s (alerts.timeout_s)', smtp: `127.0.0.1:${port} did not answer within 0.6 s (alerts.timeout_s; Greeting never received)` };
      expect(out.map((a) => [a.id, a.delivered])).toEqual(alerts.map((a) => [a.id, outcome]));
      expect(listAlerts(reg).map((a) => a.delivered)).toEqual(alerts.map(() => outcome));
    } finally {
      silent.close();
      hang.closeAllConnections();
      hang.close();
    }
  });

  it('sends at most ALERTS_AT_ONCE alerts at a time and returns them in their order', async () => {
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    const fakeFetch = (async (_url: string, init: { body: string }) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      const id = (JSON.parse(init.body) as { alert: { id: number } }).alert.id;
      await new Promise((r) => setTimeout(r, 5));
      inFlight -= 1;
      seen.push(id);
      return new Response(null, { status: id === alerts[3]?.id ? 500 : 200 });
    }) as unknown as typeof fetch;
    const alerts = Array.from({ length: 10 }, failed);
    const out = await deliverRecorded(toWorkspace(ws), alerts, { webhookUrl: 'http://hook.invalid/x', onSuccess: false, timeoutMs: 1000 }, log, { fetch: fakeFetch });
    expect(most).toBe(ALERTS_AT_ONCE);
    expect(seen.length).toBe(10);
    expect(out.map((a) => [a.id, a.delivered])).toEqual(alerts.map((a, i) => [a.id, { webhook: i === 3 ? 'HTTP 500' : 'ok' }]));
  });

  it('renders a subject and a body people can read', () => {
    const r = renderAlert(failed());
    expect(r.subject).toBe('[stockpipe] ERROR task_failed in train: train run r1 failed at task ingest: SP_ERR_INPUT_MALFORMED');
    expect(r.text).toContain('task: ingest');
    expect(r.text).toContain('log_path: /ws/runs/r1/ingest.log');
  });
});
