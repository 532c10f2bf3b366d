/** @module cli/run
 * `stockpipe run [train|daily]`: takes the workspace's run lock, runs (or resumes, or only plans)
 * the pipeline with the live view, cancels cleanly on Ctrl-C/SIGTERM (marked cancelled, resumable),
 * and sends failure (or success) alerts. A failed run exits 1 with SP_ERR_RUN_FAILED. */
import { championText } from './champion-text.js';
import { cancelOnSignals } from './cancel.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hashJson } from '../core/fs.js';
import { StockpipeError } from '../core/errors.js';
import type { AlertChannels } from '../pipeline/alerts.js';
import { createLiveView } from '../pipeline/live-view.js';
import { alertChannelsOf, alertForRun, deliverRecorded } from '../pipeline/run-alerts.js';
import { buildPipeline, PIPELINE_NAMES, pipelineName, type PipelineEnv } from '../pipeline/builtin/index.js';
import { acquireRunLock, type RunLock } from '../pipeline/lock.js';
import { planPipeline, type PlannedTask } from '../pipeline/plan.js';
import { runPipeline } from '../pipeline/runner.js';
import type { RunObserver } from '../pipeline/types.js';
import type { AlertRecord } from '../registry/alerts.js';
import { getPipelineRun, latestUnfinishedRun } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import type { CommandExecutor } from '../pipeline/executor.js';
import { type ExecutorKind, openExecutor } from '../queue/open.js';
import { sourceFor } from '../sources/index.js';
import { chooseSource, sourceMismatch } from '../sources/workspace-source.js';
import type { CommandContext, CommandResult } from './context.js';

export interface RunCommandOptions {
  pipeline: string;
  /** A run id, or true for the latest failed/cancelled/killed run of this pipeline. */
  resume?: string | true;
  from?: string;
  to?: string;
  dryRun: boolean;
  force: boolean;
  forceTasks: string[];
  /** `run --source S` was given: fetching another source than the remembered one is a switch asked for. */
  switchSource?: boolean;
  /** Wait this long for another run on the workspace to finish (0 = refuse at once). */
  waitMs: number;
  /** The logical date (checked by pipeline/logical-date): dated tasks read only data up to it. */
  logicalDate?: string;
  globalArgs: string[];
  version: string;
  /** Cancels the run (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Where the tasks run (default: pipeline.executor). */
  executor?: ExecutorKind;
  observer?: RunObserver;
}

export interface RunData {
  run_id: string;
  pipeline: string;
  logical_date: string | null;
  status: string;
  resumed: boolean;
  seconds: number;
  tasks: { name: string; status: string; seconds: number | null; attempts: number; rows_in: number | null; rows_out: number | null; error: { code: string; message: string } | null }[];
}

/** The alert channels from the config (the SMTP password may come from STOCKPIPE_SMTP_PASSWORD). */
export function alertChannels(ctx: CommandContext): AlertChannels {
  return alertChannelsOf(ctx.config.alerts, ctx.env);
}

/** Delivers alerts already recorded (e.g. by monitor) to the configured channels. Never throws. */
export async function deliverAlerts(ctx: CommandContext, alerts: readonly AlertRecord[]): Promise<AlertRecord[]> {
  return deliverRecorded(ctx.ws, alerts, alertChannels(ctx), ctx.log);
}

function planText(name: string, plan: PlannedTask[]): string {
  return [`plan for ${name} (dry run: nothing runs)`, ...plan.map((p) => `  ${p.action.padEnd(7)} ${p.name.padEnd(18)} ${p.deps.length ? `after ${p.deps.join(', ')}; ` : ''}${p.reason}`)].join('\n');
}

/** Task processes start at task-main (it watches the runner before loading the program). */
const TASK_MAIN = fileURLToPath(new URL('./task-main.js', import.meta.url));

export function pipelineEnv(ctx: CommandContext, globalArgs: string[], version: string): PipelineEnv {
  return { ws: ctx.ws, config: ctx.config, globalArgs: ['--workspace', ctx.ws.root, ...globalArgs], env: { ...ctx.env }, mainScript: TASK_MAIN, codeVersion: version };
}

/**
 * The run's source: the one the workspace remembers unless the user set another; another one
 * without `run --source` is refused (SP_ERR_SOURCE_MISMATCH) before anything runs. The fetch task
 * gets the effective settings as its params, and `--source S --switch-source` when switching.
 */
export async function runSource(ctx: CommandContext, opts: Pick<RunCommandOptions, 'pipeline' | 'switchSource'>, penv: PipelineEnv): Promise<PipelineEnv> {
  const choice = await chooseSource(ctx.ws, ctx.config.fetch, ctx.explicitFetch);
  // A source spec nothing can fetch (`--source bogus`) is the user's, refused as `fetch` refuses it: it was a failed
  // run recorded in history whose hint said to resume, which would fail the same way.
  sourceFor(choice.fetch.source, choice.fetch);
  if (choice.switching && opts.switchSource !== true) {
    throw sourceMismatch(ctx.ws, choice.remembered!, choice.identity, `Switch on purpose: \`stockpipe run ${opts.pipeline} --source ${choice.fetch.source}\`.`);
  }
  return { ...penv, config: { ...penv.config, fetch: choice.fetch }, fetchArgs: opts.switchSource === true ? ['--source', choice.fetch.source, '--switch-source'] : [] };
}

/** The run's executor (`--executor`, else pipeline.executor): bullmq connects to Redis here, before anything runs. */
export async function runExecutor(ctx: CommandContext, kind: ExecutorKind | undefined): Promise<CommandExecutor> {
  return openExecutor(kind ?? ctx.config.pipeline.executor, { ws: ctx.ws, config: ctx.config, env: ctx.env, log: ctx.log, mainScript: TASK_MAIN });
}

/**
 * The run a resume continues: the given id, or (`--resume` alone) the pipeline's latest failed,
 * cancelled or killed run — read under the run lock by a run, so that a run still marked 'running'
 * was killed and no run can start between this choice and the resume (a dry run plans without it).
 */
function resumedRun(ctx: CommandContext, opts: RunCommandOptions): string | undefined {
  if (opts.resume === undefined) return undefined;
  if (typeof opts.resume === 'string') return opts.resume;
  const reg = openRegistry(ctx.ws, { readonly: true });
  try {
    const prev = latestUnfinishedRun(reg, opts.pipeline);
    if (prev === null) {
      // `run --resume` alone resumes the train pipeline's: a daily run left unfinished is named (it was not).
      const others = PIPELINE_NAMES.filter((p) => p !== opts.pipeline).map((p) => latestUnfinishedRun(reg, p)).filter((r) => r !== null);
      throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no failed, cancelled or killed '${opts.pipeline}' run to resume in ${ctx.ws.root} (the latest one finished, or there is none)`, {
        hint: others.length > 0
          ? `The latest ${others.map((r) => `'${r.name}' run, ${r.run_id}, ${r.status === 'running' ? 'was left running' : r.status === 'cancelled' ? 'was cancelled' : r.status}: \`stockpipe run --resume ${r.run_id}\``).join('; the latest ')}.`
          : 'Start a new run without --resume (finished tasks are cached), or resume an older run by its id: `stockpipe run --resume RUN_ID`.',
      });
    }
    return prev.run_id;
  } finally {
    reg.close();
  }
}

/**
 * A resumed run fetches what it was started with: `run --source S` is kept in the run's params, and a
 * resume without --source takes it again (as if given), where it would fall back to the workspace's
 * remembered source or the default. Returns the context and options to run with.
 */
function withResumedSource(ctx: CommandContext, opts: RunCommandOptions, resume: string | undefined): { ctx: CommandContext; opts: RunCommandOptions } {
  if (resume === undefined || opts.switchSource === true) return { ctx, opts };
  const reg = openRegistry(ctx.ws, { readonly: true });
  let source: unknown;
  try {
    source = getPipelineRun(reg, resume)?.params.source;
  } finally {
    reg.close();
  }
  if (typeof source !== 'string' || source === '') return { ctx, opts };
  return {
    ctx: { ...ctx, config: { ...ctx.config, fetch: { ...ctx.config.fetch, source } }, explicitFetch: new Set([...ctx.explicitFetch, 'source']) },
    opts: { ...opts, switchSource: true },
  };
}

/** The pipeline to run: the one named, else (`run --resume RUN_ID`) that run's, else train. A run the
 * store does not hold is left to the resume to refuse (SP_ERR_RUN_NOT_FOUND). */
function pipelineToRun(ctx: CommandContext, named: string | undefined, resume: string | true | undefined): string {
  if (named !== undefined) return named;
  if (typeof resume !== 'string' || !existsSync(ctx.ws.registryPath)) return 'train';
  const reg = openRegistry(ctx.ws, { readonly: true });
  try {
    return getPipelineRun(reg, resume)?.pipeline ?? 'train';
  } finally {
    reg.close();
  }
}

export async function runCommand(ctxGiven: CommandContext, optsNamed: Omit<RunCommandOptions, 'pipeline'> & { pipeline?: string }): Promise<CommandResult<RunData | { pipeline: string; logical_date: string | null; dry_run: true; tasks: PlannedTask[] }>> {
  const optsGiven: RunCommandOptions = { ...optsNamed, pipeline: pipelineToRun(ctxGiven, optsNamed.pipeline, optsNamed.resume) };
  pipelineName(optsGiven.pipeline);
  if (optsGiven.dryRun) {
    const resume = resumedRun(ctxGiven, optsGiven);
    const { ctx, opts } = withResumedSource(ctxGiven, optsGiven, resume);
    return dryRun(ctx, opts, buildPipeline(opts.pipeline, await runSource(ctx, opts, pipelineEnv(ctx, opts.globalArgs, opts.version))), resume);
  }
  // The executor first (bullmq connects to Redis: a setup error is told before any wait), then the
  // lock: the run a resume continues, and so its source, is chosen once, under it.
  const executor = await runExecutor(ctxGiven, optsGiven.executor);
  try {
    const lock = await acquireRunLock(ctxGiven.ws, optsGiven.pipeline, { waitMs: optsGiven.waitMs, now: ctxGiven.now, log: ctxGiven.log });
    try {
      const resume = resumedRun(ctxGiven, optsGiven);
      const { ctx, opts } = withResumedSource(ctxGiven, optsGiven, resume);
      const penv = await runSource(ctx, opts, pipelineEnv(ctx, opts.globalArgs, opts.version));
      return await runWith(ctx, opts, buildPipeline(opts.pipeline, { ...penv, executor }), lock, resume);
    } finally {
      await lock.release();
    }
  } finally {
    await executor.close();
  }
}

async function dryRun(ctx: CommandContext, opts: RunCommandOptions, pipeline: ReturnType<typeof buildPipeline>, resume: string | undefined): Promise<CommandResult<{ pipeline: string; logical_date: string | null; dry_run: true; tasks: PlannedTask[] }>> {
  const reg = openRegistry(ctx.ws, { readonly: true });
  try {
    const tasks = await planPipeline({ ws: ctx.ws, pipeline, registry: reg, force: opts.force, forceTasks: opts.forceTasks, from: opts.from, to: opts.to, logicalDate: opts.logicalDate, resume });
    // A resume runs for its run's own logical date.
    const logicalDate = resume === undefined ? (opts.logicalDate ?? null) : (getPipelineRun(reg, resume)?.logical_date ?? null);
    return { data: { pipeline: pipeline.name, logical_date: logicalDate, dry_run: true, tasks }, human: planText(pipeline.name, tasks) };
  } finally {
    reg.close();
  }
}

async function runWith(ctx: CommandContext, opts: RunCommandOptions, pipeline: ReturnType<typeof buildPipeline>, lock: RunLock, resume: string | undefined): Promise<CommandResult<RunData>> {
  const reg = openRegistry(ctx.ws);
  const view = opts.observer ? { ...opts.observer, stop() {} } : createLiveView(process.stderr, { quiet: ctx.quiet || ctx.json });
  const cancel = cancelOnSignals(opts.signal);
  try {
    const out = await runPipeline({
      ws: ctx.ws, pipeline, registry: reg, log: ctx.log, force: opts.force, forceTasks: opts.forceTasks, from: opts.from, to: opts.to, resume, logicalDate: opts.logicalDate,
      concurrency: ctx.config.pipeline.concurrency, signal: cancel.signal, observer: view, processes: lock.processes,
      params: { pipeline: pipeline.name, ...(opts.switchSource === true ? { source: ctx.config.fetch.source } : {}) }, configHash: hashJson(ctx.config),
    });
    view.stop();
    await alertForRun(reg, out, alertChannels(ctx), ctx.log);
    const data: RunData = { run_id: out.run_id, pipeline: out.pipeline, logical_date: out.logical_date, status: out.status, resumed: out.resumed, seconds: out.seconds, tasks: out.tasks.map((t) => ({ name: t.name, status: t.status, seconds: t.seconds, attempts: t.attempts, rows_in: t.rows_in, rows_out: t.rows_out, error: t.error })) };
    if (out.status === 'cancelled') {
      throw new StockpipeError('SP_ERR_RUN_CANCELLED', `run ${out.run_id} (${out.pipeline}) was cancelled; finished tasks are kept`, { hint: `Continue it with \`stockpipe run ${out.pipeline} --resume ${out.run_id}\`.` });
    }
    if (out.failed) {
      throw new StockpipeError('SP_ERR_RUN_FAILED', `run ${out.run_id} (${out.pipeline}) failed at task ${out.failed.task}: ${out.failed.code}: ${out.failed.message}`, {
        hint: `${out.failed.hint === null ? '' : `${out.failed.hint} `}Log: ${out.failed.log_path}. Fix the cause, then \`stockpipe run ${out.pipeline} --resume\`.`,
      });
    }
    const cached = data.tasks.filter((t) => t.status === 'cached').length;
    const human = [`run ${out.run_id} (${out.pipeline}${out.logical_date ? ` for ${out.logical_date}` : ''}) ${out.status} in ${out.seconds} s${out.resumed ? ' (resumed)' : ''}: ${data.tasks.length} tasks, ${cached} cached`,
      ...data.tasks.map((t) => `  ${t.status.padEnd(10)} ${t.name.padEnd(18)} ${t.seconds === null ? '' : `${t.seconds} s`}${t.attempts > 1 ? ` (${t.attempts} attempts)` : ''}`),
      ...championText(reg)].join('\n');
    return { data, human };
  } finally {
    view.stop();
    cancel.dispose();
    reg.close();
  }
}
