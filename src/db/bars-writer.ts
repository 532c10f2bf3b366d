/** @module db/bars-writer
 * Writes the prices columns (and optional extra double columns, e.g. features) to one zstd
 * Parquet file, batch by batch in the order given, through a DuckDB table function. Symbol,
 * Security Name, Date and Asset go in as ENUM indexes — no per-row strings in JS — and come out
 * as dictionary-encoded UTF8 strings. */
import type { DuckDBLogicalType } from '@duckdb/node-api';
import { type DuckDBConnection, duckdbApi } from './duckdb.js';
import { enumIndexArray } from './enum-index.js';
import { CHUNK_ROWS, type ColumnType, copyStreamToParquet, type ChunkWriter } from './parquet-stream.js';

/** The daily-bar columns as typed arrays (shared with etl's parser output). */
export interface BarColumns {
  rows: number;
  /** Days since 1970-01-01. */
  day: Int32Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  adjClose: Float64Array;
  /** Whole numbers ≥ 0; exact below 2^53 (beyond it see volumeExact). */
  volume: Float64Array;
  /** The exact int64 Volume of every row, present only when some row is ≥ 2^53 (a double cannot hold it). */
  volumeExact?: BigInt64Array;
}

/** One symbol's rows (or a slice of them), in date order; days within the spec's range. */
export interface BarsBatch extends BarColumns {
  /** Index into BarsTableSpec.symbols. */
  sym: number;
  /** Index into BarsTableSpec.names, or undefined for a null Security Name. */
  name: number | undefined;
  /** 0 = etf, 1 = stock, per row. */
  asset: Uint8Array;
  /** One array per extra column; NaN is written as null. */
  extra?: Float64Array[];
  /** Per row, the snapshot that brought it (the `_snapshot_id` column); absent: the spec's `lineage`. */
  lineage?: Int32Array;
}

export interface BarsTableSpec {
  symbols: readonly string[];
  names: readonly string[];
  dayMin: number;
  dayMax: number;
  /** Names of extra DOUBLE columns after Asset. */
  extraColumns?: readonly string[];
  kvMetadata: Record<string, string>;
  /** When set, a last INTEGER column `_snapshot_id` (store/partition's LINEAGE_COLUMN): this value, or the batch's own per row. */
  lineage?: number;
  /** YYYY-MM-DD for a day number. */
  formatDay: (day: number) => string;
}

export const BARS_COLUMNS = ['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset'] as const;

/**
 * What a written file holds, measured while writing it (the store's catalog records it): its rows, and
 * the smallest and largest Symbol (byte order, as DuckDB compares VARCHAR) and Date; null without rows.
 */
export interface WrittenRange {
  rows: number;
  symbol_min: string | null;
  symbol_max: string | null;
  date_min: string | null;
  date_max: string | null;
}

/** The range of a file without rows. */
export const EMPTY_RANGE: Readonly<WrittenRange> = Object.freeze({ rows: 0, symbol_min: null, symbol_max: null, date_min: null, date_max: null });

/** Compares two strings as DuckDB compares VARCHAR: by their UTF-8 bytes. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** A batch held a date outside the spec's [dayMin, dayMax]: the caller may retry with a wider range. */
export class DateRangeError extends Error {}

/** The ENUM columns of a spec: Symbol, Security Name, Date (every day of the range), Asset. */
interface SpecEnums {
  names: readonly string[];
  dayMin: number;
  dayMax: number;
  formatDay: (day: number) => string;
  types: [ColumnType, ColumnType, ColumnType, ColumnType];
  dates: number;
}

/**
 * The ENUM types of each symbol list written lately. One ingest or features build writes dozens of
 * files of one spec, and building the enums (the Date one has a member per day of the range, 21k
 * over 58 years) and their DuckDB logical types once per file took 0.7 s of the main thread's time
 * for a 7.3M-row ingest. Keyed by the symbol list (each lane of a build has its own); a type keeps
 * its logical type once made (DuckDB copies it into each bind).
 */
const enumCache = new WeakMap<readonly string[], SpecEnums>();

/**
 * An ENUM column's type: DuckDB's logical type of the members, made once, when first bound. Not
 * node-api's DuckDBEnumType, which indexes every member by name on construction (≈ 30 ms for the
 * Date enum of the real sample's 21k days, per command); the writer hands DuckDB indexes, never names.
 */
function enumType(values: readonly string[]): ColumnType {
  const members = [...values];
  let made: DuckDBLogicalType | undefined;
  return { toLogicalType: () => (made ??= duckdbApi().DuckDBLogicalType.createEnum(members)) };
}

/**
 * The Date ENUM of the last day range, whatever the symbol list: a features build writes its files
 * (each lane's symbols), its tails file and its empty schema file with three symbol lists, and the
 * Date enum of a long history (21k days) cost ≈ 35 ms to build each time.
 */
let lastDates: { dayMin: number; dayMax: number; formatDay: (day: number) => string; type: ColumnType; count: number } | null = null;

function datesEnum(spec: BarsTableSpec): { type: ColumnType; count: number } {
  if (lastDates && lastDates.dayMin === spec.dayMin && lastDates.dayMax === spec.dayMax && lastDates.formatDay === spec.formatDay) return lastDates;
  const dates: string[] = [];
  for (let d = spec.dayMin; d <= spec.dayMax; d++) dates.push(spec.formatDay(d));
  lastDates = { dayMin: spec.dayMin, dayMax: spec.dayMax, formatDay: spec.formatDay, type: enumType(dates), count: dates.length };
  return lastDates;
}

function specEnums(spec: BarsTableSpec): SpecEnums {
  const hit = enumCache.get(spec.symbols);
  if (hit && hit.names === spec.names && hit.dayMin === spec.dayMin && hit.dayMax === spec.dayMax && hit.formatDay === spec.formatDay) return hit;
  const dates = datesEnum(spec);
  const e: SpecEnums = {
    names: spec.names,
    dayMin: spec.dayMin,
    dayMax: spec.dayMax,
    formatDay: spec.formatDay,
    types: [enumType(spec.symbols), enumType(spec.names.length > 0 ? spec.names : ['']), dates.type, enumType(['etf', 'stock'])],
    dates: dates.count,
  };
  enumCache.set(spec.symbols, e);
  return e;
}

/** Sets bits [from, from + n) of a validity mask (bit i of word i>>5). */
function setBits(mask: Uint32Array, from: number, n: number): void {
  for (let i = from; i < from + n; i++) mask[i >> 5]! |= 1 << (i & 31);
}

/**
 * Copies rows [off, off + n) of each of the batch's extra columns (one per mask) into the chunk's
 * columns from `firstCol` on, at row `at`, marking the non-NaN ones valid (NaN is written as null).
 */
function setExtras(w: ChunkWriter, firstCol: number, b: BarsBatch, masks: readonly Uint32Array[], off: number, n: number, at: number): void {
  for (let e = 0; e < masks.length; e++) {
    const col = b.extra![e]!;
    const mask = masks[e]!;
    for (let i = 0; i < n; i++) if (!Number.isNaN(col[off + i]!)) mask[(at + i) >> 5]! |= 1 << ((at + i) & 31);
    w.set(firstCol + e, col, off, n, at);
  }
}

/** Writes batches from `next()` (null = done) to `target`, and says what it wrote. `next` may block; it may throw. */
export async function writeBarsParquet(conn: DuckDBConnection, spec: BarsTableSpec, next: () => BarsBatch | null, target: string): Promise<WrittenRange> {
  const extras = spec.extraColumns ?? [];
  const enums = specEnums(spec);
  const symIdx = enumIndexArray(spec.symbols.length, CHUNK_ROWS);
  const nameIdx = enumIndexArray(Math.max(spec.names.length, 1), CHUNK_ROWS);
  const dateIdx = enumIndexArray(enums.dates, CHUNK_ROWS);
  const vol64 = new Int32Array(CHUNK_ROWS * 2);
  const nameMask = new Uint32Array(CHUNK_ROWS / 32);
  const masks = extras.map(() => new Uint32Array(CHUNK_ROWS / 32));
  const lineage = spec.lineage === undefined ? null : new Int32Array(CHUNK_ROWS).fill(spec.lineage);
  let cur: BarsBatch | null = null;
  let off = 0;
  let rows = 0;
  let dayLo = Infinity;
  let dayHi = -Infinity;
  const used = new Set<number>();

  // Each chunk is filled from as many batches as it takes: a new trading day is a one-row batch per
  // symbol, and a chunk per batch cost DuckDB a call and a one-row vector each (8,000 chunks).
  const produce = (w: ChunkWriter): number => {
    let at = 0;
    let nullNames = false;
    nameMask.fill(0);
    for (const m of masks) m.fill(0);
    while (at < CHUNK_ROWS) {
      if (cur === null || off >= cur.rows) {
        cur = next();
        off = 0;
        if (cur === null) break;
        if (cur.rows > 0) used.add(cur.sym);
        continue;
      }
      const b: BarsBatch = cur;
      const n = Math.min(CHUNK_ROWS - at, b.rows - off);
      symIdx.fill(b.sym, at, at + n);
      if (b.name === undefined) nullNames = true;
      else {
        nameIdx.fill(b.name, at, at + n);
        setBits(nameMask, at, n);
      }
      for (let i = 0; i < n; i++) {
        const d = b.day[off + i]!;
        if (d < spec.dayMin || d > spec.dayMax) throw new DateRangeError(`date ${spec.formatDay(d)} of ${spec.symbols[b.sym]} is outside the table's range ${spec.formatDay(spec.dayMin)}..${spec.formatDay(spec.dayMax)}`);
        if (d < dayLo) dayLo = d;
        if (d > dayHi) dayHi = d;
        dateIdx[at + i] = d - spec.dayMin;
      }
      w.set(3, b.open, off, n, at);
      w.set(4, b.high, off, n, at);
      w.set(5, b.low, off, n, at);
      w.set(6, b.close, off, n, at);
      w.set(7, b.adjClose, off, n, at);
      if (b.volumeExact !== undefined) vol64.set(new Int32Array(b.volumeExact.buffer, b.volumeExact.byteOffset + off * 8, 2 * n), 2 * at);
      else {
        for (let i = 0; i < n; i++) {
          const v = b.volume[off + i]!;
          const hi = Math.floor(v / 4294967296);
          vol64[2 * (at + i)] = (v - hi * 4294967296) | 0;
          vol64[2 * (at + i) + 1] = hi | 0;
        }
      }
      w.set(9, b.asset, off, n, at);
      setExtras(w, 10, b, masks, off, n, at);
      if (lineage !== null) {
        if (b.lineage !== undefined) w.set(10 + extras.length, b.lineage, off, n, at);
        else w.set(10 + extras.length, lineage, 0, n, at);
      }
      off += n;
      at += n;
    }
    if (at === 0) return 0;
    w.set(0, symIdx, 0, at);
    w.set(1, nameIdx, 0, at);
    if (nullNames) w.setValidity(1, nameMask, at);
    w.set(2, dateIdx, 0, at);
    w.set(8, vol64, 0, 2 * at);
    for (let e = 0; e < extras.length; e++) w.setValidity(10 + e, masks[e]!, at);
    rows += at;
    return at;
  };

  const { BIGINT, DOUBLE, INTEGER } = duckdbApi();
  const [symbolType, nameType, dateType, assetType] = enums.types;
  await copyStreamToParquet(
    conn,
    [
      { name: 'Symbol', type: symbolType },
      { name: 'Security Name', type: nameType },
      { name: 'Date', type: dateType },
      { name: 'Open', type: DOUBLE },
      { name: 'High', type: DOUBLE },
      { name: 'Low', type: DOUBLE },
      { name: 'Close', type: DOUBLE },
      { name: 'Adj Close', type: DOUBLE },
      { name: 'Volume', type: BIGINT },
      { name: 'Asset', type: assetType },
      ...extras.map((name) => ({ name, type: DOUBLE })),
      ...(spec.lineage === undefined ? [] : [{ name: '_snapshot_id', type: INTEGER }]),
    ],
    produce,
    target,
    { kvMetadata: spec.kvMetadata },
  );
  if (rows === 0) return { rows, symbol_min: null, symbol_max: null, date_min: null, date_max: null };
  const names = [...used].map((i) => spec.symbols[i]!).sort(compareUtf8);
  return { rows, symbol_min: names[0]!, symbol_max: names[names.length - 1]!, date_min: spec.formatDay(dayLo), date_max: spec.formatDay(dayHi) };
}

/**
 * Writes only the extra columns of `next()`'s batches (NaN as null) and, with `lineage`, the
 * `_snapshot_id` column: the right half of a file db/parquet-splice joins to a bars file written
 * from the same batches in the same order (the same 2,048-row chunks, so the same row groups).
 */
export async function writeExtraParquet(conn: DuckDBConnection, spec: { extraColumns: readonly string[]; lineage?: number; kvMetadata: Record<string, string> }, next: () => BarsBatch | null, target: string): Promise<number> {
  const extras = spec.extraColumns;
  const masks = extras.map(() => new Uint32Array(CHUNK_ROWS / 32));
  const lineage = spec.lineage === undefined ? null : new Int32Array(CHUNK_ROWS).fill(spec.lineage);
  let cur: BarsBatch | null = null;
  let off = 0;
  let rows = 0;
  const produce = (w: ChunkWriter): number => {
    let at = 0;
    for (const m of masks) m.fill(0);
    while (at < CHUNK_ROWS) {
      if (cur === null || off >= cur.rows) {
        cur = next();
        off = 0;
        if (cur === null) break;
        continue;
      }
      const b: BarsBatch = cur;
      const n = Math.min(CHUNK_ROWS - at, b.rows - off);
      setExtras(w, 0, b, masks, off, n, at);
      off += n;
      at += n;
    }
    if (at === 0) return 0;
    for (let e = 0; e < extras.length; e++) w.setValidity(e, masks[e]!, at);
    if (lineage !== null) w.set(extras.length, lineage, 0, at);
    rows += at;
    return at;
  };
  const { DOUBLE, INTEGER } = duckdbApi();
  await copyStreamToParquet(conn, [...extras.map((name) => ({ name, type: DOUBLE })), ...(spec.lineage === undefined ? [] : [{ name: '_snapshot_id', type: INTEGER }])], produce, target, { kvMetadata: spec.kvMetadata });
  return rows;
}
