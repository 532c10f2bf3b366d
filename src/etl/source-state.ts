/** @module etl/source-state
 * What incremental ingest knows about a source file since it last read it (registry table
 * ingest_files): size, mtime, a hash of its first 4 KiB and of the 4 KiB before its end. A file is
 * unchanged when size and mtime are; grown when it is longer, its head and the 4 KiB before its old
 * end are the same and the old end was a line end (then only the new bytes are read); otherwise
 * changed (read again whole and compared with the stored rows). The reads are synchronous: a few
 * small reads per file, thousands of files, nothing else to do meanwhile — the thread-pool hop of
 * an async read would cost more than the read. */
import { createHash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { openRegularFileSync } from '../core/fs.js';

export const PROBE_BYTES = 4096;

export interface Fingerprint {
  size: number;
  head_hash: string;
  tail_hash: string;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 32);

function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let off = 0;
  while (off < len) {
    const n = readSync(fd, buf, off, len - off, pos + off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/** Head and tail hashes of a file of `size` bytes (its size as the manifest saw it). */
export function fingerprint(path: string, size: number): Fingerprint {
  const fd = openRegularFileSync(path);
  try {
    const head = readAt(fd, 0, Math.min(PROBE_BYTES, size));
    const tail = size <= PROBE_BYTES ? head : readAt(fd, size - PROBE_BYTES, PROBE_BYTES);
    return { size, head_hash: sha(head), tail_hash: sha(tail) };
  } finally {
    closeSync(fd);
  }
}

/** The bytes after `oldSize` with the file's header line before them, when the file only grew since it had `oldSize` bytes with the given hashes; else null. */
export function grownTail(path: string, old: Fingerprint, size: number): { bytes: Buffer; head: Fingerprint } | null {
  if (size <= old.size) return null;
  const fd = openRegularFileSync(path);
  try {
    const head = readAt(fd, 0, Math.min(PROBE_BYTES, size));
    const oldHead = head.subarray(0, Math.min(PROBE_BYTES, old.size));
    if (sha(oldHead) !== old.head_hash) return null;
    const beforeStart = Math.max(0, old.size - PROBE_BYTES);
    const before = readAt(fd, beforeStart, old.size - beforeStart);
    if (sha(before) !== old.tail_hash || before[before.length - 1] !== 0x0a) return null;
    const nl = head.indexOf(0x0a);
    if (nl < 0 || nl >= old.size) return null; // the header line must be whole in the old file
    const tail = readAt(fd, old.size, size - old.size);
    if (tail.length !== size - old.size) return null; // shrank while being read: read it whole
    // The new last 4 KiB: from the bytes already read when they cover it.
    const joined = Buffer.concat([before, tail]);
    const endLen = Math.min(PROBE_BYTES, size);
    const end = joined.length >= endLen ? joined.subarray(joined.length - endLen) : readAt(fd, size - endLen, endLen);
    const newHead = old.size >= PROBE_BYTES ? old.head_hash : sha(head);
    return { bytes: Buffer.concat([head.subarray(0, nl + 1), tail]), head: { size, head_hash: newHead, tail_hash: sha(end) } };
  } finally {
    closeSync(fd);
  }
}
