/** @module cli/fetch
 * `stockpipe fetch [--source S] [--switch-source]`: lands the workspace's source (the remembered
 * one unless the user names another) under raw/<source-id>/ with its manifest, and records it in
 * source.json. Another source than the remembered one needs --switch-source (SP_ERR_SOURCE_MISMATCH). */
import { ensureWritableDir } from '../core/fs.js';
import { sourceFor } from '../sources/index.js';
import { chooseSource, rememberSource, sourceMismatch, sourceOf, type SourceSwitch } from '../sources/workspace-source.js';
import type { CommandContext, CommandResult } from './context.js';

export interface FetchData {
  source: string;
  source_spec: string;
  path: string;
  manifest: string;
  files: number;
  bytes: number;
  cached: boolean;
  seconds: number;
  /** Dir sources: entries not followed (broken symlink, loop, not a file), each with its reason. */
  skipped: { path: string; reason: string }[];
  /** The switch this fetch recorded in source.json (from null: the workspace's first source), or null. */
  source_switch: SourceSwitch | null;
}

export async function fetchCommand(ctx: CommandContext, opts: { switchSource: boolean } = { switchSource: false }): Promise<CommandResult<FetchData>> {
  const t0 = performance.now();
  const choice = await chooseSource(ctx.ws, ctx.config.fetch, ctx.explicitFetch);
  const source = sourceFor(choice.fetch.source, choice.fetch);
  if (choice.switching && !opts.switchSource) {
    throw sourceMismatch(ctx.ws, choice.remembered!, choice.identity, `Switch on purpose: \`stockpipe fetch --source ${choice.fetch.source} --switch-source\` (or \`stockpipe run --source ${choice.fetch.source}\`).`);
  }
  await ensureWritableDir(ctx.ws.root);
  const r = await source.fetch({ ws: ctx.ws, log: ctx.log, progress: ctx.progress, now: ctx.now, env: ctx.env, homeDir: ctx.homeDir, checksum: choice.fetch.checksum });
  const sw = await rememberSource(ctx.ws, choice.remembered, sourceOf(choice.fetch), ctx.now(), 'fetch');
  const data: FetchData = {
    source: r.manifest.source,
    source_spec: r.manifest.source_spec,
    path: r.manifest.root,
    manifest: r.manifestPath,
    files: r.manifest.files.length,
    bytes: r.manifest.bytes,
    cached: r.cached,
    seconds: Math.round(performance.now() - t0) / 1000,
    skipped: r.manifest.skipped ?? [],
    source_switch: sw,
  };
  const human = [
    `${r.cached ? 'unchanged (cached)' : 'fetched'} ${data.source_spec}: ${data.files} files, ${(data.bytes / 1e6).toFixed(1)} MB in ${data.path} (${data.seconds} s)`,
    ...data.skipped.map((s) => `  skipped: ${s.path}: ${s.reason}`),
    ...(sw !== null && sw.from !== null ? [`switched the workspace's source from ${sw.from} to ${sw.to} (recorded in source.json; the next validate infers a new reference)`] : []),
  ].join('\n');
  return { data, human };
}
