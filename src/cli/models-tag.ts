/** @module cli/models-tag
 * `stockpipe models tag <id|alias> [key=value…] [--remove key…]`: sets and removes a model version's
 * tags (registry/tags, one transaction); with neither, prints its tags. `data`: model_id, tags
 * (after), set, removed (docs/cli.md). */
import { StockpipeError } from '../core/errors.js';
import { openRegistry } from '../registry/store.js';
import { parseTag, tagModel, type Tags } from '../registry/tags.js';
import type { CommandContext, CommandResult } from './context.js';

export interface ModelTagResult {
  model_id: string;
  tags: Tags;
  set: string[];
  removed: string[];
}

export async function modelsTagCommand(ctx: CommandContext, idOrAlias: string, tags: readonly string[], remove: readonly string[]): Promise<CommandResult<ModelTagResult>> {
  // Parsed before the registry is opened: a bad tag changes nothing and creates no store.
  const set: Tags = {};
  for (const t of tags) {
    const { key, value } = parseTag(t);
    if (key in set && set[key] !== value) throw new StockpipeError('SP_ERR_TAG_INVALID', `tag key '${key}' is given twice with different values`, { hint: 'Give each key once.' });
    set[key] = value;
  }
  const both = remove.find((k) => k in set);
  if (both !== undefined) throw new StockpipeError('SP_ERR_TAG_INVALID', `tag key '${both}' is both set and removed`, { hint: 'Either set it (key=value) or --remove it.' });
  const reg = openRegistry(ctx.ws, { now: ctx.now, readonly: tags.length === 0 && remove.length === 0 });
  try {
    const data = tagModel(reg, idOrAlias, set, remove);
    const shown = Object.entries(data.tags).map(([k, v]) => `  ${k}=${v}`);
    const did = [data.set.length ? `set ${data.set.join(', ')}` : '', data.removed.length ? `removed ${data.removed.join(', ')}` : ''].filter((x) => x !== '').join('; ');
    return { data, human: [`${data.model_id}${did ? `: ${did}` : ''}`, ...(shown.length ? shown : ['  (no tags)'])].join('\n') };
  } finally {
    reg.close();
  }
}
