/** @module etl/source-state
 * What incremental ingest knows about a source file since it last read it (registry table
 * ingest_files): size, mtime, a hash of its first 4 KiB and of the 4 KiB before its end. A file is
 * unchanged when size and mtime are; grown when it is longer, its head and the 4 KiB before its old
 * end are the same and the old end was a line end (then only the new bytes are read); otherwise
 * changed (read again whole and compared with the stored rows). The reads are synchronous: a few
 * small reads per file, thousands of files, nothing else to do meanwhile — the thread-pool hop of
 * an async read would cost more than the read. */
import { hash } from 'node:crypto';
import { closeSync, readSync } from 'node:fs';
import { openRegularFileSync } from '../core/fs.js';

export const PROBE_BYTES = 4096;

export interface Fingerprint {
  size: number;
  head_hash: string;
  tail_hash: string;
}

const sha = (b: Uint8Array): string => hash('sha256', b, 'hex').slice(0, 32);

/** Reads up to `len` bytes at `pos` into `buf` from its start; returns how many were read (fewer at the end of the file). */
function readInto(fd: number, buf: Buffer, pos: number, len: number): number {
  let off = 0;
  while (off < len) {
    const n = readSync(fd, buf, off, len - off, pos + off);
    if (n === 0) break;
    off += n;
  }
  return off;
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  return buf.subarray(0, readInto(fd, buf, pos, len));
}

/** The probes' buffer: each is hashed (or copied) before the next read, so one per thread will do. */
const scratch = Buffer.allocUnsafe(PROBE_BYTES);

/** Head and tail hashes of a file of `size` bytes (its size as the manifest saw it). */
export function fingerprint(path: string, size: number): Fingerprint {
  const fd = openRegularFileSync(path);
  try {
    const head_hash = sha(scratch.subarray(0, readInto(fd, scratch, 0, Math.min(PROBE_BYTES, size))));
    const tail_hash = size <= PROBE_BYTES ? head_hash : sha(scratch.subarray(0, readInto(fd, scratch, size - PROBE_BYTES, PROBE_BYTES)));
    return { size, head_hash, tail_hash };
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes after `oldSize` with the file's header line before them, when the file only grew since it
 * had `oldSize` bytes with the given hashes; else null. Two reads: the head, then the 4 KiB before the
 * old end together with everything after it.
 */
export function grownTail(path: string, old: Fingerprint, size: number): { bytes: Buffer; head: Fingerprint } | null {
  if (size <= old.size) return null;
  const fd = openRegularFileSync(path);
  try {
    const head = scratch.subarray(0, readInto(fd, scratch, 0, Math.min(PROBE_BYTES, size)));
    const oldHead = head.subarray(0, Math.min(PROBE_BYTES, old.size));
    if (sha(oldHead) !== old.head_hash) return null;
    const nl = head.indexOf(0x0a);
    if (nl < 0 || nl >= old.size) return null; // the header line must be whole in the old file
    const beforeStart = Math.max(0, old.size - PROBE_BYTES);
    const rest = readAt(fd, beforeStart, size - beforeStart);
    if (rest.length !== size - beforeStart) return null; // shrank while being read: read it whole
    const before = rest.subarray(0, old.size - beforeStart);
    if (sha(before) !== old.tail_hash || before[before.length - 1] !== 0x0a) return null;
    // The new last 4 KiB lie inside `rest`: it holds the whole file or at least 4 KiB of it.
    const end = rest.subarray(Math.max(0, rest.length - PROBE_BYTES));
    const newHead = old.size >= PROBE_BYTES ? old.head_hash : sha(head);
    return { bytes: Buffer.concat([head.subarray(0, nl + 1), rest.subarray(old.size - beforeStart)]), head: { size, head_hash: newHead, tail_hash: sha(end) } };
  } finally {
    closeSync(fd);
  }
}
