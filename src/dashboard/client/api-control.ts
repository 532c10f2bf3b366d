/** @module dashboard/client/api-control
 * The run-control calls (docs/api.md): start a run or a backfill, resume or cancel a run, the
 * schedules, a search inside a task's log and its download link. POSTs go through api.postJson
 * (the API token as a Bearer header when this tab has one). */
import { getJson, postJson, type TaskRun } from './api.js';

/** POST /runs, /runs/:id/resume and /runs/:id/cancel: the run as stored right after. */
export interface RunStarted {
  run_id: string;
  pipeline: string | null;
  status: string | null;
  logical_date?: string | null;
  backfill_id: string | null;
  /** The CLI process that runs it (a cancel: the runner signalled). */
  pid: number;
  resumed?: boolean;
}

export interface BackfillStarted {
  backfill_id: string;
  pipeline: string;
  from: string;
  to: string;
  days: number;
  pid: number;
}

export interface ScheduleInfo {
  pipeline: string;
  cron: string;
  timezone: string;
  trading_days_only: boolean;
  next_run: string | null;
  next_run_local: string | null;
  last_handled: string | null;
  error: string | null;
}

export interface LogSearch {
  matches: { line: number; text: string; cut: boolean }[];
  more: boolean;
  lines_read: number;
}

/** A task row with its end time (GET /runs/:id sends it; the Gantt reads it). */
export type TimedTask = TaskRun & { ended_at?: string | null };

const path = (id: string): string => `/runs/${encodeURIComponent(id)}`;

export function startRun(pipeline: string, opts: { date?: string; force?: boolean } = {}): Promise<RunStarted> {
  return postJson<RunStarted>('/runs', { pipeline, ...(opts.date ? { date: opts.date } : {}), ...(opts.force ? { force: true } : {}) });
}

export function resumeRun(id: string): Promise<RunStarted> {
  return postJson<RunStarted>(`${path(id)}/resume`, {});
}

export function cancelRun(id: string): Promise<RunStarted> {
  return postJson<RunStarted>(`${path(id)}/cancel`, {});
}

export function startBackfill(pipeline: string, from: string, to: string, force = false): Promise<BackfillStarted> {
  return postJson<BackfillStarted>('/backfills', { pipeline, from, to, ...(force ? { force: true } : {}) });
}

export function getSchedules(signal?: AbortSignal): Promise<{ now: string; schedules: ScheduleInfo[] }> {
  return getJson('/schedules', signal);
}

export function searchLog(id: string, task: string, q: string, limit: number, signal?: AbortSignal): Promise<LogSearch> {
  return getJson<LogSearch>(`${path(id)}/logs/${encodeURIComponent(task)}/search?${new URLSearchParams({ q, limit: String(limit) })}`, signal);
}

export function logDownloadUrl(id: string, task: string): string {
  return `${path(id)}/logs/${encodeURIComponent(task)}/download`;
}
