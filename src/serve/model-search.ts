/** @module serve/model-search
 * The query parameters of GET /models (app.ts): the model search of registry/tags, as an
 * OpenAPI schema. A malformed `tag` passes the schema and is refused by registry/tags
 * (SP_ERR_TAG_INVALID, 400), so the API and `models tag` refuse the same text. */
import { MODEL_KINDS } from '../registry/schema.js';

export const modelSearchQuery = {
  type: 'object',
  properties: {
    q: { type: 'string', maxLength: 200, description: 'free text: part of the id, a kind, an alias, a tag key or value (case-insensitive)' },
    kind: { type: 'string', enum: [...MODEL_KINDS] },
    alias: { type: 'string', minLength: 1, maxLength: 64 },
    tag: { type: 'string', minLength: 1, maxLength: 330, description: 'key (any value) or key=value' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
  },
  additionalProperties: false,
} as const;
