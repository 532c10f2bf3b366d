/** @module http/errors
 * The API's one error shape, `{"error":{"code","message","hint","issues"?}}` (docs/api.md), and every
 * path that answers an error: thrown errors and schema failures (Fastify's error handler), unknown
 * routes and methods (404/405), Fastify's framework errors (a path parameter over maxParamLength,
 * a bad URL encoding) and Node's client errors (request line or headers over 16 KiB, malformed
 * HTTP). Messages never echo an oversized input. A 5xx is logged at error level with its cause.
 * Shared by serve/ and dashboard/. Which methods a path takes is route-table's (Fastify's own
 * route table); the codes and their statuses are core/errors'. */
import { isUtf8 } from 'node:buffer';
import type { Socket } from 'node:net';
import { realpathSync } from 'node:fs';
import { sep } from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clip, ERROR_CODES, mapStringsDeep, MAX_ECHO, StockpipeError, type ErrorCode } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { storeFileError } from '../db/duckdb-errors.js';
import { repeatedKey, type RepeatedKey } from './json-keys.js';

export interface ErrorBody {
  error: { code: ErrorCode; message: string; hint: string; issues?: unknown[] };
}

/** The JSON schema of ErrorBody (OpenAPI). */
export const errorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, hint: { type: 'string' }, issues: { type: 'array', items: {} } },
      required: ['code', 'message', 'hint'],
    },
  },
  required: ['error'],
} as const;

/**
 * The OpenAPI document with every operation's errors: a 4XX and a 5XX answer in the error shape where
 * the route's schema names none of its own (most routes declare their success only). Documentation
 * only: the routes' serializers are not changed.
 */
export function documentErrors<T>(doc: T): T {
  const paths = (doc as { paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>> }).paths ?? {};
  const answer = (what: string) => ({ description: `${what}: the error shape (code, message, hint; issues on a 400)`, content: { 'application/json': { schema: errorSchema } } });
  for (const ops of Object.values(paths)) {
    for (const op of Object.values(ops)) {
      if (op === null || typeof op !== 'object') continue;
      const responses = (op.responses ??= {});
      if (!Object.keys(responses).some((k) => k.startsWith('4'))) responses['4XX'] = answer('A request error');
      if (!Object.keys(responses).some((k) => k.startsWith('5'))) responses['5XX'] = answer('A server error');
    }
  }
  return doc;
}

/** core/errors' clip, for the routes that import it from here. */
export { clip, MAX_ECHO };

/** A validation issue with every string in it clipped, keys too (an unknown parameter's name may be huge). */
const clipDeep = (v: unknown): unknown => mapStringsDeep(v, (s) => clip(s), true);

export function errorBody(code: ErrorCode, message: string, opts: { hint?: string; issues?: unknown[] } = {}): ErrorBody {
  const error: ErrorBody['error'] = { code, message, hint: opts.hint ?? ERROR_CODES[code].hint };
  // A 400 always lists its issues (empty when the request as a whole is malformed).
  if (opts.issues || code === 'SP_ERR_BAD_REQUEST') error.issues = opts.issues ?? [];
  return { error };
}

export function sendError(reply: FastifyReply, code: ErrorCode, message: string, opts: { hint?: string; issues?: unknown[] } = {}): FastifyReply {
  return reply.code(ERROR_CODES[code].http).send(errorBody(code, message, opts));
}

/** Fastify's request errors (content type, JSON, body size) → our codes and plain messages. */
function requestErrorMessage(err: FastifyError, req: FastifyRequest, bodyLimit: number): { code: ErrorCode; message: string; hint?: string } | null {
  const where = `${req.method} ${clip(req.url.split('?')[0] ?? '')}`;
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { code: 'SP_ERR_PAYLOAD_TOO_LARGE', message: `${where}: the body is larger than ${bodyLimit} bytes`, hint: `Send at most ${bodyLimit} bytes (and at most 10,000 instances per POST /predict).` };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { code: 'SP_ERR_BAD_REQUEST', message: `${where}: the body's content type ${JSON.stringify(clip(String(req.headers['content-type'] ?? '')))} is not accepted`, hint: 'Send the body as JSON with `Content-Type: application/json`.' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { code: 'SP_ERR_BAD_REQUEST', message: `${where}: the body is empty but Content-Type is application/json`, hint: `Send the JSON object /docs describes for ${req.method} ${req.routeOptions.url ?? clip(req.url.split('?')[0] ?? '')}; a route that takes no body takes no Content-Type header either.` };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INSTANCE_ALREADY_PARSED':
      return { code: 'SP_ERR_BAD_REQUEST', message: `${where}: the body is not valid JSON`, hint: 'Send one JSON object with `Content-Type: application/json`; see /docs for its fields.' };
    default:
      return null;
  }
}

/** The value at a JSON pointer (Ajv's instancePath, `/instances/0/High`) in `doc`, or undefined. */
function valueAt(doc: unknown, pointer: string): unknown {
  let v = doc;
  for (const raw of pointer.split('/').slice(1)) {
    if (v === null || typeof v !== 'object') return undefined;
    const k = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (!Object.hasOwn(v, k)) return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** Replaces Fastify's JSON body parser by the same parser (its `__proto__` and `constructor.prototype`
 * refusal included) whose refusal says why: a compressed body (the server decodes no
 * Content-Encoding), a forbidden key, or where the JSON breaks. Only a refused body takes the
 * extra steps. A key given twice in one object is refused too (http/json-keys). */
export function installJsonBodyParser(app: FastifyInstance, bodyLimit: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit }, (req, raw, done) => {
    // Read as bytes: decoded as a string, bytes that are no UTF-8 (Latin-1 text) became U+FFFD without a word, and were stored so.
    const bytes = raw as Buffer;
    if (!isUtf8(bytes)) {
      done(compressedBody(req) ?? new StockpipeError('SP_ERR_BAD_REQUEST', `${bodyWhere(req)}: the body is not valid UTF-8 (bytes that are no UTF-8 text, e.g. Latin-1)`, { hint: 'Send the JSON body encoded as UTF-8, the only charset the API reads (e.g. "ü" as the bytes c3 bc).' }), undefined);
      return;
    }
    const body = bytes.toString('utf8');
    void parse(req, body, (err, value) => {
      if ((err as FastifyError | null)?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') done(invalidJsonBody(req, body), undefined);
      else if (err) done(err, undefined);
      else {
        // JSON keeps a key's last value: {"vol_moving_avg":1,"vol_moving_avg":2} was read as 2, where a repeated query parameter is a 400.
        const twice = repeatedKey(body, value);
        done(twice === null ? null : repeatedKeyError(req, twice), twice === null ? value : undefined);
      }
    });
  });
}

/** The request, as a refused body's message names it. */
const bodyWhere = (req: FastifyRequest): string => `${req.method} ${clip(req.url.split('?')[0] ?? '')}`;

/** The refusal of a body giving a key twice in one object, as GET /predict refuses a repeated parameter (issue code `repeated`). */
function repeatedKeyError(req: FastifyRequest, r: RepeatedKey): StockpipeError {
  const name = clip(r.path === '' ? r.key : `${r.path}/${r.key}`);
  const message = `${name} is given ${r.times} times in the body; give it once`;
  const err = new StockpipeError('SP_ERR_BAD_REQUEST', `${bodyWhere(req)}: ${message} (JSON would keep only the last)`, { hint: 'Give each key of a JSON object once; see /docs for the fields.' });
  return Object.assign(err, { issues: [{ param: name, code: 'repeated', message }] });
}

/** The refusal of a body sent compressed (a Content-Encoding other than identity), or null. */
function compressedBody(req: FastifyRequest): StockpipeError | null {
  const encoding = String(req.headers['content-encoding'] ?? '').trim();
  if (encoding === '' || encoding.toLowerCase() === 'identity') return null;
  return new StockpipeError('SP_ERR_BAD_REQUEST', `${bodyWhere(req)}: the body is sent with Content-Encoding ${JSON.stringify(clip(encoding))}, which the server does not decode`, { hint: 'Send the JSON body uncompressed, without a Content-Encoding header.' });
}

function invalidJsonBody(req: FastifyRequest, body: string): StockpipeError {
  const compressed = compressedBody(req);
  if (compressed !== null) return compressed;
  try {
    JSON.parse(body);
  } catch (e) {
    // V8 words it three ways: "… at position N", "Unexpected token 'x', … is not valid JSON", "Unexpected end of JSON input".
    const text = (e as Error).message;
    const at = /position (\d+)/.exec(text)?.[1];
    const token = /^Unexpected token '(.)'/u.exec(text)?.[1];
    const place = at !== undefined ? ` (it breaks at character ${at})` : token !== undefined ? ` (an unexpected ${JSON.stringify(token)})` : /end of JSON input/.test(text) ? ' (it ends too early)' : '';
    return new StockpipeError('SP_ERR_BAD_REQUEST', `${bodyWhere(req)}: the body is not valid JSON${place}`, { hint: 'Send one JSON object with `Content-Type: application/json`; see /docs for its fields.' });
  }
  // Valid JSON that Fastify refused: a prototype-poisoning key.
  return new StockpipeError('SP_ERR_BAD_REQUEST', `${bodyWhere(req)}: the body has a "__proto__" key or a "constructor" key holding "prototype", which is refused`, { hint: 'Leave that key out: no route takes it (see /docs for the fields).' });
}

/** The route prefixes whose answers carry stored run records (their error texts, a study's trial
 * errors) or the workspace's own files (a model's folder, a snapshot's source root, the validation
 * report's input and reference): their strings are read with the workspace's absolute folder
 * written `<workspace>`. `/predict` is not among them: it names no file. */
export const RUN_RECORD_ROUTES = ['/runs', '/backfills', '/lineage', '/studies', '/models', '/snapshots', '/validation'] as const;

/** Registers, on every route added after this call under one of RUN_RECORD_ROUTES (GET, answered as
 * JSON), a preSerialization hook writing the workspace's absolute folder as `<workspace>`: a run
 * recorded by the CLI keeps the paths its error named (`runs show` prints them to the machine's
 * owner), and the API answers them as its error bodies do. Other routes carry no per-request work. */
export function registerRunRecordRedaction(app: FastifyInstance, roots: readonly string[]): void {
  if (roots.length === 0) return;
  const hook = (_req: FastifyRequest, _reply: FastifyReply, payload: unknown, done: (err: Error | null, value: unknown) => void): void => {
    done(null, mapStringsDeep(payload, (s) => withoutWorkspacePath(s, roots)));
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    // A task's log (its text, a search of it) is the file as written, as its download is.
    if (!methods.includes('GET') || route.url.includes('/logs/') || !RUN_RECORD_ROUTES.some((p) => route.url === p || route.url.startsWith(`${p}/`))) return;
    const existing = route.preSerialization === undefined ? [] : Array.isArray(route.preSerialization) ? route.preSerialization : [route.preSerialization];
    route.preSerialization = [...existing, hook];
  });
}

/** The instance paths of Ajv's type errors whose value in `doc` passes `test` (the value behind a "must be …"). */
function typeIssuesAt(issues: readonly unknown[], doc: unknown, test: (x: unknown) => boolean): string[] {
  return issues.flatMap((v) => {
    const { keyword, instancePath } = v as { keyword?: string; instancePath?: string };
    return keyword === 'type' && instancePath !== undefined && test(valueAt(doc, instancePath)) ? [instancePath] : [];
  });
}

/** Installs the error and not-found handlers. `allowedMethods(path)` gives the methods of a known path (405; route-table.ts). */
/** The names of the served workspace's folder: `root` as given and the path it resolves to (a
 * symlinked workspace: runs recorded by a command given either path), longest first. */
export function workspaceRoots(root: string): string[] {
  if (root === '') return [];
  let real = root;
  try {
    real = realpathSync(root);
  } catch (err) {
    // A workspace not created yet: its name as given is the only one.
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return [...new Set([root, real])].sort((a, b) => b.length - a.length);
}

/** `text` with the served workspace's absolute folder (any of `roots`, workspaceRoots) replaced by
 * `<workspace>` (its files named `<workspace>/models/<id>/model.json`, as the docs name them): the
 * server's own paths stay its own. */
export function withoutWorkspacePath(text: string, roots: string | readonly string[] | undefined): string {
  let out = text;
  for (const root of typeof roots === 'string' ? [roots] : roots ?? []) {
    if (root === '' || !out.includes(root)) continue;
    const dir = root.endsWith(sep) ? root : `${root}${sep}`;
    out = out.split(dir).join('<workspace>/').split(root).join('<workspace>');
  }
  return out;
}

export function installErrorHandlers(app: FastifyInstance, opts: { log: Logger | null; bodyLimit: number; allowedMethods: (path: string) => string[] | undefined; workspaceRoot?: readonly string[]; unmatched?: (req: FastifyRequest, reply: FastifyReply) => void; logUrl?: (url: string) => string }): void {
  // The URL as the error log writes it (serve/auth's tokenRedactor: without an API token a client put in it).
  const logUrl = opts.logUrl ?? ((url: string): string => url);
  // What no route matched (the not-found handler's answers, and an error raised before it) is reported to `unmatched` once written out.
  app.setNotFoundHandler((req, reply) => {
    if (opts.unmatched) whenWritten(req, reply, opts.unmatched);
    return notFound(req, reply);
  });
  const notFound = (req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = req.url.split('?')[0] ?? '';
    const allowed = opts.allowedMethods(path);
    // A route that takes this method and still found nothing (a static file that is not there) is a 404.
    if (allowed && !allowed.includes(req.method)) {
      // Every GET route answers HEAD too (Fastify's twin): Allow names it, as RFC 9110 asks of every method the path takes.
      const allow = allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
      void reply.header('allow', allow);
      return sendError(reply, 'SP_ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${clip(path)} (allowed: ${allow})`);
    }
    return sendError(reply, 'SP_ERR_NOT_FOUND', `no route ${req.method} ${clip(path)}`);
  };

  app.setErrorHandler((err: FastifyError & { validation?: unknown[]; validationContext?: string }, req, reply) => {
    if (req.is404 && opts.unmatched) whenWritten(req, reply, opts.unmatched);
    return errorAnswer(err, req, reply);
  });
  const errorAnswer = (err: FastifyError & { validation?: unknown[]; validationContext?: string }, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
    if (err instanceof StockpipeError) {
      if (err.httpStatus >= 500) opts.log?.error({ err, method: req.method, url: logUrl(req.url) }, `${req.method} ${logUrl(req.url)} failed: ${err.code}`);
      // A refused body's issues (repeatedKeyError) are answered as a schema failure's.
      const issues = (err as StockpipeError & { issues?: unknown[] }).issues;
      return sendError(reply, err.code, withoutWorkspacePath(err.message, opts.workspaceRoot), { hint: withoutWorkspacePath(err.hint, opts.workspaceRoot), ...(issues === undefined ? {} : { issues }) });
    }
    if (err.validation) {
      const where = `${req.method} ${clip(req.url.split('?')[0] ?? '')}`;
      const route = `${req.method} ${req.routeOptions.url ?? ''}`;
      // Ajv's "must NOT have additional properties" does not say which: the message names them.
      const extra = err.validation.flatMap((v) => ((v as { keyword?: string }).keyword === 'additionalProperties' ? [String((v as { params?: { additionalProperty?: unknown } }).params?.additionalProperty)] : []));
      // Ajv says "must be number" of 1e309, which JSON.parse read as Infinity: the message says so.
      const huge = err.validationContext === 'body' ? typeIssuesAt(err.validation, req.body, (x) => typeof x === 'number' && !Number.isFinite(x)).map((at) => `body${clip(at)}`) : [];
      // A query parameter given twice reaches Ajv as an array ("must be integer"): the message says so.
      const repeated = err.validationContext === 'querystring' ? typeIssuesAt(err.validation, req.query, Array.isArray).map((at) => clip(at.slice(1))) : [];
      // Ajv's "must be equal to one of the allowed values" does not say which: the message lists them.
      const choices = err.validation.flatMap((v) => {
        const { keyword, instancePath, params } = v as { keyword?: string; instancePath?: string; params?: { allowedValues?: unknown } };
        return keyword === 'enum' && Array.isArray(params?.allowedValues) ? [`${clip((instancePath ?? '').slice(1))}: one of ${params.allowedValues.slice(0, 20).map(String).join(', ')}`] : [];
      });
      const named = (extra.length === 0 ? '' : ` (${extra.map((x) => JSON.stringify(clip(x))).join(', ')})`)
        + (choices.length === 0 ? '' : ` (${choices.slice(0, 10).join('; ')})`)
        + (huge.length === 0 ? '' : ` (${huge.slice(0, 10).join(', ')}: a number beyond ±1.8e308, which JSON reads as Infinity)`)
        + (repeated.length === 0 ? '' : ` (${repeated.slice(0, 10).join(', ')}: given more than once; give each parameter once)`);
      return sendError(reply, 'SP_ERR_BAD_REQUEST', `${where}: ${clip(err.message)}${named}`, { issues: err.validation.map(clipDeep), hint: `See /docs (${route}) for the parameters, their types and ranges.` });
    }
    const known = requestErrorMessage(err, req, opts.bodyLimit);
    if (known) return sendError(reply, known.code, known.message, { hint: known.hint });
    // A static file route's 403 (a path leaving its folder, `..` sent as is) or 404: nothing is served there.
    if (err.statusCode === 403 || err.statusCode === 404) return sendError(reply, 'SP_ERR_NOT_FOUND', `no file ${req.method} ${clip(req.url.split('?')[0] ?? '')}${err.statusCode === 403 ? ' (a path that leaves the served folder)' : ''}`, { hint: 'See /docs for the routes; static files are served only from their own folders.' });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return sendError(reply, 'SP_ERR_BAD_REQUEST', `${req.method} ${clip(req.url.split('?')[0] ?? '')}: ${err.message}`);
    // A store file deleted while the route read it (a vacuum at the same time), or damaged outside stockpipe.
    const stored = storeFileError(err);
    if (stored) return sendError(reply, stored.code, withoutWorkspacePath(stored.message, opts.workspaceRoot), { hint: stored.hint });
    opts.log?.error({ err, method: req.method, url: logUrl(req.url) }, `${req.method} ${logUrl(req.url)} failed: internal error`);
    return sendError(reply, 'SP_ERR_INTERNAL', 'internal error (logged by the server with its stack trace)');
  };
}

/** Fastify's `frameworkErrors` option: errors raised before routing, in the same shape; each answer is then reported to `answered` (the request metrics). */
export function frameworkErrorHandler(answered?: (req: FastifyRequest, reply: FastifyReply) => void): (err: FastifyError, req: FastifyRequest, reply: FastifyReply) => void {
  return (err, req, reply) => {
    if (answered) whenWritten(req, reply, answered);
    frameworkErrors(err, reply);
  };
}

/** Calls `then` once the answer about to be sent is written out, as an onResponse hook runs (never for a client gone before it was). */
export function whenWritten(req: FastifyRequest, reply: FastifyReply, then: (req: FastifyRequest, reply: FastifyReply) => void): void {
  reply.raw.once('finish', () => then(req, reply));
}

function frameworkErrors(err: FastifyError, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void sendError(reply, 'SP_ERR_URI_TOO_LONG', `a path segment is longer than ${MAX_PARAM_LENGTH} characters`);
  } else if (err.code === 'FST_ERR_BAD_URL') {
    void sendError(reply, 'SP_ERR_BAD_REQUEST', 'the URL path is not valid (bad percent-encoding)', { hint: 'Percent-encode path segments (encodeURIComponent).' });
  } else {
    void sendError(reply, 'SP_ERR_BAD_REQUEST', `the request was refused before routing (${err.code})`);
  }
}

/** Fastify's maxParamLength (its default, set explicitly so messages can name it). */
export const MAX_PARAM_LENGTH = 100;

function rawError(code: ErrorCode, status: number, message: string, hint?: string): string {
  const body = JSON.stringify(errorBody(code, message, hint === undefined ? {} : { hint }));
  return `HTTP/1.1 ${status} ${status === 414 ? 'URI Too Long' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser errors (before Fastify sees a request), answered
 * in the API's error shape. Each answer written is reported to `answered` with its status (the
 * request metrics count them under route `unparsed`). Not answered, so not counted: a client
 * already gone (a reset, or the connection ended mid-request); a connection that timed out without
 * sending a byte; a socket with a response under way
 * (an error answer would be written into its body); a request the app has already answered (a GET
 * answered before the body it declared arrived, then past the time limit).
 */
export function clientErrorHandler(answered?: (status: number) => void): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    // Node's own fields, as its default clientError handler reads them: the response the socket is writing
    // (null once the last one ended: Node detaches it), and the request its parser is reading.
    const s = socket as Socket & { _httpMessage?: { headersSent?: boolean; writableEnded?: boolean } | null; parser?: { incoming?: { complete?: boolean } | null } | null };
    // The connection ended mid-request; or it timed out having sent nothing at all (a browser's preconnect,
    // a port check): closed as nginx closes such a connection, with no answer and no request counted.
    const gone = err.code === 'HPE_INVALID_EOF_STATE' || (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.bytesRead === 0);
    // A response begun and not ended (an answer written now would land inside its body); the request
    // being received (headers read, body not) already answered by the app: no response is left on the
    // socket (one waiting for its body would still be there).
    const res = s._httpMessage;
    const incoming = s.parser?.incoming;
    const underWay = (res?.headersSent === true && res.writableEnded !== true) || (incoming?.complete === false && (res === null || res === undefined));
    if (gone || underWay || !socket.writable) {
      socket.destroy(err);
      return;
    }
    let status = 400;
    let text: string;
    if (err.code === 'HPE_HEADER_OVERFLOW') text = rawError('SP_ERR_URI_TOO_LONG', (status = 414), 'the request line (path and query string) and headers are larger than 16 KiB');
    else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') text = rawError('SP_ERR_BAD_REQUEST', (status = 408), 'the request was not received in time (its headers and its whole body)', 'Send the whole request at once: a body shorter than its Content-Length is waited for until the time limit (docs/api.md).');
    else if (err.code === 'HPE_INVALID_URL') text = rawError('SP_ERR_BAD_REQUEST', status, 'the request is not valid HTTP: its URL holds a character HTTP does not allow there (a control character or a non-ASCII byte)', 'Percent-encode the path and query (encodeURIComponent: UTF-8 bytes as %XX, a space as %20).');
    else if (err.code === 'HPE_INVALID_METHOD') text = rawError('SP_ERR_BAD_REQUEST', status, 'the request is not valid HTTP: its method is none HTTP knows', 'Use GET, HEAD, POST or DELETE: docs/api.md gives each route\'s methods.');
    else text = rawError('SP_ERR_BAD_REQUEST', status, 'the request is not valid HTTP', 'Send an HTTP/1.1 request line and well-formed headers (docs/api.md).');
    socket.write(text);
    answered?.(status);
    socket.destroy(err);
  };
}
