/** @module cli/tune
 * `stockpipe tune` and `stockpipe studies [ID]`: options → ml/tune (a new or resumed study) or the
 * store's studies → the trials table for people and --json. Ctrl-C / SIGTERM abort the running
 * evaluations (recorded failed: interrupted; the study resumes with --resume). */
import { fileURLToPath } from 'node:url';
import { runTrialJob, type TrialJobData } from '../ml/tune/trial-job.js';
import type { CommandExecutor } from '../pipeline/executor.js';
import { openExecutor, type ExecutorKind } from '../queue/open.js';
import { listStudies, getStudy, studyTrials, type StudyRecord } from '../registry/studies.js';
import { openRegistry } from '../registry/store.js';
import { tuneVolume, type TuneData, type TuneOptions } from '../ml/tune/tune-run.js';
import { renderStudy, studyView, type StudyView } from '../ml/tune/view.js';
import type { CommandContext, CommandResult } from './context.js';
import { table } from './models.js';

const TASK_MAIN = fileURLToPath(new URL('./task-main.js', import.meta.url));

/** Where trials run: `--executor` (else pipeline.executor / STOCKPIPE_EXECUTOR), and the flags a queued trial's command gets. */
export interface TuneWhere {
  executor?: ExecutorKind;
  globalArgs: readonly string[];
}

export async function tuneCommand(ctx: CommandContext, o: Omit<TuneOptions, 'threads'>, where: TuneWhere = { globalArgs: [] }, signal?: AbortSignal): Promise<CommandResult<TuneData>> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(sig);
  if (signal === undefined) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
  }
  const kind = where.executor ?? ctx.config.pipeline.executor;
  let executor: CommandExecutor | null = null;
  try {
    // bullmq connects to Redis here (SP_ERR_REDIS_UNREACHABLE, SP_ERR_REDIS_CONFIG), before the study starts.
    if (kind !== 'local') executor = await openExecutor(kind, { ws: ctx.ws, config: ctx.config, env: ctx.env, log: ctx.log, mainScript: TASK_MAIN });
    const note = ctx.quiet ? undefined : (line: string): void => void process.stderr.write(`${line}\n`);
    const queue = executor === null ? undefined : { executor, ws: ctx.ws, args: ['--workspace', ctx.ws.root, ...where.globalArgs] };
    const data = await tuneVolume({ ws: ctx.ws, signal: signal ?? ac.signal, note, queue }, { ...o, threads: ctx.ws.threads });
    const reg = openRegistry(ctx.ws, { readonly: true, now: ctx.now });
    let view: StudyView;
    try {
      view = studyView(getStudy(reg, data.study_id), studyTrials(reg, data.study_id));
    } finally {
      reg.close();
    }
    const head = `${data.state === 'stopped' ? 'stopped (--timeout) ' : ''}study ${data.study_id}: ${data.evaluated} evaluation(s) run, ${data.reused} reused, ${data.seconds} s${data.state === 'stopped' ? `; continue with \`stockpipe tune --resume ${data.study_id}\`` : ''}`;
    return { data, human: `${head}\n${renderStudy(view)}` };
  } finally {
    await executor?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** `tune --evaluate <study>.<trial>.<rung>`: one queued trial, on a worker (ml/tune/trial-job). SIGINT/SIGTERM abort it (nothing is written). */
export async function tuneTrialJobCommand(ctx: CommandContext, spec: string): Promise<CommandResult<TrialJobData>> {
  const ac = new AbortController();
  const onSignal = (sig: NodeJS.Signals): void => ac.abort(sig);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const data = await runTrialJob(ctx.ws, spec, ctx.ws.threads, ac.signal);
    const t = data.trial;
    return { data, human: `trial ${t.number} rung ${t.rung} of study ${t.study_id}: ${t.state}${t.score === null ? '' : ` score ${t.score.toFixed(5)}`}${data.wrote ? '' : ' (already recorded: nothing written)'}` };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** One line of `studies --json` (list). */
export type StudyListItem = Omit<StudyRecord, 'space'> & { best_score: number | null };

export async function studiesCommand(ctx: CommandContext, id: string | undefined, limit: number): Promise<CommandResult<StudyView | { studies: StudyListItem[] }>> {
  const reg = openRegistry(ctx.ws, { readonly: true, now: ctx.now });
  try {
    if (id !== undefined) {
      const v = studyView(getStudy(reg, id), studyTrials(reg, getStudy(reg, id).study_id));
      return { data: v, human: renderStudy(v) };
    }
    const studies = listStudies(reg, { limit }).map(({ space: _space, ...s }) => {
      const best = s.best_trial === null ? null : studyTrials(reg, s.study_id).filter((r) => r.number === s.best_trial).reduce<number | null>((a, r) => r.score ?? a, null);
      return { ...s, best_score: best };
    });
    if (studies.length === 0) return { data: { studies }, human: 'no tuning studies yet: try `stockpipe tune --trials 9`' };
    const rows = studies.map((s) => [s.study_id, s.name === s.study_id ? '-' : s.name, s.task, s.state, s.created_at, String(s.best_trial ?? '-'), s.best_score === null ? '-' : s.best_score.toFixed(5)]);
    return { data: { studies }, human: table(['ID', 'NAME', 'TASK', 'STATE', 'CREATED', 'BEST', 'SCORE'], rows, new Set([5, 6])) };
  } finally {
    reg.close();
  }
}
