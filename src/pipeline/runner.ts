/** @module pipeline/runner
 * Runs a pipeline: plans it (topological order, --from/--to slice, resume), runs ready tasks
 * concurrently up to a bound, skips tasks whose cache key and outputs are unchanged, retries
 * failures with exponential backoff and jitter, enforces per-attempt timeouts, stops on
 * cancellation, and records every state change in the store. Locking is the caller's (lock.ts). */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { ERROR_CODES, StockpipeError, toStockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { abortableSleep, backoffMs } from '../core/retry.js';
import { createRng } from '../core/rng.js';
import { cacheLookup, cacheStore, updateTaskRun, type CacheEntry, type OutputRecord, type TaskPatch, type TaskStatus } from '../registry/pipeline.js';
import { topoOrder } from './graph.js';
import { cacheKey, FileHasher } from './hash.js';
import { prepareRun } from './prepare.js';
import type { FileList, RunOptions, RunOutcome, TaskResult, TaskSpec, TaskState, TaskSummary } from './types.js';

export type { RunOptions, RunOutcome, TaskOutcome } from './types.js';

/** How long a timed-out task may take to stop before the runner reports it anyway. */
const STOP_GRACE_MS = 10_000;

/**
 * Task state changes are written to the store at most this long after they happen, together in one
 * transaction (and all that is left at the end of the run with the run's end): short tasks cost no
 * commit each, and a long task shows as running within this delay.
 */
const STORE_DELAY_MS = 50;

/**
 * Errors that another attempt cannot fix: bad usage or config, bad inputs, failed validation. Also a
 * queued job the runner lost track of (executor bullmq: Redis lost the job, or stayed unreachable): its
 * execution may still have committed, and another attempt is another job id, so it would commit again
 * (a second model version). The run fails instead; `run --resume` queues the task under its first
 * attempt's job id again, which re-attaches to the job or, through its fence and job-keyed model
 * registration, commits once (queue/executor, registry/job-claims).
 */
/** Failures another attempt reads the same way (the input, a stored table's schema or a model file as it is;
 * credentials refused): retrying them only delays the failure (docs/pipelines.md, "Retries"). A missing table or
 * model file is retried: on a shared file system a worker may see a file another host just wrote late. */
const NOT_RETRIED: ReadonlySet<string> = new Set([
  'SP_ERR_PIPELINE_INPUT', 'SP_ERR_VALIDATION_FAILED', 'SP_ERR_INPUT_MALFORMED', 'SP_ERR_INPUT_HEADER', 'SP_ERR_INPUT_TOO_LARGE', 'SP_ERR_METADATA',
  'SP_ERR_SOURCE_LAYOUT', 'SP_ERR_PRICES_SCHEMA', 'SP_ERR_TRAIN_DATA', 'SP_ERR_MODEL_FORMAT', 'SP_ERR_PROMOTE_KIND', 'SP_ERR_KAGGLE_AUTH', 'SP_ERR_KAGGLE_FORBIDDEN', 'SP_ERR_KAGGLE_NOT_FOUND',
  'SP_ERR_RUN_CANCELLED', 'SP_ERR_QUEUE_JOB_LOST', 'SP_ERR_REDIS_UNREACHABLE',
]);

function retryable(code: string): boolean {
  if (code in ERROR_CODES && ERROR_CODES[code as keyof typeof ERROR_CODES].exit === 2) return false;
  return !NOT_RETRIED.has(code);
}

/** Backoff before attempt n+1 (n ≥ 1 failed attempts) and the sleep between: core/retry's. */
export { abortableSleep, backoffMs };

const resolveFiles = (list: FileList | undefined, up: Readonly<Record<string, TaskSummary>>): readonly string[] => (list === undefined ? [] : typeof list === 'function' ? list(up) : list);
export const resolveParams = (p: TaskSpec['params'], up: Readonly<Record<string, TaskSummary>>): Record<string, unknown> => (p === undefined ? {} : typeof p === 'function' ? p(up) : p);

/** The params in a task's cache key: a `dated` task's include the logical date (none without one: keys stay as before). */
export function keyParams(spec: TaskSpec, up: Readonly<Record<string, TaskSummary>>, logicalDate: string | null): Record<string, unknown> {
  const p = resolveParams(spec.params, up);
  return spec.dated === true && logicalDate !== null ? { ...p, logical_date: logicalDate } : p;
}

export function taskLogPath(ws: Workspace, runId: string, task: string): string {
  return ws.taskLog(runId, task);
}

/** Runs (or resumes) a pipeline to its end and returns what happened; never throws for a task failure. */
export async function runPipeline(opts: RunOptions): Promise<RunOutcome> {
  const t0 = performance.now();
  const { registry: reg, pipeline, log } = opts;
  const order = topoOrder(pipeline.tasks);
  const names = order.map((t) => t.name);
  const hasher = opts.hasher ?? new FileHasher(opts.ws);
  const sleep = opts.sleep ?? abortableSleep;
  const cancel = new AbortController();
  const onAbort = (): void => cancel.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) cancel.abort();

  const { runId, resumed, logicalDate, states, summaries, outcomes, writeRun, patches, force, forceTasks } = prepareRun(reg, pipeline.name, order, opts);
  /** A failed task's hint (its command's StockpipeError), for the run's failure. */
  const hints = new Map<string, string>();
  opts.observer?.onPlan?.(runId, [...states.values()]);

  // Store writes behind the state: merged per task and committed together (STORE_DELAY_MS).
  const pending = new Map<string, TaskPatch>();
  const pendingCache: Omit<CacheEntry, 'created_at'>[] = [];
  let storeTimer: NodeJS.Timeout | undefined;
  let unwritten = writeRun;
  const writePending = (): void => {
    if (unwritten !== null) {
      unwritten(pending); // the tasks' states go in with their rows
      unwritten = null;
      pending.clear();
    }
    for (const [task, patch] of pending) updateTaskRun(reg, runId, task, patch);
    for (const c of pendingCache) cacheStore(reg, c);
    pending.clear();
    pendingCache.length = 0;
  };
  const flushStore = (): void => {
    clearTimeout(storeTimer);
    storeTimer = undefined;
    if (unwritten === null && pending.size === 0 && pendingCache.length === 0) return;
    try {
      reg.transaction(writePending);
    } catch (err) {
      // Kept pending: the next flush (at the latest the run's end, which throws) writes it.
      log.warn({ err, runId }, 'pipeline: task states not written yet');
    }
  };
  const store = (name: string, patch: TaskPatch): void => {
    const prev = pending.get(name);
    pending.set(name, prev === undefined ? patch : Object.assign(prev, patch));
    storeTimer ??= setTimeout(flushStore, STORE_DELAY_MS);
  };
  for (const [name, patch] of patches) store(name, patch);
  storeTimer ??= unwritten === null ? undefined : setTimeout(flushStore, STORE_DELAY_MS); // a longer run shows in the store soon
  const emit = (name: string, patch: Partial<TaskState>, patchStore?: TaskPatch): void => {
    const st = Object.assign(states.get(name)!, patch);
    if (patchStore) store(name, patchStore);
    opts.observer?.onTask?.({ ...st });
  };
  // The runner's lines of a task are kept in memory until its log is worth a file: the task wrote
  // its own log (a command's stderr), it ran for STORE_DELAY_MS, or it failed, was retried or was
  // cancelled. A quick in-process or cached task that succeeded gets no file (creating one costs
  // more than the rest of its bookkeeping); its row in the store says what happened.
  const madeDirs = new Set<string>();
  const logs = new Map<string, { path: string; text: string; written: boolean; timer?: NodeJS.Timeout }>();
  const writeLog = (l: { path: string; text: string; written: boolean }): void => {
    const dir = dirname(l.path);
    if (!madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      madeDirs.add(dir);
    }
    appendFileSync(l.path, l.text);
    l.text = '';
    l.written = true;
  };
  const logLine = (name: string, path: string, line: string): void => {
    let l = logs.get(name);
    if (l === undefined) logs.set(name, (l = { path, text: '', written: false }));
    l.text += `${new Date().toISOString()} [runner] ${line}\n`;
    if (l.written) writeLog(l);
  };
  const jitter = createRng(Number.parseInt(createHash('sha256').update(runId).digest('hex').slice(0, 8), 16));

  /** Runs one task to its final state. */
  const runTask = async (spec: TaskSpec): Promise<void> => {
    const name = spec.name;
    const logPath = taskLogPath(opts.ws, runId, name);
    const started = performance.now();
    const finish = (status: TaskStatus, extra: { result?: TaskResult; key?: string | null; outputs?: OutputRecord[]; error?: StockpipeError; attempts: number }): void => {
      const seconds = Math.round(performance.now() - started) / 1000;
      const err = extra.error ? { code: extra.error.code, message: extra.error.message } : null;
      const rowsIn = extra.result?.rowsIn ?? null;
      const rowsOut = extra.result?.rowsOut ?? null;
      if (extra.result?.summary) summaries[name] = extra.result.summary;
      logLine(name, logPath, `${status}${err ? ` ${err.code}: ${err.message}` : ''} (${seconds} s)`);
      // The command's hint (what to do about its error) goes to the log and the run's error: it was lost with the child process.
      if (status === 'failed' && extra.error !== undefined) {
        hints.set(name, extra.error.hint);
        logLine(name, logPath, `hint: ${extra.error.hint}`);
      }
      const l = logs.get(name)!;
      clearTimeout(l.timer);
      if (!l.written && (status === 'failed' || status === 'cancelled' || extra.attempts > 1 || (extra.attempts > 0 && existsSync(logPath)))) writeLog(l);
      emit(name, { status, seconds, error: err, attempts: extra.attempts, note: null, fraction: null }, {
        status, seconds, attempts: extra.attempts, ended_at: reg.timestamp(), rows_in: rowsIn, rows_out: rowsOut, cache_key: extra.key ?? null,
        outputs: extra.outputs ?? [], summary: extra.result?.summary ?? null, log_path: l.written ? logPath : null, error_code: err?.code ?? null, error: err?.message ?? null,
        ...(extra.result?.workers === undefined ? {} : { workers: extra.result.workers }),
      });
      outcomes.set(name, { name, status, seconds, attempts: extra.attempts, rows_in: rowsIn, rows_out: rowsOut, cache_key: extra.key ?? null, error: err });
    };

    // Cache check: key from code version, params and input contents; outputs must be unchanged too.
    let key: string | null = null;
    const up = { ...summaries };
    try {
      if (spec.cache !== 'never') {
        const inputs = await Promise.all(resolveFiles(spec.inputs, up).map((p) => hasher.hash(opts.ws.path(p), `task ${name}: input`)));
        key = cacheKey(opts.ws, { task: name, version: spec.version, params: keyParams(spec, up, logicalDate), inputs });
        const forced = force || forceTasks.includes(name);
        const hit = forced ? null : cacheLookup(reg, name, key);
        if (hit && (await outputsUnchanged(hasher, hit.outputs))) {
          logLine(name, logPath, `cached: key ${key.slice(0, 12)} from run ${hit.run_id}`);
          finish('cached', { result: { summary: hit.summary ?? {}, rowsIn: null, rowsOut: null }, key, outputs: hit.outputs, attempts: 0 });
          return;
        }
      }
    } catch (err) {
      finish('failed', { error: toStockpipeError(err), key, attempts: 0 });
      return;
    }

    const attempts = 1 + (spec.retries ?? 0);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (cancel.signal.aborted) {
        finish('cancelled', { key, attempts: attempt - 1 });
        return;
      }
      emit(name, { status: 'running', attempts: attempt, startedAt: Date.now(), error: null, note: null, fraction: null }, { status: 'running', attempts: attempt, started_at: reg.timestamp(), log_path: logPath });
      // A resumed run appends to the logs of its first start: the second "attempt 1" says why.
      logLine(name, logPath, `attempt ${attempt}/${attempts} started${resumed && attempt === 1 ? ' (run resumed)' : ''}`);
      const l = logs.get(name)!;
      const flushLog = (): void => {
        if (l.written) return;
        try {
          writeLog(l);
        } catch (err) {
          log.warn({ err, task: name }, 'pipeline: cannot write the task log yet'); // tried again at the next line
        }
      };
      if (!l.written) l.timer ??= setTimeout(flushLog, STORE_DELAY_MS);
      // The run is in the store before any task's work starts: a task may outlive its runner (a
      // queued job runs on a worker), and `run --resume` finds the run by its row.
      if (unwritten !== null) flushStore();
      const attemptAbort = new AbortController();
      const stop = (): void => attemptAbort.abort();
      cancel.signal.addEventListener('abort', stop, { once: true });
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      try {
        const work = spec.run({
          runId, task: name, attempt, signal: attemptAbort.signal, logPath, log: log.child({ task: name }), upstream: up, processes: opts.processes, logicalDate, flushLog,
          forced: force || forceTasks.includes(name),
          cacheKey: key,
          progress: (p) => emit(name, { fraction: p.fraction ?? null, note: p.note ?? null }),
        });
        const result = spec.timeoutMs === undefined ? await work : await Promise.race([work, new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            timedOut = true;
            attemptAbort.abort();
            // Give the task up to STOP_GRACE_MS to stop (a subprocess is killed), so nothing writes after we report.
            const timeoutError = new StockpipeError('SP_ERR_TASK_TIMEOUT', `task ${name} exceeded its timeout of ${spec.timeoutMs! / 1000} s (attempt ${attempt})`);
            const grace = setTimeout(() => reject(timeoutError), STOP_GRACE_MS);
            // Only waits for the task to settle; its error, if any, is the race's (awaited above).
            void work.catch(() => undefined).finally(() => {
              clearTimeout(grace);
              reject(timeoutError);
            });
          }, spec.timeoutMs);
        })]);
        const declared = result.status === 'skipped' ? [] : resolveFiles(spec.outputs, { ...up, [name]: result.summary ?? {} });
        const outputs = await Promise.all(declared.map((p) => hasher.hash(opts.ws.path(p), `task ${name}: output`)));
        if (key !== null && result.status !== 'skipped') pendingCache.push({ task: name, cache_key: key, run_id: runId, outputs, summary: result.summary ?? null });
        finish(result.status ?? 'succeeded', { result, key, outputs, attempts: attempt });
        return;
      } catch (raw) {
        const err = timedOut && !(raw instanceof StockpipeError && raw.code === 'SP_ERR_TASK_TIMEOUT')
          ? new StockpipeError('SP_ERR_TASK_TIMEOUT', `task ${name} exceeded its timeout of ${spec.timeoutMs! / 1000} s (attempt ${attempt})`)
          : toStockpipeError(raw);
        if (cancel.signal.aborted && !timedOut) {
          finish('cancelled', { key, attempts: attempt, error: new StockpipeError('SP_ERR_RUN_CANCELLED', `task ${name} was cancelled`) });
          return;
        }
        logLine(name, logPath, `attempt ${attempt} failed: ${err.code}: ${err.message}`);
        if (attempt < attempts && retryable(err.code)) {
          const delay = backoffMs(attempt, spec.retryDelayMs ?? 1000, spec.retryMaxDelayMs ?? 60_000, jitter.next());
          emit(name, { status: 'retried', error: { code: err.code, message: err.message }, note: `retry in ${(delay / 1000).toFixed(1)} s` },
            { status: 'retried', attempts: attempt, error_code: err.code, error: err.message });
          logLine(name, logPath, `retrying in ${delay} ms`);
          await sleep(delay, cancel.signal);
          continue;
        }
        finish('failed', { error: err, key, attempts: attempt });
        return;
      } finally {
        clearTimeout(timer);
        cancel.signal.removeEventListener('abort', stop);
      }
    }
  };

  // The scheduling loop, event-driven: a task becomes ready when its last upstream task settles
  // well; a failed (or failed-skipped) upstream skips everything downstream of it at once.
  const limit = Math.max(1, opts.concurrency ?? 2);
  const specs = new Map(order.map((t) => [t.name, t]));
  const downstream = new Map<string, string[]>();
  for (const t of order) for (const d of t.deps ?? []) downstream.set(d, [...(downstream.get(d) ?? []), t.name]);
  const settledBad = (n: string): boolean => { const st = states.get(n)!; return st.status === 'failed' || st.status === 'cancelled' || (st.status === 'skipped' && st.error !== null); };
  const settledOk = (n: string): boolean => { const st = states.get(n)!; return st.status === 'succeeded' || st.status === 'cached' || (st.status === 'skipped' && st.error === null); };
  const waiting = new Map<string, number>();
  const ready: string[] = [];
  const skipDownstream = (from: string): void => {
    for (const n of downstream.get(from) ?? []) {
      if (!waiting.has(n)) continue;
      waiting.delete(n);
      const error = { code: 'SP_ERR_RUN_FAILED', message: `upstream task ${from} did not succeed` };
      emit(n, { status: 'skipped', error }, { status: 'skipped', error_code: error.code, error: error.message });
      outcomes.set(n, { name: n, status: 'skipped', seconds: null, attempts: 0, rows_in: null, rows_out: null, cache_key: null, error });
      skipDownstream(n);
    }
  };
  for (const n of names) {
    if (states.get(n)!.status !== 'queued') continue;
    const deps = specs.get(n)!.deps ?? [];
    waiting.set(n, deps.filter((d) => !settledOk(d)).length);
  }
  for (const n of names) {
    if (!waiting.has(n)) continue;
    if ((specs.get(n)!.deps ?? []).some((d) => settledBad(d) && !waiting.has(d))) {
      waiting.set(n, -1);
      skipDownstream((specs.get(n)!.deps ?? []).find((d) => settledBad(d))!);
    } else if (waiting.get(n) === 0) {
      waiting.delete(n);
      ready.push(n);
    }
  }
  const settle = (n: string): void => {
    if (states.get(n)!.status === 'cancelled') return; // downstream stays queued: resumable
    if (settledBad(n)) return skipDownstream(n);
    for (const m of downstream.get(n) ?? []) {
      const k = waiting.get(m);
      if (k === undefined) continue;
      if (k <= 1) {
        waiting.delete(m);
        ready.push(m);
      } else waiting.set(m, k - 1);
    }
  };
  const running = new Map<string, Promise<void>>();
  for (;;) {
    while (ready.length > 0 && running.size < limit && !cancel.signal.aborted) {
      const n = ready.shift()!;
      running.set(n, runTask(specs.get(n)!).then(() => {
        running.delete(n);
        settle(n);
      }));
    }
    if (running.size === 0) break; // nothing ready and nothing running: done (or cancelled)
    await Promise.race(running.values());
  }
  if (opts.hasher === undefined) await hasher.saveOrWarn(log);
  opts.signal?.removeEventListener('abort', onAbort);

  const list = names.map((n) => outcomes.get(n) ?? { name: n, status: states.get(n)!.status, seconds: null, attempts: 0, rows_in: null, rows_out: null, cache_key: null, error: null });
  const failedTask = list.find((t) => t.status === 'failed');
  const status: RunOutcome['status'] = cancel.signal.aborted ? 'cancelled' : failedTask ? 'failed' : 'finished';
  // The tasks' last states and the run's end: one transaction.
  clearTimeout(storeTimer);
  reg.transaction(() => {
    writePending();
    reg.endRun(runId, status, failedTask ? `${failedTask.name}: ${failedTask.error?.code}: ${failedTask.error?.message}` : status === 'cancelled' ? 'cancelled' : undefined);
    opts.onEndRecord?.(runId, status);
  });
  opts.observer?.onEnd?.(runId, status);
  return {
    run_id: runId,
    pipeline: pipeline.name,
    logical_date: logicalDate,
    status,
    resumed,
    seconds: Math.round(performance.now() - t0) / 1000,
    tasks: list,
    failed: failedTask ? { task: failedTask.name, code: failedTask.error?.code ?? 'SP_ERR_TASK_FAILED', message: failedTask.error?.message ?? '', hint: hints.get(failedTask.name) ?? null, log_path: taskLogPath(opts.ws, runId, failedTask.name) } : null,
  };
}

/** True when every recorded output still exists with the recorded content. */
async function outputsUnchanged(hasher: FileHasher, outputs: readonly OutputRecord[]): Promise<boolean> {
  for (const o of outputs) {
    try {
      if ((await hasher.hash(o.path, 'output')).sha256 !== o.sha256) return false;
    } catch (err) {
      if (err instanceof StockpipeError && err.code === 'SP_ERR_PIPELINE_INPUT') return false; // gone: run again
      throw err;
    }
  }
  return true;
}
