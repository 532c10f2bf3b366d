/** @module dashboard/client/api-tags
 * Model tags from the page: POST /models/:id/tags (set and remove in one call; docs/api.md). Goes
 * through api.postJson (the API token as a Bearer header when this tab has one). */
import { postJson } from './api.js';

/** The answer: the model's tags after the change, and which keys were set and removed. */
export interface TagChange {
  model_id: string;
  tags: Record<string, string>;
  set: string[];
  removed: string[];
}

export function changeTags(id: string, set: Record<string, string>, remove: string[] = []): Promise<TagChange> {
  return postJson<TagChange>(`/models/${encodeURIComponent(id)}/tags`, { ...(Object.keys(set).length ? { set } : {}), ...(remove.length ? { remove } : {}) });
}
