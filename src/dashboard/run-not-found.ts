/** @module dashboard/run-not-found
 * The 404 of a pipeline-run route (GET /runs/:id, its logs, POST /runs/:id/resume|cancel) given an id
 * that is no pipeline run: what the id is instead, as the CLI's `runs` and `run --resume` say it —
 * a command run (the `train` a pipeline task ran: the pipeline run that ran it), a backfill's id (or
 * the start of one) — and where the API reads it; an id of nothing, with the newest pipeline runs. */
import { clip, StockpipeError } from '../core/errors.js';
import { withArticle } from '../core/terminal.js';
import { backfillNamedBy } from '../registry/backfills.js';
import { newestRunsText, pipelineTaskOf } from '../registry/runs-query.js';
import type { Registry } from '../registry/store.js';

/** SP_ERR_RUN_NOT_FOUND for `id`, which no pipeline run of the workspace at `root` has. */
export function noPipelineRun(reg: Registry, root: string, id: string): StockpipeError {
  const head = `no pipeline run '${clip(id)}' in ${root}`;
  const cmd = reg.getRun(id);
  if (cmd !== null) {
    const ran = pipelineTaskOf(cmd);
    return new StockpipeError('SP_ERR_RUN_NOT_FOUND', `${head}: it is ${withArticle(cmd.kind)} command run`, {
      hint: ran !== null
        ? `It ran as task ${ran.task} of pipeline run ${ran.parent}: GET /runs/${ran.parent} reads that run (its task's log: GET /runs/${ran.parent}/logs/${ran.task}).`
        : `GET /lineage/run/${id} reads a command run.`,
    });
  }
  const b = backfillNamedBy(reg, id);
  if (b !== null) {
    return new StockpipeError('SP_ERR_RUN_NOT_FOUND', `${head}: ${b === id ? 'it is' : 'it starts'} the id of a backfill`, {
      hint: `GET /backfills/${b} reads the backfill; GET /runs?backfill=${b} lists its runs, one per day.`,
    });
  }
  // The newest named, as GET /backfills/:id names the newest backfills (the hint only pointed at GET /runs).
  const recent = newestRunsText(reg, { kind: 'pipeline' });
  return new StockpipeError('SP_ERR_RUN_NOT_FOUND', head, {
    hint: recent.length === 0 ? 'No pipeline run is recorded in this workspace yet: POST /runs (or `stockpipe run PIPELINE`) starts one.' : `GET /runs lists the pipeline runs; the newest: ${recent.join('; ')}.`,
  });
}
