/** @module ml/forecast-blocks
 * The day-ahead model's input columns, held in row blocks: the training rows (sorted by target day)
 * cut into ranges — one block by default, or the time split's train, validation and test ranges
 * when the caller names the cuts. A block's columns can be released once nothing reads them (the
 * training rows' inputs after binning: the binned matrix is 1 byte per feature-row, an input 4), so
 * that the day-ahead model's peak memory is not the inputs of every row plus their bins. Pure. */
import { StockpipeError } from '../core/errors.js';

/** The inputs of the rows [lo, hi), one Float32Array per feature (null once released). */
export interface InputBlock {
  lo: number;
  hi: number;
  x: (Float32Array | null)[];
}

/** Blocks over rows [0, n) cut at `cuts` (ascending row indices; 0, n and repeats are ignored), every column
 * allocated but the first block's when `emptyFirst` (its caller fills them one at a time). */
export function makeBlocks(n: number, features: number, cuts: readonly number[] = [], emptyFirst = false): InputBlock[] {
  if (cuts.some((c, i) => i > 0 && c < cuts[i - 1]!)) throw new StockpipeError('SP_ERR_INTERNAL', `input block cuts must ascend (got ${cuts.join(', ')})`);
  const edges = [0, ...cuts.filter((c) => c > 0 && c < n), n].filter((c, i, a) => i === 0 || c > a[i - 1]!);
  const blocks: InputBlock[] = [];
  for (let b = 0; b + 1 < edges.length; b++) blocks.push({ lo: edges[b]!, hi: edges[b + 1]!, x: Array.from({ length: features }, () => (b === 0 && emptyFirst ? null : new Float32Array(edges[b + 1]! - edges[b]!))) });
  if (blocks.length === 0) blocks.push({ lo: 0, hi: 0, x: Array.from({ length: features }, () => new Float32Array(0)) });
  return blocks;
}

/** Feature `f` over the rows [lo, hi): a view when one block holds them, else a copy; throws when a needed column was released. */
export function blockColumn(blocks: readonly InputBlock[], f: number, lo: number, hi: number, name: string): Float32Array {
  const parts: Float32Array[] = [];
  for (const b of blocks) {
    if (b.hi <= lo || b.lo >= hi) continue;
    const c = b.x[f];
    if (c === null || c === undefined) throw new StockpipeError('SP_ERR_INTERNAL', `the input '${name}' of rows ${b.lo}..${b.hi - 1} was released after binning; rows ${lo}..${hi - 1} were asked for`);
    parts.push(c.subarray(Math.max(lo, b.lo) - b.lo, Math.min(hi, b.hi) - b.lo));
  }
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(hi - lo);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Every part of feature `f` in row order (for hashing: the same bytes as one column). */
export function columnParts(blocks: readonly InputBlock[], f: number, name: string): Float32Array[] {
  return blocks.map((b) => {
    const c = b.x[f];
    if (c === null || c === undefined) throw new StockpipeError('SP_ERR_INTERNAL', `the input '${name}' of rows ${b.lo}..${b.hi - 1} was released`);
    return c;
  });
}

/** Releases the columns `features` (indices) of the blocks inside [lo, hi); returns the bytes let go. */
export function releaseBlocks(blocks: readonly InputBlock[], lo: number, hi: number, features: readonly number[]): number {
  let bytes = 0;
  for (const b of blocks) {
    if (b.lo < lo || b.hi > hi) continue;
    for (const f of features) {
      const c = b.x[f];
      if (c === null || c === undefined) continue;
      bytes += c.byteLength;
      b.x[f] = null;
    }
  }
  return bytes;
}
