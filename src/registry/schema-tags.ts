/** @module registry/schema-tags
 * Migration 7 of the registry (registry/schema lists them all): model tags, key=value labels on a
 * model version (`stockpipe models tag`, GET /models?tag=). Kept apart from schema.ts for size; the
 * typed API is registry/tags. */

export const TAGS_MIGRATION = {
  version: 7,
  name: 'model tags',
  sql: `
-- A model version's tags (MLflow's model version tags): one value per key; set again = replaced.
CREATE TABLE model_tags (
  model_id   TEXT NOT NULL REFERENCES model_versions(model_id),
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (model_id, key)
);
CREATE INDEX model_tags_key ON model_tags(key, value);
`,
} as const;
