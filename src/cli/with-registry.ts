/** @module cli/with-registry
 * The read/write bracket the CLI's store commands share: open the workspace's store, run `fn`,
 * close it whatever happened. */
import { openRegistry, type Registry } from '../registry/store.js';
import type { CommandContext } from './context.js';

export function withRegistry<T>(ctx: CommandContext, readonly: boolean, fn: (reg: Registry) => T): T {
  const reg = openRegistry(ctx.ws, { readonly, now: ctx.now });
  try {
    return fn(reg);
  } finally {
    reg.close();
  }
}
