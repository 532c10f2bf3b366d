/** @module sources/zip
 * Reading zip archives with yauzl, entry by entry, straight from the file (ZIP64; unsafe paths
 * such as ../x are rejected by yauzl's name validation). Never loads the archive into memory. */
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { StockpipeError } from '../core/errors.js';
import { beforeCommit } from '../core/commit-guard.js';
import { diskFullError, formatBytes, freeBytes } from '../core/os-errors.js';

export interface ZipEntryInfo {
  name: string;
  size: number;
  /** Modification time from the archive, in ms. */
  mtimeMs: number;
  /** A symbolic link stored by a Unix zip (`zip -y`): its bytes are the link's target path, not data. */
  symlink?: boolean;
}

/** Whether an entry made on Unix stores a symbolic link (file type S_IFLNK in its external attributes). */
function isSymlinkEntry(entry: yauzl.Entry): boolean {
  return entry.versionMadeBy >>> 8 === 3 && ((entry.externalFileAttributes >>> 16) & 0o170000) === 0o120000;
}

/**
 * The error for an entry whose inflated bytes do not have the CRC-32 the archive records for it, or
 * null. yauzl holds an entry to its declared size but checks no checksum: a flipped bit in a stored
 * entry (or one that still inflates) was read as other prices without a word.
 */
export function entryCrcError(entry: { fileName: string; crc32: number }, actual: number): Error | null {
  const hex = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
  return actual >>> 0 === entry.crc32 >>> 0 ? null : new Error(`its bytes have CRC-32 ${hex(actual)} where the archive records ${hex(entry.crc32)} for ${entry.fileName} (damaged)`);
}

/** `stream` (an entry's inflated bytes) passed through, failing at its end when entryCrcError finds them damaged. */
export function crcChecked(entry: { fileName: string; crc32: number }, stream: NodeJS.ReadableStream): NodeJS.ReadableStream {
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
    flush(done) {
      done(entryCrcError(entry, crc));
    },
  });
  stream.on('error', (err: Error) => check.destroy(err));
  return stream.pipe(check);
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, zip) => {
      if (err || !zip) reject(corrupt(path, err));
      else resolve(zip);
    });
  });
}

/** An archive this user may not read: SP_ERR_SOURCE_NOT_FOUND, not a damaged one (downloading it again would not help). */
export function unreadableZip(path: string, why: string, cause?: unknown): StockpipeError {
  return new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `cannot read zip archive ${path}: ${why}`, { hint: 'Make it readable by this user (chmod a+r), or pass zip:PATH with a copy you can read.', cause });
}

function corrupt(path: string, err: unknown): StockpipeError {
  const msg = err instanceof Error ? err.message : String(err);
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return new StockpipeError('SP_ERR_SOURCE_NOT_FOUND', `zip archive not found: ${path}`, { cause: err });
  }
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return unreadableZip(path, code, err);
  return new StockpipeError('SP_ERR_ZIP_CORRUPT', `${path}: ${msg}`, { cause: err });
}

/**
 * Visits every file entry in archive order. `visit` gets the entry and a function that
 * reads its bytes (inflated, validated size); it must await what it reads before returning.
 */
export async function forEachZipEntry(
  path: string,
  visit: (entry: ZipEntryInfo, read: () => Promise<Buffer>, openStream: () => Promise<NodeJS.ReadableStream>) => Promise<void>,
): Promise<void> {
  const zip = await openZip(path);
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (err: unknown): void => {
        if (failed) return;
        failed = true;
        reject(err instanceof StockpipeError ? err : corrupt(path, err));
      };
      zip.on('error', fail);
      zip.on('end', () => { if (!failed) resolve(); });
      zip.on('entry', (entry: yauzl.Entry) => {
        if (entry.fileName.endsWith('/')) {
          zip.readEntry();
          return;
        }
        const openStream = (): Promise<NodeJS.ReadableStream> =>
          new Promise((res, rej) => zip.openReadStream(entry, (err, stream) => (err || !stream ? rej(corrupt(path, err)) : res(crcChecked(entry, stream)))));
        const read = async (): Promise<Buffer> => {
          const stream = await openStream();
          const chunks: Buffer[] = [];
          for await (const chunk of stream) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        };
        const info: ZipEntryInfo = { name: entry.fileName, size: entry.uncompressedSize, mtimeMs: entry.getLastModDate().getTime(), ...(isSymlinkEntry(entry) ? { symlink: true } : {}) };
        visit(info, read, openStream).then(() => { if (!failed) zip.readEntry(); }, fail);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/** Lists the file entries of an archive. */
export async function listZipEntries(path: string): Promise<ZipEntryInfo[]> {
  const out: ZipEntryInfo[] = [];
  await forEachZipEntry(path, async (e) => {
    out.push(e);
  });
  return out;
}

/**
 * Unpacks every entry under `destDir`, streaming each one to disk. Unpacks into a temp folder
 * first and renames it into place, so a failure leaves no half-unpacked folder. An archive whose
 * entries add up to more than the free space (a zip bomb declares gigabytes in a few KB) is refused
 * before anything is written: yauzl holds each entry to its declared size, so the sum bounds the
 * bytes written. A symlink entry (`zip -y`) is returned with `symlink: true` and not written, as the
 * zip source does not follow one.
 */
export async function extractZip(path: string, destDir: string, onEntry?: (entry: ZipEntryInfo) => void): Promise<ZipEntryInfo[]> {
  const total = (await listZipEntries(path)).reduce((s, e) => s + e.size, 0);
  const free = freeBytes(dirname(destDir));
  if (free !== undefined && total > free) {
    throw diskFullError(dirname(destDir), new Error(`${path}: its entries add up to ${formatBytes(total)} unpacked`), { bytes: total, basis: "the sizes the archive's entries declare", exact: true });
  }
  const tmp = `${destDir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  const entries: ZipEntryInfo[] = [];
  try {
    await forEachZipEntry(path, async (entry, _read, openStream) => {
      // A symlink entry's bytes are its target's path, not data: not written (the caller lists it as skipped).
      if (entry.symlink === true) {
        entries.push(entry);
        onEntry?.(entry);
        return;
      }
      const target = join(tmp, entry.name);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(await openStream(), createWriteStream(target));
      entries.push(entry);
      onEntry?.(entry);
    });
    beforeCommit();
    await rm(destDir, { recursive: true, force: true });
    await rename(tmp, destDir);
    return entries;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
