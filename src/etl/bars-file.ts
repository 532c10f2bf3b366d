/** @module etl/bars-file
 * Reading one bars file whole, as ingest does (a folder's file, or a zip entry inflated), within a
 * bound: Node reads at most 2 GiB − 1 bytes at once, and one symbol's daily bars since 1962 are
 * under 2 MB, so a larger file is no bars file (or a zip bomb) and is refused by its size. */
import { statSync } from 'node:fs';
import { readRegularFileSync } from '../core/fs.js';

/** The largest bars file ingest reads, in bytes. */
export const MAX_BARS_FILE_BYTES = 2 ** 31 - 1;

/** A bars file (or zip entry, by the size it inflates to) over MAX_BARS_FILE_BYTES. */
export class FileTooLargeError extends Error {
  constructor(size: number) {
    super(`it holds ${size} bytes (${(size / 2 ** 30).toFixed(2)} GiB); a source file may hold at most ${MAX_BARS_FILE_BYTES} bytes (2 GiB)`);
  }
}

/** A folder's bars file (readRegularFileSync's checks); one over MAX_BARS_FILE_BYTES is a FileTooLargeError. */
export function readBarsFileSync(path: string): Buffer {
  try {
    return readRegularFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_FS_FILE_TOO_LARGE') throw new FileTooLargeError(statSync(path).size);
    throw err;
  }
}

/** A folder's bars file shorter than when it was fetched: the source changed since (fetch again). */
export class ChangedSinceFetchError extends Error {
  constructor(readonly now: number, readonly then: number) {
    super(`it holds ${now} bytes, ${then} when the source was fetched: it changed since`);
  }
}

/**
 * A folder's bars file as it was fetched (its manifest size): a file that grew since gives its first
 * `size` bytes, the rows that were fetched (what an incremental ingest reads of it too, etl/source-state);
 * a shorter one is a ChangedSinceFetchError (rows the manifest and the report count are gone).
 */
export function readFetchedBarsFileSync(path: string, size: number): Buffer {
  const bytes = readBarsFileSync(path);
  if (bytes.length < size) throw new ChangedSinceFetchError(bytes.length, size);
  return bytes.length === size ? bytes : bytes.subarray(0, size);
}
