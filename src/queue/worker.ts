/** @module queue/worker
 * `stockpipe worker`: takes jobs from the BullMQ queue and runs each as the runner would locally —
 * `stockpipe <args> --json` in a child process that dies with this worker (pipeline/subprocess,
 * core/runner-watch) — on the shared workspace named in the job. Before starting it claims the job
 * in the workspace's store with a fresh token (registry/job-claims); the child commits only while
 * that claim is its own (queue/fence). Progress goes back as job progress; the result is the
 * command's --json data and who ran it. A job's cancel flag (set by the runner) or a lost lock stops
 * the child. Stopping: the first SIGINT/SIGTERM lets running jobs finish and takes no new ones; a
 * second hands them back to the queue (children stopped, jobs moved back to waiting). */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { basename } from 'node:path';
import { type ConnectionOptions, type Job, WaitingError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { abortableSleep } from '../core/retry.js';
import { Workspace } from '../core/workspace.js';
import { runCommandProcess } from '../pipeline/subprocess.js';
import { claimJob } from '../registry/job-claims.js';
import { getPipelineRun } from '../registry/pipeline.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { checkRedis, redisTarget } from './connection.js';
import { EXECUTION_TOKEN, parentRunEnv, progressOfLine } from '../pipeline/executor.js';
import { cancelKey } from './executor.js';
import { buildId } from '../core/build.js';
import { errorReason, JOB_PROTOCOL, JobData, type JobResult, QUEUE_NAME, type WorkerIdentity } from './protocol.js';

export interface WorkerOptions {
  url: string;
  prefix: string;
  /** Jobs at once (default 1). */
  concurrency: number;
  /** --threads each job's command gets (default: the cores divided by the concurrency). */
  threads?: number;
  /** The CLI entry the children run (cli/task-main.js). */
  mainScript: string;
  log: Logger;
  /** Stops the worker gracefully (running jobs finish); `handBack` aborted too: they go back to the queue. */
  stop: AbortSignal;
  handBack: AbortSignal;
  /** BullMQ's lock duration and stalled-job check interval (defaults 30 s each). */
  lockMs?: number;
  stalledMs?: number;
  /** Called once the worker listens (tests, the CLI's banner). */
  onReady?: (id: WorkerIdentity) => void;
  /** Called when, stopping with no job running, the queue has not closed within closeWaitMs (default 10 s): Redis is gone. */
  onCloseStuck?: () => void;
  closeWaitMs?: number;
  /** Called after each job (for logs and tests). */
  onJob?: (e: { id: string; task: string; partition: string | null; ok: boolean; seconds: number; error?: string }) => void;
}

export interface WorkerSummary {
  worker: WorkerIdentity;
  jobs: number;
  failed: number;
  handed_back: number;
}

/**
 * Why no runner waits for a pipeline run's job, or null: the run is `abandoned` (left running by a
 * runner that is gone: killed on this host) or ended (`finished`, `failed`, `cancelled`). Such a job
 * was queued by a run that will never read its result; run now, it would commit for that run (a model
 * registered under it) beside a newer run. A `run --resume` reopens the run first, so its jobs pass.
 * A job of no pipeline run (a tuning trial) is never refused here.
 */
export function runWithoutRunner(reg: Registry, runId: string): string | null {
  const run = getPipelineRun(reg, runId);
  if (run === null) return null;
  return run.status === 'running' ? null : run.status;
}

const BUILD_HINT = 'Install the same stockpipe (the same commit, `npm ci && npm run build`) on the runner and every worker, then restart the workers and `stockpipe run --resume RUN_ID`; `stockpipe worker` prints its build when it starts.';

/** Runs the worker until `stop` aborts and its jobs are done (or handed back). */
export async function runWorker(o: WorkerOptions): Promise<WorkerSummary> {
  const target = redisTarget(o.url);
  await checkRedis(target, o.log);
  const concurrency = o.concurrency;
  const threads = o.threads ?? Math.max(1, Math.floor(availableParallelism() / concurrency));
  const me: WorkerIdentity = { id: `${hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`, host: hostname(), pid: process.pid };
  const flags = new Redis(target.options);
  flags.on('error', () => undefined); // reconnects; BullMQ's worker reports its own connection errors
  const active = new Map<string, { stop: AbortController; token: string | undefined; why: 'cancelled' | 'lost' | null }>();
  const summary: WorkerSummary = { worker: me, jobs: 0, failed: 0, handed_back: 0 };

  const processor = async (job: Job<JobData, JobResult>, token?: string, signal?: AbortSignal): Promise<JobResult> => {
    const t0 = performance.now();
    const parsed = JobData.safeParse(job.data);
    const mine = buildId();
    // A job of another version is another build's: the same code and the same handling (the runner retries it, another
    // worker may run it). It was SP_ERR_USAGE, which the runner never retries and whose code speaks of the command's flags.
    if (!parsed.success) {
      throw new Error(errorReason(new StockpipeError('SP_ERR_WORKER_BUILD', `job ${job.id} is not a job of this stockpipe version (protocol ${String((job.data as { protocol?: unknown }).protocol)}; worker ${me.id} on ${me.host} reads protocol ${JOB_PROTOCOL}, build ${mine ?? 'unknown'}: ${parsed.error.issues[0]?.message ?? ''}): not run`, { hint: BUILD_HINT })));
    }
    const d = parsed.data;
    // Another build of the same version (an update installed on the runner's machine only) could compute
    // other results under the same cache keys: nothing is run, and the runner's task fails saying so.
    if (d.build !== null && mine !== null && d.build !== mine) {
      throw new Error(errorReason(new StockpipeError('SP_ERR_WORKER_BUILD', `job ${job.id}: worker ${me.id} on ${me.host} runs stockpipe build ${mine}, the runner on ${d.coordinator.host} build ${d.build}: not run`, { hint: BUILD_HINT })));
    }
    const id = job.id!;
    const stop = new AbortController();
    const slot = { stop, token, why: null as 'cancelled' | 'lost' | null };
    active.set(id, slot);
    signal?.addEventListener('abort', () => stop.abort(), { once: true });
    const poll = setInterval(() => {
      flags.get(cancelKey(o.prefix, id)).then((v) => {
        if (v !== null) {
          slot.why = 'cancelled';
          stop.abort();
        }
      }, () => undefined);
    }, 1000);
    try {
      if (d.kind === 'probe') {
        await abortableSleep(d.probe?.ms ?? 0, stop.signal);
        if (stop.signal.aborted) throw new StockpipeError('SP_ERR_RUN_CANCELLED', `job ${id} was stopped`);
        return { data: { echo: d.probe?.echo ?? null }, worker: me, seconds: Math.round(performance.now() - t0) / 1000, claims: 1 };
      }
      const ws = new Workspace(d.workspace);
      // The runner's store is there before any job is queued: a folder without it is not the shared
      // workspace (an empty mount point whose file system is not mounted), and a command run there
      // would "succeed" into the worker's own disk (fetch) or fail as if data were missing.
      const missing = !existsSync(d.workspace) ? 'no such folder' : !existsSync(ws.registryPath) ? `the folder has no ${basename(ws.registryPath)} (an empty mount point: the shared file system is not mounted there?)` : null;
      if (missing !== null) {
        throw new StockpipeError('SP_ERR_WORKSPACE_UNREACHABLE', `worker ${me.id} on ${me.host} cannot see the workspace ${d.workspace}: ${missing}`, { hint: 'Mount the shared workspace at the same absolute path on every worker (docs/scale-out.md).' });
      }
      const execution = randomBytes(8).toString('hex');
      const reg = openRegistry(ws);
      let claims: number;
      try {
        // The runner records the job's run (a pipeline run, a tuning session) before it queues the job: a
        // store without it is another workspace at that path (the worker's own, the shared file system not
        // mounted over it). Run there, the commands read and wrote that workspace, and the runner read
        // the results of another (a partitioned commit then said its stages "did not finish").
        if (reg.getRun(d.run_id) === null) {
          throw new StockpipeError('SP_ERR_WORKSPACE_UNREACHABLE', `worker ${me.id} on ${me.host} sees another workspace at ${d.workspace}: its store has no run ${d.run_id}, which the runner on ${d.coordinator.host} queued job ${id} for: not run`, {
            hint: 'Mount the shared workspace at the same absolute path on every worker (docs/scale-out.md); a folder of the same name on the worker\'s own disk is another workspace. Nothing was run or written there.',
          });
        }
        const orphan = runWithoutRunner(reg, d.run_id);
        if (orphan !== null) {
          throw new StockpipeError('SP_ERR_RUN_CANCELLED', `job ${id}: its pipeline run ${d.run_id} is ${orphan}, so no runner waits for task ${d.task}: not run`, {
            hint: `Resume that run to run its task (\`stockpipe run --resume ${d.run_id}\`): the job is queued again.`,
          });
        }
        claims = claimJob(reg, id, execution, me.id);
      } finally {
        reg.close();
      }
      o.log.info({ job: id, task: d.task, partition: d.partition, claims }, claims > 1 ? 'took a redelivered job' : 'took a job');
      const args = withThreads(d.args.map((a) => a.replaceAll(EXECUTION_TOKEN, execution)), threads);
      let lastProgress = 0;
      const data = await runCommandProcess({
        mainScript: o.mainScript, args, logPath: d.log_path, signal: stop.signal, label: `worker ${me.id}`,
        env: { ...process.env, ...d.env, ...parentRunEnv({ runId: d.run_id, task: d.task }), STOCKPIPE_JOB_ID: id, STOCKPIPE_JOB_TOKEN: execution, STOCKPIPE_JOB_REGISTRY: ws.registryPath },
        onLine: (line) => {
          const now = Date.now();
          if (now - lastProgress < 500) return;
          lastProgress = now;
          // Progress is only shown: a failed update (Redis busy) is dropped, the next line sends another.
          job.updateProgress(progressOfLine(line)).then(undefined, (err: unknown) => o.log.debug({ err: (err as Error).message }, 'progress not sent'));
        },
      });
      return { data, worker: me, seconds: Math.round(performance.now() - t0) / 1000, claims };
    } catch (err) {
      if (o.handBack.aborted && token !== undefined) {
        await job.moveToWait(token);
        summary.handed_back++;
        o.log.info({ job: id }, 'handed the job back to the queue');
        throw new WaitingError();
      }
      if (slot.why === 'cancelled') throw new Error(errorReason(new StockpipeError('SP_ERR_RUN_CANCELLED', `job ${id} was cancelled by its runner`)));
      if (slot.why === 'lost') throw new Error(errorReason(new StockpipeError('SP_ERR_JOB_SUPERSEDED', `job ${id}: worker ${me.id} lost its lock; the job went to another worker`)));
      throw new Error(errorReason(err));
    } finally {
      clearInterval(poll);
      active.delete(id);
    }
  };

  const worker = new Worker<JobData, JobResult>(QUEUE_NAME, processor, {
    connection: target.options as ConnectionOptions, prefix: o.prefix, concurrency, name: me.id,
    lockDuration: o.lockMs ?? 30_000, stalledInterval: o.stalledMs ?? 30_000, maxStalledCount: 3, autorun: false,
  });
  worker.on('error', (err) => o.log.warn({ err: err.message }, 'worker: Redis or lock error'));
  // A lost lock: the job is (or will be) another worker's; stop our child before it commits more.
  worker.on('lockRenewalFailed', (ids: string[]) => {
    for (const id of ids) {
      const a = active.get(id);
      if (a) {
        o.log.warn({ job: id }, 'lost the job\'s lock: stopping its command');
        a.why = 'lost';
        a.stop.abort();
      }
    }
  });
  worker.on('completed', (job, r) => {
    summary.jobs++;
    o.onJob?.({ id: job.id!, task: job.data.task, partition: job.data.partition, ok: true, seconds: r.seconds });
  });
  worker.on('failed', (job, err) => {
    if (job === undefined || err instanceof WaitingError) return;
    summary.failed++;
    o.onJob?.({ id: job.id!, task: job.data.task, partition: job.data.partition, ok: false, seconds: 0, error: err.message });
  });
  let closed = false;
  const closing = new Promise<void>((resolve) => {
    const close = (): void => {
      const done = (): void => {
        closed = true;
        resolve();
      };
      void worker.close().then(done, done);
      // The close waits for Redis; when it is gone it would wait for ever, though nothing is left to
      // do once no job runs (they finished, or were handed back): then it gets closeWaitMs.
      const idle = setInterval(() => {
        if (active.size > 0) return;
        clearInterval(idle);
        setTimeout(() => {
          if (!closed) o.onCloseStuck?.();
        }, o.closeWaitMs ?? 10_000).unref();
      }, 250);
      idle.unref();
    };
    if (o.stop.aborted) close();
    else o.stop.addEventListener('abort', close, { once: true });
  });
  o.handBack.addEventListener('abort', () => {
    for (const a of active.values()) a.stop.abort();
  }, { once: true });
  const running = worker.run();
  await worker.waitUntilReady();
  o.onReady?.(me);
  await closing;
  await running.then(undefined, (err: unknown) => o.log.warn({ err: (err as Error).message }, 'worker: its loop ended with an error'));
  flags.disconnect();
  return summary;
}

/** The job's arguments with `--threads n` set to this worker's share of its cores. */
function withThreads(args: readonly string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--threads') {
      i++;
      continue;
    }
    out.push(args[i]!);
  }
  return [...out, '--threads', String(n)];
}
