/** @module cli/runs
 * `stockpipe runs list|show ID|logs ID TASK`: the pipeline run history in the store; `runs cancel ID`
 * stops a running run (pipeline/cancel-run) and waits until its runner has marked it. */
import { readFile } from 'node:fs/promises';
import { StockpipeError } from '../core/errors.js';
import { cancelRun } from '../pipeline/cancel-run.js';
import { taskLine } from '../pipeline/live-view.js';
import { countPipelineRuns, getPipelineRun, listPipelineRuns, type PipelineRunDetails, type PipelineRunSummary } from '../registry/pipeline.js';
import { openRegistry, type Registry } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';

function withStore<T>(ctx: CommandContext, fn: (reg: Registry) => T): T {
  const reg = openRegistry(ctx.ws, { readonly: true });
  try {
    return fn(reg);
  } finally {
    reg.close();
  }
}

function mustGet(reg: Registry, id: string): PipelineRunDetails {
  const run = getPipelineRun(reg, id);
  if (run === null) throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no pipeline run '${id}' in ${reg.file}`);
  return run;
}

const counts = (r: PipelineRunSummary): string => Object.entries(r.task_counts).map(([k, n]) => `${n} ${k}`).join(', ');

export async function runsListCommand(ctx: CommandContext, opts: { limit?: number; offset?: number; pipeline?: string; status?: string; backfill?: string }): Promise<CommandResult<{ runs: PipelineRunSummary[]; total: number }>> {
  const data = withStore(ctx, (reg) => ({ runs: listPipelineRuns(reg, opts), total: countPipelineRuns(reg, opts) }));
  const lines = data.runs.map((r) => `${r.run_id}  ${r.pipeline.padEnd(6)} ${(r.logical_date ?? '').padEnd(10)} ${r.status.padEnd(9)} ${r.started_at}  ${r.seconds === null ? '' : `${r.seconds} s`}  ${counts(r)}${r.backfill_id ? `  backfill ${r.backfill_id.slice(0, 8)}` : ''}`);
  return { data, human: data.runs.length === 0 ? 'no pipeline runs yet: try `stockpipe run train`' : [`${data.total} runs${data.total > data.runs.length ? ` (newest ${data.runs.length})` : ''}`, ...lines].join('\n') };
}

export async function runsShowCommand(ctx: CommandContext, id: string): Promise<CommandResult<PipelineRunDetails>> {
  const run = withStore(ctx, (reg) => mustGet(reg, id));
  const lines = [
    `run ${run.run_id} (${run.pipeline}${run.logical_date ? ` for ${run.logical_date}` : ''}${run.backfill_id ? `, backfill ${run.backfill_id}` : ''}) ${run.status}, started ${run.started_at}${run.seconds === null ? '' : `, ${run.seconds} s`}`,
    ...(run.error ? [`  error: ${run.error}`] : []),
    ...run.tasks.flatMap((t) => [
      `  ${taskLine({ name: t.task, status: t.status, attempts: t.attempts, seconds: t.seconds, startedAt: null, note: t.rows_in !== null || t.rows_out !== null ? `rows ${t.rows_in ?? '-'} → ${t.rows_out ?? '-'}` : null, fraction: null, error: t.error_code ? { code: t.error_code, message: t.error ?? '' } : null }, 0, 200)}`,
      // Executor bullmq: which worker ran the task, or each of its partitions.
      ...t.workers.map((w) => `      ${w.partition === null ? 'on' : `[${w.partition}] on`} worker ${w.worker} (${w.host}, pid ${w.pid}) in ${w.seconds} s${w.claims !== undefined && w.claims > 1 ? `, after ${w.claims - 1} redelivery(ies)` : ''}`),
    ]),
  ];
  return { data: run, human: lines.join('\n') };
}

export async function runsLogsCommand(ctx: CommandContext, id: string, task: string): Promise<CommandResult<{ run_id: string; task: string; path: string; log: string }>> {
  const run = withStore(ctx, (reg) => mustGet(reg, id));
  const t = run.tasks.find((x) => x.task === task);
  if (t === undefined) throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `run ${id} has no task '${task}'`, { hint: `Tasks: ${run.tasks.map((x) => x.task).join(', ')}.` });
  if (t.log_path === null) throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `task ${task} of run ${id} has no log (${t.status === 'queued' || t.status === 'skipped' ? 'it never started' : 'it logged nothing: a quick in-process or cached task that succeeded'}: ${t.status})`);
  let log: string;
  try {
    log = await readFile(t.log_path, 'utf8');
  } catch (err) {
    throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `the log of task ${task} (${t.log_path}) is gone: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  return { data: { run_id: id, task, path: t.log_path, log }, human: log.trimEnd() };
}

/** SIGTERM to the run's runner, then the store read until the run has ended (at most `waitMs`; 0: do not wait). */
export async function runsCancelCommand(ctx: CommandContext, id: string, waitMs: number): Promise<CommandResult<{ run_id: string; pipeline: string; pid: number; backfill_id: string | null; status: string }>> {
  const reg = openRegistry(ctx.ws, { readonly: true });
  try {
    const sent = cancelRun(mustGet(reg, id));
    const until = Date.now() + waitMs;
    let status = 'cancelling';
    for (;;) {
      const now = getPipelineRun(reg, id)?.status ?? 'cancelling';
      if (now !== 'running') {
        status = now;
        break;
      }
      if (Date.now() >= until) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const data = { ...sent, status };
    return { data, human: `run ${id} (${sent.pipeline}): SIGTERM sent to its runner (pid ${sent.pid}); ${status === 'cancelling' ? 'not ended yet' : `now ${status}`}${sent.backfill_id ? `; its backfill ${sent.backfill_id} stops too` : ''}` };
  } finally {
    reg.close();
  }
}
