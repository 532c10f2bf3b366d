/** @module serve/auth
 * Who may call a mutating route (docs/security.md): every route whose method is not GET, HEAD or
 * OPTIONS (promote today, any trigger added later) gets one onRequest check when it is registered
 * (an onRoute hook), so reads, including the GET /predict hot path, carry no per-request work.
 * POST /predict scores (a read) and opts out with READ_ONLY_ROUTE. With an API token: `Authorization: Bearer <token>` or 401, compared on SHA-256 digests in
 * constant time (the Bearer header is also what a cross-site page cannot send). Without one: open
 * on loopback except to another web origin (Origin ≠ Host: CSRF) or another host name (Host not
 * loopback: DNS rebinding, a reverse proxy), 403 beyond loopback. The token is never logged or
 * echoed. Reading the token from env/config is cli/'s. */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import { sendError } from '../http/errors.js';

export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthOptions {
  /** The API token (STOCKPIPE_API_TOKEN / serve.api_token); undefined = none. */
  token?: string;
  /** The address the server listens on (default 127.0.0.1). */
  host?: string;
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether `host` is a loopback address or name (127.0.0.0/8, ::1, ::ffff:127.x, localhost). */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  if (mapped) return LOOPBACK.check(mapped[1]!, 'ipv4');
  const v = isIP(h);
  return v === 4 ? LOOPBACK.check(h, 'ipv4') : v === 6 ? LOOPBACK.check(h, 'ipv6') : false;
}

/** The warning `serve` prints at start, or null when the server is not exposed without a token. */
export function exposureWarning(host: string, tokenSet: boolean): string | null {
  if (tokenSet || isLoopbackHost(host)) return null;
  return `warning: listening on ${host}, beyond loopback, without an API token: anyone who can reach this address can read the API, and every mutating route (POST, e.g. promote) is refused with 403. Set STOCKPIPE_API_TOKEN (or serve.api_token) to allow them with "Authorization: Bearer <token>", and put TLS in front (docs/security.md).\n`;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * What the access and error logs write for a request's URL: the URL, with the API token replaced by
 * `[redacted]` wherever a careless client put it (`?token=…`, `?api_token=…`, a path segment), as
 * is or percent-encoded. No token: the URL as is (GET /predict's hot path does one `includes` more
 * with one).
 */
export function tokenRedactor(token: string | undefined): (url: string) => string {
  if (token === undefined) return (url) => url;
  return (url) => {
    let out = url.includes(token) ? url.split(token).join(REDACTED) : url;
    if (!out.includes('%')) return out;
    // A percent-encoded form (%2D or %2d, any of its characters): each segment decoded and checked.
    out = out.replace(/[^/?&=;]+/g, (seg) => {
      if (!seg.includes('%')) return seg;
      try {
        return decodeURIComponent(seg.replace(/\+/g, ' ')).includes(token) || decodeURIComponent(seg).includes(token) ? REDACTED : seg;
      } catch {
        return seg;
      }
    });
    return out;
  };
}

const REDACTED = '[redacted]';

/** The Bearer token of an Authorization header value, or null. */
function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return m ? m[1]! : null;
}

/**
 * The Host header names this machine's loopback (or is absent: not a browser). A page rebound by
 * DNS to 127.0.0.1 is same-origin with its own name (Origin = Host = evil.example), and a reverse
 * proxy forwards the public name: both send a Host that is not loopback.
 */
function loopbackHostHeader(req: FastifyRequest): boolean {
  const host = req.headers.host;
  if (host === undefined) return true;
  try {
    return isLoopbackHost(new URL(`http://${host}`).hostname);
  } catch {
    return false;
  }
}

/** The Origin's host differs from the Host header: a cross-site request from a browser. */
function crossOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || origin === 'null') return origin === 'null';
  try {
    const o = new URL(origin);
    return o.host !== new URL(`${o.protocol}//${req.headers.host ?? ''}`).host;
  } catch {
    return true;
  }
}

/**
 * A route that reads although its method is not GET (POST /predict: scoring a batch) says so with
 * `config: READ_ONLY_ROUTE`; every other non-GET route is guarded.
 */
export const READ_ONLY_ROUTE = { readOnly: true } as const;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route only reads although its method is not GET (serve/auth). */
    readOnly?: boolean;
  }
}

function isReadRoute(config: unknown): boolean {
  return (config as { readOnly?: unknown } | undefined)?.readOnly === true;
}

/** The onRequest check of one mutating route. */
export function mutationGuard(opts: AuthOptions): onRequestHookHandler {
  const expected = opts.token === undefined ? null : digest(opts.token);
  const host = opts.host ?? '127.0.0.1';
  const exposed = !isLoopbackHost(host);
  return function guard(req: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (SAFE_METHODS.has(req.method)) return done();
    const what = `${req.method} ${req.routeOptions.url ?? 'this route'}`;
    if (expected === null) {
      if (exposed) {
        void sendError(reply, 'SP_ERR_FORBIDDEN', `${what} is refused: the server listens on ${host}, beyond loopback, and has no API token`);
        return;
      }
      // Open on loopback, but not to a web page of another site the user has open (CSRF), nor to a
      // request naming another host (DNS rebinding, or a reverse proxy in front).
      if (!loopbackHostHeader(req)) {
        void sendError(reply, 'SP_ERR_FORBIDDEN', `${what} is refused: the request is addressed to another host than this loopback server (Host header), and the server has no API token`, { hint: 'Call the server as 127.0.0.1 or localhost; behind a reverse proxy, or for another host name, set an API token (docs/security.md).' });
        return;
      }
      if (!crossOrigin(req)) return done();
      void sendError(reply, 'SP_ERR_FORBIDDEN', `${what} is refused: the request comes from another web origin (Origin ≠ Host) and the server has no API token`, { hint: 'Use the dashboard page this server serves, or a client that sends no Origin header (curl, scripts); or set an API token (docs/security.md).' });
      return;
    }
    const given = bearer(req.headers.authorization);
    if (given === null || !timingSafeEqual(digest(given), expected)) {
      void reply.header('www-authenticate', 'Bearer realm="stockpipe"');
      const why = req.headers.authorization === undefined ? 'no Authorization header' : given === null ? 'the Authorization header is not "Bearer <token>"' : 'the token is not valid';
      void sendError(reply, 'SP_ERR_UNAUTHORIZED', `${what} needs the API token: ${why}`);
      return;
    }
    done();
  };
}

/**
 * Registers the guard on every mutating route added after this call (call it before any route).
 * OpenAPI marks those routes with the bearer scheme.
 */
export function registerAuth(app: FastifyInstance, opts: AuthOptions): void {
  const guard = mutationGuard(opts);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.every((m) => SAFE_METHODS.has(m)) || isReadRoute(route.config)) return;
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [guard, ...existing];
    if (route.schema && !route.schema.hide) route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
  });
}
