/** @module dashboard/routes-tags
 * Model tags from the page (docs/api.md): `POST /models/:id/tags` sets and removes tags in one
 * transaction, `DELETE /models/:id/tags/:key` removes one; both as `stockpipe models tag` does
 * (registry/tags: the same key and value checks, SP_ERR_TAG_INVALID 400; an unknown id or alias
 * SP_ERR_MODEL_NOT_FOUND 404) and each recorded as a run of kind tag (a refusal fails it). Writes,
 * so behind serve/auth's guard like every mutating route; a refusal after the body's schema check
 * fails its run, as a refused command does. Opens a short-lived writable registry
 * handle per request, as promotion does. */
import { checkNoBody, NO_QUERY } from '../http/validation.js';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { openRegistry } from '../registry/store.js';
import { tagModel, type Tags } from '../registry/tags.js';
import { recordedApiWrite } from './api-run.js';

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] } as const;
const keyParams = { type: 'object', properties: { id: idParams.properties.id, key: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id', 'key'] } as const;
/** At most this many keys set or removed in one request. */
const MAX_KEYS = 50;

export interface TagChange {
  model_id: string;
  tags: Tags;
  set: string[];
  removed: string[];
}

/** The set and remove lists of a request, checked as the CLI checks its arguments (a key both set and removed is refused). */
export function checkTagChange(set: Tags, remove: readonly string[]): void {
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new StockpipeError('SP_ERR_BAD_REQUEST', 'nothing to change: give "set" ({"key": "value"}) or "remove" (["key"])', { hint: 'e.g. {"set": {"stage": "staging"}} or {"remove": ["stage"]}; GET /models/:id/page lists the tags.' });
  }
  const both = remove.find((k) => Object.hasOwn(set, k));
  if (both !== undefined) throw new StockpipeError('SP_ERR_TAG_INVALID', `tag key '${both}' is both set and removed`, { hint: 'Either set it or remove it.' });
}

export function registerTagRoutes(app: FastifyInstance, opts: { ws: Workspace }): void {
  const { ws } = opts;

  /** Applies a change in a run of kind tag, as `stockpipe models tag` records one. */
  const change = async (id: string, set: Tags, remove: readonly string[], route: string): Promise<TagChange> => {
    const reg = openRegistry(ws);
    try {
      const tags = Object.entries(set).map(([k, v]) => `${k}=${v}`);
      return await recordedApiWrite(reg, 'tag', route, { 'arg.id': id, ...(tags.length ? { 'arg.tags': tags } : {}), ...(remove.length ? { 'option.remove': remove } : {}) }, () => {
        checkTagChange(set, remove);
        return tagModel(reg, id, set, remove);
      });
    } finally {
      reg.close();
    }
  };

  app.post('/models/:id/tags', {
    schema: {
      summary: 'Set (replacing a key\'s value) and remove tags on a model version (id or alias) in one transaction, as `stockpipe models tag ID key=value --remove key`; answers the tags after',
      params: idParams,
      querystring: NO_QUERY,
      body: {
        type: 'object',
        properties: {
          set: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: MAX_KEYS, description: 'key → value (checked as the CLI checks key=value: SP_ERR_TAG_INVALID)' },
          remove: { type: 'array', items: { type: 'string' }, maxItems: MAX_KEYS, uniqueItems: true, description: 'keys to remove (absent keys are ignored)' },
        },
        additionalProperties: false,
      },
    },
  }, (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const body = (req.body ?? {}) as { set?: Tags; remove?: string[] };
    return change(id, body.set ?? {}, body.remove ?? [], `POST /models/${id}/tags`);
  });

  app.delete('/models/:id/tags/:key', {
    schema: { summary: 'Remove one tag from a model version (id or alias), as `stockpipe models tag ID --remove KEY`; answers the tags after (removed is empty when the key was absent)', params: keyParams, querystring: NO_QUERY },
  }, (req: FastifyRequest) => {
    const { id, key } = req.params as { id: string; key: string };
    // The key is the path's: a body ({"remove": [...]}) would be ignored, so it is refused before any run is recorded.
    checkNoBody(req);
    return change(id, {}, [key], `DELETE /models/${id}/tags/${key}`);
  });
}
