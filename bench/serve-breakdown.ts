/** @module bench/serve-breakdown
 * Where a GET /predict request's time goes: the same autocannon load (64 connections, 8 s) against
 * (1) bare node:http answering a constant, (2) bare Fastify answering a constant, (3) Fastify with
 * our query parsing + validation + gbdt scoring but no metrics hook, (4) the full stockpipe app.
 * Each server runs in a child process; differences between rows are the cost of each layer. */
import { fork } from 'node:child_process';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const mode = process.argv[2];

async function serveMode(m: string): Promise<void> {
  const ws = join(ROOT, 'bench', '.cache', 'ws-serve');
  if (m === 'http') {
    const http = await import('node:http');
    const srv = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('10350');
    });
    srv.listen(0, '127.0.0.1', () => process.send!((srv.address() as { port: number }).port));
    return;
  }
  const Fastify = (await import('fastify')).default;
  if (m === 'fastify') {
    const app = Fastify();
    app.get('/predict', () => 10350);
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.send!((app.server.address() as { port: number }).port);
    return;
  }
  const { ChampionHolder } = await import('../src/serve/champion.js');
  const { pino } = await import('pino');
  const holder = new ChampionHolder(ws, pino({ level: 'silent' }));
  await holder.refresh();
  if (m === 'route') {
    const { parseNumberParam } = await import('../src/serve/params.js');
    const app = Fastify();
    app.get('/predict', (req, reply) => {
      const q = req.query as Record<string, unknown>;
      const issues: never[] = [];
      const v = holder.current!.scorer.predict(parseNumberParam(q.vol_moving_avg, 'a', { nonNegative: true }, issues), parseNumberParam(q.adj_close_rolling_med, 'b', { nonNegative: false }, issues));
      return reply.header('x-model-id', holder.current!.id).send(Math.round(v));
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    process.send!((app.server.address() as { port: number }).port);
    return;
  }
  const { buildApp } = await import('../src/serve/app.js');
  const { app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'bench' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  process.send!((app.server.address() as { port: number }).port);
}

async function main(): Promise<void> {
  if (mode) return serveMode(mode);
  const rows: Record<string, unknown>[] = [];
  for (const m of ['http', 'fastify', 'route', 'full']) {
    const child = fork(new URL(import.meta.url).pathname, [m], { execArgv: process.execArgv });
    const port = await new Promise<number>((r) => child.once('message', (p) => r(p as number)));
    const url = `http://127.0.0.1:${port}/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75`;
    await autocannon({ url, connections: 64, duration: 2 });
    for (const connections of [64, 8]) {
      const r = await autocannon({ url, connections, duration: 8 });
      rows.push({ server: m, connections, requests_per_s: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors + r.non2xx });
      process.stderr.write(`${JSON.stringify(rows[rows.length - 1])}\n`);
    }
    child.kill();
  }
  process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
}

await main();
