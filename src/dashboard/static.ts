/** @module dashboard/static
 * The dashboard's built files (dist/dashboard/: index.html, app.js, app.css, written by
 * tools/build-dashboard.mjs): `GET /` → index.html with each asset URL versioned by its content
 * hash, `GET /assets/<file>` with an ETag (304 on If-None-Match) and a long cache for versioned URLs.
 * Files are read once per (size, mtime). The bundle itself is built by the tool, not here. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { statOrNull } from '../core/fs.js';
import { clip, sendError } from '../http/errors.js';

/** dist/dashboard, from both dist/dashboard/static.js and src/dashboard/static.ts (tests). */
export function defaultAssetsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'dashboard');
}

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', html: 'text/html; charset=utf-8', svg: 'image/svg+xml' };
const ASSET_NAME = /^[a-z0-9][a-z0-9._-]*\.(js|css|svg)$/;
/** An asset URL in index.html. */
const LINKED_ASSET = /\/assets\/([a-z0-9._-]+\.(?:js|css|svg))/g;

interface Loaded {
  key: string;
  body: Buffer;
  etag: string;
  hash: string;
}

export function registerStatic(app: FastifyInstance, dir: string): void {
  const cache = new Map<string, Loaded>();
  const load = async (name: string): Promise<Loaded | null> => {
    const file = join(dir, name);
    const s = await statOrNull(file);
    if (!s?.isFile()) return null;
    const key = `${s.size}:${s.mtimeMs}`;
    const hit = cache.get(name);
    if (hit?.key === key) return hit;
    const body = await readFile(file);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
    const loaded = { key, body, etag: `"${hash}"`, hash };
    cache.set(name, loaded);
    return loaded;
  };

  const notBuilt = (reply: FastifyReply): FastifyReply =>
    reply.code(503).type(TYPES.html!).header('cache-control', 'no-store')
      .send(`<!doctype html><meta charset="utf-8"><title>stockpipe</title><p>The dashboard is not built (no ${dir}/index.html). Run <code>npm run build</code>.</p>`);

  /** The assets index.html links: the only files of `dir` served (the build writes the server's own modules beside them). */
  const linked = async (): Promise<Set<string>> => {
    const page = await load('index.html');
    return new Set(page === null ? [] : [...page.body.toString('utf8').matchAll(LINKED_ASSET)].map((m) => m[1]!));
  };

  app.get('/', { schema: { summary: 'The dashboard (HTML page)', hide: true } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const page = await load('index.html');
    if (page === null) return notBuilt(reply);
    let html = page.body.toString('utf8');
    for (const m of html.matchAll(LINKED_ASSET)) {
      const a = await load(m[1]!);
      if (a !== null) html = html.replace(m[0], `${m[0]}?v=${a.hash}`);
    }
    const etag = `"${createHash('sha256').update(html).digest('hex').slice(0, 16)}"`;
    void reply.header('etag', etag).header('cache-control', 'no-cache').type(TYPES.html!);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(html);
  });

  app.get('/assets/:file', { schema: { summary: 'Dashboard assets (JS, CSS)', hide: true } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const { file } = req.params as { file: string };
    // A file the page does not link (dist/dashboard/routes.js, a source map) is not the dashboard's: it was served.
    const a = ASSET_NAME.test(file) && (await linked()).has(file) ? await load(file) : null;
    if (a === null) return sendError(reply, 'SP_ERR_NOT_FOUND', `no dashboard asset '${clip(file)}'`, { hint: 'The page links its assets itself; reload / (rebuild with `npm run build` if it is missing).' });
    const v = (req.query as { v?: unknown }).v;
    void reply.header('etag', a.etag)
      .header('cache-control', v === a.hash ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(TYPES[file.slice(file.lastIndexOf('.') + 1)] ?? 'application/octet-stream');
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  });
}
