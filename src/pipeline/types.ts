/** @module pipeline/types
 * What a pipeline is: named tasks with upstream tasks, declared input and output files, params,
 * a code version and a function. The runner (runner.ts) orders, caches, retries and records them;
 * the concrete pipelines (`train`, `daily`) are composed in pipeline/builtin/. */
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import type { RunnerIdentity, TaskStatus, WorkerRecord } from '../registry/pipeline.js';
import type { Registry } from '../registry/store.js';
import type { FileHasher } from './hash.js';

/** What a task's function gets for one attempt. */
export interface TaskContext {
  runId: string;
  task: string;
  attempt: number;
  /** Aborted on timeout or cancellation (Ctrl-C); a task must stop promptly when it fires. */
  signal: AbortSignal;
  /** This task's log file (the runner writes its own lines there too). */
  logPath: string;
  /** Writes the runner's lines of this task now (they wait about 50 ms otherwise): call it before a command writes to logPath. */
  flushLog?(): void;
  log: Logger;
  /** The summaries of the upstream tasks that ran or were cached in this run, by task name. */
  upstream: Readonly<Record<string, TaskSummary>>;
  /** Reports progress (shown in the live view): a fraction 0..1 and/or a short note. */
  progress(p: { fraction?: number; note?: string }): void;
  /** Where a task that starts processes reports their pids (the run lock records them). */
  processes?: ProcessTracker;
  /** The run's logical date (YYYY-MM-DD, an NYSE trading day): a `dated` task reads only data up to it; null = no bound. */
  logicalDate: string | null;
  /** The cache was ignored for this task (`--force`, `--force-task`): a task with caches of its own (partitions) ignores them too. */
  forced?: boolean;
  /** The task's cache key (its code version, parameters and inputs' contents), or null when it is never cached. */
  cacheKey?: string | null;
}

/** Keeps the pids of a run's live task processes (so a later run can find orphans). */
export interface ProcessTracker {
  started(pid: number): void;
  ended(pid: number): void;
}

/** A task's result: its summary (the command's --json data) and row counts. */
export interface TaskResult {
  summary?: TaskSummary;
  rowsIn?: number | null;
  rowsOut?: number | null;
  /**
   * The task found its own outputs up to date (e.g. fetch of an unchanged source): shown as cached.
   * 'skipped': the task decided there was nothing to do (e.g. no retrain needed).
   */
  status?: 'cached' | 'skipped';
  /** Where it ran (executor bullmq): one record per job (partition). */
  workers?: WorkerRecord[];
}

export type TaskSummary = Record<string, unknown>;

/** Files a task reads or writes, resolved against the workspace; may depend on upstream summaries. */
export type FileList = readonly string[] | ((upstream: Readonly<Record<string, TaskSummary>>) => readonly string[]);

export interface TaskSpec {
  name: string;
  /** Upstream task names (edges of the DAG). */
  deps?: readonly string[];
  /** Bumped when the task's behaviour changes: part of the cache key. */
  version: string;
  /** Files whose content goes into the cache key; a missing one is an error, never a cache hit. */
  inputs?: FileList;
  /** Files the task writes; hashed after success and checked on a cache hit. */
  outputs?: FileList;
  /** Parameters that go into the cache key (a function sees the upstream summaries). */
  params?: Record<string, unknown> | ((upstream: Readonly<Record<string, TaskSummary>>) => Record<string, unknown>);
  /** Reads only data known by the run's logical date: the date is part of its cache key (each day cached on its own). */
  dated?: boolean;
  /** 'hash' (default): skipped when the key and outputs are unchanged; 'never': always runs. */
  cache?: 'hash' | 'never';
  /** Attempts after the first failure (default 0). */
  retries?: number;
  /** Base of the exponential backoff (default 1000 ms): delay n = min(base·2^(n−1), max) + jitter. */
  retryDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Per-attempt time limit (default none). */
  timeoutMs?: number;
  run(ctx: TaskContext): Promise<TaskResult>;
}

export interface Pipeline {
  name: string;
  description: string;
  tasks: readonly TaskSpec[];
}

/** One line of the live view and of `--json` output. */
export interface TaskState {
  name: string;
  status: TaskStatus;
  attempts: number;
  seconds: number | null;
  startedAt: number | null;
  note: string | null;
  fraction: number | null;
  error: { code: string; message: string } | null;
}

/** Receives the runner's state changes (live view, plain lines, tests). */
export interface RunObserver {
  onPlan?(runId: string, tasks: readonly TaskState[]): void;
  onTask?(state: TaskState): void;
  onEnd?(runId: string, status: string): void;
}

/** What runner.runPipeline takes (prepare.ts reads the resume and slice fields). */
export interface RunOptions {
  /** The workspace: task files resolve against it, logs and the hash memo live in it. */
  ws: Workspace;
  pipeline: Pipeline;
  registry: Registry;
  log: Logger;
  /** Ignore every cache entry. */
  force?: boolean;
  /** Ignore the cache for these tasks only. */
  forceTasks?: readonly string[];
  from?: string;
  to?: string;
  /** Continue this run: its succeeded and cached tasks are kept, the rest run again. */
  resume?: string;
  /** Tasks running at once (default 2). */
  concurrency?: number;
  /** Cancels the run (Ctrl-C): running tasks are aborted, the run is marked cancelled. */
  signal?: AbortSignal;
  observer?: RunObserver;
  /** The process running the run, recorded with it (default: this process). */
  runner?: RunnerIdentity;
  /** Told the pids of the task processes (the run lock records them). */
  processes?: ProcessTracker;
  /** Waits between retries (tests inject one that does not wait). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The trading day the run is for (`run --date`, a backfill day), recorded with it and given to the tasks. */
  logicalDate?: string;
  /** The backfill this run belongs to (recorded with it). */
  backfillId?: string;
  /** Called inside the transaction that records the run's end (a backfill records its day with it). */
  onEndRecord?: (runId: string, status: RunOutcome['status']) => void;
  /** A file hasher shared by several runs (a backfill): its memo is read once; the caller saves it. */
  hasher?: FileHasher;
  /** Recorded with the run. */
  params?: Record<string, unknown>;
  configHash?: string;
  gitSha?: string;
}

export interface TaskOutcome {
  name: string;
  status: TaskStatus;
  seconds: number | null;
  attempts: number;
  rows_in: number | null;
  rows_out: number | null;
  cache_key: string | null;
  error: { code: string; message: string } | null;
}

export interface RunOutcome {
  run_id: string;
  pipeline: string;
  logical_date: string | null;
  status: 'finished' | 'failed' | 'cancelled';
  resumed: boolean;
  seconds: number;
  tasks: TaskOutcome[];
  /** The first failed task, for alerts. */
  /** The failed task, its error and its hint (what the task's command said to do: kept in its log too). */
  failed: { task: string; code: string; message: string; hint: string | null; log_path: string } | null;
}
