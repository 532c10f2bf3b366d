/** @module cli/backfill
 * `stockpipe backfill PIPELINE --from D1 --to D2`: takes the workspace's run lock once, runs
 * pipeline/backfill (one run per NYSE trading day, resumable, finished days skipped) or only lists
 * the days (--dry-run), prints one line per day, alerts on a failed day. A failed day exits 1 with
 * SP_ERR_RUN_FAILED naming it; Ctrl-C cancels (the next call with the same arguments continues). */
import { cancelOnSignals } from './cancel.js';
import { hashJson } from '../core/fs.js';
import { StockpipeError } from '../core/errors.js';
import { planBackfill, runBackfill, type BackfillDayResult, type PlannedDay } from '../pipeline/backfill.js';
import { buildPipeline } from '../pipeline/builtin/index.js';
import { acquireRunLock } from '../pipeline/lock.js';
import { backfillDays } from '../pipeline/logical-date.js';
import { alertForRun } from '../pipeline/run-alerts.js';
import { unfinishedBackfill } from '../registry/backfills.js';
import { openRegistry } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';
import { alertChannels, pipelineEnv, runExecutor, runSource } from './run.js';

export interface BackfillCommandOptions {
  pipeline: string;
  from: string;
  to: string;
  force: boolean;
  dryRun: boolean;
  continueOnFailure: boolean;
  waitMs: number;
  globalArgs: string[];
  version: string;
  /** Cancels the backfill (default: SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

export interface BackfillData {
  backfill_id: string;
  pipeline: string;
  from: string;
  to: string;
  resumed: boolean;
  status: string;
  seconds: number;
  days: BackfillDayResult[];
}

export interface BackfillPlanData {
  pipeline: string;
  from: string;
  to: string;
  dry_run: true;
  days: PlannedDay[];
}

const dayLine = (d: { date: string; status?: string; action?: string; run_id: string | null; seconds?: number }): string =>
  `  ${d.date}  ${(d.status ?? d.action ?? '').padEnd(9)} ${d.seconds === undefined || d.status === 'skipped' ? '' : `${d.seconds} s  `}${d.run_id ? `run ${d.run_id}` : ''}`;

export async function backfillCommand(ctx: CommandContext, opts: BackfillCommandOptions): Promise<CommandResult<BackfillData | BackfillPlanData>> {
  const days = backfillDays(opts.from, opts.to, ctx.now());
  const penv = await runSource(ctx, { pipeline: opts.pipeline }, pipelineEnv(ctx, opts.globalArgs, opts.version));
  if (opts.dryRun) {
    const pipeline = buildPipeline(opts.pipeline, penv);
    const reg = openRegistry(ctx.ws, { readonly: true });
    try {
      const plan = planBackfill(reg, pipeline.name, days, opts.force, unfinishedBackfill(reg, pipeline.name, opts.from, opts.to)?.backfill_id ?? null);
      const n = (a: PlannedDay['action']): number => plan.filter((p) => p.action === a).length;
      return {
        data: { pipeline: pipeline.name, from: opts.from, to: opts.to, dry_run: true, days: plan },
        human: [
          `backfill ${pipeline.name} ${opts.from}..${opts.to} (dry run: nothing runs): ${days.length} trading days, ${n('run')} to run, ${n('resume')} to resume, ${n('skip')} finished already`,
          ...plan.map(dayLine),
        ].join('\n'),
      };
    } finally {
      reg.close();
    }
  }
  // Every day's run on the executor of pipeline.executor (bullmq: one Redis connection for them all).
  const executor = await runExecutor(ctx, undefined);
  const pipeline = buildPipeline(opts.pipeline, { ...penv, executor });
  const lock = await acquireRunLock(ctx.ws, pipeline.name, { waitMs: opts.waitMs, now: ctx.now, log: ctx.log }).catch(async (err: unknown) => {
    await executor.close();
    throw err;
  });
  const reg = openRegistry(ctx.ws);
  const cancel = cancelOnSignals(opts.signal);
  const t0 = performance.now();
  const failedRuns: Parameters<typeof alertForRun>[1][] = [];
  try {
    const out = await runBackfill({
      ws: ctx.ws,
      pipeline,
      registry: reg,
      log: ctx.log,
      days,
      from: opts.from,
      to: opts.to,
      force: opts.force,
      continueOnFailure: opts.continueOnFailure,
      concurrency: ctx.config.pipeline.concurrency,
      signal: cancel.signal,
      processes: lock.processes,
      params: { pipeline: pipeline.name },
      configHash: hashJson(ctx.config),
      onDay: (d, run) => {
        if (run?.status === 'failed') failedRuns.push(run);
        if (!ctx.quiet && !ctx.json) process.stderr.write(`${dayLine(d).trimStart()}\n`);
      },
    });
    for (const run of failedRuns) await alertForRun(reg, run, alertChannels(ctx), ctx.log);
    const data: BackfillData = {
      backfill_id: out.backfill_id,
      pipeline: out.pipeline,
      from: out.from,
      to: out.to,
      resumed: out.resumed,
      status: out.status,
      seconds: Math.round(performance.now() - t0) / 1000,
      days: out.days,
    };
    // The same arguments: a forced backfill continues forced, one that goes on after a failure still does.
    const again = `stockpipe backfill ${out.pipeline} --from ${out.from} --to ${out.to}${opts.force ? ' --force' : ''}${opts.continueOnFailure ? ' --continue-on-failure' : ''}`;
    if (out.status === 'cancelled') {
      throw new StockpipeError('SP_ERR_RUN_CANCELLED', `backfill ${out.backfill_id} (${out.pipeline} ${out.from}..${out.to}) was cancelled; finished days are kept`, {
        hint: `Continue it with \`${again}\`.`,
      });
    }
    if (out.failed) {
      const f = out.failed;
      throw new StockpipeError('SP_ERR_RUN_FAILED', `backfill ${out.backfill_id}: day ${f.date} (run ${f.run_id}) failed at task ${f.task}: ${f.code}: ${f.message}`, {
        hint: `${f.hint === null ? '' : `${f.hint} `}Log: ${f.log_path}. Fix the cause, then \`${again}\` continues with the days not yet succeeded.`,
      });
    }
    const n = (s: string): number => out.days.filter((d) => d.status === s).length;
    const human = `backfill ${out.backfill_id} (${out.pipeline} ${out.from}..${out.to}) ${out.status}${out.resumed ? ' (continued)' : ''} in ${data.seconds} s: ${out.days.length} trading days, ${n('succeeded')} run, ${n('skipped')} skipped (finished already)`;
    return { data, human };
  } finally {
    cancel.dispose();
    reg.close();
    await lock.release();
    await executor.close();
  }
}
