/** @module sources/manifest
 * Reading and writing raw/<source-id>/manifest.json, and finding the newest fetched source. */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { statOrNull, writeFileAtomic } from '../core/fs.js';
import type { FetchResult, Manifest } from './types.js';

export function rawDir(workspace: string, sourceId: string): string {
  return join(workspace, 'raw', sourceId);
}

export function manifestPath(workspace: string, sourceId: string): string {
  return join(rawDir(workspace, sourceId), 'manifest.json');
}

/** Writes the manifest atomically and returns its path. */
export async function writeManifest(workspace: string, manifest: Manifest): Promise<string> {
  const path = manifestPath(workspace, manifest.source);
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}

/**
 * Writes a read-in-place source's manifest stamped with the fetch time (also when nothing
 * changed, so ingest picks the source fetched last) and returns the fetch result.
 */
export async function saveFetched(workspace: string, now: Date, manifest: Manifest, cached: boolean): Promise<FetchResult> {
  const stamped = { ...manifest, fetched_at: now.toISOString() };
  const manifestPath = await writeManifest(workspace, stamped);
  return { manifest: stamped, manifestPath, cached };
}

/** Reads one source's manifest, or null when that source was never fetched. */
export async function readManifest(workspace: string, sourceId: string): Promise<Manifest | null> {
  const path = manifestPath(workspace, sourceId);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  try {
    return JSON.parse(text) as Manifest;
  } catch (err) {
    throw new StockpipeError('SP_ERR_NO_RAW_DATA', `${path} is not valid JSON`, { hint: 'Run `stockpipe fetch` again to rewrite it.', cause: err });
  }
}

/** The most recently fetched source's manifest (by fetched_at), or the named one. */
export async function latestManifest(workspace: string, sourceId?: string): Promise<Manifest> {
  if (sourceId !== undefined) {
    const m = await readManifest(workspace, sourceId);
    if (m === null) throw new StockpipeError('SP_ERR_NO_RAW_DATA', `source '${sourceId}' was never fetched into ${join(workspace, 'raw')}`);
    return m;
  }
  let ids: string[] = [];
  try {
    ids = await readdir(join(workspace, 'raw'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  let best: Manifest | null = null;
  for (const id of ids) {
    const p = manifestPath(workspace, id);
    if (!(await statOrNull(p))) continue;
    const m = await readManifest(workspace, id);
    if (m && (best === null || m.fetched_at > best.fetched_at)) best = m;
  }
  if (best === null) throw new StockpipeError('SP_ERR_NO_RAW_DATA', `no fetched source in ${join(workspace, 'raw')}`);
  return best;
}
