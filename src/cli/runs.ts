/** @module cli/runs
 * `stockpipe runs list|show ID|logs ID TASK|cancel ID`: the run history in the store. `runs list` lists
 * pipeline runs unless `--kind` asks for command runs (docs/cli.md); `runs show` finds a run of any kind;
 * `runs cancel ID` stops a running run (pipeline/cancel-run) and waits until its runner has marked it. */
import { clip, StockpipeError } from '../core/errors.js';
import { withArticle } from '../core/terminal.js';
import { checkListedPipeline } from '../pipeline/builtin/index.js';
import { cancelRun } from '../pipeline/cancel-run.js';
import { noLogReason, taskLine } from '../pipeline/live-view.js';
import { readTaskLog } from '../pipeline/task-log.js';
import { backfillIdsFor, backfillNamedBy, newestBackfillsText } from '../registry/backfills.js';
import { countPipelineRuns, getPipelineRun, listPipelineRuns, type PipelineRunDetails, type PipelineRunSummary } from '../registry/pipeline.js';
import { countRuns, getRunDetails, listRunSummaries, newestRunsText, pipelineTaskOf, type RunDetails, type RunSummary } from '../registry/runs-query.js';
import { openRegistry, type Registry } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';
import { withRegistry } from './with-registry.js';

const counts = (r: PipelineRunSummary): string => Object.entries(r.task_counts).map(([k, n]) => `${n} ${k}`).join(', ');

const secs = (s: number | null): string => (s === null ? '' : `${s} s`);

/** A listing's first line: how many runs, and which of them are shown ("6 runs (newest 1)" read wrong for `--offset 1`, which shows the second newest). */
export function listedRuns(total: number, shown: number, offset = 0): string {
  const which = offset > 0 ? ` (${shown} shown, after the newest ${offset})` : total > shown ? ` (newest ${shown})` : '';
  return `${total} run${total === 1 ? '' : 's'}${which}`;
}

/** `runs list --kind K|all`: command runs (and pipeline runs with `all`), in the generic shape. */
function kindList(ctx: CommandContext, opts: { limit?: number; offset?: number; status?: string; kind: string; parent?: string }): CommandResult<{ kind: string; runs: RunSummary[]; total: number }> {
  const q = { kind: opts.kind === 'all' ? undefined : opts.kind, status: opts.status, parent: opts.parent, limit: opts.limit, offset: opts.offset };
  const data = withRegistry(ctx, true, (reg) => {
    if (opts.parent !== undefined && reg.getRun(opts.parent) === null) throw noRun(reg, opts.parent);
    return { kind: opts.kind, runs: listRunSummaries(reg, q), total: countRuns(reg, q) };
  });
  const lines = data.runs.map((r) => `${r.run_id}  ${r.kind.padEnd(9)} ${r.status.padEnd(9)} ${r.started_at}  ${secs(r.seconds).padEnd(9)} ${r.name ?? ''}${r.parent_run_id ? `  (in ${r.parent_run_id})` : ''}`);
  return { data, human: data.runs.length === 0 ? `no ${opts.kind === 'all' ? '' : `${opts.kind} `}runs` : [listedRuns(data.total, data.runs.length, opts.offset), ...lines].join('\n') };
}

export async function runsListCommand(ctx: CommandContext, opts: { limit?: number; offset?: number; pipeline?: string; status?: string; backfill?: string; kind?: string; parent?: string }): Promise<CommandResult<{ runs: PipelineRunSummary[] | RunSummary[]; total: number }>> {
  if ((opts.kind !== undefined && opts.kind !== 'pipeline') || opts.parent !== undefined) {
    if (opts.pipeline !== undefined || opts.backfill !== undefined) throw new StockpipeError('SP_ERR_USAGE', '--pipeline and --backfill filter pipeline runs; they do not go with --kind or --parent', { hint: 'e.g. stockpipe runs list --kind train, or stockpipe runs list --pipeline daily' });
    return kindList(ctx, { ...opts, kind: opts.kind ?? 'all' });
  }
  const data = withRegistry(ctx, true, (reg) => {
    const q = opts.backfill === undefined ? opts : { ...opts, backfill: backfillId(reg, opts.backfill) };
    const total = countPipelineRuns(reg, q);
    if (total === 0) checkListedPipeline(reg, q.pipeline, '--pipeline');
    return { runs: listPipelineRuns(reg, q), total };
  });
  const lines = data.runs.map((r) => `${r.run_id}  ${r.pipeline.padEnd(6)} ${(r.logical_date ?? '').padEnd(10)} ${r.status.padEnd(9)} ${r.started_at}  ${r.seconds === null ? '' : `${r.seconds} s`}  ${counts(r)}${r.backfill_id ? `  backfill ${r.backfill_id.slice(0, 8)}` : ''}`);
  return { data, human: data.runs.length === 0 ? noRunsText(opts, data.total) : [listedRuns(data.total, data.runs.length, opts.offset), ...lines].join('\n') };
}

/** `--backfill X`: the backfill's full id from X or the start of it `runs list` shows; SP_ERR_RUN_NOT_FOUND for none, SP_ERR_USAGE for several. */
function backfillId(reg: Registry, text: string): string {
  const ids = backfillIdsFor(reg, text);
  if (ids.length === 1) return ids[0]!;
  if (ids.length > 1) throw new StockpipeError('SP_ERR_USAGE', `--backfill ${clip(text)} starts the ids of several backfills: ${ids.join(', ')}`, { hint: 'Give more of the id.' });
  const recent = newestBackfillsText(reg);
  throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no backfill '${clip(text)}' in ${reg.file}`, { hint: recent.length === 0 ? 'No backfill has run in this workspace: `stockpipe backfill --from D1 --to D2` starts one.' : `The newest: ${recent.join('; ')}.` });
}

/** What an empty page of pipeline runs says: past the last run, none matching the filters, or none yet. */
export function noRunsText(opts: { pipeline?: string; status?: string; backfill?: string }, total: number): string {
  if (total > 0) return `no runs on this page (${total} in all): use a smaller --offset`;
  const filters = [opts.status === undefined ? '' : `${opts.status} `, opts.pipeline === undefined ? '' : `${opts.pipeline} `].join('');
  if (opts.status !== undefined || opts.backfill !== undefined) return `no ${filters}pipeline runs${opts.backfill === undefined ? '' : ` in backfill ${opts.backfill}`}`;
  return `no ${filters}pipeline runs yet: try \`stockpipe run ${opts.pipeline ?? 'train'}\``;
}

const snaps = (xs: readonly { id: number; table: string }[]): string => xs.map((s) => `${s.table} ${s.id}`).join(', ') || '-';

/** A command run (train, ingest, …): its row, params, lineage. */
function showCommandRun(run: RunDetails): CommandResult<RunDetails> {
  const lines = [
    `run ${run.run_id} (${run.kind}${run.name ? `: ${run.name}` : ''}) ${run.status}, started ${run.started_at}${run.seconds === null ? '' : `, ${run.seconds} s`}`,
    ...(run.parent ? [`  in ${run.parent.kind} run ${run.parent.run_id}${run.params['pipeline.task'] ? ` (task ${run.params['pipeline.task']})` : ''}`] : []),
    ...(run.error ? [`  error: ${run.error}`] : []),
    `  read: ${snaps(run.read)}   wrote: ${snaps(run.wrote)}`,
    ...run.models.map((m) => `  registered model ${m.id} (${m.kind})${m.aliases.length ? ` [${m.aliases.join(', ')}]` : ''}`),
    ...run.children.map((c) => `  child ${c.kind} run ${c.run_id} ${c.status}`),
    ...Object.entries(run.params).map(([k, v]) => `  ${k} = ${v ?? ''}`),
    `  lineage: stockpipe lineage run ${run.run_id}`,
  ];
  return { data: run, human: lines.join('\n') };
}

export async function runsShowCommand(ctx: CommandContext, id: string): Promise<CommandResult<PipelineRunDetails | RunDetails>> {
  const found = withRegistry(ctx, true, (reg): { pipeline: PipelineRunDetails & { child_runs: RunSummary[] } } | { run: RunDetails } => {
    const pipeline = getPipelineRun(reg, id);
    if (pipeline !== null) return { pipeline: { ...pipeline, child_runs: listRunSummaries(reg, { parent: id, limit: 10_000 }) } };
    const run = getRunDetails(reg, id);
    if (run === null) throw noRun(reg, id);
    return { run };
  });
  if ('run' in found) return showCommandRun(found.run);
  const run = found.pipeline;
  const lines = [
    `run ${run.run_id} (${run.pipeline}${run.logical_date ? ` for ${run.logical_date}` : ''}${run.backfill_id ? `, backfill ${run.backfill_id}` : ''}) ${run.status}, started ${run.started_at}${run.seconds === null ? '' : `, ${run.seconds} s`}`,
    ...(run.error ? [`  error: ${run.error}`] : []),
    ...run.tasks.flatMap((t) => [
      `  ${taskLine({ name: t.task, status: t.status, attempts: t.attempts, seconds: t.seconds, startedAt: null, note: t.rows_in !== null || t.rows_out !== null ? `rows ${t.rows_in ?? '-'} → ${t.rows_out ?? '-'}` : null, fraction: null, error: t.error_code ? { code: t.error_code, message: t.error ?? '' } : null }, 0, 200)}`,
      // Executor bullmq: which worker ran the task, or each of its partitions.
      ...t.workers.map((w) => `      ${w.partition === null ? 'on' : `[${w.partition}] on`} worker ${w.worker} (${w.host}, pid ${w.pid}) in ${w.seconds} s${w.claims !== undefined && w.claims > 1 ? `, after ${w.claims - 1} redelivery(ies)` : ''}`),
    ]),
    ...(run.child_runs.length ? [`  ${run.child_runs.length} command runs: stockpipe runs list --parent ${run.run_id}`] : []),
  ];
  return { data: run, human: lines.join('\n') };
}

export async function runsLogsCommand(ctx: CommandContext, id: string, task: string): Promise<CommandResult<{ run_id: string; task: string; path: string; log: string }>> {
  const run = withRegistry(ctx, true, (reg) => getPipelineRun(reg, id) ?? notPipelineRun(reg, id));
  const t = run.tasks.find((x) => x.task === task);
  if (t === undefined) throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `run ${id} has no task '${clip(task)}'`, { hint: `Tasks: ${run.tasks.map((x) => x.task).join(', ')}.` });
  if (t.log_path === null) throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `task ${task} of run ${id} has no log: ${noLogReason(t)} (status ${t.status})`, { hint: `Its state, rows and summary: \`stockpipe runs show ${id}\`.` });
  const path = ctx.ws.path(t.log_path);
  const log = await readTaskLog(path, task, id);
  return { data: { run_id: id, task, path, log }, human: log.trimEnd() };
}

/** SP_ERR_RUN_NOT_FOUND for an id no run of any kind has (`runs show ID`, `runs list --parent ID`): a backfill's id said as
 * such, else the newest runs named (an empty `--parent` listing said "no runs", as for a run without children). */
function noRun(reg: Registry, id: string): StockpipeError {
  const recent = newestRunsText(reg);
  const hint = backfillHint(reg, id)
    ?? (recent.length === 0 ? 'No run is recorded in this workspace yet.' : `The newest: ${recent.join('; ')}; \`stockpipe runs list --kind all\` lists every run.`);
  return new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no run '${clip(id)}' in ${reg.file}${backfillNamed(reg, id)}`, { hint });
}

/** ": it is a backfill's id" when it is (`runs list` shows each run's backfill by the start of its id), else ''. */
function backfillNamed(reg: Registry, id: string): string {
  const b = backfillNamedBy(reg, id);
  return b === null ? '' : `: ${b === id ? 'it is' : 'it starts'} the id of a backfill, not of a run`;
}

/** What to do with a backfill's id given to `runs show|logs|cancel`: list its runs (or cancel its running one), or null. */
function backfillHint(reg: Registry, id: string, purpose: 'show' | 'logs' | 'cancel' = 'show'): string | null {
  const b = backfillNamedBy(reg, id);
  if (b === null) return null;
  const list = `\`stockpipe runs list --backfill ${b.slice(0, 8)}\` lists its runs, one per day`;
  if (purpose === 'cancel') return `${list}; \`stockpipe runs cancel RUN_ID\` of its running one stops the backfill.`;
  return purpose === 'logs' ? `${list}; \`stockpipe runs logs RUN_ID TASK\` shows a day's task log.` : `${list}; \`stockpipe runs show RUN_ID\` shows one.`;
}

/**
 * SP_ERR_RUN_NOT_FOUND for `runs logs` or `runs cancel` of an id that is no pipeline run: a command run (train,
 * ingest, …) has no task logs (it logs to its terminal) and is not cancelled by id, but the pipeline task that ran it
 * has a log and a run to cancel, which the hint names.
 */
function notPipelineRun(reg: Registry, id: string, purpose: 'logs' | 'cancel' = 'logs'): never {
  const cmd = getRunDetails(reg, id);
  if (cmd === null) {
    const recent = newestRunsText(reg, { kind: 'pipeline' });
    const hint = backfillHint(reg, id, purpose)
      ?? (recent.length === 0 ? 'No pipeline run is recorded in this workspace yet: `stockpipe run train` starts one.' : `The newest pipeline runs: ${recent.join('; ')}; \`stockpipe runs list\` lists them.`);
    throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no pipeline run '${clip(id)}' in ${reg.file}${backfillNamed(reg, id)}`, { hint });
  }
  const inPipeline = pipelineTaskOf(cmd);
  if (purpose === 'cancel') {
    const hint = cmd.status !== 'running'
      ? `It is ${cmd.status}${inPipeline !== null ? ` (task ${inPipeline.task} of pipeline run ${inPipeline.parent})` : ''}: there is nothing to cancel.`
      : inPipeline !== null
        ? `It runs as task ${inPipeline.task} of pipeline run ${inPipeline.parent}: \`stockpipe runs cancel ${inPipeline.parent}\` stops that run.`
        : 'Stop it as any command: Ctrl-C in the terminal that runs it.';
    throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `run ${id} is ${withArticle(cmd.kind)} command run, not a pipeline run: \`runs cancel\` stops pipeline runs`, { hint });
  }
  const hint = inPipeline !== null
    ? `It ran as task ${inPipeline.task} of pipeline run ${inPipeline.parent}: \`stockpipe runs logs ${inPipeline.parent} ${inPipeline.task}\`.`
    : `Its params and lineage: \`stockpipe runs show ${id}\`.`;
  throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `run ${id} is ${withArticle(cmd.kind)} command run, not a pipeline run: only a pipeline run's tasks have logs (a command run logs to the terminal that ran it)`, { hint });
}

/** SIGTERM to the run's runner, then the store read until the run has ended (at most `waitMs`; 0: do not wait). */
export async function runsCancelCommand(ctx: CommandContext, id: string, waitMs: number): Promise<CommandResult<{ run_id: string; pipeline: string; pid: number; backfill_id: string | null; status: string }>> {
  const reg = openRegistry(ctx.ws, { readonly: true });
  try {
    const sent = cancelRun(getPipelineRun(reg, id) ?? notPipelineRun(reg, id, 'cancel'));
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
