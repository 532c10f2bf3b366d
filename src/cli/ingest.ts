/** @module cli/ingest
 * `stockpipe ingest [--from ID] [--switch-source]`: etl/ingest-workspace (the fetched source →
 * a snapshot of the prices table + report, the source check and record) → the report for people and --json.
 * For the bullmq executor, `--plan PLAN.json --buckets L --stage DIR`: one partition into a stage
 * folder (etl/ingest-partitions), and `--commit-stage COMMIT.json`: the stages committed as one
 * snapshot (etl/ingest-commit). */
import { resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import type { IngestReport } from '../etl/ingest.js';
import { commitIngestStages, IngestCommitSchema } from '../etl/ingest-commit.js';
import { type IngestPartitionReport, IngestPlanSchema, readJsonFile, runIngestPartition } from '../etl/ingest-partitions.js';
import { ingestWorkspace } from '../etl/ingest-workspace.js';
import type { CommandContext, CommandResult } from './context.js';

export interface IngestCommandOptions {
  force: boolean;
  switchSource?: boolean;
  plan?: string;
  buckets?: number[];
  stage?: string;
  commitStage?: string;
}

/** Refuses flags of two modes at once (a partition, a commit, a plain ingest). */
function checkModes(o: IngestCommandOptions): void {
  const part = [o.plan, o.buckets, o.stage].filter((x) => x !== undefined).length;
  if (part > 0 && part < 3) throw new StockpipeError('SP_ERR_USAGE', 'a partition is --plan, --buckets and --stage together', { hint: 'e.g. stockpipe ingest --plan /shared/stage/plan.json --buckets 0,5 --stage /shared/stage/p0' });
  const plain = [o.force ? '--force' : null, o.switchSource === true ? '--switch-source' : null].filter((x): x is string => x !== null);
  if (part > 0 && (o.commitStage !== undefined || plain.length > 0)) throw new StockpipeError('SP_ERR_USAGE', `--plan (one partition) does not go with ${[...(o.commitStage !== undefined ? ['--commit-stage'] : []), ...plain].join(', ')}`);
  if (o.commitStage !== undefined && plain.length > 0) throw new StockpipeError('SP_ERR_USAGE', `--commit-stage does not go with ${plain.join(', ')}: the plan names everything`);
}

/** CSV files of the source that ingest did not read (neither in stocks/ or etfs/ nor the metadata: `Stocks/A.csv`,
 * `data/A.csv`, a dot file), said by name: in --json they are files_ignored, and the terminal said nothing of them. */
function ignoredCsvLines(r: IngestReport): string[] {
  const csv = (r.files_ignored ?? []).filter((p) => p.toLowerCase().endsWith('.csv'));
  if (csv.length === 0) return [];
  const shown = csv.slice(0, 5).join(', ');
  return [`  not read: ${csv.length} CSV file${csv.length === 1 ? '' : 's'} not in the stocks/ or etfs/ layout: ${shown}${csv.length > 5 ? `, … ${csv.length - 5} more (see --json: files_ignored)` : ''}`];
}

/** Symbols the metadata file names twice, otherwise: the first row's name is used, said here (a report written before has none). */
function metadataDuplicateLines(r: IngestReport): string[] {
  const n = r.metadata_duplicate_symbols ?? 0;
  if (n === 0) return [];
  const shown = (r.metadata_duplicates ?? []).map((d) => `${d.symbol} (${JSON.stringify(d.kept)}; not ${d.ignored.map((x) => JSON.stringify(x)).join(', ')})`).join(', ');
  const more = n - (r.metadata_duplicates ?? []).length;
  return [`  metadata: ${n} symbol${n === 1 ? '' : 's'} given more than one Security Name in ${r.metadata_file ?? 'the metadata file'}, the first row's used: ${shown}${more > 0 ? `, … ${more} more (see --json: metadata_duplicates)` : ''}`];
}

/** The ingest report as the terminal shows it. */
export function reportHuman(r: IngestReport): string {
  const drops = Object.entries(r.rows_dropped).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return [
    `${r.cached ? 'unchanged (cached): ' : ''}${r.output}`,
    `  files ${r.files}, symbols ${r.symbols} (${r.symbols_without_metadata} without metadata), dates ${r.date_min} .. ${r.date_max}`,
    // Nothing read is not "0 rows": the table is as it was (its rows said, not a row count of zero).
    // Files that changed on disk (a new mtime) but hold the same rows were read again: said as such.
    r.mode === 'unchanged'
      ? r.rows_read === 0
        ? `  nothing read: no file changed since snapshot ${r.snapshot_id}, which holds ${r.table_rows} rows`
        : `  re-read ${r.rows_read} rows of changed files = kept ${r.rows_kept} + dropped ${r.rows_read - r.rows_kept} (${drops}): the same rows as snapshot ${r.snapshot_id}, which holds ${r.table_rows} rows (nothing written)`
      : `  rows read ${r.rows_read} = kept ${r.rows_kept} + dropped ${r.rows_read - r.rows_kept} (${drops})`,
    ...(r.files_skipped ?? []).map((s) => `  skipped: ${s.path}: ${s.reason}`),
    ...ignoredCsvLines(r),
    ...metadataDuplicateLines(r),
    ...r.malformed.slice(0, 10).map((m) => `  malformed: ${m.path}:${m.line}: ${m.reason}${m.value === undefined ? '' : ` (got ${JSON.stringify(m.value)})`}`),
    ...(r.malformed_total > 10 ? [`  … ${r.malformed_total - 10} more malformed lines (see --json)`] : []),
    `  ${r.seconds} s`,
  ].join('\n');
}

export async function ingestCommand(ctx: CommandContext, opts: IngestCommandOptions): Promise<CommandResult<IngestReport | IngestPartitionReport>> {
  checkModes(opts);
  if (opts.plan !== undefined && opts.buckets !== undefined && opts.stage !== undefined) {
    const plan = await readJsonFile(resolve(opts.plan), IngestPlanSchema, 'ingest plan');
    const p = await runIngestPartition({ ws: ctx.ws, plan, buckets: opts.buckets, stage: resolve(opts.stage), log: ctx.log, progress: ctx.progress });
    return { data: p, human: `${p.stage}\n  buckets ${p.buckets.join(',')} (${p.kind}, lineage ${p.lineage_id}): files read ${p.files_read} (+${p.files_tail_read} from their old end), rows read ${p.rows_read}, kept ${p.rows_kept}\n  ${p.seconds} s` };
  }
  if (opts.commitStage !== undefined) {
    const commit = await readJsonFile(resolve(opts.commitStage), IngestCommitSchema, 'ingest commit file');
    const r = await commitIngestStages({ ws: ctx.ws, commit, now: ctx.now, log: ctx.log });
    return { data: r, human: reportHuman(r) };
  }
  const r = await ingestWorkspace({
    ws: ctx.ws,
    sourceId: ctx.config.ingest.source_id,
    strict: ctx.config.ingest.strict,
    force: opts.force,
    ...(ctx.config.features.prepare ? { prepareFeatures: { window: ctx.config.features.window, extended: ctx.config.features.extended } } : {}),
    switchSource: opts.switchSource,
    now: ctx.now,
    log: ctx.log,
    progress: ctx.progress,
  });
  return { data: r, human: reportHuman(r) };
}
