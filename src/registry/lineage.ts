/** @module registry/lineage
 * The store snapshots registered models were trained on (docs/store.md): each training run records
 * `data.features_snapshot` and `data.prices_snapshot` as params (ml/train-run); `models show` and
 * vacuum (which must keep those snapshots readable) read them back here. */
import { getSnapshot } from './catalog.js';
import type { Registry } from './store.js';

/** A model's data lineage: the features snapshot it read and the prices snapshot that one was built from. */
export interface ModelLineage {
  features_snapshot: number | null;
  prices_snapshot: number | null;
}

const num = (v: string | null | undefined): number | null => {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : null;
};

/** The lineage of one registered model (nulls when its run recorded none: trained before the store). */
export function modelLineage(reg: Registry, runId: string | null): ModelLineage {
  if (runId === null) return { features_snapshot: null, prices_snapshot: null };
  const rows = reg.all<{ key: string; value: string | null }>('read model lineage', "SELECT key, value FROM params WHERE run_id = ? AND key IN ('data.features_snapshot', 'data.prices_snapshot')", [runId]);
  const get = (k: string): number | null => num(rows.find((r) => r.key === k)?.value);
  return { features_snapshot: get('data.features_snapshot'), prices_snapshot: get('data.prices_snapshot') };
}

/** Every snapshot id some registered model's lineage names (features and prices). */
export function lineageSnapshotIds(reg: Registry): Set<number> {
  const rows = reg.all<{ value: string | null }>(
    'read model lineages',
    "SELECT p.value FROM params p JOIN model_versions m ON m.run_id = p.run_id WHERE p.key IN ('data.features_snapshot', 'data.prices_snapshot')",
  );
  const out = new Set<number>();
  for (const r of rows) {
    const n = num(r.value);
    if (n !== null) out.add(n);
  }
  return out;
}

/** The features snapshots tuning studies that are not complete tune on (running, stopped, failed:
 * each resumable, and `--resume` reads its own snapshot again). Vacuum keeps them with the models'. */
export function openStudySnapshotIds(reg: Registry): Set<number> {
  const rows = reg.all<{ value: unknown }>('read unfinished studies', "SELECT json_extract(settings, '$.data.features_snapshot') AS value FROM studies WHERE state <> 'complete'");
  const out = new Set<number>();
  for (const r of rows) if (typeof r.value === 'number' && Number.isInteger(r.value)) out.add(r.value);
  return out;
}

/** How the features snapshot `id` was built, as its writer recorded it (code version, window, extended), less the prices
 * snapshot it read: {} when unrecorded (no snapshot, or one written before builds recorded it). */
export function featuresSnapshotBuild(reg: Registry, id: number): Record<string, unknown> {
  const { prices_snapshot: _read, ...build } = getSnapshot(reg, id)?.source ?? {};
  return build;
}

/** The rolling window (`features --window`) the features snapshot `id` was built with, as its build recorded it; null when
 * unknown. A model trained on one window reads its two inputs with another meaning on features of another window. */
export function featuresWindow(reg: Registry, id: number | null): number | null {
  if (id === null) return null;
  const w = featuresSnapshotBuild(reg, id).window;
  return typeof w === 'number' && Number.isSafeInteger(w) ? w : null;
}
