/** @module ml/tune/queued
 * Lanes that evaluate a study's trials as BullMQ jobs (`tune --executor bullmq`): each evaluation is
 * a job with the deterministic id `<study>.<trial>.<rung>` running `stockpipe tune --evaluate` on a
 * `stockpipe worker` (ml/tune/trial-job), which records the row itself; this side waits for the job
 * and reads the row back. A resumed study queues the same ids: a job finished meanwhile answers at
 * once, a running one is waited for, a failed one runs again (queue/executor). The halving decisions
 * stay with the coordinator (ml/tune/study), rung by rung. */
import { StockpipeError } from '../../core/errors.js';
import type { Workspace } from '../../core/workspace.js';
import { studyTrial } from '../../registry/studies.js';
import type { Registry } from '../../registry/store.js';
import type { Evaluation, Evaluator } from './evaluate.js';
import type { Lanes } from './lanes.js';

export interface TrialKey {
  study_id: string;
  number: number;
  rung: number;
}

/** The job id (and `--evaluate` argument) of a trial at a rung: `<study>.<trial>.<rung>`. */
export const trialJobId = (k: TrialKey): string => `${k.study_id}.${k.number}.${k.rung}`;

/** The part of a command executor (pipeline/executor's; the bullmq one) a study uses: run one command as a named job. */
export interface TrialJobRunner {
  run(job: { runId: string; task: string; partition: string | null; jobId: string; attempt: number; args: readonly string[]; logPath: string; signal: AbortSignal }): Promise<unknown>;
}

export interface TrialQueue {
  executor: TrialJobRunner;
  ws: Workspace;
  /** The coordinator's registry: the rows are read back from it. */
  reg: Registry;
  /** The tune session's run: the jobs' commands record their runs under it; their logs are runs/<run>/trial-<n>.r<rung>.log. */
  runId: string;
  /** Global flags for the job's command (--workspace first). */
  args: readonly string[];
}

/** `count` lanes queuing evaluations (how many jobs are queued at once). */
export function queuedLanes(q: TrialQueue, count: number): Lanes {
  const idle = new AbortController().signal;
  const evaluate: Evaluator = async (req): Promise<Evaluation> => {
    const t = req.trial;
    if (t === undefined) throw new StockpipeError('SP_ERR_INTERNAL', 'a queued evaluation needs its study row');
    const id = trialJobId(t);
    const name = `trial-${t.number}.r${t.rung}`;
    await q.executor.run({
      runId: q.runId, task: 'trial', partition: `${t.number}.r${t.rung}`, jobId: id, attempt: 1, args: [...q.args, 'tune', '--evaluate', id],
      logPath: q.ws.taskLog(q.runId, name), signal: req.signal ?? idle,
    });
    const row = studyTrial(q.reg, t);
    if (row?.state !== 'complete' || row.fold_scores === null || row.fold_iterations === null || row.score === null || row.best_iteration === null) {
      throw new StockpipeError('SP_ERR_TASK_FAILED', `job ${id} ended but trial ${t.number} at rung ${t.rung} is ${row?.state ?? 'missing'} in the study`, { hint: `Read its log: ${q.ws.taskLog(q.runId, name)}` });
    }
    return { fold_scores: row.fold_scores, fold_iterations: row.fold_iterations, fold_trees: row.fold_trees ?? row.fold_iterations, score: row.score, best_iteration: row.best_iteration, seconds: row.seconds ?? 0, recorded: true };
  };
  return { evaluators: Array.from({ length: Math.max(1, count) }, () => evaluate), threadsPerLane: 1, close: async () => {} };
}
