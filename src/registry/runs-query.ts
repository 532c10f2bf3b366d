/** @module registry/runs-query
 * Every run in the store, of any kind (`stockpipe runs list --kind K`, `runs show` of a command run):
 * pipeline runs have their own richer view in registry/pipeline. */
import type { ArtifactRecord, MetricRecord, RunRecord } from './types.js';
import type { Registry } from './store.js';
import { runLineageDoc, type ModelRef, type RunRef, type SnapshotRef } from './lineage-docs.js';
import { abandonedRunIds, type RunnerGoneCheck } from './pipeline.js';

export interface RunQuery {
  /** A run kind (`train`, `ingest`, …), or undefined for every kind. */
  kind?: string;
  status?: string;
  /** Only the children of this run (a pipeline run's task commands). */
  parent?: string;
  limit?: number;
  offset?: number;
  /** How a recorded runner is judged gone (tests inject it). */
  gone?: RunnerGoneCheck;
}

export interface RunSummary extends Omit<RunRecord, 'status'> {
  /** As stored, except 'abandoned': left 'running' by a process that is gone (killed) on this host. */
  status: RunRecord['status'] | 'abandoned';
  /** ended_at − started_at, or null while it runs. */
  seconds: number | null;
}

/** The pipeline run and task a command run ran as (cli/command-run records `pipeline.task` for a task's command), or null for a command run alone. */
export function pipelineTaskOf(run: { parent_run_id: string | null; params: Record<string, string | null> }): { parent: string; task: string } | null {
  const task = run.params['pipeline.task'];
  return run.parent_run_id !== null && task ? { parent: run.parent_run_id, task } : null;
}

/** A command run in full: the row, params, metrics, artifacts and its lineage. */
export interface RunDetails extends RunSummary {
  params: Record<string, string | null>;
  metrics: MetricRecord[];
  artifacts: ArtifactRecord[];
  parent: RunRef | null;
  children: RunRef[];
  read: SnapshotRef[];
  wrote: SnapshotRef[];
  models: ModelRef[];
}

// A stored 'running' run whose recorded process (params runner_pid, runner_host, runner_start) is gone reads 'abandoned';
// one that process ended after @abandoned was taken (and before this query) reads as it stored it.
const STATUS = "(CASE WHEN status = 'running' AND run_id IN (SELECT value FROM json_each(@abandoned)) THEN 'abandoned' ELSE status END)";
const WHERE = `(@kind IS NULL OR kind = @kind) AND (@status IS NULL OR ${STATUS} = @status) AND (@parent IS NULL OR parent_run_id = @parent)`;
const SECONDS = "CASE WHEN ended_at IS NULL THEN NULL ELSE ROUND((julianday(ended_at) - julianday(started_at)) * 86400, 3) END AS seconds";
const bind = (reg: Registry, q: RunQuery) => ({ kind: q.kind ?? null, status: q.status ?? null, parent: q.parent ?? null, abandoned: JSON.stringify(abandonedRunIds(reg, q.gone, true)) });

/** Runs matching the query, newest first. */
export function listRunSummaries(reg: Registry, q: RunQuery = {}): RunSummary[] {
  const sql = `SELECT *, ${STATUS} AS status, ${SECONDS} FROM runs WHERE ${WHERE} ORDER BY started_at DESC, rowid DESC LIMIT @limit OFFSET @offset`;
  return reg.all<RunSummary>('list runs', sql, { ...bind(reg, q), limit: q.limit ?? 50, offset: q.offset ?? 0 });
}

/** The newest `n` runs (of `kind`, else of every kind) as a hint names them: `ID (pipeline daily, failed, started AT)`. */
export function newestRunsText(reg: Registry, opts: { kind?: string; n?: number } = {}): string[] {
  return listRunSummaries(reg, { kind: opts.kind, limit: opts.n ?? 3 }).map((r) => `${r.run_id} (${r.kind === 'pipeline' ? `pipeline ${r.name ?? ''}` : r.kind}, ${r.status}, started ${r.started_at})`);
}

export function countRuns(reg: Registry, q: RunQuery = {}): number {
  return reg.get<{ n: number }>('count runs', `SELECT COUNT(*) AS n FROM runs WHERE ${WHERE}`, bind(reg, q))?.n ?? 0;
}

/** One run of any kind with params, metrics, artifacts and lineage; null when unknown. */
export function getRunDetails(reg: Registry, id: string, gone?: RunnerGoneCheck): RunDetails | null {
  const row = reg.get<RunSummary>('read run', `SELECT *, ${STATUS} AS status, ${SECONDS} FROM runs WHERE run_id = @id`, { id, abandoned: JSON.stringify(abandonedRunIds(reg, gone, true)) });
  const run = row === undefined ? null : reg.getRun(id);
  if (row === undefined || run === null) return null;
  const l = runLineageDoc(reg, id, { files: 0, gone });
  return { ...row, params: run.params, metrics: run.metrics, artifacts: run.artifacts, parent: l.parent, children: l.children, read: l.read, wrote: l.wrote, models: l.models };
}
