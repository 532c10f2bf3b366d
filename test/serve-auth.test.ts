/** The API token on mutating routes (docs/security.md): every non-GET route in Fastify's route
 * table, without/with a token, on loopback and beyond; reads stay open; coded listen errors. */
import { createServer, type Server } from 'node:net';
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { buildApp } from '../src/serve/app.js';
import { exposureWarning, isLoopbackHost, tokenRedactor } from '../src/serve/auth.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { listen, listenError } from '../src/serve/listen.js';
import { loadConfig } from '../src/core/config.js';
import { StockpipeError } from '../src/core/errors.js';
import { polyJson, registerModel } from './helpers/models.js';
import { runCliAsync } from './helpers/cli.js';
import { silentLog, tempWorkspace } from './helpers/workspace.js';

const TOKEN = 'a-test-token-0123456789abcdef';
const folders: string[] = [];
const apps: FastifyInstance[] = [];
afterAll(async () => {
  for (const a of apps) await a.close();
  for (const f of folders) await rm(f, { recursive: true, force: true });
});

async function build(opts: { apiToken?: string; host?: string } = {}): Promise<FastifyInstance> {
  const ws = await tempWorkspace();
  folders.push(ws);
  await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  const { app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: ws, ...opts });
  await app.ready();
  apps.push(app);
  return app;
}

/** Non-GET routes from Fastify's own route table, as `METHOD /path` with params filled in. The
 * table is a tree (`/runs (POST)` with `/:id/cancel (POST)` under it): a line's path is its parents'
 * path and its own segment, its depth the column of its branch. */
function mutatingRoutes(app: FastifyInstance): string[] {
  const out: string[] = [];
  for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
    const stack: string[] = [];
    for (const line of app.printRoutes({ method, commonPrefix: false }).split('\n')) {
      const m = /^(.*?)[├└]── (\/\S*)(?: \(([^)]*)\))?/.exec(line);
      if (!m) continue;
      const depth = m[1]!.length / 4;
      stack.length = depth;
      stack.push(m[2]!);
      if (m[3]?.split(', ').includes(method)) out.push(`${method} ${stack.join('').replace(/:[A-Za-z]+/g, 'no-such-id')}`);
    }
  }
  return out;
}

/** Routes whose non-GET method is a read (scoring), open like GET. */
const READS = new Set(['POST /predict']);

describe('mutating routes', () => {
  // [case, server options, request headers, expected status or 'passes' (the route's own answer, not 401/403), expected code]
  const cases: [string, { apiToken?: string; host?: string }, Record<string, string>, number | 'passes', string | null][] = [
    ['no token set, loopback: open', {}, {}, 'passes', null],
    ['no token set, ::1: open', { host: '::1' }, {}, 'passes', null],
    ['no token set, loopback, another web origin: refused', {}, { origin: 'http://evil.example' }, 403, 'SP_ERR_FORBIDDEN'],
    ['no token set, loopback, same origin (the dashboard): open', {}, { origin: 'http://127.0.0.1:8000', host: '127.0.0.1:8000' }, 'passes', null],
    ['no token set, loopback, Origin "null" (a sandboxed page): refused', {}, { origin: 'null' }, 403, 'SP_ERR_FORBIDDEN'],
    ['no token set, loopback, a page DNS-rebound to 127.0.0.1 (Origin = Host = its own name): refused', {}, { origin: 'http://evil.example:8000', host: 'evil.example:8000' }, 403, 'SP_ERR_FORBIDDEN'],
    ['no token set, loopback, another Host without Origin (a reverse proxy in front): refused', {}, { host: 'stats.example.com' }, 403, 'SP_ERR_FORBIDDEN'],
    ['no token set, loopback, Host localhost and same origin: open', {}, { origin: 'http://localhost:8000', host: 'localhost:8000' }, 'passes', null],
    ['no token set, ::1, Host [::1]: open', { host: '::1' }, { host: '[::1]:8000' }, 'passes', null],
    ['token set, another Host, right token: passes (the token decides)', { apiToken: TOKEN }, { host: 'stats.example.com', authorization: `Bearer ${TOKEN}` }, 'passes', null],
    ['token set, right token with a trailing space (trimmed as OWS)', { apiToken: TOKEN }, { authorization: `Bearer ${TOKEN} ` }, 'passes', null],
    ['no token set, 0.0.0.0: refused', { host: '0.0.0.0' }, {}, 403, 'SP_ERR_FORBIDDEN'],
    ['no token set, a LAN address: refused', { host: '192.168.1.20' }, {}, 403, 'SP_ERR_FORBIDDEN'],
    ['token set, header missing', { apiToken: TOKEN }, {}, 401, 'SP_ERR_UNAUTHORIZED'],
    ['token set, wrong token', { apiToken: TOKEN }, { authorization: 'Bearer wrong-token-0123456789abcdef' }, 401, 'SP_ERR_UNAUTHORIZED'],
    ['token set, a prefix of the token', { apiToken: TOKEN }, { authorization: `Bearer ${TOKEN.slice(0, -1)}` }, 401, 'SP_ERR_UNAUTHORIZED'],
    ['token set, not a Bearer header', { apiToken: TOKEN }, { authorization: `Basic ${TOKEN}` }, 401, 'SP_ERR_UNAUTHORIZED'],
    ['token set, right token', { apiToken: TOKEN }, { authorization: `Bearer ${TOKEN}` }, 'passes', null],
    ['token set, right token, lower-case scheme', { apiToken: TOKEN }, { authorization: `bearer ${TOKEN}` }, 'passes', null],
    ['token set, 0.0.0.0, right token', { apiToken: TOKEN, host: '0.0.0.0' }, { authorization: `Bearer ${TOKEN}` }, 'passes', null],
    ['token set, 0.0.0.0, no header', { apiToken: TOKEN, host: '0.0.0.0' }, {}, 401, 'SP_ERR_UNAUTHORIZED'],
  ];

  it('the route table has mutating routes (promote at least), and POST /predict is the only non-GET read', async () => {
    const routes = mutatingRoutes(await build());
    expect(routes).toContain('POST /models/no-such-id/promote');
    expect(routes).toEqual(expect.arrayContaining(['POST /runs', 'POST /runs/no-such-id/resume', 'POST /runs/no-such-id/cancel', 'POST /backfills']));
    expect(routes).toEqual(expect.arrayContaining(['POST /models/no-such-id/tags', 'DELETE /models/no-such-id/tags/no-such-id']));
    expect(routes.filter((r) => READS.has(r))).toEqual(['POST /predict']);
  });

  it.each(cases)('%s', async (_name, opts, headers, status, expected) => {
    const app = await build(opts);
    for (const route of mutatingRoutes(app).filter((r) => !READS.has(r))) {
      const [method, url] = route.split(' ') as ['POST', string];
      const r = await app.inject({ method, url, headers, payload: {} });
      if (status === 'passes') {
        expect([401, 403], `${route}: ${r.body}`).not.toContain(r.statusCode);
      } else {
        expect(r.statusCode, route).toBe(status);
        const body = JSON.parse(r.body) as { error: { code: string; hint: string; message: string } };
        expect(body.error.code, route).toBe(expected);
        expect(body.error.hint.length, route).toBeGreaterThan(10);
        expect(r.body).not.toContain(TOKEN.slice(2));
        if (status === 401) expect(r.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
  });

  it('a right token really promotes (the route behind the guard runs)', async () => {
    const app = await build({ apiToken: TOKEN, host: '0.0.0.0' });
    const r = await app.inject({ method: 'POST', url: '/models/poly-1/promote', headers: { authorization: `Bearer ${TOKEN}` }, payload: {} });
    expect(r.statusCode).toBe(200);
  });

  it('reads stay open with a token and beyond loopback: GET routes and POST /predict', async () => {
    const app = await build({ apiToken: TOKEN, host: '0.0.0.0' });
    for (const url of ['/predict?vol_moving_avg=1&adj_close_rolling_med=2', '/models', '/runs', '/health', '/openapi.json']) expect((await app.inject(url)).statusCode, url).toBe(200);
    const batch = await app.inject({ method: 'POST', url: '/predict', payload: { instances: [{ vol_moving_avg: 1, adj_close_rolling_med: 2 }] } });
    expect(batch.statusCode).toBe(200);
  });

  it('adds no hook to GET /predict (the hot path)', async () => {
    const app = await build({ apiToken: TOKEN, host: '0.0.0.0' });
    const lines = app.printRoutes({ includeHooks: true, commonPrefix: false }).split('\n');
    const hooksOf = (route: RegExp): string => {
      const at = lines.findIndex((l) => route.test(l));
      expect(at).toBeGreaterThanOrEqual(0);
      const hooks: string[] = [];
      for (let i = at + 1; i < lines.length && /^[│\s]*•/.test(lines[i]!); i++) hooks.push(lines[i]!);
      return hooks.join('\n');
    };
    // GET /predict counts its own answers (no onResponse hook); the interval route is counted by the hook: the parse finds hook lists.
    expect(hooksOf(/[─ /]interval \(GET/)).toContain('onResponse');
    expect(hooksOf(/[─ ]predict \(GET/)).toBe('');
    const promote = app.printRoutes({ method: 'POST', includeHooks: true, commonPrefix: false });
    expect(promote).toMatch(/onRequest/);
  });

  it('marks mutating routes with the bearer scheme in OpenAPI', async () => {
    const app = await build({ apiToken: TOKEN });
    const doc = JSON.parse((await app.inject('/openapi.json')).body) as { paths: Record<string, Record<string, { security?: unknown }>>; components: { securitySchemes: Record<string, unknown> } };
    expect(doc.components.securitySchemes.bearerAuth).toBeDefined();
    expect(doc.paths['/models/{id}/promote']?.post?.security).toEqual([{ bearerAuth: [] }]);
    expect(doc.paths['/predict']?.post?.security).toBeUndefined();
  });
});

describe('a token in the URL', () => {
  it('is not written to the access log (it was, in the url field, for ?token=… or ?api_token=…)', async () => {
    const ws = await tempWorkspace();
    folders.push(ws);
    await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    const holder = new ChampionHolder(ws, silentLog);
    await holder.refresh();
    const lines: string[] = [];
    const accessLog = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const { app } = await buildApp({ workspace: ws, holder, accessLog, version: 'test', dashboardDir: ws, apiToken: TOKEN });
    apps.push(app);
    const encoded = [...TOKEN].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('');
    for (const url of [`/models/poly-1/promote?token=${TOKEN}`, `/models/poly-1/promote?api_token=${encoded}`, `/models/poly-1/promote?x=1&access_token=${TOKEN}`]) {
      expect((await app.inject({ method: 'POST', url })).statusCode, url).toBe(401);
    }
    expect((await app.inject(`/models/${TOKEN}`)).statusCode).toBe(404);
    expect(lines).toHaveLength(4);
    for (const l of lines) expect(l).not.toContain(TOKEN.slice(2, -2));
    expect(lines.map((l) => (JSON.parse(l) as { url: string }).url)).toEqual(['/models/poly-1/promote?token=[redacted]', '/models/poly-1/promote?api_token=[redacted]', '/models/poly-1/promote?x=1&access_token=[redacted]', '/models/[redacted]']);
  });

  it('tokenRedactor leaves URLs without the token, and every URL when there is none, as they are', () => {
    const url = '/predict?vol_moving_avg=1%2E5&adj_close_rolling_med=2';
    expect(tokenRedactor(TOKEN)(url)).toBe(url);
    expect(tokenRedactor(undefined)(`/x?token=${TOKEN}`)).toBe(`/x?token=${TOKEN}`);
    expect(tokenRedactor(TOKEN)('/x?q=%zz')).toBe('/x?q=%zz');
  });
});

describe('exposure', () => {
  it.each([
    ['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['::1', true], ['[::1]', true], ['::ffff:127.0.0.1', true],
    ['0.0.0.0', false], ['::', false], ['192.168.1.20', false], ['example.com', false], ['::ffff:10.0.0.1', false],
  ] as const)('isLoopbackHost(%s) = %s', (host, loop) => {
    expect(isLoopbackHost(host)).toBe(loop);
    expect(exposureWarning(host, false) === null).toBe(loop);
    expect(exposureWarning(host, true)).toBeNull();
  });
});

describe('listening', () => {
  it('a busy port is SP_ERR_PORT_IN_USE naming host:port', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const app = await build();
      const err = await listen(app, '127.0.0.1', port).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(StockpipeError);
      expect((err as StockpipeError).code).toBe('SP_ERR_PORT_IN_USE');
      expect((err as StockpipeError).message).toContain(`127.0.0.1:${port}`);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it.each([
    ['EADDRINUSE', 8000, 'SP_ERR_PORT_IN_USE'],
    ['EACCES', 80, 'SP_ERR_LISTEN_DENIED'],
    ['EPERM', 443, 'SP_ERR_LISTEN_DENIED'],
    ['EADDRNOTAVAIL', 8000, 'SP_ERR_USAGE'],
    ['ENOTFOUND', 8000, 'SP_ERR_USAGE'],
  ])('listen error %s on port %d → %s', (errno, port, expected) => {
    const e = listenError(Object.assign(new Error(errno), { code: errno }), '10.9.8.7', port);
    expect((e as StockpipeError).code).toBe(expected);
    expect((e as StockpipeError).message).toContain(`10.9.8.7:${port}`);
  });

  it.each([[-1], [65536], [1.5]])('port %d is SP_ERR_USAGE', async (port) => {
    const app = await build();
    await expect(listen(app, '127.0.0.1', port)).rejects.toMatchObject({ code: 'SP_ERR_USAGE' });
  });
});

describe('stockpipe serve (CLI)', () => {
  const serve = async (args: string[], ws: string): Promise<{ code: number | null; out: string }> => {
    const r = await runCliAsync(['serve', ...args, '--json', '-w', ws], { timeoutMs: 30_000 });
    return { code: r.code, out: r.stdout };
  };

  it('on a busy port exits 1 with SP_ERR_PORT_IN_USE (and does not hang)', async () => {
    const ws = await tempWorkspace();
    folders.push(ws);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, out } = await serve(['--port', String(port)], ws);
      expect(code).toBe(1);
      const doc = JSON.parse(out) as { ok: boolean; error: { code: string; message: string; hint: string } };
      expect(doc.error.code).toBe('SP_ERR_PORT_IN_USE');
      expect(doc.error.message).toContain(`127.0.0.1:${port}`);
      expect(doc.error.hint).toMatch(/--port/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('--port 70000 exits 2 with SP_ERR_USAGE', async () => {
    const ws = await tempWorkspace();
    folders.push(ws);
    const { code, out } = await serve(['--port', '70000'], ws);
    expect(code).toBe(2);
    expect((JSON.parse(out) as { error: { code: string } }).error.code).toBe('SP_ERR_USAGE');
  });
});

describe('config', () => {
  it.each([
    ['STOCKPIPE_API_TOKEN sets serve.api_token', { STOCKPIPE_API_TOKEN: TOKEN }, TOKEN, null],
    ['no variable: no token', {}, undefined, null],
    ['a short token is refused, without quoting it', { STOCKPIPE_API_TOKEN: 'short-secret' }, undefined, 'SP_ERR_CONFIG_INVALID'],
  ] as const)('%s', (_n, env, token, errCode) => {
    const load = () => loadConfig({ file: {}, env, flags: {}, origin: 'test' });
    if (errCode === null) {
      expect(load().serve.api_token).toBe(token);
      return;
    }
    const err = (() => { try { load(); return null; } catch (e) { return e as StockpipeError; } })();
    expect(err?.code).toBe(errCode);
    expect(err?.message).not.toContain('short-secret');
    // Worded as every other bound of the config ('must be at least …'); it read 'serve.api_token: at least 16 characters'.
    expect(err?.message).toMatch(/^serve\.api_token: must be at least 16 characters/);
  });
});
