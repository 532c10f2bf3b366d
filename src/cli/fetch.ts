/** @module cli/fetch
 * `stockpipe fetch [--source S]`: lands a source under raw/<source-id>/ with its manifest. */
import { ensureWritableDir } from '../core/fs.js';
import { sourceFor } from '../sources/index.js';
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
}

export async function fetchCommand(ctx: CommandContext): Promise<CommandResult<FetchData>> {
  const t0 = performance.now();
  const source = sourceFor(ctx.config.fetch.source, ctx.config.fetch);
  await ensureWritableDir(ctx.workspace);
  const r = await source.fetch({ workspace: ctx.workspace, log: ctx.log, progress: ctx.progress, now: ctx.now, env: ctx.env, homeDir: ctx.homeDir, checksum: ctx.config.fetch.checksum });
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
  };
  const human = [
    `${r.cached ? 'unchanged (cached)' : 'fetched'} ${data.source_spec}: ${data.files} files, ${(data.bytes / 1e6).toFixed(1)} MB in ${data.path} (${data.seconds} s)`,
    ...data.skipped.map((s) => `  skipped: ${s.path}: ${s.reason}`),
  ].join('\n');
  return { data, human };
}
