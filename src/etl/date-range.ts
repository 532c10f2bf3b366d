/** @module etl/date-range
 * A quick guess of a folder source's date range from each file's first and last data line
 * (files are sorted by date in practice). Only a guess: ingest writes with the full range again
 * when any row falls outside it. */
import { openRegularFile } from '../core/fs.js';
import { join } from 'node:path';
import { daysFromCivil } from './csv-parse.js';
import { forEachAtMost } from '../core/at-most.js';

const PROBE_BYTES = 256;
const DATE_AT_LINE_START = /^\uFEFF?(\d{4})-(\d{2})-(\d{2}),/;

function dayOf(line: string): number | null {
  const m = DATE_AT_LINE_START.exec(line);
  return m ? daysFromCivil(Number(m[1]), Number(m[2]), Number(m[3])) : null;
}

async function probe(path: string): Promise<{ first: number | null; last: number | null }> {
  // Not blocking on a FIFO put where fetch saw a file; refused, it leaves the guess as it is (the parse step reports it).
  const fh = await openRegularFile(path);
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(Math.min(PROBE_BYTES, size));
    await fh.read(head, 0, head.length, 0);
    const tailLen = Math.min(PROBE_BYTES, size);
    const tail = Buffer.alloc(tailLen);
    await fh.read(tail, 0, tailLen, size - tailLen);
    const headLines = head.toString('latin1').split(/\r?\n/);
    const tailLines = tail.toString('latin1').split(/\r?\n/).filter((l) => l.length > 0);
    return { first: dayOf(headLines[1] ?? ''), last: dayOf(tailLines[tailLines.length - 1] ?? '') };
  } finally {
    await fh.close();
  }
}

/** min of first-line dates and max of last-line dates over the files, or null if none parse. */
export async function scanDateRange(root: string, paths: readonly string[], concurrency = 32): Promise<{ min: number; max: number } | null> {
  let min = Infinity;
  let max = -Infinity;
  await forEachAtMost(paths, concurrency, async (p) => {
    // An unreadable file only leaves the guess unchanged; the parse step reports it properly.
    const { first, last } = await probe(join(root, p)).catch(() => ({ first: null, last: null }));
    if (first !== null) min = Math.min(min, first);
    if (last !== null) max = Math.max(max, last);
  });
  return Number.isFinite(min) && Number.isFinite(max) && min <= max ? { min, max } : null;
}
