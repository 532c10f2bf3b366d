/** The prediction API (docs/api.md) through Fastify's inject, and one real listening server. */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { scorerFromJSON } from '../src/ml/volume-model.js';
import { naiveJson, polyJson, registerModel } from './helpers/models.js';
import { startCli, waitForJsonLine } from './helpers/cli.js';
import { silentLog, tempWorkspace } from './helpers/workspace.js';
import { rename, rm, writeFile } from 'node:fs/promises';
import { pino } from 'pino';
import { connect, type AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';

async function app(opts: { model?: boolean } = {}) {
  const ws = await tempWorkspace();
  if (opts.model !== false) await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  const built = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test' });
  return { ws, holder, ...built };
}

describe('GET /predict', () => {
  it('answers the predicted volume as the whole JSON body, an integer, with X-Model-Id', async () => {
    const { app: a } = await app();
    const r = await a.inject('/predict?vol_moving_avg=12345&adj_close_rolling_med=25');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/application\/json/);
    expect(r.headers['x-model-id']).toBe('poly-1');
    const body = JSON.parse(r.body) as unknown;
    expect(Number.isInteger(body)).toBe(true);
    expect(body as number).toBeGreaterThanOrEqual(0);
    expect(r.body).toMatch(/^\d+$/);
  });

  it('accepts decimals, exponents, volumes beyond 2^31 and a negative adj_close_rolling_med', async () => {
    const { app: a } = await app();
    for (const q of ['vol_moving_avg=12345.5&adj_close_rolling_med=2.5e1', 'vol_moving_avg=2326635323&adj_close_rolling_med=25', 'vol_moving_avg=1e6&adj_close_rolling_med=-3.75', 'vol_moving_avg=0&adj_close_rolling_med=0']) {
      const r = await a.inject(`/predict?${q}`);
      expect(r.statusCode, q).toBe(200);
      expect(Number.isInteger(JSON.parse(r.body))).toBe(true);
    }
  });

  it('equals the offline model on 1,000 random inputs', async () => {
    const { app: a } = await app();
    const offline = scorerFromJSON(polyJson(), 'poly');
    let seed = 3;
    const rnd = (): number => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let i = 0; i < 1000; i++) {
      const vma = Math.floor(rnd() * 5e7);
      const acm = Math.round((rnd() * 300 - 10) * 100) / 100;
      const r = await a.inject(`/predict?vol_moving_avg=${vma}&adj_close_rolling_med=${acm}`);
      expect(JSON.parse(r.body)).toBe(Math.max(0, Math.round(offline.predict(vma, acm))));
    }
  });

  it('rejects every bad input with 400 and the error body, never 500', async () => {
    const { app: a } = await app();
    const cases: [string, string][] = [
      ['', 'missing'],
      ['adj_close_rolling_med=25', 'missing'],
      ['vol_moving_avg=&adj_close_rolling_med=25', 'empty'],
      ['vol_moving_avg=1&vol_moving_avg=2&adj_close_rolling_med=25', 'repeated'],
      ['vol_moving_avg=abc&adj_close_rolling_med=25', 'not_a_number'],
      ['vol_moving_avg=0x10&adj_close_rolling_med=25', 'not_a_number'],
      ['vol_moving_avg=NaN&adj_close_rolling_med=25', 'not_a_number'],
      ['vol_moving_avg=Infinity&adj_close_rolling_med=25', 'not_a_number'],
      ['vol_moving_avg=1e400&adj_close_rolling_med=25', 'not_finite'],
      ['vol_moving_avg=-5&adj_close_rolling_med=25', 'negative'],
      [`vol_moving_avg=${'1'.repeat(100)}&adj_close_rolling_med=25`, 'too_long'],
      ['vol_moving_avg=12%2C5&adj_close_rolling_med=25', 'not_a_number'],
    ];
    for (const [q, code] of cases) {
      const r = await a.inject(`/predict?${q}`);
      expect(r.statusCode, q).toBe(400);
      const body = JSON.parse(r.body) as { error: { code: string; message: string; issues: { code: string }[] } };
      expect(body.error.code).toBe('SP_ERR_BAD_REQUEST');
      expect(body.error.issues.map((i) => i.code), q).toContain(code);
    }
  });

  it('is 503 SP_ERR_NO_MODEL (and /ready 503) until a champion exists', async () => {
    const { app: a } = await app({ model: false });
    const r = await a.inject('/predict?vol_moving_avg=1&adj_close_rolling_med=2');
    expect(r.statusCode).toBe(503);
    expect(JSON.parse(r.body).error.code).toBe('SP_ERR_NO_MODEL');
    expect((await a.inject('/ready')).statusCode).toBe(503);
    expect((await a.inject('/health')).statusCode).toBe(200);
  });
});

describe('other routes', () => {
  it('POST /predict scores a batch, and refuses more than 10,000 instances with 413', async () => {
    const { app: a } = await app();
    const r = await a.inject({ method: 'POST', url: '/predict', payload: { instances: [{ vol_moving_avg: 12345, adj_close_rolling_med: 25 }, { vol_moving_avg: 0, adj_close_rolling_med: -2 }] } });
    expect(r.statusCode).toBe(200);
    const body = JSON.parse(r.body) as { volumes: number[]; model: string };
    expect(body.model).toBe('poly-1');
    expect(body.volumes.length).toBe(2);
    const single = await a.inject('/predict?vol_moving_avg=12345&adj_close_rolling_med=25');
    expect(body.volumes[0]).toBe(JSON.parse(single.body));
    const big = { instances: Array.from({ length: 10_001 }, () => ({ vol_moving_avg: 1, adj_close_rolling_med: 1 })) };
    const tooMany = await a.inject({ method: 'POST', url: '/predict', payload: big });
    expect(tooMany.statusCode).toBe(413);
    expect(JSON.parse(tooMany.body).error.code).toBe('SP_ERR_PAYLOAD_TOO_LARGE');
    // The OpenAPI document gives the limit (the 413 is the route's own check, not the schema's).
    type Doc = { paths: Record<string, { post?: { requestBody: { content: Record<string, { schema: { properties: Record<string, { maxItems?: number; minItems?: number }> } }> } } }> };
    const doc = JSON.parse((await a.inject('/openapi.json')).body) as Doc;
    expect(doc.paths['/predict']?.post?.requestBody.content['application/json']?.schema.properties.instances).toMatchObject({ minItems: 1, maxItems: 10_000 });
    expect((await a.inject({ method: 'POST', url: '/predict', payload: { instances: big.instances.slice(0, 10_000) } })).statusCode).toBe(200);
    const bad = await a.inject({ method: 'POST', url: '/predict', payload: { instances: [{ vol_moving_avg: -1, adj_close_rolling_med: 1 }] } });
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('SP_ERR_BAD_REQUEST');
    const notJson = await a.inject({ method: 'POST', url: '/predict', headers: { 'content-type': 'application/json' }, payload: '{nope' });
    expect(notJson.statusCode).toBe(400);
  });

  it('answers unknown routes with 404 and wrong methods with 405, as JSON', async () => {
    const { app: a } = await app();
    const nf = await a.inject('/nope');
    expect(nf.statusCode).toBe(404);
    expect(JSON.parse(nf.body).error.code).toBe('SP_ERR_NOT_FOUND');
    const na = await a.inject({ method: 'DELETE', url: '/predict' });
    expect(na.statusCode).toBe(405);
    expect(na.headers.allow).toBe('GET, HEAD, POST');
    expect(JSON.parse(na.body).error.code).toBe('SP_ERR_METHOD_NOT_ALLOWED');
  });

  // Every route's methods come from Fastify's route table: the dashboard's and the docs' too.
  it.each([
    ['PUT', '/predict', 'GET, HEAD, POST'], ['POST', '/health', 'GET, HEAD'], ['DELETE', '/forecast/AAPL', 'GET, HEAD'],
    ['POST', '/', 'GET, HEAD'], ['PUT', '/runs', 'GET, HEAD, POST'], ['GET', '/runs/r1/cancel', 'POST'], ['POST', '/runs/r1', 'GET, HEAD'], ['PUT', '/runs/r1/logs/fetch', 'GET, HEAD'],
    ['POST', '/models/compare', 'GET, HEAD'], ['GET', '/models/m1/promote', 'POST'], ['DELETE', '/symbols', 'GET, HEAD'],
    ['POST', '/symbols/AAPL/series', 'GET, HEAD'], ['PUT', '/validation', 'GET, HEAD'], ['POST', '/assets/app.js', 'GET, HEAD'],
    ['POST', '/openapi.json', 'GET, HEAD'], ['POST', '/docs', 'GET, HEAD'],
    ['GET', '/nope', null], ['GET', '/predict/', null], ['POST', '/models/m1', null], ['GET', '/runs/r1/logs', null],
  ])('%s %s → Allow %s (405), or 404 when no route has the path', async (method, url, allow) => {
    const { app: a } = await app({ model: false });
    const r = await a.inject({ method: method as 'GET', url });
    expect([r.statusCode, JSON.parse(r.body).error.code, r.headers.allow ?? null]).toEqual(allow === null ? [404, 'SP_ERR_NOT_FOUND', null] : [405, 'SP_ERR_METHOD_NOT_ALLOWED', allow]);
    await a.close();
  });

  it('publishes a valid OpenAPI 3 document listing every route, and /docs', async () => {
    const { app: a } = await app();
    const doc = JSON.parse((await a.inject('/openapi.json')).body) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toMatch(/^3\./);
    for (const [path, methods] of Object.entries({ '/predict': ['get', 'post'], '/models': ['get'], '/health': ['get'], '/ready': ['get'], '/metrics': ['get'] })) {
      for (const m of methods) expect(doc.paths[path]?.[m], `${m} ${path}`).toBeDefined();
    }
    // Every parameter has a schema object (a query schema without properties listed 'type' and 'additionalProperties' as parameters).
    const params = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).flatMap(([m, o]) => ((o as { parameters?: { name: string; schema?: unknown }[] }).parameters ?? []).map((x) => ({ at: `${m} ${path} ${x.name}`, schema: x.schema }))));
    expect(params.length).toBeGreaterThan(20);
    expect(params.filter((x) => typeof x.schema !== 'object' || x.schema === null).map((x) => x.at)).toEqual([]);
    // Every operation documents a success and its errors (the error shape where the route names none of its own).
    const responses = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([m, o]) => ({ at: `${m} ${path}`, codes: Object.keys((o as { responses?: object }).responses ?? {}) })));
    expect(responses.filter((r) => !r.codes.some((c) => c.startsWith('2')) || !r.codes.some((c) => c.startsWith('4')) || !r.codes.some((c) => c.startsWith('5'))).map((r) => r.at)).toEqual([]);
    const runs = (doc.paths['/runs']?.get as { responses: Record<string, { content: { 'application/json': { schema: { required: string[] } } } }> }).responses['4XX'];
    expect(runs?.content['application/json'].schema.required).toEqual(['error']);
    const docs = await a.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.body).toMatch(/swagger/i);
  });

  it('exposes Prometheus metrics: requests by route and status, predictions, the model', async () => {
    const { app: a } = await app();
    await a.inject('/predict?vol_moving_avg=1&adj_close_rolling_med=2');
    await a.inject('/predict?vol_moving_avg=x&adj_close_rolling_med=2');
    // A HEAD runs the same handler (Fastify's HEAD routes) but predicts for no one: not counted as a prediction.
    expect((await a.inject({ method: 'HEAD', url: '/predict?vol_moving_avg=1&adj_close_rolling_med=2' })).statusCode).toBe(200);
    const text = (await a.inject('/metrics')).body;
    expect(text).toMatch(/stockpipe_http_requests_total\{route="\/predict",method="GET",status="200"\} 1/);
    expect(text).toMatch(/stockpipe_http_requests_total\{route="\/predict",method="GET",status="400"\} 1/);
    expect(text).toMatch(/stockpipe_predictions_total\{model_id="poly-1"\} 1/);
    expect(text).toMatch(/stockpipe_model_info\{model_id="poly-1",kind="polyreg"\} 1/);
    expect(text).toMatch(/stockpipe_http_request_duration_seconds_bucket/);
  });

  it('counts and logs every answer once: GET /predict (which counts its own), HEAD, other routes, and what no route matched', async () => {
    const ws = await tempWorkspace();
    const holder = new ChampionHolder(ws, silentLog);
    await holder.refresh();
    const lines: { method: string; url: string; status: number; ms: number; model?: string }[] = [];
    const accessLog = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) });
    const { app: a } = await buildApp({ workspace: ws, holder, accessLog, version: 'test' });
    const q = '/predict?vol_moving_avg=1&adj_close_rolling_med=2';
    expect((await a.inject(q)).statusCode).toBe(503); // no model yet
    await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    await holder.refresh();
    for (const [method, url, status] of [['GET', q, 200], ['GET', q, 200], ['GET', '/predict?vol_moving_avg=x&adj_close_rolling_med=2', 400], ['HEAD', q, 200], ['DELETE', '/predict', 405], ['GET', '/nope', 404], ['GET', '/ready', 200]] as const) {
      expect((await a.inject({ method, url })).statusCode, `${method} ${url}`).toBe(status);
    }
    // An error raised before the not-found handler (a body that is not JSON, on no route) is counted as unmatched too,
    // and so are requests refused before routing (a bad percent-encoding, a path segment too long).
    expect((await a.inject({ method: 'POST', url: '/nope', headers: { 'content-type': 'application/json' }, payload: '{' })).statusCode).toBeGreaterThanOrEqual(400);
    expect((await a.inject('/models/%zz')).statusCode).toBe(400);
    expect((await a.inject(`/models/${'a'.repeat(150)}`)).statusCode).toBe(414);
    const text = (await a.inject('/metrics')).body;
    const count = (route: string, method: string, status: number | string): number => Number(new RegExp(`^stockpipe_http_requests_total\\{route="${route}",method="${method}",status="${status}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    expect([count('/predict', 'GET', 503), count('/predict', 'GET', 200), count('/predict', 'GET', 400), count('/predict', 'HEAD', 200), count('/ready', 'GET', 200)]).toEqual([1, 2, 1, 1, 1]);
    expect([count('unmatched', 'DELETE', 405), count('unmatched', 'GET', 404), count('unmatched', 'GET', 400), count('unmatched', 'GET', 414)]).toEqual([1, 1, 1, 1]);
    expect(text).toMatch(/^stockpipe_http_requests_total\{route="unmatched",method="POST",status="4\d\d"\} 1$/m);
    expect(text).toMatch(/^stockpipe_http_request_duration_seconds_count\{route="\/predict",method="GET",status="200"\} 2$/m);
    // One access-log line per answer, GET /predict's naming the model that answered.
    expect(lines.map((l) => `${l.method} ${l.status}`)).toEqual(['GET 503', 'GET 200', 'GET 200', 'GET 400', 'HEAD 200', 'DELETE 405', 'GET 404', 'GET 200', expect.stringMatching(/^POST 4\d\d$/), 'GET 400', 'GET 414', 'GET 200']); // the last: GET /metrics
    expect(lines[1]).toMatchObject({ url: q, model: 'poly-1' });
    expect(lines.every((l) => typeof l.ms === 'number' && l.ms >= 0)).toBe(true);
    await a.close();
  });

  it('counts and logs what Node\'s HTTP parser refuses before a request exists (route unparsed)', async () => {
    const ws = await tempWorkspace();
    const holder = new ChampionHolder(ws, silentLog);
    const lines: { status: number; route?: string }[] = [];
    const accessLog = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) });
    const { app: a } = await buildApp({ workspace: ws, holder, accessLog, version: 'test' });
    await a.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = a.server.address() as AddressInfo;
      const raw = (text: string): Promise<string> => new Promise((resolve, reject) => {
        let got = '';
        const s = connect(port, '127.0.0.1', () => s.write(text));
        s.on('data', (c: Buffer) => { got += c.toString(); });
        s.on('close', () => resolve(got));
        s.on('error', reject);
      });
      // Not HTTP at all; a header line without a colon; a request line and headers over 16 KiB.
      for (const [text, status] of [['HELLO\r\n\r\n', 400], ['GET /ready HTTP/1.1\r\nHost: a\r\nbroken header\r\n\r\n', 400], [`GET /ready?x=${'Z'.repeat(20_000)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414]] as const) {
        expect(await raw(text)).toMatch(new RegExp(`^HTTP/1\\.1 ${status} [\\s\\S]*"code":"SP_ERR_`));
      }
      // Probed: each was hinted with GET /predict's parameters, whatever the request; a raw non-ASCII URL is told to percent-encode.
      const hintOf = (answer: string): string => (JSON.parse(answer.slice(answer.indexOf('{'))) as { error: { hint: string } }).error.hint;
      expect(hintOf(await raw('GET /forecast/\u0661 HTTP/1.1\r\nHost: a\r\n\r\n'))).toMatch(/^Percent-encode/);
      expect(hintOf(await raw('FOO /models HTTP/1.1\r\nHost: a\r\n\r\n'))).toMatch(/^Use GET, HEAD, POST or DELETE/);
      expect(hintOf(await raw('GET /ready HTTP/1.1\r\nHost: a\r\nbroken header\r\n\r\n'))).not.toMatch(/predict/);
      const text = (await a.inject('/metrics')).body;
      expect(text).toMatch(/^stockpipe_http_requests_total\{route="unparsed",method="unknown",status="400"\} 5$/m);
      expect(text).toMatch(/^stockpipe_http_requests_total\{route="unparsed",method="unknown",status="414"\} 1$/m);
      expect(lines.filter((l) => l.route === 'unparsed').map((l) => l.status)).toEqual([400, 400, 414, 400, 400, 400]);
    } finally {
      await a.close();
    }
  });

  it('what the parser refuses on a request already answered, or mid-answer, or from a client gone is neither answered again nor counted', async () => {
    const ws = await tempWorkspace();
    await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    const holder = new ChampionHolder(ws, silentLog);
    await holder.refresh();
    const { app: a } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', requestTimeout: { ms: 300, checkMs: 100 } });
    await a.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = a.server.address() as AddressInfo;
      const raw = (text: string, after?: (s: ReturnType<typeof connect>) => void): Promise<string> => new Promise((resolve) => {
        let got = '';
        const s = connect(port, '127.0.0.1', () => {
          s.write(text);
          after?.(s);
        });
        s.on('data', (c: Buffer) => { got += c.toString(); });
        s.on('close', () => resolve(got));
        s.on('error', () => resolve(got));
      });
      // A GET answered before its (declared) body arrived: the time limit runs out on a request already answered.
      const got = await raw('GET /predict?vol_moving_avg=12345&adj_close_rolling_med=25 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc');
      expect(got.match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200']);
      // A client that sends part of a request and leaves.
      await raw('POST /nope HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{', (s) => setTimeout(() => s.destroy(), 50));
      await raw('GET /ready HTTP/1.1\r\nHost: a\r\n', (s) => setTimeout(() => s.destroy(), 50));
      // A connection that sends nothing (a preconnect) is closed at the time limit, unanswered and uncounted.
      expect(await raw('')).toBe('');
      await new Promise((r) => setTimeout(r, 200));
      let text = (await a.inject('/metrics')).body;
      expect(text).toMatch(/^stockpipe_http_requests_total\{route="\/predict",method="GET",status="200"\} 1$/m);
      expect(text).not.toMatch(/route="unparsed"/);
      // A good request and a malformed one in one write (pipelined): both answered, in order, each counted once.
      expect((await raw('GET /health HTTP/1.1\r\nHost: a\r\n\r\nBROKEN\r\n\r\n')).match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 200', 'HTTP/1.1 400']);
      text = (await a.inject('/metrics')).body;
      expect(text).toMatch(/^stockpipe_http_requests_total\{route="unparsed",method="unknown",status="400"\} 1$/m);
      expect(text).toMatch(/^stockpipe_http_requests_total\{route="\/health",method="GET",status="200"\} 1$/m);
    } finally {
      await a.close();
    }
  });

  it('what the parser refuses while a response is being streamed is not written into that response', async () => {
    const ws = await tempWorkspace();
    const holder = new ChampionHolder(ws, silentLog);
    const { app: a } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test' });
    a.get('/stream-probe', (_req, reply) => {
      const body = new PassThrough();
      let n = 0;
      const tick = setInterval(() => {
        body.write('x'.repeat(1000));
        if (++n === 20) {
          clearInterval(tick);
          body.end();
        }
      }, 10);
      return reply.header('content-length', 20_000).send(body);
    });
    await a.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = a.server.address() as AddressInfo;
      const got = await new Promise<string>((resolve) => {
        let text = '';
        let sent = false;
        const s = connect(port, '127.0.0.1', () => s.write('GET /stream-probe HTTP/1.1\r\nHost: a\r\n\r\n'));
        s.on('data', (c: Buffer) => {
          text += c.toString();
          if (!sent && text.includes('xxxx')) {
            sent = true;
            s.write('BROKEN\r\n\r\n');
          }
        });
        s.on('close', () => resolve(text));
        s.on('error', () => resolve(text));
      });
      expect(got).toMatch(/^HTTP\/1\.1 200 /);
      expect(got).not.toContain('HTTP/1.1 400');
      expect((await a.inject('/metrics')).body).not.toMatch(/route="unparsed"/);
    } finally {
      await a.close();
    }
  });

  it('a client gone before its answer is written is not counted: a body cut short on no route', async () => {
    const { app: a } = await app();
    await a.listen({ port: 0, host: '127.0.0.1' });
    try {
      const { port } = a.server.address() as AddressInfo;
      await new Promise<void>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.write('POST /nope HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{');
          setTimeout(() => s.destroy(), 150);
        });
        s.on('close', () => resolve());
      });
      await new Promise((r) => setTimeout(r, 100));
      expect((await a.inject({ method: 'POST', url: '/nope', headers: { 'content-type': 'application/json' }, payload: '{' })).statusCode).toBe(400);
      const text = (await a.inject('/metrics')).body;
      // The injected one only (the same request, answered).
      expect(text).toMatch(/^stockpipe_http_requests_total\{route="unmatched",method="POST",status="400"\} 1$/m);
    } finally {
      await a.close();
    }
  });

  it('GET /ready names the model, the alias followed and the answering process (worker null: one process)', async () => {
    const { app: a, holder } = await app();
    const r = await a.inject('/ready');
    expect(r.statusCode).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ready', model: 'poly-1', kind: 'polyreg', loaded_at: holder.current!.loadedAt, alias: 'champion', pid: process.pid, worker: null });
  });

  it('lists models with the one being served', async () => {
    const { app: a } = await app();
    const body = JSON.parse((await a.inject('/models')).body) as { serving: string; models: { id: string; aliases: string[] }[] };
    expect(body.serving).toBe('poly-1');
    expect(body.models[0]).toMatchObject({ id: 'poly-1', aliases: ['champion'] });
  });
});

describe('hot swap', () => {
  it('swaps to the new champion under concurrent requests with zero failures; a broken model is rejected', async () => {
    const { app: a, holder, ws } = await app();
    let failures = 0;
    const seen = new Set<string>();
    let running = true;
    const load = (async () => {
      while (running) {
        const rs = await Promise.all(Array.from({ length: 20 }, () => a.inject('/predict?vol_moving_avg=5000&adj_close_rolling_med=10')));
        for (const r of rs) {
          if (r.statusCode !== 200) failures++;
          seen.add(String(r.headers['x-model-id']));
        }
        // inject() resolves in microtasks only: let I/O (the model file read) run between rounds.
        await new Promise((r) => setImmediate(r));
      }
    })();
    await registerModel(ws, 'naive-2', naiveJson(), { kind: 'naive' });
    const { openRegistry } = await import('../src/registry/store.js');
    const reg = openRegistry(ws);
    reg.setAlias('champion', 'naive-2', 'manual');
    const info = vi.spyOn(silentLog, 'info');
    await holder.refresh();
    expect(holder.current?.id).toBe('naive-2');
    // the swap is said in plain words in serve's log
    expect(info).toHaveBeenCalledWith({ model_id: 'naive-2', previous: 'poly-1' }, 'the champion moved: now serving naive-2 (naive), was poly-1; requests already in flight finish on the previous one');
    info.mockRestore();
    // A broken model: registered with valid files, then its model.json corrupted before the swap.
    const dir = await registerModel(ws, 'poly-3', polyJson(), {});
    await writeFile(join(dir, 'model.json'), '{"format":"stockpipe-poly2","coef":[1]}');
    reg.setAlias('champion', 'poly-3', 'manual');
    reg.close();
    await holder.refresh();
    expect(holder.current?.id).toBe('naive-2');
    await new Promise((r) => setTimeout(r, 50));
    running = false;
    await load;
    expect(failures).toBe(0);
    expect(seen).toEqual(new Set(['poly-1', 'naive-2']));
    const r = await a.inject('/predict?vol_moving_avg=5000&adj_close_rolling_med=10');
    expect(JSON.parse(r.body)).toBe(5000); // naive: the 30-day mean
  });
});

describe('polling', () => {
  it('starts no poll while one is still loading: a model.json slower to load than --poll-ms is loaded once, not once per tick', async () => {
    const { holder } = await app();
    let inFlight = 0;
    let most = 0;
    let polls = 0;
    // A load of 100 ms (a large model.json) under a 10 ms poll.
    holder.refresh = async () => {
      polls++;
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 100));
      inFlight--;
    };
    holder.watch(10);
    await new Promise((r) => setTimeout(r, 450));
    holder.stop();
    expect(most).toBe(1);
    expect(polls).toBeGreaterThanOrEqual(2);
    expect(polls).toBeLessThanOrEqual(5);
  });
});

describe('a rejected champion', () => {
  it('is loaded on the first poll after its model.json is restored, not again while it is unchanged', async () => {
    const { app: a, holder, ws } = await app();
    const dir = await registerModel(ws, 'naive-2', naiveJson(), { kind: 'naive' });
    await writeFile(join(dir, 'model.json'), '{ not json');
    const { openRegistry } = await import('../src/registry/store.js');
    const reg = openRegistry(ws);
    reg.setAlias('champion', 'naive-2', 'manual');
    reg.close();
    const error = vi.spyOn(silentLog, 'error');
    await holder.refresh();
    await holder.refresh();
    expect(holder.current?.id).toBe('poly-1'); // the previous model keeps serving
    expect(error).toHaveBeenCalledTimes(1); // an unchanged broken file is not loaded, nor logged, on every poll
    expect(error.mock.calls[0]![1]).toBe('new champion naive-2 rejected; the previous model poly-1 keeps serving');
    error.mockRestore();
    await writeFile(join(dir, 'model.json'), naiveJson());
    await holder.refresh();
    expect(holder.current?.id).toBe('naive-2');
    const r = await a.inject('/predict?vol_moving_avg=5000&adj_close_rolling_med=10');
    expect([r.headers['x-model-id'], JSON.parse(r.body)]).toEqual(['naive-2', 5000]);
  });
});

describe('a poll that fails', () => {
  it('logs the same failure once, not on every poll, and says when the poll works again', async () => {
    const ws = await tempWorkspace();
    await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    const holder = new ChampionHolder(ws, silentLog);
    const warn = vi.spyOn(silentLog, 'warn');
    const info = vi.spyOn(silentLog, 'info');
    try {
      await holder.poll();
      expect(holder.current?.id).toBe('poly-1');
      const db = join(ws, 'stockpipe.db');
      await rename(db, `${db}.bak`);
      await writeFile(db, Buffer.alloc(8192, 7));
      for (let i = 0; i < 3; i++) await holder.poll();
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0]![1]).toMatch(/^champion poll failed/);
      expect(holder.current?.id).toBe('poly-1'); // the model loaded keeps serving
      await rm(db);
      await rename(`${db}.bak`, db);
      info.mockClear();
      await holder.poll();
      expect(info.mock.calls.map((c) => c[1])).toEqual(['champion poll works again']);
      await holder.poll();
      expect(warn).toHaveBeenCalledTimes(1);
    } finally {
      warn.mockRestore();
      info.mockRestore();
      holder.close();
    }
  });
});

describe('a rejected champion with nothing served before', () => {
  it('is logged as leaving the server without a model (it said "the previous model keeps serving")', async () => {
    const ws = await tempWorkspace();
    const dir = await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    await writeFile(join(dir, 'model.json'), '{ not json');
    const holder = new ChampionHolder(ws, silentLog);
    const error = vi.spyOn(silentLog, 'error');
    try {
      await holder.refresh();
      expect(holder.current).toBeNull();
      expect(holder.rejected).toBe('poly-1');
      expect(error.mock.calls[0]![1]).toBe('champion poly-1 rejected: no model is served (503 SP_ERR_NO_MODEL) until its model.json loads or another model is promoted');
    } finally {
      error.mockRestore();
      holder.close();
    }
  });
});

describe('stockpipe serve (a real listening server)', () => {
  it('serves over HTTP and shuts down gracefully on SIGTERM with exit 0', async () => {
    const ws = await tempWorkspace();
    await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    const server = startCli(['serve', '--port', '0', '--json', '--quiet', '-w', ws]);
    const { data } = await waitForJsonLine<{ data: { url: string; model: string } }>(server);
    expect(data.model).toBe('poly-1');
    const r = await fetch(`${data.url}/predict?vol_moving_avg=12345&adj_close_rolling_med=25`);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-model-id')).toBe('poly-1');
    expect(Number.isInteger(await r.json())).toBe(true);
    server.child.kill('SIGTERM');
    const out = await server.done;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n')).toHaveLength(1); // --json: the one document, nothing at the stop
  });

  it('says it stopped on Ctrl-C (SIGINT) in a terminal, as scheduler and worker do, and exits 0', async () => {
    const ws = await tempWorkspace();
    await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    const server = startCli(['serve', '--port', '0', '-w', ws]);
    await vi.waitFor(() => { if (!server.stdout().includes('serving poly-1 at http://127.0.0.1:')) throw new Error('not listening yet'); }, { timeout: 30_000, interval: 50 });
    server.child.kill('SIGINT');
    const out = await server.done;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout.trim().split('\n').at(-1)).toBe('serve stopped (SIGINT): no longer listening; the requests in flight were answered');
  });

  it('a registered champion that cannot be loaded is named by --json as on the start line (listeningText; --json had only "model": null, as with none registered)', async () => {
    const ws = await tempWorkspace();
    const dir = await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    await writeFile(join(dir, 'model.json'), '{"format":');
    const server = startCli(['serve', '--port', '0', '--json', '-w', ws]);
    try {
      const { data } = await waitForJsonLine<{ data: { model: string | null; rejected: string | null } }>(server);
      expect(data).toMatchObject({ model: null, rejected: 'poly-1' });
    } finally {
      server.child.kill('SIGINT'); // also when the check fails: no server left behind
    }
    expect((await server.done).code).toBe(0);
  });
});
