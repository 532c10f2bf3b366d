/** @module features/partitions
 * Partitioned features builds (docs/store.md, "Partitioned builds"): which symbol buckets must be
 * computed again (planFeaturePartitions), and one partition — a group of buckets — computed from a
 * given prices snapshot into a stage folder (`features --buckets … --stage DIR`), never into the
 * catalog or the store. features/partition-commit commits the stages as one snapshot. */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import type { WrittenRange } from '../db/bars-writer.js';
import { openDuckDB } from '../db/duckdb.js';
import { currentSnapshot, type DataFileRecord, getSnapshot, liveFiles, nextSnapshotId } from '../registry/catalog.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { BUCKETS, bucketOfPartition, partitionName } from '../store/partition.js';
import { assertFilesOnDisk, tableAt } from '../store/read.js';
import type { WrittenFile } from '../store/write.js';
import { STAGE_FILE, type StageFile, StageFileSchema } from './stage-file.js';
import { checkWindow, FEATURES_VERSION, type FeatureSettings, type FileSink, fullBuild, type PricesInput, pricesInput, rowsWithFeatures } from './build.js';

/** What a partitioned build has to do, decided once by the coordinator. */
export interface FeaturePartitionPlan {
  /** The current prices snapshot id every partition must read. */
  prices_snapshot: number;
  /** nextSnapshotId at planning: the id the features commit will take, written into every partition's `_snapshot_id` column. */
  lineage_id: number;
  window: number;
  extended: boolean;
  version: number;
  /** Buckets to compute again (their features files are replaced, or removed when the bucket has no prices files left). */
  changed_buckets: number[];
  /** Buckets whose features files are kept as they are. */
  kept_buckets: number[];
  /** Nothing to do: the features were built from this prices snapshot with these settings. */
  cached: boolean;
}

/** The live files of each bucket (a file outside bucket folders, if any, counts for no bucket). */
function byBucket(files: readonly DataFileRecord[]): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const f of files) {
    const b = bucketOfPartition(f.partition);
    if (b === null) continue;
    out.set(b, [...(out.get(b) ?? []), f.file_id]);
  }
  for (const ids of out.values()) ids.sort((x, y) => x - y);
  return out;
}

/**
 * Plans a partitioned features build on the current prices snapshot. A bucket is changed when its
 * live prices files (data files are immutable, so their ids stand for their rows) differ from those
 * of the prices snapshot the current features snapshot was built from; every bucket with prices files
 * is changed when there is no features snapshot, another setting, or `force`. Buckets without prices
 * files in either snapshot are neither changed nor kept.
 */
export function planFeaturePartitions(ws: Workspace, reg: Registry, o: { window: number; extended: boolean; force: boolean }): FeaturePartitionPlan {
  checkWindow(o.window);
  const settings: FeatureSettings = { version: FEATURES_VERSION, window: o.window, extended: o.extended };
  const prices = tableAt(ws, reg, 'prices');
  const cur = currentSnapshot(reg, 'features');
  const built = (cur?.source ?? null) as Partial<FeatureSettings & { prices_snapshot: number }> | null;
  const same = built !== null && built.version === settings.version && built.window === settings.window && built.extended === settings.extended && typeof built.prices_snapshot === 'number';
  const cached = !o.force && same && built.prices_snapshot === prices.snapshot.id;
  const now = byBucket(prices.files);
  const baseSnap = same ? getSnapshot(reg, built.prices_snapshot!) : null;
  const before = baseSnap?.table === 'prices' ? byBucket(liveFiles(reg, baseSnap)) : null;
  // Without a comparable base every bucket is computed (the commit is an overwrite).
  const everything = o.force || before === null;
  const changed: number[] = [];
  const kept: number[] = [];
  for (let b = 0; b < BUCKETS; b++) {
    const a = now.get(b) ?? [];
    const p = before?.get(b) ?? [];
    if (a.length === 0 && p.length === 0) continue;
    const differs = a.length !== p.length || a.some((id, i) => id !== p[i]);
    if (!cached && (everything || differs)) changed.push(b);
    else kept.push(b);
  }
  // A build that keeps buckets keeps the current features files: one deleted by hand fails before any
  // partition runs (features --force rebuilds), as a local incremental build does.
  if (!cached && kept.length > 0 && cur !== null) assertFilesOnDisk(ws, cur, liveFiles(reg, cur));
  return { prices_snapshot: prices.snapshot.id, lineage_id: nextSnapshotId(reg), ...settings, changed_buckets: changed, kept_buckets: kept, cached };
}

/** The file a stage's manifest is written to, last. */
export const STAGE_MANIFEST = '_manifest.json';
export type { StageFile } from './stage-file.js';

/** DIR/_manifest.json: a finished partition (written after all its files, atomically). */
export const StageManifestSchema = z
  .object({
    version: z.literal(1),
    prices_snapshot: z.number().int().min(1),
    lineage_id: z.number().int().min(1),
    window: z.number().int(),
    extended: z.boolean(),
    buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)),
    files: z.array(StageFileSchema),
    rows: z.number().int().min(0),
    rows_with_features: z.number().int().min(0),
  })
  .strict();
export type StageManifest = z.infer<typeof StageManifestSchema>;

/** A stage folder as a full build's sink: files `bucket=NN-<seq>.parquet`, each measured once written. */
class StageSink implements FileSink {
  readonly files: StageFile[] = [];
  private readonly created: string[] = [];
  private seq = 0;
  constructor(readonly ws: Workspace, readonly id: number, private readonly dir: string) {}
  async newFile(bucket: number): Promise<WrittenFile> {
    const abs = join(this.dir, `${partitionName(bucket)}-${this.seq++}.parquet`);
    this.created.push(abs);
    return { rel: abs, abs, partition: partitionName(bucket) };
  }
  async addMeasured(f: WrittenFile, r: WrittenRange): Promise<void> {
    if (r.rows === 0) {
      await rm(f.abs, { force: true });
      return;
    }
    const { size } = await stat(f.abs);
    this.files.push({ name: f.abs.slice(this.dir.length + 1), bucket: bucketOfPartition(f.partition)!, rows: r.rows, bytes: size, symbol_min: r.symbol_min!, symbol_max: r.symbol_max!, date_min: r.date_min!, date_max: r.date_max! });
  }
  /** A stage replaces nothing: the commit removes the changed buckets' files. */
  removeAll(): void {}
  /** A stage of buckets without rows has no files (the commit keeps the table's schema). */
  async keepSchema(): Promise<void> {}
  async discard(): Promise<void> {
    for (const abs of this.created) await rm(abs, { force: true });
    this.files.length = 0;
  }
}

export interface FeaturePartitionOptions {
  ws: Workspace;
  /** The partition's buckets (0..15, no repeats). */
  buckets: readonly number[];
  /** The stage folder (created; its earlier stage files and manifest are deleted first). */
  stage: string;
  pricesSnapshot: number;
  lineageId: number;
  window: number;
  extended: boolean;
  log: Logger;
  progress: Progress;
}

/** `features --buckets … --stage DIR --json`: the manifest, the folder and the time taken. */
export type FeaturePartitionReport = StageManifest & { stage: string; seconds: number };

/** Deletes what an earlier run left in a stage folder: its manifest first (so no manifest ever names files being replaced), then its files. */
async function clearStage(dir: string): Promise<void> {
  await rm(join(dir, STAGE_MANIFEST), { force: true });
  for (const name of await readdir(dir)) if (STAGE_FILE.test(name)) await rm(join(dir, name), { force: true });
}

/**
 * Computes one partition: the features of every symbol of `buckets` from prices snapshot
 * `pricesSnapshot`, with the full build's machinery (same writer, file cuts, metadata; lineage column
 * = `lineageId`), into the stage folder, then DIR/_manifest.json last. Reads the catalog read-only
 * and writes nothing but the stage; a failure deletes the stage's files and leaves no manifest.
 */
export async function buildFeaturePartition(o: FeaturePartitionOptions): Promise<FeaturePartitionReport> {
  const t0 = performance.now();
  checkWindow(o.window);
  const buckets = [...o.buckets].sort((a, b) => a - b);
  const bad = buckets.find((b, i) => !Number.isInteger(b) || b < 0 || b >= BUCKETS || buckets[i - 1] === b);
  if (buckets.length === 0 || bad !== undefined) throw new StockpipeError('SP_ERR_USAGE', `--buckets must list distinct bucket numbers from 0 to ${BUCKETS - 1} (got ${o.buckets.join(',') || 'none'})`);
  const settings: FeatureSettings = { version: FEATURES_VERSION, window: o.window, extended: o.extended };
  const reg = openRegistry(o.ws, { readonly: true });
  let input: PricesInput;
  try {
    const prices = tableAt(o.ws, reg, 'prices', { snapshot: o.pricesSnapshot });
    if (prices.snapshot.id !== o.pricesSnapshot) {
      throw new StockpipeError('SP_ERR_SNAPSHOT_NOT_FOUND', `snapshot ${o.pricesSnapshot} is not a prices snapshot (the prices table's snapshot as of it is ${prices.snapshot.id})`, { hint: 'Pass the plan\'s prices_snapshot (`stockpipe snapshots prices` lists them).' });
    }
    const parts = new Set(buckets.map(partitionName));
    input = pricesInput(reg, prices.files.filter((f) => parts.has(f.partition) && f.rows > 0));
  } finally {
    reg.close();
  }
  await mkdir(o.stage, { recursive: true });
  await clearStage(o.stage);
  const sink = new StageSink(o.ws, o.lineageId, o.stage);
  const db = await openDuckDB(o.ws.duckdbSettings());
  try {
    let withFeatures = 0;
    try {
      if (input.files.length > 0) await fullBuild(db, sink, input, settings, o);
      withFeatures = await rowsWithFeatures(db.connection, sink.files.map((f) => join(o.stage, f.name)));
    } catch (err) {
      await sink.discard();
      throw err;
    }
    const manifest: StageManifest = {
      version: 1,
      prices_snapshot: o.pricesSnapshot,
      lineage_id: o.lineageId,
      window: settings.window,
      extended: settings.extended,
      buckets,
      files: sink.files,
      rows: sink.files.reduce((a, f) => a + f.rows, 0),
      rows_with_features: withFeatures,
    };
    try {
      await writeFileAtomic(join(o.stage, STAGE_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    } catch (err) {
      await sink.discard();
      throw err;
    }
    o.log.info({ stage: o.stage, buckets, files: manifest.files.length, rows: manifest.rows }, 'features partition staged');
    return { ...manifest, stage: o.stage, seconds: Math.round(performance.now() - t0) / 1000 };
  } finally {
    o.progress.stop();
    db.close();
  }
}
