/** @module dashboard/client/api-lineage
 * The lineage documents (GET /lineage/model|run|snapshot/:id, the same as `stockpipe lineage --json`)
 * as the lineage view reads them. */
import { getJson } from './api.js';

export interface RunRef { run_id: string; kind: string; name: string | null; status: string; started_at: string; ended_at: string | null; parent_run_id: string | null }
export interface RunNode extends RunRef { error: string | null; params: Record<string, string | null> }
export interface SnapshotRef { id: number; table: string; created_at: string; operation: string; rows: number; files: number }
export interface SnapshotNode extends SnapshotRef { parent_id: number | null; source: Record<string, unknown> | null; written_by: RunRef | null }
export interface ModelRef { id: string; kind: string; created_at: string; aliases: string[]; run_id: string | null }
export interface SourceNode {
  manifest_hash: string | null; path: string | null; source: string | null; source_spec: string | null; source_version: string | null; fetched_at: string | null;
  root: string | null; bytes: number | null; rows: number | null; files_total: number | null;
  files: { path: string; size: number; sha256: string | null; rows: number | null }[]; ingest_run: RunRef | null;
}
export interface ModelLineage { model: ModelRef & { data_hash: string | null; path: string }; run: RunNode | null; features_snapshot: SnapshotNode | null; prices_snapshot: SnapshotNode | null; source: SourceNode | null; missing: string[] }
export interface SnapshotLineage {
  snapshot: SnapshotNode; parent: SnapshotRef | null; built_from: SnapshotRef | null; derived: SnapshotRef[]; read_by: RunRef[]; source: SourceNode | null;
  models: (ModelRef & { via: 'features' | 'prices'; features_snapshot: number | null })[];
}
export interface RunLineage { run: RunNode; parent: RunRef | null; children: RunRef[]; read: SnapshotRef[]; wrote: SnapshotRef[]; models: ModelRef[]; source: SourceNode | null }

const url = (kind: string, id: string | number, files: number): string => `/lineage/${kind}/${encodeURIComponent(String(id))}?files=${files}`;

export const getModelLineage = (id: string, files: number, signal?: AbortSignal): Promise<ModelLineage> => getJson(url('model', id, files), signal);
export const getRunLineage = (id: string, files: number, signal?: AbortSignal): Promise<RunLineage> => getJson(url('run', id, files), signal);
export const getSnapshotLineage = (id: string, files: number, signal?: AbortSignal): Promise<SnapshotLineage> => getJson(url('snapshot', id, files), signal);
