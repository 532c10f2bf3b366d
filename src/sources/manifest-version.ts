/** @module sources/manifest-version
 * A fetched source's manifest as a data version for lineage (`stockpipe lineage`): hashed over what
 * identifies the data (source, version, root, layout, each file's path, size, sha256 and rows; not the
 * fetch time), so an unchanged source is one version however often it is fetched; its details keep the
 * file list, so a model's lineage still names the files after the manifest on disk moved on. */
import { createHash } from 'node:crypto';
import type { Workspace } from '../core/workspace.js';
import type { DataVersionInput } from '../registry/types.js';
import { readManifest } from './manifest.js';
import type { Manifest } from './types.js';

/** The data version of a manifest (pure). */
export function manifestVersion(m: Manifest, path: string): DataVersionInput {
  const files = m.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256, rows: f.rows }));
  const identity = { source: m.source, source_version: m.source_version, root: m.root, layout: m.layout, files };
  const hash = createHash('sha256').update(JSON.stringify(identity)).digest('hex');
  const counted = files.every((f) => f.rows !== null);
  return {
    hash, kind: 'raw', path, rows: counted ? files.reduce((n, f) => n + (f.rows ?? 0), 0) : undefined,
    details: { source: m.source, source_spec: m.source_spec, source_version: m.source_version, fetched_at: m.fetched_at, root: m.root, layout: m.layout, bytes: m.bytes, files },
  };
}

/** The data version of the workspace's manifest of `sourceId`, or null when it was never fetched. */
export async function manifestVersionOf(ws: Workspace, sourceId: string): Promise<DataVersionInput | null> {
  const m = await readManifest(ws, sourceId);
  return m === null ? null : manifestVersion(m, ws.relative(ws.manifest(sourceId)));
}
