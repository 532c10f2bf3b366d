/** @module validate/types
 * The shapes validate reads and writes: anomalies, a table profile, the saved reference
 * (validation/reference-v<N>.json) and the report (validation/latest.json). Types only. */

import { ANOMALY_CODES } from '../core/config.js';

export type Severity = 'info' | 'warning' | 'error';

/** Stable anomaly codes (add, never rename): kept in core/config, whose `validate.severity` keys they are. */
export { ANOMALY_CODES };
export type AnomalyCode = (typeof ANOMALY_CODES)[number];

export interface Anomaly {
  code: AnomalyCode;
  severity: Severity;
  /** The column concerned, or null for table- or symbol-level anomalies. */
  column: string | null;
  detail: string;
  /** How many rows (or symbols, or days: the detail says which). */
  count?: number;
  /** A few examples: 'SYMBOL YYYY-MM-DD' rows, symbols, or dates. */
  examples?: string[];
  /** Numbers behind the anomaly (e.g. psi and threshold for drift). */
  values?: Record<string, number>;
}

export const QUANTILE_KEYS = ['p01', 'p05', 'p10', 'p20', 'p25', 'p30', 'p40', 'p50', 'p60', 'p70', 'p75', 'p80', 'p90', 'p95', 'p99'] as const;
export type Quantiles = Record<(typeof QUANTILE_KEYS)[number], number>;

export interface ColumnProfile {
  name: string;
  /** DuckDB type, e.g. DOUBLE, BIGINT, VARCHAR. */
  type: string;
  nulls: number;
  null_rate: number;
  non_finite: number;
  /** Numbers for numeric columns; strings (lexicographic) for the others. */
  min: number | string | null;
  max: number | string | null;
  mean: number | null;
  /** Quantiles of the finite values (exact up to 250k rows, else on a ~250k-row seeded sample); null for non-numeric columns. */
  quantiles: Quantiles | null;
  /** Approximate (HyperLogLog) distinct count. */
  distinct: number;
}

export interface SymbolsProfile {
  count: number;
  rows_per_symbol: { min: number; p50: number; max: number };
}

export interface Profile {
  rows: number;
  columns: ColumnProfile[];
  /** Null when the table has no Symbol column. */
  symbols: SymbolsProfile | null;
  /** Null when the table has no Date column. */
  dates: { min: string; max: string; count: number } | null;
}

export interface ColumnDrift {
  /** Bin edges: the reference's deciles (p10..p90), deduplicated. */
  edges: number[];
  /** The reference's counts on those bins (edges.length + 1). */
  counts: number[];
  /** PSI between consecutive months of the reference (the normal variation). */
  normal: { periods: number; p50: number | null; p95: number | null; max: number | null };
  /** Alert when PSI(new vs reference) exceeds this: max(floor, k × normal.p95). */
  threshold: number;
  /** The reference's last month with at least min_period_rows values: rows dated after the
   * reference are compared with it (a period against the period before, like `normal`). */
  last_period?: { period: string; counts: number[] } | null;
}

export interface DriftValue {
  psi: number;
  threshold: number;
}

export interface Reference extends Profile {
  format: 'stockpipe-validation-reference';
  version: number;
  created_at: string;
  table: 'prices' | 'features';
  source: string;
  /** sha256 of the Parquet file the reference was inferred from. */
  data_hash: string;
  /** The workspace source's identity (source.json) when the reference was inferred; absent in
   * references written before it was recorded, null when the workspace had none. */
  data_source?: string | null;
  symbols: (SymbolsProfile & { names: string[] }) | null;
  drift: { method: 'psi'; period: 'month'; k: number; floor: number; min_period_rows: number; columns: Record<string, ColumnDrift> };
}

export type Status = 'ok' | 'warn' | 'error';

export interface ValidationReport {
  status: Status;
  created_at: string;
  table: 'prices' | 'features';
  /** What was validated: the table's folder and snapshot (e.g. `/ws/tables/prices @ snapshot 3`). */
  input: string;
  /** The store snapshot validated (`--as-of` picks an older one). */
  snapshot: number;
  /** sha256 over the snapshot's files as the catalog lists them (path, rows, bytes; the files are immutable). */
  data_hash: string;
  reference_version: number;
  /** sha256 of the reference's JSON (validate/validate's referenceHash): an incremental check needs the same one. */
  reference_hash: string;
  reference: string;
  /** True when this run inferred (and saved) the reference it validated against. */
  reference_created: boolean;
  /** The table's rows in the snapshot validated. */
  rows: number;
  /** full = every row's values checked; incremental = only the rows the snapshots after `since_snapshot`
   * brought (their lineage column), against the same reference; symbol and calendar checks always see
   * the whole table. */
  mode: 'full' | 'incremental';
  since_snapshot: number | null;
  /** Rows whose values were checked (all rows when full). */
  rows_checked: number;
  anomalies: Anomaly[];
  summary: Record<Severity, number>;
  columns: ColumnProfile[];
  symbols: SymbolsProfile | null;
  dates: Profile['dates'];
  /** PSI of the whole table against the whole reference, per binned column. */
  drift: Record<string, DriftValue>;
  /** PSI of the rows dated after the reference's last date against its last month (when there are enough). */
  drift_new_rows: { since: string; against: string; rows: number; columns: Record<string, DriftValue> } | null;
  seconds: number;
  /** Seconds per phase: columns, dates, duplicates, symbols, reference_bins, drift, hash. */
  phases: Record<string, number>;
}
