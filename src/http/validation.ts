/** @module http/validation
 * How route parameters are checked against their schemas (docs/api.md). Ajv runs without type
 * coercion (a JSON body's "12345" is not a number, "true" not a boolean) and without silently
 * removing unknown properties (they are a 400). Query and path values, which are always text, are
 * converted here first, strictly: an integer is plain decimal digits, a number a plain decimal, a
 * boolean `true`/`false`; a
 * repeated or malformed value stays text and fails its type. `format: "date"` (ajv-formats, which
 * Fastify adds) is a real calendar date: 2011-02-30 fails. Every query/path schema must bound its values (integers a maximum, at
 * most MAX_SAFE_INTEGER; strings a maxLength, enum or format), checked when a route is added, so
 * a route added later cannot take an unbounded parameter. Routes with their own validator
 * (GET /predict, parsed by hand) are left alone. */
import type { FastifyInstance, FastifyRequest, FastifyServerOptions, preValidationHookHandler } from 'fastify';
import { clip, StockpipeError } from '../core/errors.js';
import { parseAsOf } from '../registry/catalog.js';

/** Fastify's `ajv` option. allErrors stays off (a large body cannot make validation quadratic). */
export const AJV_OPTIONS: NonNullable<FastifyServerOptions['ajv']> = {
  customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: true, allErrors: false },
};

/** The querystring schema of a route that takes no query parameter: any one is a 400. */
export const NO_QUERY = { type: 'object', properties: {}, additionalProperties: false } as const; // properties: {} (empty), or @fastify/swagger lists 'type' and 'additionalProperties' as parameters

/** A route that takes no body (resume, cancel, DELETE a tag) gets none, or an empty JSON object (what a
 * form sends); anything else is a 400, as an unknown parameter is, not silently ignored. */
export function checkNoBody(req: FastifyRequest): void {
  const b = req.body;
  if (b === undefined || b === null || (typeof b === 'object' && !Array.isArray(b) && Object.keys(b).length === 0)) return;
  throw new StockpipeError('SP_ERR_BAD_REQUEST', `${req.method} ${req.routeOptions.url ?? ''}: takes no body (got ${JSON.stringify(b).slice(0, 100)})`, { hint: 'Send no body, or {}.' });
}

/** A `from`/`to` pair (already valid dates) in order, or SP_ERR_BAD_REQUEST. */
export function checkDateRange(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw new StockpipeError('SP_ERR_BAD_REQUEST', `from ${from} is after to ${to}`, { hint: 'Give from ≤ to (YYYY-MM-DD), or leave one out.' });
  }
}

/** An ISO time whose offset's '+' a URL query decoded as a space: `2026-12-08T10:00:00 01:00`. */
const PLUS_AS_SPACE = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:\d{2})$/;

/** An `as_of` query value: a snapshot id or an ISO-8601 time (registry/catalog parseAsOf), else SP_ERR_BAD_REQUEST. */
export function checkAsOf(asOf: string | undefined): void {
  if (asOf === undefined) return;
  try {
    parseAsOf(asOf);
  } catch (err) {
    // A '+' offset typed into a URL arrives as a space (the query's encoding of a space): say so, as the text alone looks right to whoever typed it.
    const plus = PLUS_AS_SPACE.exec(asOf);
    if (plus !== null) {
      throw new StockpipeError('SP_ERR_BAD_REQUEST', `as_of '${clip(asOf)}' is neither a snapshot id nor a time: a '+' in a URL's query means a space, so the offset +${plus[2]} arrived as ' ${plus[2]}'`, {
        hint: `Write the '+' as %2B (as_of=${plus[1]}%2B${plus[2]}), or give the time in UTC with Z.`,
        cause: err,
      });
    }
    throw new StockpipeError('SP_ERR_BAD_REQUEST', `as_of '${clip(asOf)}' is neither a snapshot id nor a time`, { hint: 'Give a snapshot id from `stockpipe snapshots` (e.g. 12) or an ISO-8601 time (e.g. 2024-05-01T14:30:00Z).', cause: err });
  }
}

interface PropSchema {
  type?: string;
  maximum?: number;
  maxLength?: number;
  enum?: unknown[];
  format?: string;
}

interface ObjectSchema {
  properties?: Record<string, PropSchema>;
}

const INTEGER = /^-?\d+$/;
/** The grammar accepted, as a regular expression (isDecimal is the same test, scanned by hand: faster on GET /predict's hot path). */
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** DECIMAL.test(text), scanned by hand: an optional sign, digits with at most one point (at least one digit), an optional exponent. */
export function isDecimal(text: string): boolean {
  const n = text.length;
  let i = 0;
  let c = text.charCodeAt(0);
  if (c === 43 || c === 45) i++;
  let digits = 0;
  while (i < n && isDigit(text.charCodeAt(i))) {
    i++;
    digits++;
  }
  if (i < n && text.charCodeAt(i) === 46) {
    i++;
    while (i < n && isDigit(text.charCodeAt(i))) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  if (i < n && ((c = text.charCodeAt(i)) === 101 || c === 69)) {
    i++;
    if (i < n && ((c = text.charCodeAt(i)) === 43 || c === 45)) i++;
    const from = i;
    while (i < n && isDigit(text.charCodeAt(i))) i++;
    if (i === from) return false;
  }
  return i === n;
}

/** Converts one text value to its schema type, or returns it unchanged (then Ajv refuses it). */
function convert(value: unknown, type: string | undefined): unknown {
  if (typeof value !== 'string') return value;
  if (type === 'integer') return INTEGER.test(value) ? Number(value) : value;
  if (type === 'number') return isDecimal(value) ? Number(value) : value;
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  return value;
}

/** Throws (at route registration: a bug) when a query/path property is unbounded. */
export function checkBounded(route: string, part: string, schema: ObjectSchema): void {
  for (const [name, p] of Object.entries(schema.properties ?? {})) {
    const bad =
      (p.type === 'integer' || p.type === 'number') ? !(p.maximum !== undefined && p.maximum <= Number.MAX_SAFE_INTEGER)
        : p.type === 'string' ? p.maxLength === undefined && p.enum === undefined && p.format === undefined
          : false;
    if (bad) throw new Error(`${route}: ${part} parameter '${name}' is unbounded: give it a maximum (≤ MAX_SAFE_INTEGER), maxLength, enum or format`);
  }
}

function converter(schema: ObjectSchema, get: (req: FastifyRequest) => unknown): ((req: FastifyRequest) => void) | null {
  const typed = Object.entries(schema.properties ?? {}).filter(([, p]) => p.type === 'integer' || p.type === 'number' || p.type === 'boolean').map(([k, p]) => [k, p.type] as const);
  if (typed.length === 0) return null;
  return (req) => {
    const o = get(req) as Record<string, unknown> | null;
    if (o === null || typeof o !== 'object') return;
    for (const [k, type] of typed) if (k in o) o[k] = convert(o[k], type);
  };
}

/** Installs the strict conversion and the boundedness check on every route added after this call. */
export function registerParamValidation(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.validatorCompiler !== undefined || route.schema === undefined) return;
    const where = `${String(route.method)} ${route.url}`;
    const steps: ((req: FastifyRequest) => void)[] = [];
    const q = route.schema.querystring as ObjectSchema | undefined;
    const p = route.schema.params as ObjectSchema | undefined;
    if (q) {
      checkBounded(where, 'query', q);
      const c = converter(q, (req) => req.query);
      if (c) steps.push(c);
    }
    if (p) {
      checkBounded(where, 'path', p);
      const c = converter(p, (req) => req.params);
      if (c) steps.push(c);
    }
    if (steps.length === 0) return;
    const hook: preValidationHookHandler = (req, _reply, done) => {
      for (const s of steps) s(req);
      done();
    };
    const existing = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [hook, ...existing];
  });
}
