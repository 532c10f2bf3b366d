/** @module features/prepare
 * Features prepared by a full ingest (docs/store.md, "Features prepared by ingest"). A full ingest
 * holds every symbol's rows in memory once, in (Symbol, Date) order, as it writes the prices files;
 * the features of those rows (the same kernels, features/assemble's symbolFeatures, mostly computed
 * on the parse workers) are written beside them into `tmp/prepared-features/`, in the features
 * table's layout and lineage, with a manifest written last, after the prices commit. The next
 * `features` (without --force, with the same settings) takes that stage as its full build when it
 * was made from the current prices snapshot and carries the snapshot id the features commit takes:
 * it moves the files into the store and commits, without reading the prices back. Anything else (a
 * stage of another prices snapshot, other settings, another snapshot committed in between, a file
 * missing or of another size) is not used: the stage is deleted and the features built as before.
 * The result is the same rows, bit for bit, either way (test/ingest.test.ts, "features prepared by a full ingest"). */
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from '../core/zod.js';
import { readdirOrEmpty, readFileOrNull, statOrNull, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { writeBarsParquet, writeExtraParquet, type BarsBatch, type BarsTableSpec, type WrittenRange } from '../db/bars-writer.js';
import { spliceParquet } from '../db/parquet-splice.js';
import type { DuckDBConnection } from '../db/duckdb.js';
import { currentSnapshot, nextSnapshotId, type SnapshotRecord } from '../registry/catalog.js';
import type { Registry } from '../registry/store.js';
import { LINEAGE_COLUMN, partitionName } from '../store/partition.js';
import { TableWrite } from '../store/write.js';
import { BARS_COLUMNS } from '../db/bars-writer.js';
import { NextTradingDay } from './lagged.js';
import { symbolFeatures } from './assemble.js';
import { StageFileSchema } from './stage-file.js';
import { publishTails, tailsMetadata } from './tails.js';

/** The stage folder, under the workspace's tmp/ (never swept by pid: it outlives the ingest that wrote it). */
export const preparedDir = (ws: Workspace): string => join(ws.tmpDir, 'prepared-features');
const MANIFEST = '_prepared.json';

/** The settings a prepared stage was computed with (features/build's FeatureSettings). */
export interface PrepareSettings {
  version: number;
  window: number;
  extended: boolean;
}

const PreparedManifestSchema = z
  .object({
    version: z.literal(1),
    features_version: z.number().int(),
    window: z.number().int(),
    extended: z.boolean(),
    /** The prices snapshot the rows are (its id and creation time: a new registry numbers from 1 again). */
    prices_snapshot: z.number().int().min(1),
    prices_created_at: z.string(),
    /** The `_snapshot_id` every row carries: the id the features commit must take. */
    lineage_id: z.number().int().min(1),
    files: z.array(StageFileSchema),
    rows: z.number().int().min(0),
    symbols: z.number().int().min(0),
    rows_with_features: z.number().int().min(0),
  })
  .strict();
type PreparedManifest = z.infer<typeof PreparedManifestSchema>;

/** Deletes a prepared stage (its manifest first, so no manifest ever names a file being removed). */
export async function discardPrepared(ws: Workspace): Promise<void> {
  const dir = preparedDir(ws);
  await rm(join(dir, MANIFEST), { force: true });
  await rm(dir, { recursive: true, force: true });
}

/**
 * Deletes (unless `dryRun`) a stage that can never be committed: its manifest does not parse, names
 * another prices snapshot than the current one, or a lineage id a snapshot already took (a features
 * build, or another write, came first); or it has no manifest (an ingest killed while writing it,
 * with Ctrl-C or kill -9) and nothing in it changed since `cutoff` (ms: an ingest writing it now
 * keeps touching it). A usable stage is left alone. Returns its files (workspace-relative) and bytes.
 */
export async function removeStalePrepared(ws: Workspace, reg: Registry, o: { cutoff: number; dryRun?: boolean }): Promise<{ paths: string[]; bytes: number }> {
  const dir = preparedDir(ws);
  const names = await readdirOrEmpty(dir);
  if (names.length === 0) return { paths: [], bytes: 0 };
  const text = await readFileOrNull(join(dir, MANIFEST));
  const entries: { path: string; bytes: number; mtime: number }[] = [];
  for (const n of names) {
    const st = await statOrNull(join(dir, n));
    if (st !== null) entries.push({ path: ws.relative(join(dir, n)), bytes: st.size, mtime: st.mtimeMs });
  }
  let stale: boolean;
  if (text === null) stale = entries.every((e) => e.mtime <= o.cutoff);
  else {
    let m: PreparedManifest | null = null;
    try {
      const r = PreparedManifestSchema.safeParse(JSON.parse(text));
      if (r.success) m = r.data;
    } catch {
      m = null;
    }
    const prices = currentSnapshot(reg, 'prices');
    stale = m === null || prices === null || m.prices_snapshot !== prices.id || m.prices_created_at !== prices.created_at || m.lineage_id !== nextSnapshotId(reg);
  }
  if (!stale) return { paths: [], bytes: 0 };
  if (o.dryRun !== true) await discardPrepared(ws);
  return { paths: entries.map((e) => e.path), bytes: entries.reduce((a, e) => a + e.bytes, 0) };
}

/** The columns of a prices file a full ingest writes (the tails file is one only for those). */
const PRICES_FILE_COLUMNS = [...BARS_COLUMNS, LINEAGE_COLUMN];

/**
 * One full ingest's preparation: `file` after each prices file is written (the same batches, in
 * order), `finish` after the prices commit. A batch whose Volume a double cannot hold (≥ 2^53: the
 * features build refuses it) stops the preparation; so does a failure, which is logged, never the
 * ingest's.
 */
export class FeaturePreparation {
  private readonly files: PreparedManifest['files'] = [];
  private readonly tails: BarsBatch[] = [];
  private readonly cal = new NextTradingDay();
  private readonly ctx: number;
  private seq = 0;
  private rows = 0;
  private symbols = 0;
  private withFeatures = 0;
  private stopped: string | null = null;

  private constructor(
    readonly ws: Workspace,
    readonly settings: PrepareSettings,
    readonly lineageId: number,
    private readonly extra: readonly string[],
    private readonly kv: Record<string, string>,
    ctx: number,
    private readonly log: Logger,
  ) {
    this.ctx = ctx;
  }

  /**
   * Starts a stage for the prices snapshot `pricesId` being written (the features commit will take
   * the id after it). `extra` and `kv` are the features files' extra columns and metadata, `ctx` the
   * tails file's rows per symbol (features/build's).
   */
  static async begin(ws: Workspace, settings: PrepareSettings, pricesId: number, o: { extra: readonly string[]; kv: Record<string, string>; ctx: number; log: Logger }): Promise<FeaturePreparation> {
    const prep = new FeaturePreparation(ws, settings, pricesId + 1, o.extra, o.kv, o.ctx, o.log);
    try {
      await discardPrepared(ws);
      await mkdir(preparedDir(ws), { recursive: true });
    } catch (err) {
      // A read-only or full tmp/: the ingest goes on without preparing (as when a stage file fails).
      prep.stop(`the stage folder ${preparedDir(ws)} cannot be made: ${(err as Error).message}`);
    }
    return prep;
  }

  get active(): boolean {
    return this.stopped === null;
  }

  /** Stops preparing (the next `features` builds as before); the stage is deleted by `finish`. */
  stop(reason: string): void {
    if (this.stopped !== null) return;
    this.stopped = reason;
    this.log.info({ reason }, 'ingest: features not prepared');
  }

  /**
   * Stops preparing and deletes the stage's files now, not after the prices commit: on a full disk
   * they hold the room the prices files still to be written need (a failure to delete is left to finish).
   */
  private async abandon(reason: string): Promise<void> {
    this.stop(reason);
    this.files.length = 0;
    this.tails.length = 0;
    await discardPrepared(this.ws).catch(() => undefined);
  }

  /**
   * Writes the features of `batches` (one prices file's, in order: `prices`, as its writer measured
   * it) as one file of `bucket`. A batch without features (a symbol of several files, merged after
   * parsing) gets them computed here. Only the features are encoded: the price columns are the
   * prices file's own column chunks (db/parquet-splice), unless that file cannot be joined to them,
   * when the whole file is encoded.
   */
  async file(conn: DuckDBConnection, bucket: number, batches: readonly BarsBatch[], prices: { path: string; range: WrittenRange }, spec: Pick<BarsTableSpec, 'symbols' | 'names' | 'dayMin' | 'dayMax' | 'formatDay'>): Promise<void> {
    if (this.stopped !== null || batches.length === 0) return;
    if (batches.some((b) => b.volumeExact !== undefined)) {
      await this.abandon('a Volume is beyond 2^53 − 1 (the features build refuses it)');
      return;
    }
    const { window, extended } = this.settings;
    for (const b of batches) {
      if (b.extra === undefined || b.extra.length !== this.extra.length) b.extra = symbolFeatures(b, window, extended, this.cal);
      this.withFeatures += Math.max(0, b.rows - window + 1);
      this.rows += b.rows;
      this.symbols++;
      this.tails.push(tailOf(b, this.ctx));
    }
    const name = `${partitionName(bucket)}-${this.seq++}.parquet`;
    const abs = join(preparedDir(this.ws), name);
    const right = `${abs}.features-only`;
    let i = 0;
    try {
      let r = prices.range;
      await writeExtraParquet(conn, { extraColumns: this.extra, lineage: this.lineageId, kvMetadata: this.kv }, () => batches[i++] ?? null, right);
      const joined = await spliceParquet(prices.path, right, BARS_COLUMNS.length, abs);
      await rm(right, { force: true });
      if (!joined) {
        i = 0;
        r = await writeBarsParquet(conn, { ...spec, extraColumns: this.extra, lineage: this.lineageId, kvMetadata: this.kv }, () => batches[i++] ?? null, abs);
      }
      const { size } = await stat(abs);
      this.files.push({ name, bucket, rows: r.rows, bytes: size, symbol_min: r.symbol_min!, symbol_max: r.symbol_max!, date_min: r.date_min!, date_max: r.date_max! });
    } catch (err) {
      await this.abandon(`writing ${name} failed: ${(err as Error).message}`);
    } finally {
      // The prices writer keeps no reference to a batch once written: the features are let go of with it.
      for (const b of batches) delete b.extra;
    }
  }

  /**
   * After the prices commit: the tails file (each symbol's last rows as of `prices`, which a features
   * build also writes) and the manifest, last. Without a commit (`prices` null) or once stopped, the
   * stage is deleted.
   */
  async finish(conn: DuckDBConnection, prices: SnapshotRecord | null, spec: Pick<BarsTableSpec, 'symbols' | 'names' | 'dayMin' | 'dayMax' | 'formatDay'>): Promise<boolean> {
    if (prices === null || this.stopped !== null || prices.id + 1 !== this.lineageId) {
      // After the prices commit: a stage that cannot even be deleted is the next build's to clean, never the ingest's failure.
      await discardPrepared(this.ws).catch((err: unknown) => this.log.warn({ err: (err as Error).message }, 'ingest: the unfinished prepared features could not be deleted'));
      return false;
    }
    try {
      const tails = this.tails.sort((a, b) => a.sym - b.sym);
      let i = 0;
      await publishTails(this.ws, (tmp) => writeBarsParquet(conn, { ...spec, lineage: prices.id, kvMetadata: tailsMetadata(prices, this.ctx, PRICES_FILE_COLUMNS) }, () => tails[i++] ?? null, tmp), this.log);
      this.tails.length = 0;
      const m: PreparedManifest = {
        version: 1,
        features_version: this.settings.version,
        window: this.settings.window,
        extended: this.settings.extended,
        prices_snapshot: prices.id,
        prices_created_at: prices.created_at,
        lineage_id: this.lineageId,
        files: this.files,
        rows: this.rows,
        symbols: this.symbols,
        rows_with_features: this.withFeatures,
      };
      await writeFileAtomic(join(preparedDir(this.ws), MANIFEST), `${JSON.stringify(m)}\n`);
      return true;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ingest: the prepared features could not be finished (the next features build computes them)');
      await discardPrepared(this.ws).catch((e: unknown) => this.log.warn({ err: (e as Error).message }, 'ingest: the unfinished prepared features could not be deleted'));
      return false;
    }
  }
}

/** A symbol's last `ctx` rows (all when it has fewer), for the tails file. */
function tailOf(b: BarsBatch, ctx: number): BarsBatch {
  const k = Math.max(0, b.rows - ctx);
  return {
    sym: b.sym,
    name: b.name,
    rows: b.rows - k,
    day: b.day.slice(k), open: b.open.slice(k), high: b.high.slice(k), low: b.low.slice(k), close: b.close.slice(k), adjClose: b.adjClose.slice(k), volume: b.volume.slice(k), asset: b.asset.slice(k),
  };
}

/** What a committed stage brought: the snapshot and its counts. */
export interface PreparedCommit {
  snapshot: SnapshotRecord;
  rows: number;
  symbols: number;
  rows_with_features: number;
}

/**
 * Commits the prepared stage as the features snapshot, when it was made from `prices` (id and
 * creation time) with `settings` and the next snapshot id is its lineage: its files moved into the
 * store, every live features file removed (an overwrite). Null when there is no usable stage; an
 * unusable one is deleted (why is logged). `source` is the snapshot's source record.
 */
export async function commitPrepared(ws: Workspace, reg: Registry, o: { settings: PrepareSettings; prices: SnapshotRecord; source: Record<string, unknown>; keepSchema: (w: TableWrite) => Promise<void>; log: Logger }): Promise<PreparedCommit | null> {
  const dir = preparedDir(ws);
  const text = await readFileOrNull(join(dir, MANIFEST));
  if (text === null) {
    // A stage without its manifest is an unfinished one (its ingest failed or was killed).
    if ((await readdirOrEmpty(dir)).length > 0) await discardPrepared(ws);
    return null;
  }
  const unusable = async (why: string): Promise<null> => {
    o.log.info({ why }, 'features: the features ingest prepared are not used');
    await discardPrepared(ws);
    return null;
  };
  let m: PreparedManifest;
  try {
    const r = PreparedManifestSchema.safeParse(JSON.parse(text));
    if (!r.success) return await unusable(`${MANIFEST} is not a stage manifest`);
    m = r.data;
  } catch {
    return await unusable(`${MANIFEST} is not JSON`);
  }
  const s = o.settings;
  if (m.features_version !== s.version || m.window !== s.window || m.extended !== s.extended) return await unusable(`prepared with window ${m.window}${m.extended ? ', extended' : ''} (version ${m.features_version}), built with window ${s.window}${s.extended ? ', extended' : ''} (version ${s.version})`);
  if (m.prices_snapshot !== o.prices.id || m.prices_created_at !== o.prices.created_at) return await unusable(`prepared from prices snapshot ${m.prices_snapshot}, the current one is ${o.prices.id}`);
  const w = TableWrite.begin(ws, reg, 'features');
  if (w.id !== m.lineage_id) return await unusable(`its rows carry snapshot ${m.lineage_id}, the next snapshot is ${w.id}`);
  try {
    for (const f of m.files) await w.addMoved(join(dir, f.name), f.bucket, { rows: f.rows, bytes: f.bytes, symbol_min: f.symbol_min, symbol_max: f.symbol_max, date_min: f.date_min, date_max: f.date_max });
    w.removeAll();
    await o.keepSchema(w);
    const snapshot = await w.commit(reg, {
      operation: 'overwrite',
      source: o.source,
      summary: { mode: 'full', prepared: true, rows_computed: m.rows, symbols_changed: m.symbols, files_added: w.added.length, files_removed: w.removed.length },
    });
    await discardPrepared(ws);
    return { snapshot, rows: m.rows, symbols: m.symbols, rows_with_features: m.rows_with_features };
  } catch (err) {
    // Files moved in so far are nobody's: deleted, and the stage with them; the build computes them.
    await w.discard();
    return await unusable(`committing it failed: ${(err as Error).message}`);
  }
}
