/** @module etl/ingest-partitions
 * Partitioned ingest (docs/scale-out.md): which symbol buckets have source files to read
 * (planIngestPartitions: sizes and mtimes against the catalog's ingest state, no file read), and
 * one partition — a group of buckets — parsed into a stage folder by the same code a plain ingest
 * runs (`ingest --plan PLAN.json --buckets … --stage DIR`), never into the catalog or the store.
 * etl/ingest-commit commits the stages as one prices snapshot. */
import { mkdir, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { currentSnapshot, ingestState, nextSnapshotId } from '../registry/catalog.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { latestManifest } from '../sources/manifest.js';
import type { Manifest } from '../sources/types.js';
import { BUCKETS, bucketOf } from '../store/partition.js';
import { incrementalFrom, ingestChanges, ingestFull, type IngestRun, sourceChanges, type StagedIngest } from './ingest.js';
import { type IngestReport, inputHash, metadataTextOf, prepareSource, readPreviousReport, sourceIdentity } from './ingest-report.js';
import { checkIngestSource } from './ingest-workspace.js';
import { classifyFiles } from './layout.js';

const bucketList = z.array(z.number().int().min(0).max(BUCKETS - 1));

/** What a partitioned ingest has to do, decided once by the coordinator (written as PLAN.json for the partitions). */
export const IngestPlanSchema = z
  .object({
    version: z.literal(1),
    /** The fetched source every partition reads (`ingest --from`). */
    source_id: z.string().min(1),
    /** The source's files as planned (etl/ingest-report inputHash): a partition of another manifest refuses to run. */
    input_hash: z.string(),
    strict: z.boolean(),
    /** full: every bucket's files parsed and written again (an overwrite); incremental: only changed files. */
    mode: z.enum(['full', 'incremental']),
    /** The prices snapshot planned on (null: none yet) and the id the commit will take (every staged row's `_snapshot_id`). */
    base_snapshot: z.number().int().min(1).nullable(),
    lineage_id: z.number().int().min(1),
    /** Buckets with files to read (or symbols to remove). */
    changed_buckets: bucketList,
    /** Bars files in the source. */
    files: z.number().int().min(0),
    /** Nothing to do: the last ingest read these very files (its report is the answer). */
    cached: z.boolean(),
    /** A zip source (read whole, in one process): one job running plain `ingest`. */
    single: z.boolean(),
  })
  .strict();
export type IngestPartitionPlan = z.infer<typeof IngestPlanSchema>;

/**
 * Plans a partitioned ingest of the fetched source `sourceId` (SP_ERR_SOURCE_MISMATCH as a plain
 * ingest when it is not the workspace's source). Incremental when the current prices snapshot was
 * built from the same source: the buckets of new, changed and removed files (the file-state test
 * etl/ingest uses); else every bucket holding a bars file. A cached plan (`cached`) has no bucket.
 */
export async function planIngestPartitions(ws: Workspace, reg: Registry, o: { sourceId?: string; strict: boolean }): Promise<{ plan: IngestPartitionPlan; previous: IngestReport | null }> {
  const m = await latestManifest(ws, o.sourceId);
  await checkIngestSource(ws, m, false);
  const hash = inputHash(m, o.strict);
  const cur = currentSnapshot(reg, 'prices');
  const prev = cur === null ? null : await readPreviousReport(ws);
  const layout = classifyFiles(m.files);
  const base = { version: 1 as const, source_id: m.source, input_hash: hash, strict: o.strict, base_snapshot: cur?.id ?? null, lineage_id: nextSnapshotId(reg), files: layout.bars.length };
  if (prev !== null && prev.input_hash === hash && prev.snapshot_id === cur?.id) return { plan: { ...base, mode: 'incremental', changed_buckets: [], cached: true, single: false }, previous: prev };
  const identity = sourceIdentity(m, layout, await metadataTextOf(m, layout));
  // A zip is read whole by one process; a source without bars fails in that process, as a plain ingest does.
  if (m.layout !== 'dir' || layout.bars.length === 0) return { plan: { ...base, mode: 'full', changed_buckets: [], cached: false, single: true }, previous: null };
  const incremental = incrementalFrom(cur, m, identity, { force: false, strict: o.strict, prev });
  const symbols = incremental ? (() => {
    const ch = sourceChanges(ingestState(reg), layout.bars, m);
    return [...ch.touched.map((g) => g.symbol), ...ch.removed];
  })() : layout.bars.map((b) => b.symbol);
  const buckets = [...new Set(symbols.map(bucketOf))].sort((a, b) => a - b);
  return { plan: { ...base, mode: incremental ? 'incremental' : 'full', changed_buckets: buckets, cached: false, single: false }, previous: null };
}

/** The file a stage's manifest is written to, last. */
export const INGEST_STAGE_MANIFEST = '_manifest.json';

/** A partition's part of the report: the counts the commit adds up (the rest is the source's or the snapshot's). */
export interface PartialReport {
  mode: IngestReport['mode'];
  rows_read: number;
  rows_kept: number;
  rows_dropped: IngestReport['rows_dropped'];
  malformed: IngestReport['malformed'];
  malformed_total: number;
  empty_files: string[];
  files_read: number;
  files_tail_read: number;
}

/** DIR/_manifest.json: a finished partition. Paths in `result` (files, delta) are relative to the stage folder. */
export interface IngestStageManifest {
  version: 1;
  input_hash: string;
  lineage_id: number;
  base_snapshot: number | null;
  buckets: number[];
  report: PartialReport;
  result: StagedIngest;
}

/** `ingest --plan … --buckets … --stage DIR --json`: the folder, what it holds (the manifest has the rest), the time taken. */
export interface IngestPartitionReport {
  stage: string;
  buckets: number[];
  kind: StagedIngest['kind'];
  lineage_id: number;
  files_read: number;
  files_tail_read: number;
  rows_read: number;
  rows_kept: number;
  seconds: number;
}

export { readJsonFile } from '../core/fs.js';

export interface IngestPartitionOptions {
  ws: Workspace;
  plan: IngestPartitionPlan;
  /** The partition's buckets (distinct, 0..15, each a changed bucket of the plan). */
  buckets: readonly number[];
  /** The stage folder (emptied first). */
  stage: string;
  log: Logger;
  progress: Progress;
}

/** Checks a partition's bucket list against the plan (SP_ERR_USAGE). */
function checkBuckets(plan: IngestPartitionPlan, given: readonly number[]): number[] {
  const buckets = [...given].sort((a, b) => a - b);
  const bad = buckets.find((b, i) => !Number.isInteger(b) || b < 0 || b >= BUCKETS || buckets[i - 1] === b || !plan.changed_buckets.includes(b));
  if (buckets.length === 0 || bad !== undefined) {
    throw new StockpipeError('SP_ERR_USAGE', `--buckets must list distinct changed buckets of the plan (${plan.changed_buckets.join(',') || 'none'}); got ${given.join(',') || 'none'}`);
  }
  return buckets;
}

/**
 * Parses one partition: the plan's source files of `buckets` (all of them for a full plan, the
 * changed ones for an incremental one), with ingest's own code, into the stage folder — a full
 * plan's files as the store would hold them, an incremental plan's delta — then DIR/_manifest.json
 * last. Reads the catalog read-only; a plan that no longer matches the source or the store is
 * refused (SP_ERR_STORE_CONFLICT) and a failure leaves no manifest.
 */
export async function runIngestPartition(o: IngestPartitionOptions): Promise<IngestPartitionReport> {
  const t0 = performance.now();
  const { ws, plan } = o;
  if (plan.cached || plan.single) throw new StockpipeError('SP_ERR_USAGE', 'this plan has no partitions to run (it is cached, or a zip source ingested in one process)');
  const buckets = checkBuckets(plan, o.buckets);
  const m: Manifest = await latestManifest(ws, plan.source_id);
  const hash = inputHash(m, plan.strict);
  if (hash !== plan.input_hash) {
    throw new StockpipeError('SP_ERR_STORE_CONFLICT', `the source '${plan.source_id}' changed since the ingest plan (another fetch ran): nothing was staged`, { hint: 'Run the ingest again (plan, partitions, commit).' });
  }
  const prep = await prepareSource(ws, m, hash, o.log, plan.strict);
  const own = new Set(buckets);
  const only = (symbol: string): boolean => own.has(bucketOf(symbol));
  await rm(o.stage, { recursive: true, force: true });
  await mkdir(o.stage, { recursive: true });
  const reg = openRegistry(ws, { readonly: true });
  try {
    const stage: NonNullable<IngestRun['stage']> = { dir: o.stage, lineage: plan.lineage_id, base: plan.base_snapshot, only };
    const ctx: IngestRun = { opts: { ws, manifest: m, strict: plan.strict, force: false, log: o.log, progress: o.progress }, m, ws, reg, names: prep.names, report: prep.report, stage };
    const bars = prep.layout.bars.filter((b) => only(b.symbol));
    if (plan.mode === 'full') {
      if (bars.length > 0) await ingestFull(ctx, bars, prep.identity);
      else stage.out = { kind: 'full', files: [], kept: 0, without_metadata: 0, states: [] };
    } else await ingestChanges(ctx, bars, prep.identity);
    if (stage.out === undefined) throw new StockpipeError('SP_ERR_INTERNAL', 'an ingest partition ended without a staged result');
    const out = stage.out;
    const result: StagedIngest = out.kind === 'full'
      ? { ...out, files: out.files.map((f) => ({ ...f })) }
      : { ...out, delta: out.delta === null ? null : relative(o.stage, out.delta) };
    const r = prep.report;
    const manifest: IngestStageManifest = {
      version: 1,
      input_hash: hash,
      lineage_id: plan.lineage_id,
      base_snapshot: plan.base_snapshot,
      buckets,
      report: { mode: r.mode, rows_read: r.rows_read, rows_kept: r.rows_kept, rows_dropped: r.rows_dropped, malformed: r.malformed, malformed_total: r.malformed_total, empty_files: r.empty_files, files_read: r.files_read, files_tail_read: r.files_tail_read },
      result,
    };
    await writeFileAtomic(join(o.stage, INGEST_STAGE_MANIFEST), `${JSON.stringify(manifest)}\n`);
    o.log.info({ stage: o.stage, buckets, rows: r.rows_kept, kind: result.kind }, 'ingest partition staged');
    return { stage: o.stage, buckets, kind: result.kind, lineage_id: plan.lineage_id, files_read: r.files_read, files_tail_read: r.files_tail_read, rows_read: r.rows_read, rows_kept: r.rows_kept, seconds: Math.round(performance.now() - t0) / 1000 };
  } catch (err) {
    await rm(o.stage, { recursive: true, force: true });
    throw err;
  } finally {
    o.progress.stop();
    reg.close();
  }
}
