/** @module features/partition-commit
 * `features --commit-stage PLAN.json`: the coordinator's commit of a partitioned features build
 * (docs/store.md, "Partitioned builds"). Checks every stage against the plan, moves the staged files
 * into the store, removes the changed buckets' old files and commits one snapshot; a replay of the
 * same commit_key is a no-op. Planning and the partitions' builds are features/partitions. */
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import { readFileOrNull, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { type DuckDBConnection, openDuckDB, queryRows, sqlString } from '../db/duckdb.js';
import { currentSnapshot, getSnapshot, liveFiles, type SnapshotRecord } from '../registry/catalog.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { BUCKETS, partitionName } from '../store/partition.js';
import { parquetSource } from '../store/read.js';
import { ensureView } from '../store/view.js';
import { TableWrite } from '../store/write.js';
import { checkWindow, FEATURES_VERSION, keepFeaturesSchema, type FeatureSettings, type FeaturesReport, featuresInputHash, rowsWithFeatures } from './build.js';
import { EXTENDED_COLUMNS } from './lagged.js';
import { type FeaturePartitionPlan, STAGE_MANIFEST, type StageManifest, StageManifestSchema } from './partitions.js';

const bucketList = z.array(z.number().int().min(0).max(BUCKETS - 1));

const PlanSchema = z
  .object({
    prices_snapshot: z.number().int().min(1),
    lineage_id: z.number().int().min(1),
    window: z.number().int(),
    extended: z.boolean(),
    version: z.number().int(),
    changed_buckets: bucketList,
    kept_buckets: bucketList,
    cached: z.boolean(),
  })
  .strict();

/** PLAN.json, written by the executor: the plan, its stage folders (absolute) and a key naming this commit. */
export const StagePlanSchema = z
  .object({
    version: z.literal(1),
    commit_key: z.string().min(1),
    plan: PlanSchema,
    stages: z.array(z.string().refine(isAbsolute, 'a stage folder must be an absolute path')),
  })
  .strict();
export interface StagePlan {
  version: 1;
  commit_key: string;
  plan: FeaturePartitionPlan;
  stages: string[];
}

const stageError = (message: string, hint?: string): StockpipeError => new StockpipeError('SP_ERR_FEATURES_STAGE', message, hint === undefined ? {} : { hint });

/** Reads and checks PLAN.json (SP_ERR_FEATURES_STAGE when it is missing, not JSON or not a plan). */
export async function readStagePlan(path: string): Promise<StagePlan> {
  const text = await readFileOrNull(path);
  if (text === null) throw stageError(`the plan file ${path} does not exist`, 'Pass the PLAN.json the executor wrote.');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StockpipeError('SP_ERR_FEATURES_STAGE', `the plan file ${path} is not valid JSON: ${(err as Error).message}`, { hint: 'Pass the PLAN.json the executor wrote.', cause: err });
  }
  const r = StagePlanSchema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw stageError(`the plan file ${path} is not a features stage plan: ${i.path.join('.') || '(root)'}: ${i.message}`, 'It must be { version: 1, commit_key, plan: FeaturePartitionPlan, stages: [absolute folders] }.');
  }
  return r.data;
}

/** A staged file checked against its manifest, ready to move. */
interface Staged {
  abs: string;
  bucket: number;
  file: StageManifest['files'][number];
}

/** Reads every stage's manifest and checks it, its files and their buckets against the plan; throws SP_ERR_FEATURES_STAGE naming the stage. */
async function checkStages(sp: StagePlan): Promise<Staged[]> {
  const plan = sp.plan;
  const seen = new Map<number, string>();
  const out: Staged[] = [];
  const rerun = (dir: string): string => `Run \`stockpipe features --buckets … --stage ${dir}\` again for that partition (or plan and run every partition again), then commit again.`;
  for (const dir of sp.stages) {
    const path = join(dir, STAGE_MANIFEST);
    const text = await readFileOrNull(path);
    if (text === null) throw stageError(`stage ${dir} has no ${STAGE_MANIFEST}: its partition did not finish`, rerun(dir));
    let m: StageManifest;
    try {
      const r = StageManifestSchema.safeParse(JSON.parse(text));
      if (!r.success) throw new Error(`${r.error.issues[0]!.path.join('.')}: ${r.error.issues[0]!.message}`);
      m = r.data;
    } catch (err) {
      throw new StockpipeError('SP_ERR_FEATURES_STAGE', `stage ${dir}: ${STAGE_MANIFEST} is not a stage manifest (${(err as Error).message})`, { hint: rerun(dir), cause: err });
    }
    const differs = (['prices_snapshot', 'lineage_id', 'window', 'extended'] as const).find((k) => m[k] !== plan[k]);
    if (differs !== undefined) throw stageError(`stage ${dir} was built with ${differs} ${m[differs]}, the plan has ${plan[differs]}`, rerun(dir));
    for (const b of m.buckets) {
      const other = seen.get(b);
      if (other !== undefined) throw stageError(`bucket ${b} is in two stages: ${other} and ${dir}`, 'Each changed bucket belongs to exactly one partition: fix the executor\'s partitioning, then run the partitions again.');
      if (!plan.changed_buckets.includes(b)) throw stageError(`stage ${dir} holds bucket ${b}, which the plan does not change (changed: ${plan.changed_buckets.join(',') || 'none'})`, 'Run only the plan\'s changed buckets.');
      seen.set(b, dir);
    }
    for (const f of m.files) {
      const abs = join(dir, f.name);
      if (f.name.slice(0, partitionName(f.bucket).length) !== partitionName(f.bucket) || !m.buckets.includes(f.bucket)) {
        throw stageError(`stage ${dir}: file ${f.name} is not of bucket ${f.bucket} or of the stage's buckets`, rerun(dir));
      }
      const st = await stat(abs).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return null;
        throw err;
      });
      if (st === null) throw stageError(`stage ${dir}: ${f.name} is missing (listed in ${STAGE_MANIFEST})`, rerun(dir));
      if (st.size !== f.bytes) throw stageError(`stage ${dir}: ${f.name} has ${st.size} bytes, the manifest says ${f.bytes}`, rerun(dir));
      out.push({ abs, bucket: f.bucket, file: f });
    }
  }
  const missing = plan.changed_buckets.filter((b) => !seen.has(b));
  if (missing.length > 0) throw stageError(`no stage holds the changed bucket${missing.length > 1 ? 's' : ''} ${missing.join(',')}`, 'Run a partition (`stockpipe features --buckets …`) for every changed bucket and list its stage in the plan.');
  return out;
}

/** The staged files' row counts from their footers (a readable Parquet file each, with the rows its manifest says) and their distinct symbols. */
async function checkFooters(conn: DuckDBConnection, staged: readonly Staged[]): Promise<number> {
  if (staged.length === 0) return 0;
  const list = `[${staged.map((s) => sqlString(s.abs)).join(', ')}]`;
  const rows = new Map((await queryRows(conn, `SELECT file_name AS f, num_rows::BIGINT AS n FROM parquet_file_metadata(${list})`)).map((r) => [String(r.f), Number(r.n)]));
  for (const s of staged) {
    if (rows.get(s.abs) !== s.file.rows) throw stageError(`${s.abs} holds ${rows.get(s.abs) ?? 'no'} rows, its manifest says ${s.file.rows}`, 'Run that partition again.');
  }
  const [r] = await queryRows(conn, `SELECT count(DISTINCT "Symbol")::BIGINT AS n FROM ${parquetSource(staged.map((s) => s.abs))}`);
  return Number(r!.n);
}

/** The report of a features snapshot: the stored one when it is that snapshot's, else made from the catalog and the files' footers (and stored). */
async function reportOf(ws: Workspace, reg: Registry, conn: DuckDBConnection, snap: SnapshotRecord, t0: number, cached: boolean, log: Logger): Promise<FeaturesReport> {
  const seconds = (): number => Math.round(performance.now() - t0) / 1000;
  const text = await readFileOrNull(ws.featuresReport);
  if (text !== null) {
    try {
      const prev = JSON.parse(text) as FeaturesReport;
      if (prev.snapshot_id === snap.id) return { ...prev, cached, seconds: seconds() };
    } catch (err) {
      log.warn({ err: (err as Error).message, path: ws.featuresReport }, 'the features report is not valid JSON: writing it again from the catalog');
    }
  }
  const src = (snap.source ?? {}) as Partial<FeatureSettings & { prices_snapshot: number }>;
  const sum = (snap.summary ?? {}) as { mode?: FeaturesReport['mode']; rows_computed?: number; symbols_changed?: number; partitions?: number };
  const settings: FeatureSettings = { version: src.version ?? 0, window: src.window ?? 0, extended: src.extended === true };
  const paths = liveFiles(reg, snap).map((f) => ws.path(f.path));
  const prices = typeof src.prices_snapshot === 'number' ? getSnapshot(reg, src.prices_snapshot) : null;
  const pricesSymbols = (prices?.summary as { symbols?: number } | null | undefined)?.symbols;
  const report: FeaturesReport = {
    output: ws.tableDir('features'),
    input: ws.tableDir('prices'),
    mode: sum.mode ?? 'full',
    ...(sum.partitions !== undefined ? { partitions: sum.partitions } : {}),
    snapshot_id: snap.id,
    prices_snapshot: src.prices_snapshot ?? 0,
    rows_computed: sum.rows_computed ?? 0,
    symbols_changed: sum.symbols_changed ?? 0,
    rows: snap.rows,
    symbols: pricesSymbols ?? Number((await queryRows(conn, `SELECT count(DISTINCT "Symbol")::BIGINT AS s FROM ${parquetSource(paths)}`))[0]!.s),
    window: settings.window,
    extended: settings.extended,
    extended_columns: settings.extended ? [...EXTENDED_COLUMNS] : [],
    rows_with_features: await rowsWithFeatures(conn, paths),
    seconds: seconds(),
    cached,
    input_hash: featuresInputHash(src.prices_snapshot ?? 0, settings),
  };
  await writeFileAtomic(ws.featuresReport, `${JSON.stringify(report, null, 2)}\n`);
  return report;
}

/**
 * Commits the stages of a partitioned build as one features snapshot (`overwrite` when no bucket is
 * kept, else `restate`): the staged files are moved into the store and recorded as their manifests
 * describe them (sizes and footer row counts checked, the data not read again), the changed buckets'
 * live files are removed. Refuses a stale plan (another snapshot landed since: SP_ERR_STORE_CONFLICT)
 * and stages that do not match it (SP_ERR_FEATURES_STAGE), committing nothing; a failure before the
 * commit deletes the files already moved. When the current features snapshot carries the plan's
 * commit_key (a replay), or the plan is cached, nothing is committed and the current report returned.
 */
export async function commitFeatureStages(o: { ws: Workspace; plan: StagePlan; log: Logger }): Promise<FeaturesReport> {
  const t0 = performance.now();
  const { ws, log } = o;
  const { plan, commit_key: key } = o.plan;
  checkWindow(plan.window);
  if (plan.version !== FEATURES_VERSION) throw stageError(`the plan is for features version ${plan.version}, this stockpipe computes version ${FEATURES_VERSION}`, 'Plan and run the partitions with the same stockpipe version as the commit.');
  const settings: FeatureSettings = { version: plan.version, window: plan.window, extended: plan.extended };
  const reg = openRegistry(ws);
  try {
    await ensureView(ws, reg, 'features');
    const db = await openDuckDB(ws.duckdbSettings());
    try {
      const conn = db.connection;
      const cur = currentSnapshot(reg, 'features');
      if (cur !== null && cur.source?.commit_key === key) {
        log.info({ snapshot: cur.id, commit_key: key }, 'this partitioned build was committed already: nothing to do');
        return await reportOf(ws, reg, conn, cur, t0, true, log);
      }
      if (plan.cached) {
        if (cur === null) throw stageError('the plan is cached but the features table has no snapshot', 'Plan again: planFeaturePartitions.');
        log.info({ snapshot: cur.id }, 'the plan is cached: nothing to do');
        return await reportOf(ws, reg, conn, cur, t0, true, log);
      }
      const staged = await checkStages(o.plan);
      const symbols = await checkFooters(conn, staged);
      const w = TableWrite.begin(ws, reg, 'features');
      const prices = currentSnapshot(reg, 'prices');
      if (w.id !== plan.lineage_id || prices?.id !== plan.prices_snapshot) {
        throw new StockpipeError('SP_ERR_STORE_CONFLICT', `the store moved since the plan: the next snapshot id is ${w.id} and prices is at ${prices?.id ?? 'none'}, the plan's partitions carry lineage ${plan.lineage_id} from prices ${plan.prices_snapshot}; nothing was committed`, {
          hint: 'Another write landed meanwhile: run again (plan, run the partitions, commit).',
        });
      }
      const overwrite = plan.kept_buckets.length === 0;
      // A restate keeps the current snapshot's files of the kept buckets: one deleted by hand fails here,
      // before a stage is moved, as a local incremental build does (not a snapshot that lists it again).
      if (!overwrite) w.assertBaseOnDisk();
      let snap: SnapshotRecord;
      try {
        for (const s of staged) await w.addMoved(s.abs, s.bucket, { rows: s.file.rows, bytes: s.file.bytes, symbol_min: s.file.symbol_min, symbol_max: s.file.symbol_max, date_min: s.file.date_min, date_max: s.file.date_max });
        if (overwrite) w.removeAll();
        else {
          const changed = new Set(plan.changed_buckets.map(partitionName));
          // An empty schema file (a table that had no rows) goes too: keepSchema makes one again if the table stays empty.
          w.removed.push(...w.live.filter((f) => changed.has(f.partition) || f.rows === 0));
        }
        await keepFeaturesSchema(conn, w, settings);
        const rows = staged.reduce((a, s) => a + s.file.rows, 0);
        snap = await w.commit(reg, {
          operation: overwrite ? 'overwrite' : 'restate',
          source: { ...settings, prices_snapshot: plan.prices_snapshot, commit_key: key },
          summary: { mode: 'partitioned', rows_computed: rows, symbols_changed: symbols, files_added: w.added.length, files_removed: w.removed.length, partitions: o.plan.stages.length, buckets_changed: plan.changed_buckets },
        });
      } catch (err) {
        await w.discard(); // nothing was committed: the files moved in so far are nobody's
        throw w.failure(err);
      }
      log.info({ snapshot: snap.id, partitions: o.plan.stages.length, files: w.added.length }, 'partitioned features committed');
      return await reportOf(ws, reg, conn, snap, t0, false, log);
    } finally {
      db.close();
    }
  } finally {
    reg.close();
  }
}
