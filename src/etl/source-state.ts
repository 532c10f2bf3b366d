/** @module etl/source-state
 * What incremental ingest knows about a source file since it last read it (registry table
 * ingest_files): size, mtime, a hash of its first 4 KiB and of the 4 KiB before its end. A file is
 * unchanged when size and mtime are; grown when it is longer, its head and the 4 KiB before its old
 * end are the same and the old end was a line end (then only the new bytes are read); otherwise
 * changed (read again whole and compared with the stored rows). */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

export const PROBE_BYTES = 4096;

export interface Fingerprint {
  size: number;
  head_hash: string;
  tail_hash: string;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex').slice(0, 32);

async function readAt(fd: import('node:fs/promises').FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.alloc(len);
  let off = 0;
  while (off < len) {
    const { bytesRead } = await fd.read(buf, off, len - off, pos + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return buf.subarray(0, off);
}

/** Head and tail hashes of a file of `size` bytes (its size as the manifest saw it). */
export async function fingerprint(path: string, size: number): Promise<Fingerprint> {
  const fd = await open(path, 'r');
  try {
    return { size, head_hash: sha(await readAt(fd, 0, Math.min(PROBE_BYTES, size))), tail_hash: sha(await readAt(fd, Math.max(0, size - PROBE_BYTES), Math.min(PROBE_BYTES, size))) };
  } finally {
    await fd.close();
  }
}

/** The bytes after `oldSize` with the file's header line before them, when the file only grew since it had `oldSize` bytes with the given hashes; else null. */
export async function grownTail(path: string, old: Fingerprint, size: number): Promise<{ bytes: Buffer; head: Fingerprint } | null> {
  if (size <= old.size) return null;
  const fd = await open(path, 'r');
  try {
    const head = await readAt(fd, 0, Math.min(PROBE_BYTES, size));
    if (sha(head.subarray(0, Math.min(PROBE_BYTES, old.size))) !== old.head_hash) return null;
    const before = await readAt(fd, Math.max(0, old.size - PROBE_BYTES), Math.min(PROBE_BYTES, old.size));
    if (sha(before) !== old.tail_hash || before[before.length - 1] !== 0x0a) return null;
    const nl = head.indexOf(0x0a);
    if (nl < 0 || nl >= old.size) return null; // the header line must be whole in the old file
    const tail = await readAt(fd, old.size, size - old.size);
    const end = await readAt(fd, Math.max(0, size - PROBE_BYTES), Math.min(PROBE_BYTES, size));
    return { bytes: Buffer.concat([head.subarray(0, nl + 1), tail]), head: { size, head_hash: sha(head), tail_hash: sha(end) } };
  } finally {
    await fd.close();
  }
}
