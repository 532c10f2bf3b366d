/** @module registry/lineage-docs
 * The lineage documents `stockpipe lineage model|run|snapshot` prints and GET /lineage/… serves
 * (docs/cli.md): model → training run → features snapshot → prices snapshot → source manifest (files,
 * sizes, hashes) and the ingest run, and back: a snapshot's writer, readers, derived snapshots and the
 * models trained on it. Reads only the registry (runs, params, run_snapshots, the catalog, data
 * versions, model versions), so a lineage resolves after the files it names moved on. */
import { clip, StockpipeError } from '../core/errors.js';
import { FIXED_ALIAS_FAMILIES } from './alias-kinds.js';
import { getSnapshot, type SnapshotRecord } from './catalog.js';
import { abandonedRunIds, type RunnerGoneCheck } from './pipeline.js';
import type { Registry } from './store.js';
import type { ModelVersion, RunRecord } from './types.js';

export interface RunRef {
  run_id: string;
  kind: string;
  name: string | null;
  status: string;
  started_at: string;
  ended_at: string | null;
  parent_run_id: string | null;
}

export interface RunNode extends RunRef {
  error: string | null;
  params: Record<string, string | null>;
}

export interface SnapshotRef {
  id: number;
  table: string;
  created_at: string;
  operation: string;
  rows: number;
  files: number;
}

export interface SnapshotNode extends SnapshotRef {
  parent_id: number | null;
  source: Record<string, unknown> | null;
  /** The run that committed it (null: written before runs recorded their snapshots). */
  written_by: RunRef | null;
}

export interface ModelRef {
  id: string;
  kind: string;
  created_at: string;
  aliases: string[];
  run_id: string | null;
}

export interface ManifestFileRef {
  path: string;
  size: number;
  sha256: string | null;
  rows: number | null;
}

/** The source manifest a prices snapshot was ingested from. */
export interface SourceNode {
  /** The manifest's data version (sha256 of its identity: source, version, root, files). */
  manifest_hash: string | null;
  /** The manifest file, workspace-relative. */
  path: string | null;
  source: string | null;
  source_spec: string | null;
  source_version: string | null;
  fetched_at: string | null;
  root: string | null;
  bytes: number | null;
  rows: number | null;
  files_total: number | null;
  /** The first `files` files (the rest are counted in files_total). */
  files: ManifestFileRef[];
  ingest_run: RunRef | null;
}

export interface ModelLineageDoc {
  model: ModelRef & { data_hash: string | null; path: string };
  run: RunNode | null;
  features_snapshot: SnapshotNode | null;
  prices_snapshot: SnapshotNode | null;
  source: SourceNode | null;
  /** The steps that did not resolve (empty when the whole chain did). */
  missing: string[];
}

export interface TrainedOn extends ModelRef {
  /** `features`: trained on this snapshot; `prices`: on a features snapshot built from it. */
  via: 'features' | 'prices';
  features_snapshot: number | null;
}

export interface SnapshotLineageDoc {
  snapshot: SnapshotNode;
  /** The table's previous snapshot. */
  parent: SnapshotRef | null;
  /** A features snapshot: the prices snapshot it was built from. */
  built_from: SnapshotRef | null;
  /** A prices snapshot: the features snapshots built from it. */
  derived: SnapshotRef[];
  read_by: RunRef[];
  source: SourceNode | null;
  models: TrainedOn[];
}

export interface RunLineageDoc {
  run: RunNode;
  parent: RunRef | null;
  children: RunRef[];
  read: SnapshotRef[];
  wrote: SnapshotRef[];
  models: ModelRef[];
  source: SourceNode | null;
}

/** How many manifest files a document lists by default. */
export const DEFAULT_FILES = 20;

const runRef = (r: RunRecord): RunRef => ({ run_id: r.run_id, kind: r.kind, name: r.name, status: r.status, started_at: r.started_at, ended_at: r.ended_at, parent_run_id: r.parent_run_id });
const snapRef = (s: SnapshotRecord): SnapshotRef => ({ id: s.id, table: s.table, created_at: s.created_at, operation: s.operation, rows: s.rows, files: s.files });
const modelRef = (m: ModelVersion): ModelRef => ({ id: m.id, kind: m.kind, created_at: m.created_at, aliases: m.aliases, run_id: m.run_id });
const intOf = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : typeof v === 'string' && /^\d{1,15}$/.test(v) ? Number(v) : null);

function runRow(reg: Registry, id: string): RunRecord | null {
  return reg.get<RunRecord>('read run', 'SELECT * FROM runs WHERE run_id = ?', [id]) ?? null;
}

function params(reg: Registry, id: string): Record<string, string | null> {
  return Object.fromEntries(reg.all<{ key: string; value: string | null }>('read params', 'SELECT key, value FROM params WHERE run_id = ? ORDER BY key', [id]).map((p) => [p.key, p.value]));
}

function runNode(reg: Registry, r: RunRecord): RunNode {
  return { ...runRef(r), error: r.error, params: params(reg, r.run_id) };
}

/** A run as read: 'abandoned' when it was left 'running' by a process that is gone (runs-query's rule). */
type AsRead = (run: RunRecord) => RunRecord;

function readStatus(reg: Registry, gone?: RunnerGoneCheck): AsRead {
  const abandoned = new Set(abandonedRunIds(reg, gone, true));
  return (run) => (run.status === 'running' && abandoned.has(run.run_id) ? { ...run, status: 'abandoned' as RunRecord['status'] } : run);
}

/** The runs that used a snapshot in a role, oldest first. */
function runsOf(reg: Registry, snapshotId: number, role: 'read' | 'wrote', asRead: AsRead): RunRecord[] {
  return reg.all<RunRecord>('read lineage', 'SELECT r.* FROM run_snapshots s JOIN runs r USING (run_id) WHERE s.snapshot_id = ? AND s.role = ? ORDER BY r.started_at, r.rowid', [snapshotId, role]).map(asRead);
}

function snapshotNode(reg: Registry, s: SnapshotRecord, asRead: AsRead): SnapshotNode {
  const writer = runsOf(reg, s.id, 'wrote', asRead)[0];
  return { ...snapRef(s), parent_id: s.parent_id, source: s.source, written_by: writer === undefined ? null : runRef(writer) };
}

/** The source manifest of a prices snapshot: the one its ingest run recorded (a compaction's: its parent's),
 * else what the snapshot's source names. */
function sourceOf(reg: Registry, snapshot: SnapshotNode, files: number, asRead: AsRead): SourceNode | null {
  let prices = snapshot;
  // A compaction holds its parent's rows in fewer files: the data came from the parent's source.
  for (let hops = 0; prices.operation === 'compact' && prices.parent_id !== null && hops < 1000; hops++) {
    const parent = getSnapshot(reg, prices.parent_id);
    if (parent === null) break;
    prices = snapshotNode(reg, parent, asRead);
  }
  const ingest = prices.written_by;
  const hash = ingest === null ? null : (reg.get<{ value: string | null }>('read params', "SELECT value FROM params WHERE run_id = ? AND key = 'data.source_manifest'", [ingest.run_id])?.value ?? null);
  const first = hash?.split(',')[0] ?? null;
  const dv = first === null ? undefined : reg.get<{ hash: string; path: string | null; rows: number | null; details: string | null }>('read data version', 'SELECT hash, path, rows, details FROM data_versions WHERE hash = ?', [first]);
  if (dv === undefined && prices.source === null) return null;
  const d = (dv?.details ? JSON.parse(dv.details) : {}) as Record<string, unknown>;
  const src = prices.source ?? {};
  const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
  const list = Array.isArray(d.files) ? (d.files as ManifestFileRef[]) : [];
  return {
    manifest_hash: dv?.hash ?? null, path: dv?.path ?? null,
    source: str(d.source) ?? str(src.source), source_spec: str(d.source_spec) ?? str(src.spec), source_version: str(d.source_version),
    fetched_at: str(d.fetched_at), root: str(d.root) ?? str(src.root), bytes: intOf(d.bytes), rows: dv?.rows ?? null,
    files_total: dv === undefined ? null : list.length, files: list.slice(0, files), ingest_run: ingest,
  };
}

function lineageParams(reg: Registry, runId: string | null): { features: number | null; prices: number | null } {
  if (runId === null) return { features: null, prices: null };
  const p = params(reg, runId);
  return { features: intOf(p['data.features_snapshot']), prices: intOf(p['data.prices_snapshot']) };
}

/** model → run → features snapshot → prices snapshot → source manifest. SP_ERR_LINEAGE_NOT_FOUND for an unknown id or alias. */
export function modelLineageDoc(reg: Registry, idOrAlias: string, opts: { files?: number; gone?: RunnerGoneCheck } = {}): ModelLineageDoc {
  const m = reg.findModel(idOrAlias);
  if (m === null) {
    // champion and forecast_champion always exist as names: empty, they are not "no alias" (whose hint, models list, shows no way to fill them).
    const family = FIXED_ALIAS_FAMILIES[idOrAlias];
    if (family !== undefined) {
      throw new StockpipeError('SP_ERR_LINEAGE_NOT_FOUND', `the alias '${idOrAlias}' names no model yet in ${reg.file}`, {
        hint: family === 'forecast'
          ? 'Train a day-ahead model: `stockpipe features --extended`, then `stockpipe train --task forecast` (an empty forecast_champion takes it); or promote one with `stockpipe models promote <id>`.'
          : 'Train a volume model: `stockpipe train` (an empty champion takes it); or promote one with `stockpipe models promote <id>`.',
      });
    }
    throw new StockpipeError('SP_ERR_LINEAGE_NOT_FOUND', `no model version or alias '${clip(idOrAlias)}' in ${reg.file}`, { hint: 'List them with `stockpipe models list`.' });
  }
  const asRead = readStatus(reg, opts.gone);
  const missing: string[] = [];
  const row = m.run_id === null ? null : runRow(reg, m.run_id);
  const run = row === null ? null : asRead(row);
  if (run === null) missing.push('run');
  const ids = lineageParams(reg, m.run_id);
  const feat = ids.features === null ? null : getSnapshot(reg, ids.features);
  if (feat === null) missing.push('features_snapshot');
  const pricesId = ids.prices ?? intOf(feat?.source?.prices_snapshot);
  const prices = pricesId === null ? null : getSnapshot(reg, pricesId);
  if (prices === null) missing.push('prices_snapshot');
  const pricesNode = prices === null ? null : snapshotNode(reg, prices, asRead);
  const source = pricesNode === null ? null : sourceOf(reg, pricesNode, opts.files ?? DEFAULT_FILES, asRead);
  if (source?.manifest_hash == null) missing.push('source_manifest');
  return {
    model: { ...modelRef(m), data_hash: m.data_hash, path: m.path },
    run: run === null ? null : runNode(reg, run),
    features_snapshot: feat === null ? null : snapshotNode(reg, feat, asRead),
    prices_snapshot: pricesNode, source, missing,
  };
}

/** Parses a snapshot id as given (SP_ERR_USAGE unless a whole number ≥ 1). */
export function parseSnapshotId(text: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) throw new StockpipeError('SP_ERR_USAGE', `snapshot id '${clip(text)}' is not a whole number ≥ 1`, { hint: 'Snapshot ids come from `stockpipe snapshots`, e.g. 12.' });
  return Number(text);
}

/** A snapshot with who wrote and read it, what it was built from and what was built from it, and the models trained on it. */
export function snapshotLineageDoc(reg: Registry, id: number, opts: { files?: number; gone?: RunnerGoneCheck } = {}): SnapshotLineageDoc {
  const s = getSnapshot(reg, id);
  if (s === null) throw new StockpipeError('SP_ERR_LINEAGE_NOT_FOUND', `no snapshot ${id} in ${reg.file}`, { hint: 'List them with `stockpipe snapshots`.' });
  const asRead = readStatus(reg, opts.gone);
  const node = snapshotNode(reg, s, asRead);
  const parent = s.parent_id === null ? null : getSnapshot(reg, s.parent_id);
  const fromId = s.table === 'features' ? intOf(s.source?.prices_snapshot) : null;
  const from = fromId === null ? null : getSnapshot(reg, fromId);
  const derived = s.table !== 'prices' ? [] : reg
    .all<{ snapshot_id: number }>('read lineage', "SELECT snapshot_id FROM table_snapshots WHERE table_name = 'features' AND json_extract(source, '$.prices_snapshot') = ? ORDER BY snapshot_id", [id])
    .map((r) => snapRef(getSnapshot(reg, r.snapshot_id)!));
  const key = s.table === 'prices' ? 'data.prices_snapshot' : 'data.features_snapshot';
  const trained = reg.all<{ model_id: string }>('read lineage', `SELECT m.model_id FROM model_versions m JOIN params p ON p.run_id = m.run_id AND p.key = ? AND p.value = ? ORDER BY m.created_at, m.rowid`, [key, String(id)]);
  const models: TrainedOn[] = [];
  for (const { model_id } of trained) {
    const m = reg.findModel(model_id);
    if (m === null) continue;
    models.push({ ...modelRef(m), via: s.table === 'prices' ? 'prices' : 'features', features_snapshot: lineageParams(reg, m.run_id).features });
  }
  return {
    snapshot: node, parent: parent === null ? null : snapRef(parent), built_from: from === null ? null : snapRef(from), derived,
    read_by: runsOf(reg, id, 'read', asRead).map(runRef), source: s.table === 'prices' ? sourceOf(reg, node, opts.files ?? DEFAULT_FILES, asRead) : null, models,
  };
}

/**
 * A run with its parent and children, the snapshots it read and wrote, the models it registered. Here as in
 * the model's and the snapshot's documents, a run left 'running' by a process that is gone reads 'abandoned'.
 */
export function runLineageDoc(reg: Registry, id: string, opts: { files?: number; gone?: RunnerGoneCheck } = {}): RunLineageDoc {
  const asRead = readStatus(reg, opts.gone);
  const row = runRow(reg, id);
  if (row === null) throw new StockpipeError('SP_ERR_LINEAGE_NOT_FOUND', `no run '${clip(id)}' in ${reg.file}`, { hint: 'List runs with `stockpipe runs list --kind all`.' });
  const r = asRead(row);
  const snaps = (role: 'read' | 'wrote'): SnapshotRef[] => reg
    .all<{ snapshot_id: number }>('read lineage', 'SELECT snapshot_id FROM run_snapshots WHERE run_id = ? AND role = ? ORDER BY snapshot_id', [id, role])
    .flatMap((x) => { const s = getSnapshot(reg, x.snapshot_id); return s === null ? [] : [snapRef(s)]; });
  const parentRow = r.parent_run_id === null ? null : runRow(reg, r.parent_run_id);
  const parent = parentRow === null ? null : asRead(parentRow);
  const children = reg.all<RunRecord>('read runs', 'SELECT * FROM runs WHERE parent_run_id = ? ORDER BY started_at, rowid', [id]).map((c) => runRef(asRead(c)));
  const models = reg.all<{ model_id: string }>('read models', 'SELECT model_id FROM model_versions WHERE run_id = ? ORDER BY created_at', [id])
    .flatMap((x) => { const m = reg.findModel(x.model_id); return m === null ? [] : [modelRef(m)]; });
  const wrote = snaps('wrote');
  const prices = wrote.find((s) => s.table === 'prices');
  return {
    run: runNode(reg, r), parent: parent === null ? null : runRef(parent), children, read: snaps('read'), wrote, models,
    source: prices === undefined ? null : sourceOf(reg, snapshotNode(reg, getSnapshot(reg, prices.id)!, asRead), opts.files ?? DEFAULT_FILES, asRead),
  };
}
