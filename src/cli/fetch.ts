/** @module cli/fetch
 * `stockpipe fetch [--source S] [--switch-source]`: sources/workspace-fetch (the workspace's
 * source landed under raw/<source-id>/, recorded in source.json) → the result for people and --json. */
import { fetchWorkspace, type FetchData } from '../sources/workspace-fetch.js';
import type { CommandContext, CommandResult } from './context.js';

export type { FetchData };

export async function fetchCommand(ctx: CommandContext, opts: { switchSource: boolean } = { switchSource: false }): Promise<CommandResult<FetchData>> {
  const data = await fetchWorkspace({
    ws: ctx.ws, fetch: ctx.config.fetch, explicitFetch: ctx.explicitFetch, switchSource: opts.switchSource,
    log: ctx.log, progress: ctx.progress, now: ctx.now, env: ctx.env, homeDir: ctx.homeDir,
  });
  const sw = data.source_switch;
  const human = [
    `${data.cached ? 'unchanged (cached)' : 'fetched'} ${data.source_spec}: ${data.files} files, ${(data.bytes / 1e6).toFixed(1)} MB in ${data.path} (${data.seconds} s)`,
    ...data.skipped.map((s) => `  skipped: ${s.path}: ${s.reason}`),
    ...(sw !== null && sw.from !== null ? [`switched the workspace's source from ${sw.from} to ${sw.to} (recorded in source.json; the next validate infers a new reference)`] : []),
  ].join('\n');
  return { data, human };
}
