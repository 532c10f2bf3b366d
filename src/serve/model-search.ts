/** @module serve/model-search
 * The query parameters of GET /models (app.ts): the model search of registry/tags, as an
 * OpenAPI schema. A malformed `tag` passes the schema and is refused by registry/tags
 * (SP_ERR_TAG_INVALID, 400), so the API and `models tag` refuse the same text. */
import { NO_CONTROL_TEXT } from '../core/terminal.js';
import { MODEL_KINDS } from '../registry/schema.js';
import { ALIAS_NAME } from '../registry/store.js';

export const modelSearchQuery = {
  type: 'object',
  properties: {
    // No control characters: SQLite's LIKE ends a pattern at a NUL, so `q=%00` matched every model.
    q: { type: 'string', maxLength: 200, pattern: NO_CONTROL_TEXT, description: 'free text: part of the id, a kind, an alias, a tag key or value (case-insensitive); no control characters' },
    kind: { type: 'string', enum: [...MODEL_KINDS] },
    alias: { type: 'string', minLength: 1, maxLength: 64, pattern: ALIAS_NAME.source, description: 'an alias name (a letter, then up to 63 letters, digits, _ . or -)' },
    tag: { type: 'string', minLength: 1, maxLength: 330, description: 'key (any value) or key=value' },
    limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
    offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
  },
  additionalProperties: false,
} as const;
