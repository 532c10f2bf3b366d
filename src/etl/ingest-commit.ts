/** @module etl/ingest-commit
 * `ingest --commit-stage COMMIT.json`: the coordinator's commit of a partitioned ingest
 * (docs/scale-out.md). Checks every stage against the plan, adds up the partitions' report counts
 * (the report equals a plain ingest's), and commits ONE prices snapshot with the source files'
 * new state: a full plan's staged files moved into the store (an overwrite), an incremental
 * plan's deltas applied as a plain ingest applies its own (appends, copy-on-write restates). The
 * snapshot carries the commit's key: a replay commits nothing new. Planning and the partitions
 * are etl/ingest-partitions. */
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { writeBarsParquet } from '../db/bars-writer.js';
import { openDuckDB } from '../db/duckdb.js';
import { currentSnapshot, type SnapshotRecord } from '../registry/catalog.js';
import { openRegistry } from '../registry/store.js';
import { latestManifest } from '../sources/manifest.js';
import { BUCKETS, bucketOfPartition } from '../store/partition.js';
import { ensureView } from '../store/view.js';
import { applyChanges, type SymbolDelta, TableWrite } from '../store/write.js';
import { civilFromDays } from './csv-parse.js';
import { PRICES_KV, recordSourceStates, type SourceFileState, type StagedIngest, tableSummary } from './ingest.js';
import { INGEST_STAGE_MANIFEST, type IngestPartitionPlan, IngestPlanSchema, type IngestStageManifest, readJsonFile } from './ingest-partitions.js';
import { finishReport, inputHash, type IngestReport, keepIssues, prepareSource, readPreviousReport, round3 } from './ingest-report.js';
import { checkIngestSource } from './ingest-workspace.js';
import { DROP_REASONS } from './parsed-bars.js';

/** COMMIT.json, written by the executor: the plan, its stage folders (absolute) and a key naming this commit. */
export const IngestCommitSchema = z
  .object({
    version: z.literal(1),
    commit_key: z.string().min(1),
    plan: IngestPlanSchema,
    stages: z.array(z.string().refine(isAbsolute, 'a stage folder must be an absolute path')),
  })
  .strict();
export type IngestCommit = z.infer<typeof IngestCommitSchema>;

const str = z.string().nullable();
const StateSchema = z.object({ path: z.string(), symbol: z.string(), size: z.number(), mtime_ms: z.number(), head_hash: z.string(), tail_hash: z.string(), lines: z.number().int(), last_date: str }).strict();
const FileSchema = z.object({ path: z.string(), partition: z.string(), rows: z.number().int().min(0), bytes: z.number().int().min(1), symbol_min: str, symbol_max: str, date_min: str, date_max: str }).strict();
const Drops = z.object(Object.fromEntries(DROP_REASONS.map((k) => [k, z.number().int().min(0)])) as Record<(typeof DROP_REASONS)[number], z.ZodNumber>).strict();
const StageManifestSchema = z
  .object({
    version: z.literal(1),
    input_hash: z.string(),
    lineage_id: z.number().int(),
    base_snapshot: z.number().int().nullable(),
    buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)),
    report: z.object({
      mode: z.enum(['full', 'incremental', 'unchanged']),
      rows_read: z.number().int().min(0),
      rows_kept: z.number().int().min(0),
      rows_dropped: Drops,
      malformed: z.array(z.object({ path: z.string(), line: z.number().int(), reason: z.string(), value: z.string().optional() }).strict()),
      malformed_total: z.number().int().min(0),
      empty_files: z.array(z.string()),
      files_read: z.number().int().min(0),
      files_tail_read: z.number().int().min(0),
    }).strict(),
    result: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('full'), files: z.array(FileSchema), kept: z.number().int().min(0), without_metadata: z.number().int().min(0), states: z.array(StateSchema) }).strict(),
      z.object({
        kind: z.literal('incremental'),
        delta: z.string().nullable(),
        changes: z.array(z.object({ symbol: z.string(), from: str, append: z.boolean() }).strict()),
        symbols_delta: z.number().int(),
        without_metadata_delta: z.number().int(),
        states: z.array(StateSchema),
        removed_paths: z.array(z.string()),
        files_touched: z.number().int().min(0),
      }).strict(),
    ]),
  })
  .strict();

const stageError = (message: string, hint?: string): StockpipeError => new StockpipeError('SP_ERR_PARTITION_STAGE', message, hint === undefined ? {} : { hint });
const rerun = (dir: string): string => `Run the partition of ${dir} again (\`stockpipe ingest --plan PLAN.json --buckets … --stage DIR\`), then commit again.`;

/** Reads every stage's manifest and checks it against the plan: same source files, lineage and base, each changed bucket in exactly one stage. */
async function readStages(c: IngestCommit): Promise<{ dir: string; m: IngestStageManifest }[]> {
  const plan = c.plan;
  const seen = new Map<number, string>();
  const out: { dir: string; m: IngestStageManifest }[] = [];
  for (const dir of c.stages) {
    const m = await readJsonFile(join(dir, INGEST_STAGE_MANIFEST), StageManifestSchema, 'stage manifest').catch((err: unknown) => {
      throw err instanceof StockpipeError ? stageError(`stage ${dir}: ${err.message}`, rerun(dir)) : err;
    });
    if (m.input_hash !== plan.input_hash || m.lineage_id !== plan.lineage_id || m.base_snapshot !== plan.base_snapshot || m.result.kind !== plan.mode) {
      throw stageError(`stage ${dir} was not made by this plan (its source files, lineage ${m.lineage_id}, base ${m.base_snapshot ?? 'none'} or mode ${m.result.kind} differ)`, rerun(dir));
    }
    for (const b of m.buckets) {
      const other = seen.get(b);
      if (other !== undefined) throw stageError(`bucket ${b} is in two stages: ${other} and ${dir}`, 'Each changed bucket belongs to exactly one partition: plan and run the partitions again.');
      if (!plan.changed_buckets.includes(b)) throw stageError(`stage ${dir} holds bucket ${b}, which the plan does not change`, 'Run only the plan\'s changed buckets.');
      seen.set(b, dir);
    }
    const files = m.result.kind === 'full' ? m.result.files.map((f) => ({ path: f.path, bytes: f.bytes as number | null })) : m.result.delta === null ? [] : [{ path: m.result.delta, bytes: null }];
    for (const f of files) {
      if (f.path.includes('/') || f.path.includes('\\')) throw stageError(`stage ${dir}: file ${f.path} is not in the stage folder`, rerun(dir));
      const st = await stat(join(dir, f.path)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (st === null) throw stageError(`stage ${dir}: ${f.path} is missing (listed in ${INGEST_STAGE_MANIFEST})`, rerun(dir));
      if (f.bytes !== null && st.size !== f.bytes) throw stageError(`stage ${dir}: ${f.path} has ${st.size} bytes, the manifest says ${f.bytes}`, rerun(dir));
    }
    out.push({ dir, m });
  }
  const missing = plan.changed_buckets.filter((b) => !seen.has(b));
  if (missing.length > 0) throw stageError(`no stage holds the changed bucket${missing.length > 1 ? 's' : ''} ${missing.join(',')}`, 'Run a partition for every changed bucket and list its stage in the commit file.');
  return out;
}

/** Adds the partitions' counts to the report (as one process would have counted them). */
function addPartials(r: IngestReport, stages: readonly { m: IngestStageManifest }[]): void {
  const issues = [];
  for (const { m } of stages) {
    const p = m.report;
    r.rows_read += p.rows_read;
    r.rows_kept += p.rows_kept;
    for (const k of DROP_REASONS) r.rows_dropped[k] += p.rows_dropped[k];
    r.malformed_total += p.malformed_total;
    issues.push(...p.malformed);
    r.empty_files.push(...p.empty_files);
    r.files_read += p.files_read;
    r.files_tail_read += p.files_tail_read;
  }
  keepIssues(r, issues);
  r.empty_files.sort();
}

/**
 * Commits the stages of a partitioned ingest as one prices snapshot (or, when no symbol's rows
 * changed, only the source files' new state, as a plain ingest does) and writes the report.
 * Refuses a stale plan (another snapshot landed, or the source changed: SP_ERR_STORE_CONFLICT) and
 * stages that do not match it (SP_ERR_PARTITION_STAGE), committing nothing. When the current prices
 * snapshot carries the commit's key (a replay), nothing is committed and the stored report returned.
 */
export async function commitIngestStages(o: { ws: Workspace; commit: IngestCommit; now: () => Date; log: Logger }): Promise<IngestReport> {
  const t0 = performance.now();
  const { ws, log, commit } = o;
  const plan: IngestPartitionPlan = commit.plan;
  if (plan.cached || plan.single) throw stageError('the plan has nothing to commit (it is cached, or a zip source ingested in one process)', 'Only a partitioned plan is committed.');
  const reg = openRegistry(ws);
  try {
    await ensureView(ws, reg, 'prices');
    const cur = currentSnapshot(reg, 'prices');
    if (cur !== null && (cur.summary as { commit_key?: unknown } | null)?.commit_key === commit.commit_key) {
      const prev = await readPreviousReport(ws);
      log.info({ snapshot: cur.id, commit_key: commit.commit_key }, 'this partitioned ingest was committed already: nothing to do');
      if (prev !== null && prev.snapshot_id === cur.id) return { ...prev, cached: true, seconds: round3((performance.now() - t0) / 1000) };
      throw stageError(`snapshot ${cur.id} holds this commit (${commit.commit_key}) but the ingest report is not its own`, 'Run `stockpipe ingest` to write the report again.');
    }
    const m = await latestManifest(ws, plan.source_id);
    const remember = await checkIngestSource(ws, m, false);
    const hash = inputHash(m, plan.strict);
    if (hash !== plan.input_hash || (cur?.id ?? null) !== plan.base_snapshot) {
      throw new StockpipeError('SP_ERR_STORE_CONFLICT', `the source or the prices table moved since the ingest plan (prices at ${cur?.id ?? 'none'}, planned on ${plan.base_snapshot ?? 'none'}): nothing was committed`, { hint: 'Run the ingest again (plan, partitions, commit).' });
    }
    const { report: r, identity } = await prepareSource(ws, m, hash, log, plan.strict);
    const stages = await readStages(commit);
    addPartials(r, stages);
    let snap: SnapshotRecord | null;
    const db = await openDuckDB(ws.duckdbSettings());
    try {
      const conn = db.connection;
      const states: SourceFileState[] = stages.flatMap((s) => s.m.result.states);
      const w = TableWrite.begin(ws, reg, 'prices');
      if (w.id !== plan.lineage_id) throw new StockpipeError('SP_ERR_STORE_CONFLICT', `snapshot id ${plan.lineage_id} was taken since the ingest plan (the next one is ${w.id}): nothing was committed`, { hint: 'Run the ingest again (plan, partitions, commit).' });
      const summaryExtra = { commit_key: commit.commit_key, partitions: stages.length };
      try {
        if (plan.mode === 'full') {
          r.mode = 'full';
          let kept = 0;
          let withoutMeta = 0;
          for (const { dir, m: s } of stages) {
            if (s.result.kind !== 'full') continue;
            kept += s.result.kept;
            withoutMeta += s.result.without_metadata;
            for (const f of s.result.files) await w.addMoved(join(dir, f.path), bucketOfPartition(f.partition) ?? 0, { rows: f.rows, bytes: f.bytes, symbol_min: f.symbol_min, symbol_max: f.symbol_max, date_min: f.date_min, date_max: f.date_max });
          }
          r.symbols_changed = kept;
          w.removeAll();
          await w.keepSchema((abs) => writeBarsParquet(conn, { symbols: [], names: [], dayMin: 0, dayMax: 0, formatDay: civilFromDays, lineage: w.id, kvMetadata: PRICES_KV }, () => null, abs));
          snap = await w.commit(reg, {
            operation: 'overwrite',
            source: identity,
            summary: { ...tableSummary(w, kept, withoutMeta), mode: 'full', rows_added: r.rows_kept, ...summaryExtra },
            ingestState: { reset: true, files: states, removedPaths: [] },
          });
        } else {
          r.mode = 'incremental';
          const inc = stages.map((s) => ({ dir: s.dir, res: s.m.result })).filter((x): x is { dir: string; res: Extract<StagedIngest, { kind: 'incremental' }> } => x.res.kind === 'incremental');
          r.files_unchanged = plan.files - inc.reduce((a, x) => a + x.res.files_touched, 0);
          const changes = new Map<string, SymbolDelta>(inc.flatMap((x) => x.res.changes.map((ch): [string, SymbolDelta] => [ch.symbol, { from: ch.from, append: ch.append }])));
          if (changes.size === 0) {
            // Nothing new, or files read again that hold the same rows: their new state, no new snapshot.
            r.mode = 'unchanged';
            recordSourceStates(reg, states);
            snap = cur;
          } else {
            const deltas = inc.filter((x) => x.res.delta !== null).map((x) => join(x.dir, x.res.delta!));
            const applied = await applyChanges(conn, w, deltas, changes);
            const prev = (w.base?.summary ?? {}) as { symbols?: number; symbols_without_metadata?: number };
            const symbols = (prev.symbols ?? 0) + inc.reduce((a, x) => a + x.res.symbols_delta, 0);
            const withoutMeta = (prev.symbols_without_metadata ?? 0) + inc.reduce((a, x) => a + x.res.without_metadata_delta, 0);
            r.symbols_changed = changes.size;
            const append = [...changes.values()].every((ch) => ch.append);
            snap = await w.commit(reg, {
              operation: append ? 'append' : 'restate',
              source: identity,
              summary: { ...tableSummary(w, symbols, withoutMeta), mode: 'incremental', rows_added: w.added.reduce((s, f) => s + f.rows, 0), files_added: w.added.length, files_removed: w.removed.length, buckets: applied.buckets, compacted: applied.compacted, ...summaryExtra },
              changes: [...changes].map(([symbol, ch]) => ({ symbol, from_date: ch.from })),
              ingestState: { reset: false, files: states, removedPaths: inc.flatMap((x) => x.res.removed_paths) },
            });
          }
        }
      } catch (err) {
        await w.discard(); // nothing was committed: the files moved or written so far are nobody's
        throw w.failure(err);
      }
    } finally {
      db.close();
    }
    const report = await finishReport(ws, r, snap, t0);
    await remember(o.now());
    log.info({ snapshot: report.snapshot_id, partitions: stages.length, mode: report.mode }, 'partitioned ingest committed');
    return report;
  } finally {
    reg.close();
  }
}
