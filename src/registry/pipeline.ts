/** @module registry/pipeline
 * Pipeline run history in the store (docs/models.md, docs/pipelines.md): a pipeline run is a `runs` row of kind
 * 'pipeline'; each of its tasks is a `task_runs` row; `task_cache` maps (task, cache key) to the
 * outputs a succeeded task wrote. The runner (pipeline/) decides; this file only stores and reads.
 * A run records its runner's pid, host and start time (params runner_pid, runner_host,
 * runner_start); a stored 'running' run whose runner is gone reads as 'abandoned'. */
import { hostname } from 'node:os';
import { processGone, processStartTime } from '../core/proc.js';
import type { PIPELINE_RUN_STATUSES, TASK_STATUSES } from './schema.js';
import type { Registry } from './store.js';
import type { RunRecord } from './types.js';

export type TaskStatus = (typeof TASK_STATUSES)[number];

/** One output file as a task wrote it. */
export interface OutputRecord {
  path: string;
  sha256: string;
  bytes: number;
}

export interface TaskRunRecord {
  run_id: string;
  task: string;
  position: number;
  status: TaskStatus;
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  seconds: number | null;
  rows_in: number | null;
  rows_out: number | null;
  cache_key: string | null;
  outputs: OutputRecord[];
  summary: Record<string, unknown> | null;
  log_path: string | null;
  error_code: string | null;
  error: string | null;
  /** Where it ran (executor bullmq): one entry per job (partition); empty = on the runner's machine. */
  workers: WorkerRecord[];
}

/** A queued job's execution as the runner recorded it. */
export interface WorkerRecord {
  /** The partition (e.g. buckets 00-01), or null for the whole task. */
  partition: string | null;
  /** The worker's id (stockpipe worker prints it), its host and pid. */
  worker: string;
  host: string;
  pid: number;
  seconds: number;
  /** How many executions the job took (more than 1: a worker died or stalled and the job was redelivered). */
  claims?: number;
}

export type PipelineRunStatus = (typeof PIPELINE_RUN_STATUSES)[number];

export interface PipelineRunSummary extends Omit<RunRecord, 'status'> {
  /** As stored, except 'abandoned': left 'running' by a runner that is gone (killed). */
  status: PipelineRunStatus;
  pipeline: string;
  seconds: number | null;
  /** Task status → how many tasks ended (or stand) in it. */
  task_counts: Partial<Record<TaskStatus, number>>;
  /** The trading day the run was for (`run --date`, a backfill day); null = today's data, no bound. */
  logical_date: string | null;
  /** The backfill the run belongs to, or null. */
  backfill_id: string | null;
}

export interface PipelineRunDetails extends PipelineRunSummary {
  tasks: TaskRunRecord[];
  params: Record<string, string | null>;
}

interface TaskRow extends Omit<TaskRunRecord, 'outputs' | 'summary' | 'workers'> {
  outputs: string | null;
  summary: string | null;
  workers: string | null;
}

const parse = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));

function toTask(r: TaskRow): TaskRunRecord {
  return { ...r, outputs: parse<OutputRecord[]>(r.outputs, []), summary: parse<Record<string, unknown> | null>(r.summary, null), workers: parse<WorkerRecord[]>(r.workers, []) };
}

function seconds(run: Pick<RunRecord, 'started_at' | 'ended_at'>): number | null {
  return run.ended_at === null ? null : (Date.parse(run.ended_at) - Date.parse(run.started_at)) / 1000;
}

/**
 * Starts a pipeline run with every planned task 'queued', its logical date, backfill and runner, in
 * one transaction; returns the run id.
 */
export function createPipelineRun(reg: Registry, input: {
  run_id?: string; pipeline: string; tasks: readonly string[]; params?: Record<string, unknown>; config_hash?: string; git_sha?: string;
  logical_date?: string | null; backfill_id?: string | null; runner?: RunnerIdentity; started_at?: string;
  /** Tasks' states known when the run is written (a run stored after it began): inserted as they are, not queued then updated. */
  initial?: ReadonlyMap<string, TaskPatch>;
}): string {
  return reg.transaction(() => {
    const runId = reg.startRun({ kind: 'pipeline', name: input.pipeline, run_id: input.run_id, config_hash: input.config_hash, git_sha: input.git_sha, started_at: input.started_at });
    if (input.logical_date != null || input.backfill_id != null) {
      reg.run('date run', 'UPDATE runs SET logical_date = ?, backfill_id = ? WHERE run_id = ?', [input.logical_date ?? null, input.backfill_id ?? null, runId]);
    }
    input.tasks.forEach((task, position) => {
      const p = input.initial?.get(task);
      if (p === undefined) reg.run('plan task', "INSERT INTO task_runs (run_id, task, position, status) VALUES (?, ?, ?, 'queued')", [runId, task, position]);
      else reg.run('plan task', `INSERT INTO task_runs (run_id, task, position, ${TASK_COLUMNS.join(', ')}) VALUES (?, ?, ?, ${TASK_COLUMNS.map(() => '?').join(', ')})`, [runId, task, position, ...taskValues({ status: 'queued', attempts: 0, ...p })]);
    });
    const params = { ...input.params, ...(input.runner ? { runner_pid: input.runner.pid, runner_host: input.runner.host, runner_start: input.runner.start } : {}) };
    if (Object.keys(params).length > 0) reg.logParams(runId, params);
    return runId;
  });
}

/**
 * The newest whole pipeline run of `pipeline` for logical date `date` (any status as stored), or null.
 * A `--from/--to` slice does not count: it ran only part of the day (`run daily --date D --to forecast`
 * never monitored D), so a backfill must not take the day for done, nor resume the slice as the day.
 */
export function latestRunForDate(reg: Registry, pipeline: string, date: string): { run_id: string; status: RunRecord['status']; backfill_id: string | null; forced: boolean } | null {
  const r = reg.get<{ run_id: string; status: RunRecord['status']; backfill_id: string | null; forced: string | null }>('find run for date',
    `SELECT r.run_id, r.status, r.backfill_id, f.value AS forced FROM runs r LEFT JOIN params f ON f.run_id = r.run_id AND f.key = 'force'
     WHERE r.kind = 'pipeline' AND r.name = ? AND r.logical_date = ?
       AND NOT EXISTS (SELECT 1 FROM params s WHERE s.run_id = r.run_id AND s.key IN ('from', 'to') AND s.value IS NOT NULL)
     ORDER BY r.started_at DESC, r.rowid DESC LIMIT 1`, [pipeline, date]);
  return r === undefined ? null : { run_id: r.run_id, status: r.status, backfill_id: r.backfill_id, forced: r.forced === 'true' };
}

/** Sets a run back to 'running' (a resumed run) and re-queues the given tasks. */
export function reopenPipelineRun(reg: Registry, runId: string, requeue: readonly string[]): void {
  reg.transaction(() => {
    reg.run('reopen run', "UPDATE runs SET status = 'running', ended_at = NULL, error = NULL WHERE run_id = ?", [runId]);
    for (const task of requeue) {
      reg.run('requeue task', `UPDATE task_runs SET status = 'queued', started_at = NULL, ended_at = NULL, seconds = NULL, error_code = NULL, error = NULL
        WHERE run_id = ? AND task = ?`, [runId, task]);
    }
  });
}

export type TaskPatch = Partial<Omit<TaskRunRecord, 'run_id' | 'task' | 'position'>>;

const TASK_COLUMNS = ['status', 'attempts', 'started_at', 'ended_at', 'seconds', 'rows_in', 'rows_out', 'cache_key', 'outputs', 'summary', 'log_path', 'error_code', 'error', 'workers'] as const satisfies readonly (keyof TaskPatch)[];

/** A patch's values in column order (`cols`), JSON for outputs and summary. */
function taskValues(patch: TaskPatch, cols: readonly (keyof TaskPatch)[] = TASK_COLUMNS): unknown[] {
  return cols.map((c) => {
    const v = patch[c];
    return c === 'outputs' || c === 'summary' || c === 'workers' ? (v === null || v === undefined ? null : JSON.stringify(v)) : (v ?? null);
  });
}

/** Updates the named fields of one task run. */
export function updateTaskRun(reg: Registry, runId: string, task: string, patch: TaskPatch): void {
  const cols = Object.keys(patch) as (keyof TaskPatch)[];
  if (cols.length === 0) return;
  const values = taskValues(patch, cols);
  reg.run('update task run', `UPDATE task_runs SET ${cols.map((c) => `${c} = ?`).join(', ')} WHERE run_id = ? AND task = ?`, [...values, runId, task]);
}

export function getTaskRuns(reg: Registry, runId: string): TaskRunRecord[] {
  return reg.all<TaskRow>('read task runs', 'SELECT * FROM task_runs WHERE run_id = ? ORDER BY position', [runId]).map(toTask);
}

function countsFor(reg: Registry, runIds: readonly string[]): Map<string, Partial<Record<TaskStatus, number>>> {
  const out = new Map<string, Partial<Record<TaskStatus, number>>>();
  if (runIds.length === 0) return out;
  const rows = reg.all<{ run_id: string; status: TaskStatus; n: number }>('count task runs',
    `SELECT run_id, status, COUNT(*) AS n FROM task_runs WHERE run_id IN (${runIds.map(() => '?').join(',')}) GROUP BY run_id, status`, [...runIds]);
  for (const r of rows) {
    const m = out.get(r.run_id) ?? {};
    m[r.status] = r.n;
    out.set(r.run_id, m);
  }
  return out;
}

/** The process running a pipeline run, as recorded with it. */
export interface RunnerIdentity {
  pid: number;
  host: string;
  /** /proc start time, null where unknown. */
  start: string | null;
}

let self: RunnerIdentity | undefined;
/** This process as a runner (its /proc start time read once: a backfill starts hundreds of runs). */
export function thisRunner(): RunnerIdentity {
  self ??= { pid: process.pid, host: hostname(), start: processStartTime(process.pid) };
  return self;
}

/** Records (or, on resume, replaces) the runner of a run. */
export function recordRunner(reg: Registry, runId: string, runner: RunnerIdentity): void {
  reg.logParams(runId, { runner_pid: runner.pid, runner_host: runner.host, runner_start: runner.start });
}

/** Whether a recorded runner is gone; injectable for tests. Another host's runner is never judged. */
export type RunnerGoneCheck = (runner: RunnerIdentity) => boolean;
/** The check of a runner on this machine (pipeline runs, and backfills: registry/backfills). */
export const runnerGoneHere: RunnerGoneCheck = (r) => r.host === hostname() && processGone(r.pid, r.start);

/** The ids of stored 'running' runs whose recorded runner is gone: pipeline runs by default, or
 * every kind (a command killed before it could end its run: registry/runs-query). */
export function abandonedRunIds(reg: Registry, gone: RunnerGoneCheck = runnerGoneHere, anyKind = false): string[] {
  const rows = reg.all<{ run_id: string; pid: string; host: string | null; start: string | null }>('find abandoned runs',
    `SELECT r.run_id, p.value AS pid, h.value AS host, s.value AS start FROM runs r
     JOIN params p ON p.run_id = r.run_id AND p.key = 'runner_pid'
     LEFT JOIN params h ON h.run_id = r.run_id AND h.key = 'runner_host'
     LEFT JOIN params s ON s.run_id = r.run_id AND s.key = 'runner_start'
     WHERE (r.kind = 'pipeline' OR @any = 1) AND r.status = 'running'`, { any: anyKind ? 1 : 0 });
  return rows.filter((r) => gone({ pid: Number(r.pid), host: r.host ?? '', start: r.start })).map((r) => r.run_id);
}

/**
 * SQL for a run's status as read: 'abandoned' for the ids in the JSON array @abandoned that are still
 * stored 'running'. The array is taken before the query: a runner seen gone may have ended its run
 * in between (a reader paused after reading 'running', while the runner committed and exited), and
 * the status it stored wins.
 */
const READ_STATUS = "(CASE WHEN status = 'running' AND run_id IN (SELECT value FROM json_each(@abandoned)) THEN 'abandoned' ELSE status END)";

/** Pipeline runs, newest first, with per-status task counts (paged). */
export function listPipelineRuns(reg: Registry, opts: { pipeline?: string; status?: string; backfill?: string; limit?: number; offset?: number; gone?: RunnerGoneCheck } = {}): PipelineRunSummary[] {
  const runs = reg.all<Omit<RunRecord, 'status'> & { status: PipelineRunStatus; logical_date: string | null; backfill_id: string | null }>('list pipeline runs',
    `SELECT *, ${READ_STATUS} AS status FROM runs WHERE kind = 'pipeline' AND (@pipeline IS NULL OR name = @pipeline) AND (@status IS NULL OR ${READ_STATUS} = @status)
     AND (@backfill IS NULL OR backfill_id = @backfill)
     ORDER BY started_at DESC, rowid DESC LIMIT @limit OFFSET @offset`,
    { pipeline: opts.pipeline ?? null, status: opts.status ?? null, backfill: opts.backfill ?? null, limit: opts.limit ?? 50, offset: opts.offset ?? 0, abandoned: JSON.stringify(abandonedRunIds(reg, opts.gone)) });
  const counts = countsFor(reg, runs.map((r) => r.run_id));
  return runs.map((r) => ({ ...r, pipeline: r.name ?? '', seconds: seconds(r), task_counts: counts.get(r.run_id) ?? {} }));
}

/** How many pipeline runs match (for paging). */
export function countPipelineRuns(reg: Registry, opts: { pipeline?: string; status?: string; backfill?: string; gone?: RunnerGoneCheck } = {}): number {
  return reg.get<{ n: number }>('count pipeline runs', `SELECT COUNT(*) AS n FROM runs WHERE kind = 'pipeline' AND (@pipeline IS NULL OR name = @pipeline) AND (@status IS NULL OR ${READ_STATUS} = @status)
    AND (@backfill IS NULL OR backfill_id = @backfill)`,
    { pipeline: opts.pipeline ?? null, status: opts.status ?? null, backfill: opts.backfill ?? null, abandoned: opts.status === undefined ? '[]' : JSON.stringify(abandonedRunIds(reg, opts.gone)) })?.n ?? 0;
}

/** One pipeline run with its tasks in plan order and its params; null when unknown. */
export function getPipelineRun(reg: Registry, runId: string, gone: RunnerGoneCheck = runnerGoneHere): PipelineRunDetails | null {
  const run = reg.getRun(runId);
  if (run === null || run.kind !== 'pipeline') return null;
  const tasks = getTaskRuns(reg, runId);
  const task_counts: Partial<Record<TaskStatus, number>> = {};
  for (const t of tasks) task_counts[t.status] = (task_counts[t.status] ?? 0) + 1;
  const { metrics: _m, artifacts: _a, params, ...rec } = run as typeof run & { logical_date?: string | null; backfill_id?: string | null };
  const pid = params.runner_pid;
  let abandoned = rec.status === 'running' && pid !== undefined && pid !== null && gone({ pid: Number(pid), host: params.runner_host ?? '', start: params.runner_start ?? null });
  // 'running' was read before the runner was seen gone: it may have ended the run and exited in
  // between (a busy machine pauses a reader that long). Only a run still stored 'running' now, after
  // its runner is gone, was left by it.
  if (abandoned) {
    const now = reg.getRun(runId);
    if (now !== null && now.status !== 'running') return getPipelineRun(reg, runId, gone);
    abandoned = now !== null;
  }
  return { ...rec, logical_date: rec.logical_date ?? null, backfill_id: rec.backfill_id ?? null, status: abandoned ? 'abandoned' : rec.status, pipeline: run.name ?? '', seconds: seconds(run), task_counts, tasks, params };
}

/**
 * The first run of `pipeline` started at `since` or later whose runner was process `pid` on `host`
 * (the `stockpipe run` child a scheduler started then), with its status as read ('abandoned' when that
 * process is gone and left it running); null when none began.
 */
export function runOfRunner(reg: Registry, pipeline: string, runner: { pid: number; host: string }, since: string, gone: RunnerGoneCheck = runnerGoneHere): { run_id: string; status: PipelineRunStatus } | null {
  const row = reg.get<{ run_id: string }>('find the run of a runner',
    `SELECT r.run_id FROM runs r
     JOIN params p ON p.run_id = r.run_id AND p.key = 'runner_pid' AND p.value = @pid
     LEFT JOIN params h ON h.run_id = r.run_id AND h.key = 'runner_host'
     WHERE r.kind = 'pipeline' AND r.name = @pipeline AND r.started_at >= @since AND (h.value IS NULL OR h.value = @host)
     ORDER BY r.started_at, r.rowid LIMIT 1`, { pid: String(runner.pid), host: runner.host, pipeline, since });
  const run = row === undefined ? null : getPipelineRun(reg, row.run_id, gone);
  return run === null ? null : { run_id: run.run_id, status: run.status };
}

/** The newest pipeline run (of `pipeline`, when given) if it failed, was cancelled, or was left running; else null. */
export function latestUnfinishedRun(reg: Registry, pipeline?: string): RunRecord | null {
  // The latest run, when it did not finish: an older unfinished run is superseded by a newer one
  // (a second `run --resume` after the first finished resumed a stale run from long before).
  const r = reg.get<RunRecord>('find unfinished run',
    `SELECT * FROM runs WHERE kind = 'pipeline' AND (@pipeline IS NULL OR name = @pipeline)
     ORDER BY started_at DESC, rowid DESC LIMIT 1`, { pipeline: pipeline ?? null });
  return r !== undefined && ['failed', 'cancelled', 'running'].includes(r.status) ? r : null;
}

export interface CacheEntry {
  task: string;
  cache_key: string;
  run_id: string;
  outputs: OutputRecord[];
  summary: Record<string, unknown> | null;
  created_at: string;
}

export function cacheLookup(reg: Registry, task: string, cacheKey: string): CacheEntry | null {
  const r = reg.get<Omit<CacheEntry, 'outputs' | 'summary'> & { outputs: string; summary: string | null }>('read task cache',
    'SELECT * FROM task_cache WHERE task = ? AND cache_key = ?', [task, cacheKey]);
  return r === undefined ? null : { ...r, outputs: parse<OutputRecord[]>(r.outputs, []), summary: parse<Record<string, unknown> | null>(r.summary, null) };
}

export function cacheStore(reg: Registry, entry: Omit<CacheEntry, 'created_at'>): void {
  reg.run('write task cache', `INSERT INTO task_cache (task, cache_key, run_id, outputs, summary, created_at) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (task, cache_key) DO UPDATE SET run_id = excluded.run_id, outputs = excluded.outputs, summary = excluded.summary, created_at = excluded.created_at`,
  [entry.task, entry.cache_key, entry.run_id, JSON.stringify(entry.outputs), entry.summary === null ? null : JSON.stringify(entry.summary), reg.timestamp()]);
}

/** The largest value of a string field of the succeeded results of `task` in runs of `pipeline` whose
 * summary's `flag` is true (e.g. the newest `data_date` of the retrains that happened), or null. */
export function maxTaskSummaryField(reg: Registry, pipeline: string, task: string, field: string, flag: string): string | null {
  const r = reg.get<{ v: string | null }>('read task summaries', `SELECT MAX(json_extract(t.summary, ?)) AS v FROM task_runs t JOIN runs r ON r.run_id = t.run_id
    WHERE r.kind = 'pipeline' AND r.name = ? AND t.task = ? AND t.status IN ('succeeded', 'cached') AND json_valid(t.summary)
      AND json_extract(t.summary, ?) = 1 AND json_type(t.summary, ?) = 'text'`, [`$.${field}`, pipeline, task, `$.${flag}`, `$.${field}`]);
  return r?.v ?? null;
}

/** The newest succeeded or cached summary of `task` in runs of `pipeline` (feeds --from slices). */
export function latestTaskResult(reg: Registry, pipeline: string, task: string): TaskRunRecord | null {
  const r = reg.get<TaskRow>('read latest task result', `SELECT t.* FROM task_runs t JOIN runs r ON r.run_id = t.run_id
    WHERE r.kind = 'pipeline' AND r.name = ? AND t.task = ? AND t.status IN ('succeeded', 'cached')
    ORDER BY t.ended_at DESC LIMIT 1`, [pipeline, task]);
  return r === undefined ? null : toTask(r);
}
