/** @module queue/executor
 * The executor `bullmq` (docs/scale-out.md; pipeline/executor has the interface and the
 * local one): puts a task's command on the Redis queue as a BullMQ job with a deterministic id
 * (queue/protocol) and waits for a `stockpipe worker` anywhere to run it; the runner keeps the
 * DAG, cache keys, retries and run history (Airflow's scheduler + CeleryExecutor split). Waiting for a job: completion and failure events of one shared
 * QueueEvents stream, plus a watchdog that re-reads the state of jobs it has not heard of for a while
 * (a missed event across a Redis restart), fails a job that vanished (SP_ERR_QUEUE_JOB_LOST) and
 * fails everything when Redis stays unreachable (SP_ERR_REDIS_UNREACHABLE). A job that already
 * exists is re-attached: a completed one gives its result without running again (`run --resume`
 * after the runner was killed), a running one is waited for, a failed one is replaced. */
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { type CommandExecutor, type CommandJob, type CommandRun, taskKeyEnv } from '../pipeline/executor.js';
import { checkRedis, redisTarget, type RedisTarget, UNREACHABLE_HINT } from './connection.js';
import { buildId } from '../core/build.js';
import { JOB_PROTOCOL, type JobData, jobIdOf, type JobResult, QUEUE_NAME, reasonError } from './protocol.js';

/** Keys of the queue outside BullMQ's own: a job's cancel flag. */
export const cancelKey = (prefix: string, jobId: string): string => `${prefix}:${QUEUE_NAME}:cancel:${jobId}`;

/** STOCKPIPE_* settings a worker's child should see as the coordinator does (no secrets, no process wiring). */
export function forwardedEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const skip = new Set(['STOCKPIPE_REDIS_URL', 'STOCKPIPE_API_TOKEN', 'STOCKPIPE_SMTP_PASSWORD', 'STOCKPIPE_ALERT_WEBHOOK', 'STOCKPIPE_TASK_CHILD', 'STOCKPIPE_RUNNER_PID', 'STOCKPIPE_PARENT_RUN_ID', 'STOCKPIPE_PARENT_TASK', 'STOCKPIPE_TASK_KEY']);
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('STOCKPIPE_') && !skip.has(e[0]) && !e[0].startsWith('STOCKPIPE_JOB_') && e[1] !== undefined));
}

interface Pending {
  id: string;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
  onProgress?: CommandJob['onProgress'];
  /** When the watchdog last looked at (or an event came for) this job. */
  seen: number;
  /** The job is in Redis (added or re-attached): before that the watchdog would find it missing. */
  queued: boolean;
  /** Its job is known to be this workspace's (looked up, or being added): events for its id settle it only then. */
  ours: boolean;
  /** The watchdog said that it waits for a worker (once). */
  toldWaiting?: boolean;
}

export interface BullmqExecutorOptions {
  url: string;
  /** The queue's key prefix (pipeline.queue). */
  prefix: string;
  workspace: string;
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** Fail pending jobs when Redis is unreachable this long (pipeline.redis_timeout_s). */
  redisTimeoutMs: number;
  /** How often the watchdog looks (default 2 s) and after how long without news it re-reads a job (default 5 s). */
  watchMs?: number;
  staleMs?: number;
  /** Warn when jobs have waited this long with no worker listening on the queue (default 30 s). */
  noWorkerWarnMs?: number;
  /** Completed and failed jobs are kept this long in Redis (re-attach window; default 7 days). */
  keepSeconds?: number;
}

/** Puts commands on the BullMQ queue and waits for workers to run them. */
export class BullmqExecutor implements CommandExecutor {
  readonly kind = 'bullmq' as const;
  private readonly pending = new Map<string, Pending>();
  /** The jobs waiting on each caller's signal: one abort listener per signal, however many jobs share it. */
  private readonly bySignal = new WeakMap<AbortSignal, Set<Pending>>();
  /** The jobs of each signal still being queued (watchQueueing). */
  private readonly queueingBySignal = new WeakMap<AbortSignal, Set<Pending>>();
  private readonly coordinator = { host: hostname(), pid: process.pid };
  private timer: NodeJS.Timeout | undefined;
  private downSince: number | null = null;
  private ticking = false;
  private closed = false;
  /** Since when the watchdog has seen jobs waiting and no worker listening on the queue; whether it warned. */
  private noWorkerSince: number | null = null;
  private warnedNoWorker = false;

  private constructor(private readonly o: BullmqExecutorOptions, readonly target: RedisTarget, private readonly queue: Queue, private readonly events: QueueEvents, private readonly client: Redis, private readonly conns: Redis[]) {}

  /** Connects (checking the server: SP_ERR_REDIS_UNREACHABLE, SP_ERR_REDIS_CONFIG) and starts listening. */
  static async open(o: BullmqExecutorOptions): Promise<BullmqExecutor> {
    const target = redisTarget(o.url);
    await checkRedis(target, o.log);
    // Our own ioredis connections for BullMQ (a blocking one for the events): close() can always drop
    // them, even when Redis is gone and BullMQ's own close would wait for it.
    const queueConn = new Redis(target.options);
    const eventsConn = new Redis({ ...target.options, maxRetriesPerRequest: null });
    for (const c of [queueConn, eventsConn]) c.on('error', () => undefined); // logged by the queue's and events' 'error' below
    // Redis may go between the check and these connections: ioredis then retries for ever, so the wait
    // ends after pipeline.redis_timeout_s, as the watchdog's does once jobs are queued. The queue and
    // its events are made once both are ready: before, closing them would wait on Redis too.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), o.redisTimeoutMs)));
    const connected = await Promise.race([Promise.all([queueConn, eventsConn].map(readyOf)), gaveUp]);
    clearTimeout(timer);
    if (connected === 'timeout') {
      queueConn.disconnect();
      eventsConn.disconnect();
      throw new StockpipeError('SP_ERR_REDIS_UNREACHABLE', `Redis at ${target.shown} answered the check, then not the queue's connections within ${Math.round(o.redisTimeoutMs / 1000)} s (pipeline.redis_timeout_s)`, {
        hint: UNREACHABLE_HINT,
      });
    }
    const queue = new Queue(QUEUE_NAME, { connection: queueConn, prefix: o.prefix, streams: { events: { maxLen: 100_000 } } });
    const events = new QueueEvents(QUEUE_NAME, { connection: eventsConn, prefix: o.prefix });
    queue.on('error', (err) => o.log.warn({ err: err.message }, 'queue: Redis error (reconnecting)'));
    events.on('error', (err) => o.log.warn({ err: err.message }, 'queue events: Redis error (reconnecting)'));
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    // Our own connection: the cancel flags, and the watchdog's view of whether Redis is reachable.
    const client = new Redis(target.options);
    client.on('error', () => undefined); // reconnects; the watchdog reports a long outage
    const ex = new BullmqExecutor(o, target, queue, events, client, [queueConn, eventsConn]);
    ex.listen();
    return ex;
  }

  private listen(): void {
    // An event for a pending id before its job was looked up may be another workspace's job of that id (submit).
    this.events.on('completed', ({ jobId, returnvalue }) => {
      const p = this.pending.get(jobId);
      if (p === undefined || !p.ours) return;
      this.settle(p, () => p.resolve((typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as JobResult));
    });
    this.events.on('failed', ({ jobId, failedReason }) => {
      const p = this.pending.get(jobId);
      if (p === undefined || !p.ours) return;
      this.settle(p, () => p.reject(reasonError(failedReason, jobId)));
    });
    this.events.on('progress', ({ jobId, data }) => {
      const p = this.pending.get(jobId);
      if (p === undefined || !p.ours) return;
      p.seen = Date.now();
      if (typeof data === 'object' && data !== null) p.onProgress?.(data as { fraction?: number; note?: string });
    });
    this.events.on('stalled', ({ jobId }) => {
      if (this.pending.has(jobId)) this.o.log.warn({ job: jobId }, 'queue: job stalled (its worker died or froze past its lock); BullMQ hands it to another worker');
    });
    this.timer = setInterval(() => void this.tick(), this.o.watchMs ?? 2000);
    this.timer.unref();
  }

  private settle(p: Pending, fn: () => void): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    fn();
  }

  /** The watchdog: Redis gone too long → every pending job fails; jobs not heard of lately are re-read. */
  private async tick(): Promise<void> {
    if (this.ticking || this.pending.size === 0) return;
    this.ticking = true;
    try {
      const now = Date.now();
      if (this.client.status !== 'ready') {
        this.downSince ??= now;
        if (now - this.downSince >= this.o.redisTimeoutMs) {
          const err = new StockpipeError('SP_ERR_REDIS_UNREACHABLE', `lost Redis at ${this.target.shown} for ${Math.round((now - this.downSince) / 1000)} s with ${this.pending.size} job(s) pending`);
          for (const p of [...this.pending.values()]) this.settle(p, () => p.reject(err));
        }
        return;
      }
      this.downSince = null;
      const stale = [...this.pending.values()].filter((p) => p.queued && now - p.seen >= (this.o.staleMs ?? 5000)).slice(0, 500);
      let waiting = false;
      for (const p of stale) {
        p.seen = now;
        const state = await this.queue.getJobState(p.id);
        if (state === 'waiting' || state === 'prioritized') {
          // Shown as the task's note (its state reads `running` while its job waits in Redis).
          waiting = true;
          if (!p.toldWaiting) p.onProgress?.({ note: `queued on ${this.o.prefix} at ${this.target.shown}: waiting for a worker` });
          p.toldWaiting = true;
        } else if (state === 'unknown') {
          this.settle(p, () => p.reject(new StockpipeError('SP_ERR_QUEUE_JOB_LOST', `job ${p.id} is no longer in Redis at ${this.target.shown} (restarted without appendonly, or removed)`)));
        } else if (state === 'completed' || state === 'failed') {
          await this.finishFromStore(p);
        }
      }
      if (waiting) await this.checkWorkers(now);
    } catch (err) {
      this.o.log.debug({ err: (err as Error).message }, 'queue watchdog: Redis call failed (retried at the next look)');
    } finally {
      this.ticking = false;
    }
  }

  /** Warns once when jobs have waited with no worker listening on the queue (none started yet, or another pipeline.queue). */
  private async checkWorkers(now: number): Promise<void> {
    if (this.warnedNoWorker) return;
    // CLIENT LIST: a Redis that refuses it (an ACL without it, some hosted ones) gives no warning.
    const workers = await this.queue.getWorkersCount().catch((err: unknown) => {
      this.o.log.debug({ err: (err as Error).message }, 'queue watchdog: CLIENT LIST refused; no check for a listening worker');
      return 1;
    });
    if (workers > 0) {
      this.noWorkerSince = null;
      return;
    }
    this.noWorkerSince ??= now;
    if (now - this.noWorkerSince < (this.o.noWorkerWarnMs ?? 30_000)) return;
    this.warnedNoWorker = true;
    this.o.log.warn({ queue: this.o.prefix, redis: this.target.shown, jobs: this.pending.size },
      `no stockpipe worker listens on queue ${this.o.prefix} at ${this.target.shown}: the run waits for one (start \`stockpipe worker\` with the same STOCKPIPE_REDIS_URL and pipeline.queue)`);
  }

  /** Settles a pending job from its stored state (completed or failed). */
  private async finishFromStore(p: Pending): Promise<void> {
    const j = await Job.fromId<JobData, JobResult>(this.queue, p.id);
    if (j === undefined) return;
    const state = await j.getState();
    if (state === 'completed') this.settle(p, () => p.resolve(j.returnvalue));
    else if (state === 'failed') this.settle(p, () => p.reject(reasonError(j.failedReason, p.id)));
  }

  async run(job: CommandJob): Promise<CommandRun> {
    const data: JobData = {
      protocol: JOB_PROTOCOL, kind: 'command', run_id: job.runId, task: job.task, partition: job.partition, args: [...job.args], workspace: this.o.workspace,
      log_path: job.logPath, env: { ...forwardedEnv(this.o.env), ...taskKeyEnv(job) }, coordinator: this.coordinator, build: buildId(),
    };
    const r = await this.submit(job.jobId ?? jobIdOf(job.runId, job.task, job.partition, job.attempt, job.key), data, job.signal, job.onProgress);
    return { data: r.data, worker: { partition: job.partition, worker: r.worker.id, host: r.worker.host, pid: r.worker.pid, seconds: r.seconds, claims: r.claims } };
  }

  /** A probe job (answered by the worker itself, no child process): for tests and the queue benchmark. */
  async probe(runId: string, task: string, partition: string, ms: number, echo: unknown, signal: AbortSignal): Promise<JobResult> {
    const data: JobData = { protocol: JOB_PROTOCOL, kind: 'probe', run_id: runId, task, partition, args: [], workspace: this.o.workspace, log_path: '', env: {}, probe: { ms, echo }, coordinator: this.coordinator, build: buildId() };
    return this.submit(jobIdOf(runId, task, partition, 1), data, signal);
  }

  private async submit(id: string, data: JobData, signal: AbortSignal, onProgress?: CommandJob['onProgress']): Promise<JobResult> {
    if (this.closed) throw new StockpipeError('SP_ERR_INTERNAL', 'the queue executor is closed');
    if (signal.aborted) throw cancelled(id);
    const done = new Promise<JobResult>((resolve, reject) => this.pending.set(id, { id, resolve, reject, onProgress, seen: Date.now(), queued: false, ours: false }));
    // The watchdog may reject it while the job is still being queued (Redis gone): handled here, awaited below.
    done.catch(() => undefined);
    const p = this.pending.get(id)!;
    // Queueing waits on Redis, which ioredis keeps retrying while it is gone: the watchdog giving up on
    // Redis (pipeline.redis_timeout_s), or a cancel after CANCEL_WAIT_MS, ends the wait instead. A job
    // queued after that, once Redis is back, is one nobody waits for: it is cancelled.
    this.watchQueueing(signal, p);
    const failed = done.then(() => false, () => true);
    const queueing = this.enqueue(p, data).then(async (own) => {
      this.queueingBySignal.get(signal)?.delete(p);
      if (this.pending.get(id) !== p && p.queued && (await failed)) void this.cancel(p);
      return own;
    });
    const own = await Promise.race([queueing, failed.then(() => null)]);
    if (own !== null && this.pending.get(id) === p) {
      this.pending.delete(id);
      return this.submit(own, data, signal, onProgress);
    }
    this.watchSignal(signal, p);
    try {
      return await done;
    } finally {
      this.unwatchSignal(signal, p);
    }
  }

  /** Queues the job of `p` (or re-attaches to it); settles `p` when that fails. Another workspace's
   * job under this id: the id this workspace's job takes instead (nothing queued), else null. */
  private async enqueue(p: Pending, data: JobData): Promise<string | null> {
    const id = p.id;
    let own: string | null = null;
    try {
      // A runner that was stopped left this job's cancel flag (for the worker that held it): a resumed
      // run submits the job again under the same id, and it must run. Deleted while the job is looked
      // up (two connections, one wait), before it is queued.
      let [, j] = await Promise.all([this.client.del(cancelKey(this.o.prefix, id)), Job.fromId<JobData, JobResult>(this.queue, id)]);
      const tag = `.w${workspaceTag(data.workspace)}`;
      const theirs = j?.data?.workspace;
      if (j !== undefined && theirs !== data.workspace && !id.endsWith(tag)) {
        // Another workspace's job under this id: a copy of this workspace (`cp -a`) resuming the same
        // run or study on the same queue. Its result (or its failure) is not ours; this workspace's
        // job takes an id of its own, the same at each resume.
        own = `${id}${tag}`;
        j = undefined;
      } else if (j !== undefined && (await j.getState()) === 'failed') {
        await j.remove(); // a failed execution of this attempt (before a resume): run it again
        j = undefined;
      }
      if (own !== null) {
        this.o.log.info({ job: id, theirs }, `job ${id} in Redis is another workspace's (a copy of this one?): this one's is ${own}`);
      } else if (j === undefined) {
        const keep = this.o.keepSeconds ?? 7 * 86_400;
        // A new job ends after we started listening: its events settle it (the watchdog, a missed
        // one). Not re-reading its state here matters under load: BullMQ's getState scans the
        // wait list (LPOS), so N jobs queued at once cost O(N²) in Redis.
        p.ours = true;
        await this.queue.add(data.task, data, { jobId: id, attempts: 1, removeOnComplete: { age: keep }, removeOnFail: { age: keep } });
        p.seen = Date.now();
        p.queued = true;
      } else {
        this.o.log.info({ job: id }, 're-attached to a job queued before (a resumed run)');
        p.queued = true;
        p.ours = true; // before the read below: an event ignored until now is in the state it reads
        await this.finishFromStore(p); // it may have finished before we listened
      }
    } catch (err) {
      this.settle(p, () => p.reject(err instanceof StockpipeError ? err : new StockpipeError('SP_ERR_REDIS_UNREACHABLE', `cannot queue job ${id} at ${this.target.shown}: ${(err as Error).message}`, { cause: err })));
    }
    return own;
  }

  /** While `p` is being queued, a cancel only bounds the wait (CANCEL_WAIT_MS): the job is cancelled
   * once queued (watchSignal). */
  private watchQueueing(signal: AbortSignal, p: Pending): void {
    onAbortOf(this.queueingBySignal, signal, p, (q) => void setTimeout(() => this.settle(q, () => q.reject(cancelled(q.id))), CANCEL_WAIT_MS).unref());
  }

  /** Cancels `p` when `signal` aborts; the jobs of one signal share one listener (a task's partitions, a storm of probes). */
  private watchSignal(signal: AbortSignal, p: Pending): void {
    if (this.pending.get(p.id) !== p) return; // already settled (it could not be queued)
    if (signal.aborted) {
      void this.cancel(p); // aborted while the job was being queued: no abort event will come
      return;
    }
    onAbortOf(this.bySignal, signal, p, (q) => void this.cancel(q));
  }

  private unwatchSignal(signal: AbortSignal, p: Pending): void {
    this.bySignal.get(signal)?.delete(p);
  }

  /** Cancels a job: removed if nobody took it yet, else its worker is told to stop it (it fails as cancelled). */
  private async cancel(p: Pending): Promise<void> {
    // Whatever happens below, the run does not wait for a cancelled job longer than this.
    setTimeout(() => this.settle(p, () => p.reject(cancelled(p.id))), CANCEL_WAIT_MS).unref();
    try {
      await this.client.set(cancelKey(this.o.prefix, p.id), '1', 'EX', 3600);
      const j = await Job.fromId(this.queue, p.id);
      // remove() refuses a job a worker holds (locked): that worker polls the flag set above, stops
      // the command and fails the job, which settles it through the 'failed' event.
      const removed = j === undefined ? true : await j.remove().then(() => true, (err: unknown) => {
        this.o.log.debug({ job: p.id, err: (err as Error).message }, 'queue: a worker holds the cancelled job; it stops it');
        return false;
      });
      if (removed) this.settle(p, () => p.reject(cancelled(p.id)));
    } catch (err) {
      this.o.log.warn({ job: p.id, err: (err as Error).message }, 'queue: cannot cancel the job in Redis; the run stops waiting for it');
      this.settle(p, () => p.reject(cancelled(p.id)));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    // A graceful close waits for Redis; when it is gone (the run failed for that) the connections are
    // dropped after CLOSE_WAIT_MS instead, so the command ends with its error rather than waiting forever.
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<'timeout'>((res) => (timer = setTimeout(() => res('timeout'), CLOSE_WAIT_MS)));
    const closed = Promise.allSettled([this.events.close(), this.queue.close()]);
    if ((await Promise.race([closed, waited])) === 'timeout') {
      this.o.log.warn({ redis: this.target.shown }, `queue: Redis did not answer the close within ${CLOSE_WAIT_MS / 1000} s; dropping the connections`);
    }
    clearTimeout(timer);
    for (const c of this.conns) c.disconnect();
    this.client.disconnect();
  }
}

/** Adds `p` to `signal`'s jobs in `bySignal`; a signal's first job adds its one abort listener, which
 * hands each of its jobs then to `onAbort` (a run queues thousands of jobs on one signal). */
function onAbortOf(bySignal: WeakMap<AbortSignal, Set<Pending>>, signal: AbortSignal, p: Pending, onAbort: (q: Pending) => void): void {
  let set = bySignal.get(signal);
  if (set === undefined) {
    const jobs = new Set<Pending>();
    bySignal.set(signal, (set = jobs));
    signal.addEventListener('abort', () => {
      bySignal.delete(signal);
      for (const q of jobs) onAbort(q);
    }, { once: true });
  }
  set.add(p);
}

/** Resolves when an ioredis connection is ready (it retries while Redis is away). */
const readyOf = (c: Redis): Promise<void> => (c.status === 'ready' ? Promise.resolve() : new Promise((res) => c.once('ready', () => res())));

/** A short name of a workspace folder for job ids (hex: BullMQ ids must not hold ':'). */
const workspaceTag = (root: string): string => createHash('sha256').update(root).digest('hex').slice(0, 8);

/** The longest a cancelled job is waited for (its worker told to stop it, or Redis gone). */
const CANCEL_WAIT_MS = 15_000;

/** How long close() waits for Redis before dropping the connections. */
const CLOSE_WAIT_MS = 5_000;

const cancelled = (id: string): StockpipeError => new StockpipeError('SP_ERR_RUN_CANCELLED', `job ${id} was cancelled`);
