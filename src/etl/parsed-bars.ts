/** @module etl/parsed-bars
 * One parsed bars file as typed columns with its drop counts and line issues, and the row
 * operations on it: a stable sort by date keeping the last of a duplicated date, and merging a
 * symbol's files. Parsing itself is csv-parse's. Pure. */

import type { BarColumns } from '../db/bars-writer.js';
import { symbolFeatures } from '../features/assemble.js';
import { NextTradingDay } from '../features/lagged.js';
import type { Asset } from './layout.js';

/** Reasons a data line is not kept; every line read ends up kept or in exactly one of these. */
export const DROP_REASONS = ['null_values', 'malformed', 'duplicate', 'blank'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type DropCounts = Record<DropReason, number>;

export interface LineIssue {
  line: number;
  reason: string;
  /** The offending field's text (cut to 40 characters), for number-range reasons. */
  value?: string;
}

export interface ParsedBars extends BarColumns {
  rowsRead: number;
  /** Physical lines after the header: rowsRead, but a record whose quoted field spans line ends counts each of its lines (where a line appended to the file is numbered from). */
  lines: number;
  dropped: DropCounts;
  /** Malformed lines (the first MAX_ISSUES of them), by 1-based line number in the file. */
  issues: LineIssue[];
  /** The features of the file's rows (features/assemble's symbolFeatures), when the parse was asked for them (a full ingest preparing features). */
  features?: Float64Array[];
}

/** The trading calendar of this thread's feature computations (filled once per day range). */
const calendar = new NextTradingDay();

/**
 * `p` with its rows' features (`features`) when asked for them (`request`), it has rows and every
 * Volume is a double's exact whole number (a larger one stops the preparation: features/prepare).
 * On the parse workers: the features of a full ingest are computed where its rows are parsed.
 */
export function withFeatures(p: ParsedBars, request: { window: number; extended: boolean } | undefined): ParsedBars {
  if (request === undefined || p.rows === 0 || p.volumeExact !== undefined) return p;
  p.features = symbolFeatures(p, request.window, request.extended, calendar);
  return p;
}

export function emptyDrops(): DropCounts {
  return { null_values: 0, malformed: 0, duplicate: 0, blank: 0 };
}

/**
 * The rows to keep, in date order: a stable sort by date that keeps the last row of each
 * duplicated date. Null when the rows are already strictly increasing (keep all, as they are).
 */
export function keepOrder(day: Int32Array, rows: number): Int32Array | null {
  let sorted = true;
  for (let i = 1; i < rows; i++) {
    if (day[i]! <= day[i - 1]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) return null;
  const order = Array.from({ length: rows }, (_, i) => i).sort((a, b) => day[a]! - day[b]! || a - b);
  const keep: number[] = [];
  for (let k = 0; k < order.length; k++) {
    const j = order[k + 1];
    if (j !== undefined && day[j] === day[order[k]!]) continue; // a later row has the same date: it wins
    keep.push(order[k]!);
  }
  return Int32Array.from(keep);
}

/** Picks `keep`'s rows of a column. */
export function pickRows<T extends Float64Array | Int32Array | Uint8Array | BigInt64Array>(a: T, keep: Int32Array): T {
  const out = new (a.constructor as new (n: number) => T)(keep.length);
  const src = a as unknown as { [i: number]: number };
  const dst = out as unknown as { [i: number]: number };
  for (let k = 0; k < keep.length; k++) dst[k] = src[keep[k]!]!;
  return out;
}

/** Applies keepOrder to a parsed file, counting the dropped rows as 'duplicate'. */
export function sortAndDedupe(p: ParsedBars): ParsedBars {
  const keep = keepOrder(p.day, p.rows);
  if (keep === null) return p;
  return {
    ...p,
    rows: keep.length,
    day: pickRows(p.day, keep),
    open: pickRows(p.open, keep),
    high: pickRows(p.high, keep),
    low: pickRows(p.low, keep),
    close: pickRows(p.close, keep),
    adjClose: pickRows(p.adjClose, keep),
    volume: pickRows(p.volume, keep),
    ...(p.volumeExact ? { volumeExact: pickRows(p.volumeExact, keep) } : {}),
    dropped: { ...p.dropped, duplicate: p.dropped.duplicate + (p.rows - keep.length) },
  };
}

/** Concatenates a symbol's files in path order and re-applies sort + keep-last on dates. */
export function mergeParsed(parts: { parsed: ParsedBars; asset: Asset }[]): { parsed: ParsedBars; asset: Uint8Array } {
  const assetCode = (a: Asset): number => (a === 'etf' ? 0 : 1);
  if (parts.length === 1) {
    const p = parts[0]!;
    return { parsed: p.parsed, asset: new Uint8Array(p.parsed.rows).fill(assetCode(p.asset)) };
  }
  const rows = parts.reduce((s, p) => s + p.parsed.rows, 0);
  const cat = <T extends Float64Array | Int32Array>(pick: (p: ParsedBars) => T, out: T): T => {
    let o = 0;
    for (const p of parts) {
      out.set(pick(p.parsed), o);
      o += p.parsed.rows;
    }
    return out;
  };
  const asset = new Uint8Array(rows);
  let o = 0;
  for (const p of parts) {
    asset.fill(assetCode(p.asset), o, o + p.parsed.rows);
    o += p.parsed.rows;
  }
  const dropped = emptyDrops();
  for (const p of parts) for (const r of DROP_REASONS) dropped[r] += p.parsed.dropped[r];
  // Exact volumes for all rows when any part has a volume ≥ 2^53 (rare: BigInt per row is fine).
  const anyExact = parts.some((p) => p.parsed.volumeExact !== undefined);
  const volumeExact = anyExact ? new BigInt64Array(rows) : undefined;
  if (volumeExact) {
    let at = 0;
    for (const { parsed } of parts) {
      for (let k = 0; k < parsed.rows; k++) volumeExact[at + k] = parsed.volumeExact ? parsed.volumeExact[k]! : BigInt(parsed.volume[k]!);
      at += parsed.rows;
    }
  }
  const merged: ParsedBars = {
    rows,
    day: cat((p) => p.day, new Int32Array(rows)),
    open: cat((p) => p.open, new Float64Array(rows)),
    high: cat((p) => p.high, new Float64Array(rows)),
    low: cat((p) => p.low, new Float64Array(rows)),
    close: cat((p) => p.close, new Float64Array(rows)),
    adjClose: cat((p) => p.adjClose, new Float64Array(rows)),
    volume: cat((p) => p.volume, new Float64Array(rows)),
    ...(volumeExact ? { volumeExact } : {}),
    rowsRead: 0,
    lines: 0,
    dropped,
    issues: [],
  };
  const keep = keepOrder(merged.day, rows);
  return { parsed: sortAndDedupe(merged), asset: keep === null ? asset : pickRows(asset, keep) };
}
