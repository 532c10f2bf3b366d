/** @module ml/rescore
 * Champion / challenger on new data: the alias holder's promotion metric measured on the candidate's
 * test rows (read from the candidate's metrics.json split), so registry/promote can compare the two
 * on the same rows when the data grew since the holder was tested. The data is loaded lazily from
 * the workspace's features table (or taken from the caller, who has it loaded already). */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB } from '../db/duckdb.js';
import { type AsOf } from '../registry/catalog.js';
import { readTable, type TableRead, sourceOf } from '../store/read.js';
import { type DataLineage, loadVolumeDataset, type VolumeDataset } from './dataset.js';
import { loadForecastFrame, type ForecastFrame } from './forecast-dataset.js';
import { forecastFromJSON } from './forecast-model.js';
import { scoreForecastOnTestSlice } from './forecast-train.js';
import { regressionMetrics } from './metrics/regression.js';
import { makeSlices } from './train.js';
import { predictRows, scorerFromJSON } from './volume-model.js';

interface RecordedSplit { split: { kind: 'time' | 'random'; test_from: string | null } }

/** A registered model as the re-scorer needs it (registry ModelVersion fits). */
export interface ModelFiles { id: string; kind: string; path: string }

export interface RescoreData {
  volume: () => Promise<VolumeDataset>;
  forecast: () => Promise<ForecastFrame>;
}

/** The features table is opened with the workspace's DuckDB settings (config threads and memory_limit). */
async function withDuck<T>(ws: Workspace, fn: (db: Awaited<ReturnType<typeof openDuckDB>>) => Promise<T>): Promise<T> {
  const db = await openDuckDB(ws.duckdbSettings());
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** The features table as of `asOf` (current when undefined); no snapshot → SP_ERR_TRAIN_DATA as before the store. */
export function featuresRead(ws: Workspace, asOf?: string | AsOf): TableRead {
  return readTable(ws, 'features', asOf, { missingCode: 'SP_ERR_TRAIN_DATA' });
}

/** The snapshots a read came from: the features snapshot and the prices snapshot it was built from (when its writer recorded it). */
export function lineageOf(t: TableRead): DataLineage {
  const p = t.snapshot.source?.prices_snapshot;
  return { features_snapshot: t.snapshot.id, prices_snapshot: typeof p === 'number' ? p : null };
}

/** How a table read is named in messages and model cards. */
export function readLabel(ws: Workspace, t: TableRead): string {
  return `${ws.relative(ws.tableDir(t.table))} @ snapshot ${t.snapshot.id}`;
}

/** The volume model rows of the workspace's features table as of `asOf` (current when undefined). */
export async function loadWorkspaceVolumeData(ws: Workspace, asOf?: string | AsOf): Promise<VolumeDataset> {
  const t = featuresRead(ws, asOf);
  return withDuck(ws, async (db) => ({ ...(await loadVolumeDataset(db.connection, sourceOf(t), readLabel(ws, t))), lineage: lineageOf(t) }));
}

/** The day-ahead model rows of the workspace's features table (built with --extended) as of `asOf`, dated up to `until` (a logical date) when given. */
export async function loadWorkspaceForecastData(ws: Workspace, asOf?: string | AsOf, until?: string): Promise<ForecastFrame> {
  const t = featuresRead(ws, asOf);
  return withDuck(ws, async (db) => ({ ...(await loadForecastFrame(db.connection, sourceOf(t), readLabel(ws, t), until)), lineage: lineageOf(t) }));
}

/** Loaders over the workspace that read at most once; `loaded` is data the caller holds already. */
export function workspaceData(ws: Workspace, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): RescoreData {
  let ds: Promise<VolumeDataset> | undefined = loaded.ds && Promise.resolve(loaded.ds);
  let frame: Promise<ForecastFrame> | undefined = loaded.frame && Promise.resolve(loaded.frame);
  return {
    volume: () => (ds ??= loadWorkspaceVolumeData(ws)),
    forecast: () => (frame ??= loadWorkspaceForecastData(ws)),
  };
}

/**
 * The holder's `metric` on the candidate's test slice, or undefined when the two are of different
 * families (a volume model against a forecast model: not comparable) or the metric is absent.
 */
export async function rescoreHolder(data: RescoreData, candidate: ModelFiles, holder: ModelFiles, metric: string): Promise<number | undefined> {
  if ((candidate.kind === 'forecast') !== (holder.kind === 'forecast')) return undefined;
  const { split } = JSON.parse(await readFile(join(candidate.path, 'metrics.json'), 'utf8')) as RecordedSplit;
  const holderFile = join(holder.path, 'model.json');
  const holderJson = await readFile(holderFile, 'utf8');
  let m: Record<string, number>;
  if (candidate.kind === 'forecast') {
    m = scoreForecastOnTestSlice(forecastFromJSON(holderJson, holderFile), await data.forecast(), split.test_from).metrics.forecast!;
  } else {
    const ds = await data.volume();
    const s = makeSlices(ds, split.kind, split.test_from ?? undefined);
    const y = Float64Array.from(s.test, (i) => ds.volume[i]!);
    m = regressionMetrics(y, predictRows(scorerFromJSON(holderJson, holderFile), ds.vma, ds.acm, s.test)) as unknown as Record<string, number>;
  }
  return m[metric];
}

/** A registry/promote HolderRescorer over `data`. */
export function holderRescorer(data: RescoreData): (candidate: ModelFiles, holder: ModelFiles, metric: string) => Promise<number | undefined> {
  return (candidate, holder, metric) => rescoreHolder(data, candidate, holder, metric);
}

/** registry/promote's re-scorer over the workspace's features table (reusing data the caller loaded already). */
export function workspaceRescorer(ws: Workspace, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): ReturnType<typeof holderRescorer> {
  return holderRescorer(workspaceData(ws, loaded));
}
