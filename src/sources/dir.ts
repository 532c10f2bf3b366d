/** @module sources/dir
 * `dir:PATH` — an already unpacked dataset, read in place (never copied). The manifest records
 * each file's size and mtime, and its sha256 and row count with --checksum. */
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { hashJson, statOrNull } from '../core/fs.js';
import { readManifest, saveFetched } from './manifest.js';
import type { FetchContext, FetchResult, Manifest, ManifestFile, Source } from './types.js';

/** Lists every file below `root` (relative paths, sorted), skipping dot files. */
export async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) out.push(relative(root, full));
    }
  };
  await walk(root);
  return out.sort();
}

/** sha256 and data-row count (newlines after the header) of one file, in one streamed read. */
export async function hashAndCountRows(path: string): Promise<{ sha256: string; rows: number }> {
  const hash = createHash('sha256');
  let newlines = 0;
  let last = 0x0a;
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
    let i = buf.indexOf(0x0a);
    while (i >= 0) {
      newlines++;
      i = buf.indexOf(0x0a, i + 1);
    }
    last = buf[buf.length - 1] ?? last;
  }
  const lines = newlines + (size > 0 && last !== 0x0a ? 1 : 0);
  return { sha256: hash.digest('hex'), rows: Math.max(0, lines - 1) };
}

export function dirSource(path: string): Source {
  const root = resolve(path);
  return {
    id: 'dir',
    async fetch(ctx: FetchContext): Promise<FetchResult> {
      const st = await statOrNull(root);
      if (!st || !st.isDirectory()) {
        throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `dir source: ${root} is not a folder`, { hint: 'Pass dir:PATH with the folder that holds stocks/ and etfs/ (and symbols_valid_meta.csv).' });
      }
      const paths = await listFiles(root);
      if (!paths.some((p) => /(^|\/)(stocks|etfs)\/[^/]+\.csv$/i.test(p))) {
        throw new StockpipeError('SP_ERR_SOURCE_LAYOUT', `dir source: ${root} has no stocks/*.csv or etfs/*.csv (${paths.length} files seen)`);
      }
      ctx.progress.start('scan', paths.length);
      const files: ManifestFile[] = [];
      for (const [i, p] of paths.entries()) {
        const s = await stat(join(root, p));
        const f: ManifestFile = { path: p, size: s.size, mtime_ms: Math.floor(s.mtimeMs), sha256: null, rows: null };
        if (ctx.checksum) Object.assign(f, await hashAndCountRows(join(root, p)));
        files.push(f);
        ctx.progress.update(i + 1);
      }
      ctx.progress.stop();
      const version = `files:${hashJson(files.map((f) => [f.path, f.size, f.mtime_ms, f.sha256]))}`;
      const prev = await readManifest(ctx.workspace, 'dir');
      const cached = prev !== null && prev.root === root && prev.source_version === version;
      const manifest: Manifest = cached
        ? prev
        : {
            format: 1,
            source: 'dir',
            source_spec: `dir:${root}`,
            source_version: version,
            fetched_at: ctx.now().toISOString(),
            layout: 'dir',
            root,
            files,
            bytes: files.reduce((s, f) => s + f.size, 0),
          };
      return saveFetched(ctx.workspace, ctx.now(), manifest, cached);
    },
  };
}
