/** @module cli/ingest
 * `stockpipe ingest [--from ID] [--switch-source]`: etl/ingest-workspace (the fetched source →
 * a snapshot of the prices table + report, the source check and record) → the report for people and --json. */
import type { IngestReport } from '../etl/ingest.js';
import { ingestWorkspace } from '../etl/ingest-workspace.js';
import type { CommandContext, CommandResult } from './context.js';

export async function ingestCommand(ctx: CommandContext, opts: { force: boolean; switchSource?: boolean }): Promise<CommandResult<IngestReport>> {
  const r = await ingestWorkspace({
    ws: ctx.ws,
    sourceId: ctx.config.ingest.source_id,
    strict: ctx.config.ingest.strict,
    force: opts.force,
    switchSource: opts.switchSource,
    now: ctx.now,
    log: ctx.log,
    progress: ctx.progress,
  });
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
