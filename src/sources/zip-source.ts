/** @module sources/zip-source
 * `zip:PATH` — the downloaded Kaggle archive, read in place by streaming its entries (ingest
 * inflates one CSV at a time); it is never unpacked to disk or loaded whole into memory. */
import { resolve } from 'node:path';
import { clip, StockpipeError } from '../core/errors.js';
import { sha256File, statOrNull } from '../core/fs.js';
import { holdsBarsFile, noBarsFileHint, readManifest, saveFetched } from './manifest.js';
import type { FetchContext, FetchResult, Manifest, Source } from './types.js';
import { listZipEntries } from './zip.js';

export function zipSource(path: string): Source {
  const root = resolve(path);
  return {
    id: 'zip',
    async fetch(ctx: FetchContext): Promise<FetchResult> {
      const st = await statOrNull(root);
      if (!st || !st.isFile()) throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `zip source: ${root} is not a file`, { hint: 'Pass zip:PATH with the downloaded archive (e.g. archive.zip).' });
      const archiveHash = ctx.checksum ? await sha256File(root) : null;
      const version = `archive:${st.size}:${Math.floor(st.mtimeMs)}${archiveHash ? `:${archiveHash}` : ''}`;
      const prev = await readManifest(ctx.ws, 'zip');
      let manifest: Manifest;
      const cached = prev !== null && prev.root === root && prev.source_version === version;
      if (cached) manifest = prev;
      else {
        const all = await listZipEntries(root);
        // A symlink entry holds its target's path, not CSV: reported as skipped (as a folder source
        // reports what it cannot follow), never read as a file.
        const entries = all.filter((e) => e.symlink !== true);
        const skipped = all.filter((e) => e.symlink === true).map((e) => ({ path: e.name, reason: 'symlink entry: not followed in an archive' }));
        for (const s of skipped) ctx.log.warn({ path: s.path, reason: s.reason }, 'zip source: skipped');
        // Ingest reads an entry by its name: of two entries named alike it would read the last one twice
        // and never the first (unzip asks which to keep). Refuse rather than guess.
        const seen = new Set<string>();
        for (const e of all) {
          if (seen.has(e.name)) {
            throw new StockpipeError('SP_ERR_ZIP_CORRUPT', `zip source: ${root} holds two entries named ${clip(e.name, 100)}`, {
              hint: 'Download the archive again, or rebuild it with one entry per file (stockpipe does not choose between them).',
            });
          }
          seen.add(e.name);
        }
        if (!holdsBarsFile(entries.map((e) => e.name))) {
          throw new StockpipeError('SP_ERR_SOURCE_LAYOUT', `zip source: ${root} has no stocks/*.csv or etfs/*.csv entries (${entries.length} entries)`, { hint: noBarsFileHint(entries.map((e) => e.name)) });
        }
        manifest = {
          format: 1,
          source: 'zip',
          source_spec: `zip:${root}`,
          source_version: version,
          fetched_at: ctx.now().toISOString(),
          layout: 'zip',
          root,
          files: entries.map((e) => ({ path: e.name, size: e.size, mtime_ms: e.mtimeMs, sha256: null, rows: null })),
          bytes: entries.reduce((s, e) => s + e.size, 0),
          ...(skipped.length > 0 ? { skipped } : {}),
        };
      }
      return saveFetched(ctx.ws, ctx.now(), manifest, cached);
    },
  };
}
