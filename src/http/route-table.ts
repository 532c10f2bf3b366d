/** @module http/route-table
 * Which methods each route path accepts, collected from Fastify's own route table (an onRoute hook)
 * as routes are added, for the 405 answers of errors.ts's not-found handler. Nothing runs per
 * request on a matched route; the lookup runs only for requests no route matched. HEAD counts as
 * GET: Fastify adds a HEAD twin to every GET route, and for a prefix's '/' (e.g. /docs/) it reports
 * only the twin; Allow lists the declared methods. */
import type { FastifyInstance } from 'fastify';

export interface RouteTable {
  /** The methods a request path accepts (declaration order), or undefined when no route has the path. */
  allowedMethods(path: string): string[] | undefined;
}

/** A route URL in Fastify syntax (`:name` = one non-empty segment, `*` = the rest) → a regex. */
function urlPattern(url: string): RegExp {
  const source = url
    .split(/(:[A-Za-z0-9_]+|\*)/)
    .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`);
}

/** Starts collecting `app`'s routes; call it before any route is added (plugins included). */
export function collectRoutes(app: FastifyInstance): RouteTable {
  const exact = new Map<string, string[]>();
  const patterns: { re: RegExp; methods: string[] }[] = [];
  const add = (list: string[], methods: readonly string[]): void => {
    for (const method of methods) {
      const m = method === 'HEAD' ? 'GET' : method;
      if (!list.includes(m)) list.push(m);
    }
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (/[:*]/.test(route.url)) {
      const re = urlPattern(route.url);
      let entry = patterns.find((p) => p.re.source === re.source);
      if (entry === undefined) patterns.push((entry = { re, methods: [] }));
      add(entry.methods, methods);
    } else {
      let list = exact.get(route.url);
      if (list === undefined) exact.set(route.url, (list = []));
      add(list, methods);
    }
  });
  return {
    allowedMethods(path: string): string[] | undefined {
      const found: string[] = [];
      add(found, exact.get(path) ?? []);
      for (const p of patterns) if (p.re.test(path)) add(found, p.methods);
      return found.length > 0 ? found : undefined;
    },
  };
}
