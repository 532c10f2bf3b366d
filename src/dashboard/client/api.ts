/** @module dashboard/client/api
 * JSON calls to the server (same origin) and the response shapes the views read. Errors carry
 * the API's `SP_ERR_*` code and HTTP status. POSTs send the API token (kept in sessionStorage,
 * entered in the promote dialog) as a Bearer header when one is set (docs/security.md). */

const TOKEN_KEY = 'stockpipe.apiToken';

/** The API token this tab was given ('' = none). */
export function apiToken(): string {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? '';
  } catch {
    return '';
  }
}

export function setApiToken(token: string): void {
  try {
    if (token === '') sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // storage disabled: the token is not kept
  }
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly hint: string | null = null) {
    super(message);
  }
}

async function parse<T>(r: Response): Promise<T> {
  const text = await r.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    if (r.ok) throw new ApiError(r.status, 'SP_ERR_INTERNAL', `not JSON: ${text.slice(0, 100)}`);
  }
  if (!r.ok) {
    const e = (body as { error?: { code?: string; message?: string; hint?: string } } | null)?.error;
    throw new ApiError(r.status, e?.code ?? `HTTP_${r.status}`, e?.message ?? `${r.status} ${r.statusText}`, typeof e?.hint === 'string' && e.hint !== '' ? e.hint : null);
  }
  return body as T;
}

export async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  return parse<T>(await fetch(url, { signal, headers: { accept: 'application/json' } }));
}

export async function postJson<T>(url: string, body: unknown): Promise<T> {
  const token = apiToken();
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token !== '') headers.authorization = `Bearer ${token}`;
  return parse<T>(await fetch(url, { method: 'POST', headers, body: JSON.stringify(body) }));
}

export async function getText(url: string, signal?: AbortSignal): Promise<string> {
  const r = await fetch(url, { signal });
  if (!r.ok) await parse(r);
  return r.text();
}

export type TaskStatus = 'queued' | 'running' | 'retried' | 'succeeded' | 'failed' | 'skipped' | 'cached' | 'cancelled';

export interface RunSummary {
  run_id: string;
  pipeline: string;
  status: 'running' | 'finished' | 'failed' | 'cancelled' | 'abandoned';
  started_at: string;
  ended_at: string | null;
  seconds: number | null;
  error: string | null;
  task_counts: Partial<Record<TaskStatus, number>>;
  /** The trading day the run was for (`run --date`, a backfill day), or null. */
  logical_date?: string | null;
  /** The backfill the run belongs to, or null. */
  backfill_id?: string | null;
  /** In GET /runs: the run's tasks in plan order. */
  tasks?: { task: string; status: TaskStatus; attempts: number; seconds: number | null }[];
}

export interface TaskRun {
  task: string;
  position: number;
  status: TaskStatus;
  attempts: number;
  seconds: number | null;
  rows_in: number | null;
  rows_out: number | null;
  cache_key: string | null;
  log_path: string | null;
  error_code: string | null;
  error: string | null;
  started_at: string | null;
  /** Executor bullmq: the worker of each job (the task, or each partition); empty when it ran on the runner's machine. */
  workers?: { partition: string | null; worker: string; host: string; pid: number; seconds: number; claims?: number }[];
}

/** GET /backfills/:id. */
export interface BackfillDetails {
  backfill_id: string;
  pipeline: string;
  date_from: string;
  date_to: string;
  /** abandoned: left running by a process that is gone (killed). */
  status: 'running' | 'finished' | 'failed' | 'cancelled' | 'abandoned';
  started_at: string;
  ended_at: string | null;
  days_total: number;
  days_succeeded: number;
  days_failed: number;
  days_skipped: number;
  error: string | null;
  days: { date: string; run_id: string | null; status: string; seconds: number | null }[];
}

export interface RunDetails extends RunSummary {
  tasks: TaskRun[];
  params: Record<string, string | null>;
}

export type MetricSet = Record<string, number>;

export interface ModelVersion {
  id: string;
  kind: string;
  created_at: string;
  aliases: string[];
  metrics: Record<string, MetricSet>;
  test_slice: { date_min: string; date_max: string; rows: number; selection?: { kind: string; windows: { from: string; to: string; rows: number }[]; metrics: Record<string, number> } | null } | null;
}

export interface SymbolInfo {
  symbol: string;
  name: string | null;
  asset: string | null;
  rows: number;
  date_min: string;
  date_max: string;
}

export interface Series {
  symbol: string;
  rows: number;
  points: number;
  downsampled: boolean;
  dates: string[];
  adj_close: (number | null)[];
  volume: (number | null)[];
  vol_moving_avg: (number | null)[];
  adj_close_rolling_med: (number | null)[];
  predicted_volume: (number | null)[];
  model_id: string | null;
  forecast_model_id: string | null;
  forecasts: { target_date: string; adj_close: number | null; volume: number | null }[];
}
