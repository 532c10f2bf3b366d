/** @module pipeline/executor
 * Where a task's command runs. The runner keeps the DAG, cache keys, retries and run history; an
 * executor only runs one command (or one partition of it) and says who ran it: `LocalExecutor`
 * (here, the default) runs it as a child process of the runner (pipeline/subprocess); the bullmq
 * one (queue/executor) puts it on a Redis queue for `stockpipe worker`s (docs/scale-out.md). */
import { randomBytes } from 'node:crypto';
import type { WorkerRecord } from '../registry/pipeline.js';
import { runCommandProcess } from './subprocess.js';
import type { ProcessTracker } from './types.js';

/** In a command's arguments, replaced by each execution's own token (a partition's stage folder is per execution). */
export const EXECUTION_TOKEN = '%EXECUTION%';

/** One run of a task's command (or one partition of it). */
export interface CommandJob {
  runId: string;
  task: string;
  /** The partition (e.g. `b00-03`), or null for the whole task. */
  partition: string | null;
  /** Goes into the job's id with the rest (e.g. a hash of the partition plan), so different work never shares an id. */
  key?: string;
  attempt: number;
  /** The queue's job id when the caller names the work itself (a tuning trial: `<study>.<trial>.<rung>`); else one is made of the fields above. */
  jobId?: string;
  /**
   * Names this work across its executions (the run, the task and its cache key): a model the command
   * registered under it is its result when the same work runs again (an attempt after a failure, or a
   * resumed run, after the first execution had registered it). A queued job's id plays that part.
   */
  taskKey?: string;
  /** `stockpipe` arguments, global flags included. */
  args: readonly string[];
  logPath: string;
  signal: AbortSignal;
  /** Progress of the command (a fraction and/or a short note). */
  onProgress?: (p: { fraction?: number; note?: string }) => void;
  processes?: ProcessTracker;
}

export interface CommandRun {
  data: Record<string, unknown>;
  /** Who ran it (null: the runner's own machine, executor local). */
  worker: WorkerRecord | null;
}

export interface CommandExecutor {
  readonly kind: 'local' | 'bullmq';
  run(job: CommandJob): Promise<CommandRun>;
  close(): Promise<void>;
}

/** A command's stderr line as progress: "(42%)" is a fraction; the line is the note. */
export function progressOfLine(line: string): { fraction?: number; note: string } {
  const pct = /\((\d{1,3})%\)/.exec(line);
  return { note: line.replace(/\s+/g, ' ').slice(0, 60), fraction: pct ? Number(pct[1]) / 100 : undefined };
}

/** What a task's command is told of its pipeline run, so the run it records is that run's child (cli/command-run). */
export function parentRunEnv(job: Pick<CommandJob, 'runId' | 'task'>): Record<string, string> {
  return { STOCKPIPE_PARENT_RUN_ID: job.runId, STOCKPIPE_PARENT_TASK: job.task };
}

/** `env` without a task key of its own: only the job's names its command. */
function withoutTaskKey(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { STOCKPIPE_TASK_KEY: _inherited, ...rest } = env;
  return rest;
}

/** The task key (CommandJob.taskKey) as the command's process reads it (cli/task-child). */
export function taskKeyEnv(job: Pick<CommandJob, 'taskKey'>): Record<string, string> {
  return job.taskKey === undefined ? {} : { STOCKPIPE_TASK_KEY: job.taskKey };
}

/** Runs commands as child processes of this process (the default). */
export class LocalExecutor implements CommandExecutor {
  readonly kind = 'local' as const;
  constructor(private readonly mainScript: string, private readonly env: NodeJS.ProcessEnv) {}
  async run(job: CommandJob): Promise<CommandRun> {
    const token = randomBytes(4).toString('hex');
    const data = await runCommandProcess({
      mainScript: this.mainScript, args: job.args.map((a) => a.replaceAll(EXECUTION_TOKEN, token)), logPath: job.logPath, signal: job.signal, processes: job.processes, env: { ...withoutTaskKey(this.env), ...parentRunEnv(job), ...taskKeyEnv(job) },
      onLine: job.onProgress === undefined ? undefined : (line) => job.onProgress!(progressOfLine(line)),
    });
    return { data, worker: null };
  }
  async close(): Promise<void> {}
}
