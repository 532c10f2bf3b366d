/** @module pipeline/cancel-run
 * Cancelling a run from outside its runner (`stockpipe runs cancel`, POST /runs/:id/cancel): SIGTERM
 * to the runner process the store recorded (params runner_pid, runner_host, runner_start), which is
 * what Ctrl-C in its terminal does — its tasks are stopped, the run is marked cancelled and stays
 * resumable; a backfill's runner stops the backfill. A run that is not running on this host is
 * refused (SP_ERR_RUN_NOT_RUNNING); a recycled pid is never signalled. The runner does the rest. */
import { hostname } from 'node:os';
import { StockpipeError } from '../core/errors.js';
import { processGone } from '../core/proc.js';
import type { PipelineRunDetails } from '../registry/pipeline.js';

export interface CancelSent {
  run_id: string;
  pipeline: string;
  backfill_id: string | null;
  /** The runner signalled. */
  pid: number;
}

/** Signals the runner of `run` (read from the store by the caller); throws when there is none to signal here. */
export function cancelRun(run: PipelineRunDetails, opts: { host?: string; kill?: (pid: number, signal: NodeJS.Signals) => void } = {}): CancelSent {
  const here = opts.host ?? hostname();
  const id = run.run_id;
  const pid = Number(run.params.runner_pid);
  const host = run.params.runner_host ?? null;
  if (run.status !== 'running') {
    throw new StockpipeError('SP_ERR_RUN_NOT_RUNNING', `run ${id} (${run.pipeline}) is ${run.status}: there is nothing to cancel`,
      { hint: run.status === 'abandoned' ? `Its runner is gone; continue it with \`stockpipe run ${run.pipeline} --resume ${id}\`.` : 'Only a running run can be cancelled.' });
  }
  if (host !== here || !Number.isInteger(pid) || pid <= 0) {
    throw new StockpipeError('SP_ERR_RUN_NOT_RUNNING', `run ${id} (${run.pipeline}) is run by a process on ${host ?? 'an unknown host'}, not on this host (${here})`, { hint: 'Cancel it where it runs (Ctrl-C, `kill -TERM` of its runner, or `stockpipe runs cancel` there).' });
  }
  // Checked against the recorded start time, so a recycled pid is never signalled.
  if (processGone(pid, run.params.runner_start ?? null)) {
    throw new StockpipeError('SP_ERR_RUN_NOT_RUNNING', `run ${id} (${run.pipeline}): its runner (pid ${pid}) is gone`, { hint: `Continue it with \`stockpipe run ${run.pipeline} --resume ${id}\`.` });
  }
  (opts.kill ?? ((p, s) => process.kill(p, s)))(pid, 'SIGTERM');
  return { run_id: id, pipeline: run.pipeline, backfill_id: run.backfill_id, pid };
}
