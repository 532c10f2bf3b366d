/** @module sources/dir
 * `dir:PATH` — an already unpacked dataset, read in place (never copied). The manifest records
 * each file's size and mtime, and its sha256 and row count with --checksum. Symlinks (as DVC and
 * git-annex leave them) are followed, inside the folder or out; what cannot be followed is listed
 * as skipped with its reason, never dropped silently. */
import { accessSync, constants, createReadStream, type Dirent, existsSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { hashJson, statOrNull } from '../core/fs.js';
import { holdsBarsFile, noBarsFileHint, readManifest, saveFetched } from './manifest.js';
import type { FetchContext, FetchResult, Manifest, ManifestFile, SkippedFile, Source } from './types.js';

export interface FolderScan {
  /** Files below the root (relative paths, sorted); `real` is the resolved path when a symlink leads there. */
  files: { path: string; real?: string }[];
  skipped: SkippedFile[];
}

function skipReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'broken symlink: its target does not exist';
  if (code === 'ELOOP') return 'symlink loop';
  return `cannot be read (${code ?? String(err)})`;
}

/** Why this user cannot read `path` (a code such as EACCES), or null when it can. */
function readError(path: string): unknown {
  try {
    accessSync(path, constants.R_OK);
    return null;
  } catch (err) {
    return err;
  }
}

/**
 * Walks `root`, skipping dot files (reported when named *.csv). Symlinks to files and folders are
 * followed; a broken link, a link loop, a link to an enclosing folder, or anything neither file nor
 * folder is skipped, as is a file or folder this user may not read (a `lost+found`, a file of another
 * user's with mode 600); the root itself unreadable is SP_ERR_SOURCE_NOT_FOUND.
 */
export async function scanFolder(root: string): Promise<FolderScan> {
  const files: FolderScan['files'] = [];
  const skipped: SkippedFile[] = [];
  const walk = async (dir: string, ancestors: readonly string[], viaLink: boolean): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (dir === root) throw new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `dir source: cannot read ${root}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { hint: 'Make the folder readable by this user (chmod a+rx), or pass dir:PATH with another one.', cause: err });
      skipped.push({ path: relative(root, dir), reason: skipReason(err) });
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      const path = relative(root, full);
      if (e.name.startsWith('.')) {
        // Dot entries are not read (.DS_Store, .git, macOS' ._X.csv); one named like a CSV is reported, not dropped silently.
        if (e.name.toLowerCase().endsWith('.csv')) skipped.push({ path, reason: 'hidden (dot) file: not read' });
        continue;
      }
      // A name that is not UTF-8 (a Latin-1 é) comes back with U+FFFD in its place: no path names it.
      if (e.name.includes('\uFFFD') && !existsSync(full)) {
        skipped.push({ path, reason: 'its name is not valid UTF-8: cannot be read (rename it)' });
        continue;
      }
      // DT_UNKNOWN (some file systems) looks like neither file nor folder: stat decides.
      const plain = !e.isSymbolicLink() && (e.isFile() || e.isDirectory());
      const link = e.isSymbolicLink() || viaLink;
      let isDir = e.isDirectory();
      if (!plain) {
        const st = await stat(full).catch((err: unknown) => err as Error);
        if (st instanceof Error) {
          skipped.push({ path, reason: skipReason(st) });
          continue;
        }
        if (!st.isFile() && !st.isDirectory()) {
          skipped.push({ path, reason: 'not a regular file or folder' });
          continue;
        }
        isDir = st.isDirectory();
      }
      if (isDir) {
        const real = await realpath(full);
        if (ancestors.includes(real)) {
          skipped.push({ path, reason: `symlink loop: leads back to ${real}` });
          continue;
        }
        await walk(full, [...ancestors, real], link);
        continue;
      }
      const denied = readError(full);
      if (denied !== null) skipped.push({ path, reason: skipReason(denied) });
      else files.push(link ? { path, real: await realpath(full) } : { path });
    }
  };
  await walk(root, [await realpath(root)], false);
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  skipped.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, skipped };
}

/** Lists every file below `root` (relative paths, sorted), skipping dot files; see scanFolder. */
export async function listFiles(root: string): Promise<string[]> {
  return (await scanFolder(root)).files.map((f) => f.path);
}

/**
 * sha256 and data-row count (line ends after the header: LF, CRLF, or a CR alone, as in the classic Mac
 * files ingest reads) of one file, in one streamed read.
 */
export async function hashAndCountRows(path: string): Promise<{ sha256: string; rows: number }> {
  const hash = createHash('sha256');
  let lineEnds = 0;
  let last = 0x0a;
  let size = 0;
  /** The previous chunk ended in a CR: a line end unless this chunk starts with its LF. */
  let pendingCr = false;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    if (buf.length === 0) continue;
    hash.update(buf);
    size += buf.length;
    if (pendingCr && buf[0] !== 0x0a) lineEnds++;
    let i = buf.indexOf(0x0a);
    while (i >= 0) {
      lineEnds++;
      i = buf.indexOf(0x0a, i + 1);
    }
    // A CR not followed by an LF ends a line too (a CRLF was counted by its LF).
    i = buf.indexOf(0x0d);
    while (i >= 0 && i < buf.length - 1) {
      if (buf[i + 1] !== 0x0a) lineEnds++;
      i = buf.indexOf(0x0d, i + 1);
    }
    pendingCr = buf[buf.length - 1] === 0x0d;
    last = buf[buf.length - 1]!;
  }
  if (pendingCr) lineEnds++;
  const lines = lineEnds + (size > 0 && last !== 0x0a && last !== 0x0d ? 1 : 0);
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
      const scan = await scanFolder(root);
      const paths = scan.files.map((f) => f.path);
      for (const s of scan.skipped) ctx.log.warn({ path: join(root, s.path), reason: s.reason }, 'dir source: skipped');
      if (!holdsBarsFile(paths)) {
        const skips = scan.skipped.length > 0 ? `; skipped ${scan.skipped.map((s) => `${s.path} (${s.reason})`).join(', ')}` : '';
        throw new StockpipeError('SP_ERR_SOURCE_LAYOUT', `dir source: ${root} has no stocks/*.csv or etfs/*.csv (${paths.length} files seen${skips})`, { hint: noBarsFileHint(paths) });
      }
      ctx.progress.start('scan', paths.length);
      const files: ManifestFile[] = [];
      for (const [i, { path: p, real }] of scan.files.entries()) {
        // Synchronous: one await per file was a round trip through libuv's pool each (8,000 files: 0.3 s).
        const s = statSync(join(root, p));
        const f: ManifestFile = { path: p, size: s.size, mtime_ms: Math.floor(s.mtimeMs), sha256: null, rows: null, ...(real === undefined ? {} : { real_path: real }) };
        if (ctx.checksum) Object.assign(f, await hashAndCountRows(join(root, p)));
        files.push(f);
        ctx.progress.update(i + 1);
      }
      ctx.progress.stop();
      // Real paths and skips join the hash only when present (unchanged versions for plain folders).
      const version = `files:${hashJson(files.map((f) => (f.real_path === undefined ? [f.path, f.size, f.mtime_ms, f.sha256] : [f.path, f.size, f.mtime_ms, f.sha256, f.real_path])))}${scan.skipped.length > 0 ? `:skipped:${hashJson(scan.skipped)}` : ''}`;
      const prev = await readManifest(ctx.ws, 'dir');
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
            ...(scan.skipped.length > 0 ? { skipped: scan.skipped } : {}),
          };
      return saveFetched(ctx.ws, ctx.now(), manifest, cached);
    },
  };
}
