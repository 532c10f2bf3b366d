/** @module cli/ingest
 * `stockpipe ingest`: the newest fetched source (or --from ID) → tables/prices.parquet + report.
 * A fetched source other than the workspace's remembered one (source.json) is refused with
 * SP_ERR_SOURCE_MISMATCH unless --switch-source; the source ingested is recorded. */
import { ensureWritableDir } from '../core/fs.js';
import { ingest, type IngestReport } from '../etl/ingest.js';
import { latestManifest } from '../sources/manifest.js';
import { rememberedSource, rememberSource, sourceMismatch, sourceOfManifest } from '../sources/workspace-source.js';
import type { CommandContext, CommandResult } from './context.js';

export async function ingestCommand(ctx: CommandContext, opts: { force: boolean; switchSource?: boolean }): Promise<CommandResult<IngestReport>> {
  await ensureWritableDir(ctx.ws.root);
  const manifest = await latestManifest(ctx.ws, ctx.config.ingest.source_id);
  const before = await rememberedSource(ctx.ws);
  const next = sourceOfManifest(manifest);
  if (before !== null && before.identity !== next.identity && opts.switchSource !== true) {
    throw sourceMismatch(ctx.ws, before, next.identity, `Ingest the workspace's own source (\`stockpipe ingest --from ${before.spec.split(':')[0]}\`), or switch on purpose: \`stockpipe ingest --from ${manifest.source} --switch-source\`.`);
  }
  const r = await ingest({
    ws: ctx.ws,
    manifest,
    strict: ctx.config.ingest.strict,
    force: opts.force,
    log: ctx.log,
    progress: ctx.progress,
  });
  // The same source keeps what fetch recorded (its settings); a first source or a switch is recorded.
  if (before === null || before.identity !== next.identity) await rememberSource(ctx.ws, before, next, ctx.now(), 'ingest');
  const drops = Object.entries(r.rows_dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  const lines = [
    `${r.cached ? 'unchanged (cached): ' : ''}${r.output}`,
    `  files ${r.files}, symbols ${r.symbols} (${r.symbols_without_metadata} without metadata), dates ${r.date_min} .. ${r.date_max}`,
    `  rows read ${r.rows_read} = kept ${r.rows_kept} + dropped ${r.rows_read - r.rows_kept} (${drops})`,
    ...(r.files_skipped ?? []).map((s) => `  skipped: ${s.path}: ${s.reason}`),
    ...r.malformed.slice(0, 10).map((m) => `  malformed: ${m.path}:${m.line}: ${m.reason}${m.value === undefined ? '' : ` (got ${JSON.stringify(m.value)})`}`),
    ...(r.malformed_total > 10 ? [`  … ${r.malformed_total - 10} more malformed lines (see --json)`] : []),
    `  ${r.seconds} s`,
  ];
  return { data: r, human: lines.join('\n') };
}
