/** @module queue/protocol
 * What goes through Redis (executor bullmq ↔ `stockpipe worker`): a job's data (the command to run,
 * the workspace it runs on, where its log goes), its result (the command's --json data and who ran
 * it), its deterministic id, and errors as `{code, message, hint}` in the job's failed reason.
 * Checked with zod on the worker: a job from another stockpipe version fails with a clear error, and
 * one from another build of the same version too (SP_ERR_WORKER_BUILD). */
import { z } from '../core/zod.js';
import { ERROR_CODES, StockpipeError, type ErrorCode } from '../core/errors.js';

/** 2: jobs carry the runner's build (core/build). */
export const JOB_PROTOCOL = 2;
/** The BullMQ queue the runner and workers share (pipeline.queue sets its key prefix). */
export const QUEUE_NAME = 'tasks';

export const JobData = z
  .object({
    protocol: z.literal(JOB_PROTOCOL),
    /** command: run `stockpipe <args> --json` in a child process; probe: answer in the worker (tests, queue benchmarks). */
    kind: z.enum(['command', 'probe']),
    run_id: z.string(),
    task: z.string(),
    partition: z.string().nullable(),
    /** The command's arguments (global flags included: --workspace with the shared absolute path). */
    args: z.array(z.string()),
    /** The workspace folder, absolute (the same path on every machine). */
    workspace: z.string(),
    log_path: z.string(),
    /** The coordinator's STOCKPIPE_* settings (not secrets): the worker's child gets them. */
    env: z.record(z.string(), z.string()),
    /** probe jobs: how long to take, and what to answer. */
    probe: z.object({ ms: z.number().min(0).max(600_000), echo: z.unknown() }).optional(),
    coordinator: z.object({ host: z.string(), pid: z.number() }),
    /** The runner's build id (core/build), or null (run from the sources): a worker of another build refuses the job. */
    build: z.string().nullable(),
  })
  .strict();
export type JobData = z.infer<typeof JobData>;

export interface WorkerIdentity {
  id: string;
  host: string;
  pid: number;
}

export interface JobResult {
  data: Record<string, unknown>;
  worker: WorkerIdentity;
  seconds: number;
  /** Executions that claimed the job (1 unless it was redelivered). */
  claims: number;
}

/** A deterministic job id: the same run, task, partition and attempt give the same job (BullMQ keeps one). */
export function jobIdOf(runId: string, task: string, partition: string | null, attempt: number, key?: string): string {
  const clean = (s: string): string => s.replace(/[^A-Za-z0-9_.=-]/g, '_');
  return `${clean(runId)}.${clean(task)}.${partition === null ? 'all' : clean(partition)}.a${attempt}${key === undefined ? '' : `.${clean(key)}`}`;
}

/** An error as a job's failed reason (JSON, so the code survives the trip). */
export function errorReason(err: unknown): string {
  const e = err instanceof StockpipeError ? err : null;
  return JSON.stringify({ code: e?.code ?? 'SP_ERR_TASK_FAILED', message: err instanceof Error ? err.message : String(err), hint: e?.hint });
}

/** The StockpipeError a failed reason stands for. */
export function reasonError(reason: string | undefined, jobId: string): StockpipeError {
  try {
    const r = JSON.parse(reason ?? '') as { code?: string; message?: string; hint?: string };
    const code = (r.code !== undefined && r.code in ERROR_CODES ? r.code : 'SP_ERR_TASK_FAILED') as ErrorCode;
    return new StockpipeError(code, r.message ?? `job ${jobId} failed`, { hint: r.hint });
  } catch {
    // Not ours: BullMQ's own reasons (e.g. "job stalled more than allowable limit").
    return new StockpipeError('SP_ERR_TASK_FAILED', `job ${jobId} failed: ${reason ?? 'no reason given'}`, { hint: 'Read the worker\'s output and the task log (`stockpipe runs logs RUN_ID TASK`).' });
  }
}
