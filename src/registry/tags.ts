/** @module registry/tags
 * Model version tags (key=value labels, MLflow's model version tags; migration 7) and the model
 * search over id, kind, alias and tag that `GET /models` and the dashboard's Models view use. The
 * parsing of `key=value` text lives here too, so the CLI and the API refuse the same inputs. */
import { clip, StockpipeError } from '../core/errors.js';
import type { Registry } from './store.js';
import type { ModelVersion } from './types.js';

/** A tag key: a letter, then up to 63 letters, digits, _ . - / or :. */
export const TAG_KEY = /^[A-Za-z][A-Za-z0-9_.\-/:]{0,63}$/;
/** The longest tag value (characters). */
export const TAG_VALUE_MAX = 256;

export type Tags = Record<string, string>;

/** A model version with its tags. */
export type TaggedModel = ModelVersion & { tags: Tags };

function invalid(what: string, text: string, why: string): StockpipeError {
  return new StockpipeError('SP_ERR_TAG_INVALID', `${what} '${clip(text)}': ${why}`, {
    hint: 'Write key=value: the key starts with a letter and has up to 64 letters, digits, _ . - / or :; the value has 1 to 256 characters and no control characters, e.g. stage=staging.',
  });
}

function checkKey(what: string, text: string, key: string): void {
  if (!TAG_KEY.test(key)) throw invalid(what, text, key === text ? 'it is not a tag key' : `the key '${clip(key)}' is not a tag key`);
}

function checkValue(what: string, text: string, value: string): void {
  if (value.length === 0) throw invalid(what, text, 'the value is empty');
  // Characters, not UTF-16 units: an emoji is one of the 256 (a lone surrogate is refused below).
  const chars = [...value].length;
  if (chars > TAG_VALUE_MAX) throw invalid(what, text, `the value has ${chars} characters (at most ${TAG_VALUE_MAX})`);
  // Control characters would break the table views and the one-line CLI output.
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) throw invalid(what, text, 'the value has a control character');
    // A lone UTF-16 surrogate (\ud800 in JSON) would be stored as U+FFFD: found by no filter.
    if (c >= 0xd800 && c <= 0xdfff) {
      const pair = c <= 0xdbff && i + 1 < value.length && value.charCodeAt(i + 1) >= 0xdc00 && value.charCodeAt(i + 1) <= 0xdfff;
      if (!pair) throw invalid(what, text, 'the value has a lone UTF-16 surrogate (not a character)');
      i++;
    }
  }
}

/** `key=value` (the value may itself hold '='), or SP_ERR_TAG_INVALID naming what is wrong. */
export function parseTag(text: string, what = 'tag'): { key: string; value: string } {
  const at = text.indexOf('=');
  if (at < 0) throw invalid(what, text, 'no "=" between key and value');
  const key = text.slice(0, at);
  const value = text.slice(at + 1);
  checkKey(what, text, key);
  checkValue(what, text, value);
  return { key, value };
}

/** A tag filter: `key` (any value) or `key=value`; SP_ERR_TAG_INVALID otherwise. */
export function parseTagFilter(text: string): { key: string; value: string | null } {
  if (!text.includes('=')) {
    checkKey('tag filter', text, text);
    return { key: text, value: null };
  }
  return parseTag(text, 'tag filter');
}

/** A tag key to remove, checked like a key to set. */
export function checkTagKey(key: string): string {
  checkKey('tag key', key, key);
  return key;
}

/** The tags of each model id asked for (models without tags are absent from the map). */
export function tagsOf(reg: Registry, ids: readonly string[]): Map<string, Tags> {
  const out = new Map<string, Tags>();
  if (ids.length === 0) return out;
  // A chunk of ids per query keeps under SQLite's parameter limit for any page size.
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    const rows = reg.all<{ model_id: string; key: string; value: string }>('read model tags',
      `SELECT model_id, key, value FROM model_tags WHERE model_id IN (${chunk.map(() => '?').join(',')}) ORDER BY model_id, key`, [...chunk]);
    for (const r of rows) {
      const t = out.get(r.model_id) ?? {};
      t[r.key] = r.value;
      out.set(r.model_id, t);
    }
  }
  return out;
}

/**
 * Sets `set` (key → value, replacing a key's value) and removes `remove` on one model version, in
 * one transaction; returns its tags after. SP_ERR_MODEL_NOT_FOUND for an unknown id or alias.
 */
export function tagModel(reg: Registry, idOrAlias: string, set: Tags, remove: readonly string[] = []): { model_id: string; tags: Tags; set: string[]; removed: string[] } {
  const model = reg.getModel(idOrAlias, { checkFiles: false });
  for (const [k, v] of Object.entries(set)) {
    checkKey('tag', `${k}=${v}`, k);
    checkValue('tag', `${k}=${v}`, v);
  }
  for (const k of remove) checkTagKey(k);
  const removed: string[] = [];
  if (Object.keys(set).length > 0 || remove.length > 0) reg.transaction(() => {
    const at = reg.timestamp();
    for (const k of remove) if (reg.run('remove model tag', 'DELETE FROM model_tags WHERE model_id = ? AND key = ?', [model.id, k]).changes > 0) removed.push(k);
    for (const [k, v] of Object.entries(set)) {
      reg.run('set model tag', 'INSERT INTO model_tags (model_id, key, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at', [model.id, k, v, at]);
    }
  });
  return { model_id: model.id, tags: tagsOf(reg, [model.id]).get(model.id) ?? {}, set: Object.keys(set), removed };
}

export interface ModelSearch {
  /** Free text: a part of the id, a kind, an alias, a tag key or value (case-insensitive). */
  q?: string;
  kind?: string;
  /** Only the model this alias points at. */
  alias?: string;
  /** `key` or `key=value` (parseTagFilter). */
  tag?: string;
  limit?: number;
  offset?: number;
}

/** Model versions matching every filter given, newest first, each with its tags; and how many match. */
export function searchModels(reg: Registry, s: ModelSearch = {}): { models: TaggedModel[]; total: number } {
  const tag = s.tag === undefined ? null : parseTagFilter(s.tag);
  const q = s.q === undefined || s.q.trim() === '' ? null : s.q.trim().toLowerCase();
  const params = { kind: s.kind ?? null, alias: s.alias ?? null, tkey: tag?.key ?? null, tval: tag?.value ?? null, q, qlike: q === null ? null : `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` };
  const where = `(@kind IS NULL OR m.kind = @kind)
    AND (@alias IS NULL OR EXISTS (SELECT 1 FROM aliases a WHERE a.model_id = m.model_id AND a.alias = @alias))
    AND (@tkey IS NULL OR EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.model_id AND t.key = @tkey AND (@tval IS NULL OR t.value = @tval)))
    AND (@q IS NULL OR lower(m.model_id) LIKE @qlike ESCAPE '\\' OR lower(m.kind) = @q
      OR EXISTS (SELECT 1 FROM aliases a WHERE a.model_id = m.model_id AND lower(a.alias) LIKE @qlike ESCAPE '\\')
      OR EXISTS (SELECT 1 FROM model_tags t WHERE t.model_id = m.model_id AND (lower(t.key) LIKE @qlike ESCAPE '\\' OR lower(t.value) LIKE @qlike ESCAPE '\\')))`;
  const total = reg.get<{ n: number }>('search models', `SELECT count(*) AS n FROM model_versions m WHERE ${where}`, params)?.n ?? 0;
  const ids = reg.all<{ model_id: string }>('search models', `SELECT m.model_id FROM model_versions m WHERE ${where} ORDER BY m.created_at DESC, m.rowid DESC LIMIT @limit OFFSET @offset`,
    { ...params, limit: s.limit ?? 100, offset: s.offset ?? 0 }).map((r) => r.model_id);
  const tags = tagsOf(reg, ids);
  const models = ids.map((id) => reg.findModel(id)).filter((m): m is ModelVersion => m !== null).map((m) => ({ ...m, tags: tags.get(m.id) ?? {} }));
  return { models, total };
}
