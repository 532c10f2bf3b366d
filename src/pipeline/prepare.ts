/** @module pipeline/prepare
 * The start of a run: a new run (every task queued in the store, tasks outside --from/--to
 * skipped and fed their last results) or a resumed one (its succeeded, cached and decided-skip
 * tasks kept with their summaries, the rest re-queued in the same run id), with the runner's pid
 * recorded. The runner runs it. */
import { randomUUID } from 'node:crypto';
import { clip, StockpipeError } from '../core/errors.js';
import { withArticle } from '../core/terminal.js';
import { createPipelineRun, getPipelineRun, latestTaskResult, type PipelineRunDetails, recordRunner, reopenPipelineRun, type TaskPatch, type TaskRunRecord, type TaskStatus, thisRunner } from '../registry/pipeline.js';
import { newestRunsText, pipelineTaskOf } from '../registry/runs-query.js';
import type { Registry } from '../registry/store.js';
import { edges, sliceNames } from './graph.js';
import type { RunOptions, TaskOutcome, TaskSpec, TaskState, TaskSummary } from './types.js';

export interface PreparedRun {
  runId: string;
  resumed: boolean;
  /** The run's logical date (a resumed run keeps its own). */
  logicalDate: string | null;
  states: Map<string, TaskState>;
  summaries: Record<string, TaskSummary>;
  outcomes: Map<string, TaskOutcome>;
  /** A new run: writes it (run row, queued tasks, params) — the runner's first store write does. Null when resumed (already stored). */
  writeRun: ((initial: ReadonlyMap<string, TaskPatch>) => void) | null;
  /** Task states to store with it (tasks outside --from/--to). */
  patches: [string, TaskPatch][];
  /** What skips the cache: the run's own --force and --force-task (a resumed run keeps what it was
   * started with, and a --force given to the resume adds to it). */
  force: boolean;
  forceTasks: string[];
}

const DONE_OK: ReadonlySet<TaskStatus> = new Set(['succeeded', 'cached']);

/** SP_ERR_RUN_NOT_FOUND for a resume of an id that is no pipeline run: a command run (the train a pipeline task ran,
 * `runs list --kind all` lists it) says so and names the pipeline run that ran it, or how it is run again. */
function notResumable(reg: Registry, id: string): StockpipeError {
  const cmd = reg.getRun(id);
  if (cmd === null) {
    const recent = newestRunsText(reg, { kind: 'pipeline' });
    return new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no pipeline run '${clip(id)}'`, recent.length === 0 ? {} : { hint: `The newest pipeline runs: ${recent.join('; ')}; \`stockpipe runs list\` lists them.` });
  }
  const ran = pipelineTaskOf(cmd);
  const parent = ran === null ? null : getPipelineRun(reg, ran.parent);
  const hint = ran !== null && parent !== null
    ? `It ran as task ${ran.task} of ${parent.pipeline} run ${parent.run_id}${parent.status === 'finished' ? ', which finished: start a new run (unchanged tasks are cached)' : `: \`stockpipe run --resume ${parent.run_id}\` continues that run`}.`
    : `Run the command again: \`stockpipe ${cmd.name ?? cmd.kind}\`.`;
  return new StockpipeError('SP_ERR_RUN_NOT_FOUND', `run ${id} is ${withArticle(cmd.kind)} command run, not a pipeline run: \`run --resume\` continues pipeline runs`, { hint });
}

/** The run `id` of `pipelineName` that a resume may continue: SP_ERR_RUN_NOT_FOUND, SP_ERR_USAGE (another
 * pipeline's, another logical date's, or another --from/--to slice's) or SP_ERR_RUN_NOT_RESUMABLE (finished:
 * nothing to continue) otherwise. */
export function resumableRun(reg: Registry, id: string, pipelineName: string, logicalDate?: string, slice: { from?: string; to?: string } = {}): PipelineRunDetails {
  const prev = getPipelineRun(reg, id);
  if (prev === null) throw notResumable(reg, id);
  if (prev.pipeline !== pipelineName) throw new StockpipeError('SP_ERR_USAGE', `run ${id} is a '${prev.pipeline}' run, not '${pipelineName}'`, { hint: `Resume it with \`stockpipe run ${prev.pipeline} --resume ${id}\`.` });
  // As POST /runs/:id/resume: a finished run has nothing to continue (its end would be rewritten).
  if (prev.status === 'finished') throw new StockpipeError('SP_ERR_RUN_NOT_RESUMABLE', `run ${id} (${prev.pipeline}) is finished: there is nothing to resume`, { hint: `Start a new run: \`stockpipe run ${prev.pipeline}\` (unchanged tasks are cached).` });
  if (logicalDate !== undefined && logicalDate !== prev.logical_date) {
    throw new StockpipeError('SP_ERR_USAGE', `run ${id} is for logical date ${prev.logical_date ?? 'none'}, not ${logicalDate}`, { hint: `Resume it without --date: \`stockpipe run ${prev.pipeline} --resume ${id}\`.` });
  }
  // A resume continues the run's own slice (its tasks outside it stay skipped): another --from/--to was ignored.
  for (const flag of ['from', 'to'] as const) {
    const given = slice[flag];
    const own = prev.params[flag] ?? null;
    if (given !== undefined && given !== own) {
      throw new StockpipeError('SP_ERR_USAGE', `run ${id} was started ${own === null ? `without --${flag}` : `with --${flag} ${own}`}, not --${flag} ${clip(given)}: a resume continues the run's own tasks`, {
        hint: `Resume it without --from/--to: \`stockpipe run ${prev.pipeline} --resume ${id}\`; for another slice start a new run (\`stockpipe run ${prev.pipeline} --${flag} ${clip(given)}\`: unchanged tasks are cached).`,
      });
    }
  }
  return prev;
}

/** The tasks a resumed run may run: its own --from/--to slice (the whole pipeline when it had none). */
export function resumedSlice(order: readonly TaskSpec[], prev: PipelineRunDetails, forceTasks: readonly string[]): Set<string> {
  return sliceNames(order, { from: prev.params.from ?? undefined, to: prev.params.to ?? undefined, forceTasks });
}

/** A task a resume keeps (succeeded, cached, or skipped by its own decision): the others run again. */
export function keptOnResume(t: Pick<TaskRunRecord, 'status' | 'error' | 'summary'>): boolean {
  return DONE_OK.has(t.status) || (t.status === 'skipped' && t.error === null && t.summary !== null);
}

/** Plans a new run (stored by the runner) or reopens one in the store; returns each task's starting state. */
export function prepareRun(reg: Registry, pipelineName: string, order: readonly TaskSpec[], opts: Pick<RunOptions, 'resume' | 'from' | 'to' | 'force' | 'forceTasks' | 'params' | 'configHash' | 'gitSha' | 'runner' | 'logicalDate' | 'backfillId'>): PreparedRun {
  const names = order.map((t) => t.name);
  const states = new Map<string, TaskState>(names.map((n) => [n, { name: n, status: 'queued', attempts: 0, seconds: null, startedAt: null, note: null, fraction: null, error: null }]));
  const summaries: Record<string, TaskSummary> = {};
  const outcomes = new Map<string, TaskOutcome>();
  let runId: string;
  let resumed = false;
  let logicalDate = opts.logicalDate ?? null;
  let writeRun: PreparedRun['writeRun'] = null;
  const patches: [string, TaskPatch][] = [];
  const runner = opts.runner ?? thisRunner();
  let force = opts.force === true;
  let forceTasks = [...(opts.forceTasks ?? [])];

  if (opts.resume !== undefined) {
    const prev = resumableRun(reg, opts.resume, pipelineName, opts.logicalDate, { from: opts.from, to: opts.to });
    runId = prev.run_id;
    resumed = true;
    logicalDate = prev.logical_date;
    force ||= prev.params.force === 'true';
    forceTasks = [...new Set([...forceTasks, ...storedList(prev.params.force_tasks)])];
    // A task outside the run's --from/--to stays skipped, fed its last result: a `run --to ingest`
    // resumed ran every task after ingest too (those that had no result yet when it started).
    const slice = resumedSlice(order, prev, forceTasks);
    const requeue: string[] = [];
    for (const t of prev.tasks) {
      const st = states.get(t.task);
      if (st === undefined) continue;
      if (!slice.has(t.task) && !keptOnResume(t)) {
        const last = latestTaskResult(reg, pipelineName, t.task);
        st.status = 'skipped';
        st.note = 'outside --from/--to';
        if (last) summaries[t.task] = last.summary ?? {};
        outcomes.set(t.task, { name: t.task, status: 'skipped', seconds: null, attempts: 0, rows_in: null, rows_out: null, cache_key: null, error: null });
        continue;
      }
      if (keptOnResume(t)) {
        st.status = t.status;
        st.attempts = t.attempts;
        st.seconds = t.seconds;
        summaries[t.task] = t.summary ?? {};
        outcomes.set(t.task, { name: t.task, status: t.status, seconds: t.seconds, attempts: t.attempts, rows_in: t.rows_in, rows_out: t.rows_out, cache_key: t.cache_key, error: null });
      } else {
        requeue.push(t.task);
      }
    }
    reopenPipelineRun(reg, runId, requeue);
    // Who runs it now: a run left 'running' by a runner that is gone reads as abandoned.
    recordRunner(reg, runId, runner);
  } else {
    // Recorded by the runner with its first store write (writeRun), at the latest when a task's work
    // starts: a run whose tasks are all cached or skipped costs one transaction.
    runId = randomUUID().replaceAll('-', '');
    const input = {
      run_id: runId,
      pipeline: pipelineName,
      tasks: names,
      params: { ...opts.params, edges: edges(order), from: opts.from ?? null, to: opts.to ?? null, force: opts.force === true, force_tasks: opts.forceTasks ?? [] },
      config_hash: opts.configHash,
      git_sha: opts.gitSha,
      logical_date: opts.logicalDate ?? null,
      backfill_id: opts.backfillId ?? null,
      runner,
      started_at: reg.timestamp(),
    };
    writeRun = (initial) => { createPipelineRun(reg, { ...input, initial }); };
    const slice = sliceNames(order, { from: opts.from, to: opts.to, forceTasks: opts.forceTasks });
    for (const n of names) {
      if (slice.has(n)) continue;
      const prev = latestTaskResult(reg, pipelineName, n);
      const st = states.get(n)!;
      st.status = 'skipped';
      st.note = 'outside --from/--to';
      if (prev) summaries[n] = prev.summary ?? {};
      patches.push([n, { status: 'skipped', summary: prev?.summary ?? null, error: null }]);
      outcomes.set(n, { name: n, status: 'skipped', seconds: null, attempts: 0, rows_in: null, rows_out: null, cache_key: null, error: null });
    }
  }
  return { runId, resumed, logicalDate, states, summaries, outcomes, writeRun, patches, force, forceTasks };
}

/** A stored list param (the JSON text createPipelineRun wrote), or none (a run stored without it). */
export function storedList(v: string | null | undefined): string[] {
  if (v === null || v === undefined) return [];
  const x = JSON.parse(v) as unknown;
  return Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : [];
}
