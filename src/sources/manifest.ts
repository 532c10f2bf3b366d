/** @module sources/manifest
 * Reading and writing raw/<source-id>/manifest.json, and finding the newest fetched source; whether a
 * source's files hold a bars file as ingest reads them (etl/layout), and the hint when none is. */
import { readFile, readdir } from 'node:fs/promises';
import { StockpipeError } from '../core/errors.js';
import { statOrNull, writeFileAtomic } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import type { FetchResult, Manifest } from './types.js';

/** What a source's bars file holds: a stock's or an ETF's daily bars. */
export type Asset = 'stock' | 'etf';

/**
 * The symbol and asset of a bars file as ingest reads one (etl/layout's classifyFiles), or null for another file:
 * `<…>/stocks/<SYMBOL>.csv` or `etfs/`, the folder named exactly so, `.csv` in any case, a symbol of at least one
 * character (BCV-A style names kept). A dot file or one in a dot folder (macOS' ._X.csv, .Trash/) is not one, as a
 * folder source skips them (sources/dir): an archive lists them too.
 */
export function barsFileOf(path: string): { symbol: string; asset: Asset } | null {
  const parts = path.split(/[\\/]/);
  const base = parts[parts.length - 1] ?? '';
  const folder = parts[parts.length - 2];
  if (!base.toLowerCase().endsWith('.csv') || (folder !== 'stocks' && folder !== 'etfs') || base.length <= 4 || parts.some((p) => p.startsWith('.'))) return null;
  return { symbol: base.slice(0, -4), asset: folder === 'stocks' ? 'stock' : 'etf' };
}

/** Whether `paths` (a source's files, relative) hold a bars file that ingest reads. */
export function holdsBarsFile(paths: readonly string[]): boolean {
  return paths.some((p) => barsFileOf(p) !== null);
}

/**
 * The hint for a source whose files hold no bars file ingest reads: a folder named stocks/ or etfs/ in
 * another case (`Stocks/`, `ETFs/`: a copy made on Windows or macOS) is named, as it is not read.
 */
export function noBarsFileHint(paths: readonly string[]): string {
  for (const p of paths) {
    const parts = p.split(/[/\\]/);
    const folder = parts[parts.length - 2];
    if (folder !== undefined && folder !== 'stocks' && folder !== 'etfs' && /^(stocks|etfs)$/i.test(folder)) {
      const at = [...parts.slice(0, -2), folder].join('/');
      return `Folder names are read as written: rename ${at}/ to ${[...parts.slice(0, -2), folder.toLowerCase()].join('/')}/ (stockpipe reads stocks/ and etfs/), then fetch again.`;
    }
  }
  return 'Point the source at the folder (or zip) that contains stocks/ and etfs/.';
}

/** Writes the manifest atomically and returns its path. */
export async function writeManifest(ws: Workspace, manifest: Manifest): Promise<string> {
  const path = ws.manifest(manifest.source);
  await writeFileAtomic(path, `${JSON.stringify(manifest, null, 2)}\n`);
  return path;
}

/**
 * Writes a read-in-place source's manifest stamped with the fetch time (also when nothing
 * changed, so ingest picks the source fetched last) and returns the fetch result.
 */
export async function saveFetched(ws: Workspace, now: Date, manifest: Manifest, cached: boolean): Promise<FetchResult> {
  const stamped = { ...manifest, fetched_at: now.toISOString() };
  const manifestPath = await writeManifest(ws, stamped);
  return { manifest: stamped, manifestPath, cached };
}

/** Reads one source's manifest, or null when that source was never fetched. */
export async function readManifest(ws: Workspace, sourceId: string): Promise<Manifest | null> {
  const path = ws.manifest(sourceId);
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
export async function latestManifest(ws: Workspace, sourceId?: string): Promise<Manifest> {
  if (sourceId !== undefined) {
    const m = await readManifest(ws, sourceId);
    if (m === null) {
      // `ingest --from` takes a fetched source's id (its folder under raw/), not a --source spec such as dir:PATH.
      const fetched = await fetchedIds(ws);
      throw new StockpipeError('SP_ERR_NO_RAW_DATA', `source '${sourceId}' was never fetched into ${ws.rawRoot}`, {
        hint:
          fetched.length > 0
            ? `--from takes the id of a fetched source (its folder under raw/): ${fetched.join(', ')}, e.g. \`stockpipe ingest --from ${fetched[0]}\`; fetch another first (\`stockpipe fetch --source S\`).`
            : 'Run `stockpipe fetch` first (the default source is synthetic).',
      });
    }
    return m;
  }
  let best: Manifest | null = null;
  for (const id of await fetchedIds(ws)) {
    const m = await readManifest(ws, id);
    if (m && (best === null || m.fetched_at > best.fetched_at)) best = m;
  }
  if (best === null) throw new StockpipeError('SP_ERR_NO_RAW_DATA', `no fetched source in ${ws.rawRoot}`);
  return best;
}

/** The ids of the sources fetched into the workspace (folders under raw/ holding a manifest.json), sorted. */
async function fetchedIds(ws: Workspace): Promise<string[]> {
  let ids: string[] = [];
  try {
    ids = await readdir(ws.rawRoot);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const out: string[] = [];
  for (const id of ids.sort()) if (await statOrNull(ws.manifest(id))) out.push(id);
  return out;
}
