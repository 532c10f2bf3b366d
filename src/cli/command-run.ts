/** @module cli/command-run
 * Every command that writes records a run (docs/cli.md, "Runs and lineage"): a `runs` row of the command's kind with its
 * options as params, started before the command's work and ended with its status (a failed command
 * leaves a failed run with the error's code and message), plus the snapshots it read and wrote
 * (registry/run-scope). A pipeline task's command (STOCKPIPE_PARENT_RUN_ID, set by the runner or the
 * queue worker) is a child of the pipeline run, never a stray top-level run. The domain code's own
 * startRun (train, evaluate, forecast, tune) takes this run's id, so a command is one row. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { toStockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { manifestVersionOf } from '../sources/manifest-version.js';
import { getSnapshot } from '../registry/catalog.js';
import { recordRunner, thisRunner } from '../registry/pipeline.js';
import { closeRunScope, openRunScope, type RunScope } from '../registry/run-scope.js';
import { type DataVersionInput, openRegistry, type Registry } from '../registry/store.js';

export interface CommandRunInput {
  /** The run's kind: the command (`ingest`, `train`, `promote`, …). */
  kind: string;
  /** The command line as typed after `stockpipe` (for people). */
  name: string;
  /** The options and arguments given (param → value). */
  params: Record<string, unknown>;
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
}

/** The command line as a run's name: `features --window 20`, `models promote abc --alias champion`. */
export function commandLine(command: string, params: Readonly<Record<string, unknown>>): string {
  const parts = [command];
  for (const [k, v] of Object.entries(params)) {
    if (k.startsWith('arg.')) parts.push(String(v));
    else if (k.startsWith('option.')) parts.push(v === true ? `--${k.slice(7)}` : `--${k.slice(7)} ${Array.isArray(v) ? v.join(',') : String(v)}`);
  }
  return parts.join(' ').slice(0, 500);
}

/** The pipeline run a task's command belongs to, from its runner's environment (null: standalone). */
export function parentRunOf(env: Readonly<Record<string, string | undefined>>): string | null {
  const id = env.STOCKPIPE_PARENT_RUN_ID;
  return id !== undefined && /^[A-Za-z0-9_.-]{1,128}$/.test(id) ? id : null;
}

/** The source manifests the prices snapshots this run wrote were read from, as data versions (hash = content, so an unchanged source is stored once). */
async function manifestsOfRun(ws: Workspace, reg: Registry, runId: string): Promise<DataVersionInput[]> {
  const wrote = reg.all<{ snapshot_id: number }>('read lineage', "SELECT snapshot_id FROM run_snapshots WHERE run_id = ? AND role = 'wrote'", [runId]);
  const out: DataVersionInput[] = [];
  for (const { snapshot_id } of wrote) {
    const snap = getSnapshot(reg, snapshot_id);
    const source = snap?.table === 'prices' ? snap.source?.source : undefined;
    if (typeof source !== 'string') continue;
    const v = await manifestVersionOf(ws, source);
    if (v !== null && !out.some((x) => x.hash === v.hash)) out.push(v);
  }
  return out;
}

/** The run's row and params (idempotent: at the start when the store exists, else at the end). */
function start(reg: Registry, scope: RunScope, input: CommandRunInput, task: string | undefined, startedAt: string): void {
  reg.transaction(() => {
    // A parent this store does not hold (a stale or hand-set variable) is kept as a param, not as a link.
    const given = scope.parentRunId;
    const stray = given !== null && reg.get('read run', 'SELECT 1 FROM runs WHERE run_id = ?', [given]) === undefined;
    if (stray) scope.parentRunId = null;
    const r = reg.run('start command run', `INSERT INTO runs (run_id, kind, name, parent_run_id, status, started_at) VALUES (?, ?, ?, ?, 'running', ?) ON CONFLICT (run_id) DO NOTHING`,
      [scope.runId, scope.kind, input.name, scope.parentRunId, startedAt]);
    // The process, as pipeline runs record their runner: a run a killed command left 'running' reads 'abandoned'.
    if (r.changes === 0) return;
    recordRunner(reg, scope.runId, thisRunner());
    reg.logParams(scope.runId, { ...input.params, ...(task === undefined ? {} : { 'pipeline.task': task }), ...(stray ? { 'pipeline.parent_run_id': given } : {}) });
  });
}

function finish(reg: Registry, scope: RunScope, error: unknown, manifests: readonly DataVersionInput[]): void {
  reg.transaction(() => {
    // A snapshot the command wrote and then read back (its own output) is not an input.
    for (const id of scope.reads) {
      reg.run('record lineage', `INSERT OR IGNORE INTO run_snapshots (run_id, snapshot_id, role) SELECT @run, @snap, 'read'
        WHERE NOT EXISTS (SELECT 1 FROM run_snapshots WHERE run_id = @run AND snapshot_id = @snap AND role = 'wrote')`, { run: scope.runId, snap: id });
    }
    if (error === null) {
      for (const m of manifests) reg.recordDataVersion(m);
      if (manifests.length > 0) reg.logParams(scope.runId, { 'data.source_manifest': manifests.map((m) => m.hash).join(',') });
      reg.run('end run', "UPDATE runs SET status = 'finished', ended_at = ?, error = NULL WHERE run_id = ?", [reg.timestamp(), scope.runId]);
    } else {
      const e = toStockpipeError(error);
      reg.run('end run', "UPDATE runs SET status = 'failed', ended_at = ?, error = ? WHERE run_id = ?", [reg.timestamp(), `${e.code}: ${e.message}`, scope.runId]);
    }
  });
}

/** A usage or configuration error (exit 2) means the command never started: its run is removed. */
function forget(reg: Registry, runId: string): void {
  reg.transaction(() => {
    for (const table of ['params', 'run_snapshots', 'runs']) reg.run('forget command run', `DELETE FROM ${table} WHERE run_id = ?`, [runId]);
  });
}

/** Runs `work` as a recorded command run; its result or error passes through unchanged. */
export async function recordCommandRun<T>(ws: Workspace, input: CommandRunInput, work: () => Promise<T>): Promise<T> {
  const scope = openRunScope(randomUUID().replaceAll('-', ''), input.kind, parentRunOf(input.env));
  const task = scope.parentRunId === null ? undefined : input.env.STOCKPIPE_PARENT_TASK;
  const warn = (what: string, err: unknown): void => input.log.warn({ run_id: scope.runId, err: toStockpipeError(err).message }, what);
  try {
    const startedAt = new Date().toISOString();
    // Bookkeeping never decides the command's outcome: a store that cannot take the run (a full disk,
    // a fenced job) is warned about, and the command's own work meets the same condition and says so.
    // One handle for the whole command: the store is checkpointed once, when it closes at the end.
    let reg: Registry | null = null;
    let begun = false;
    // A workspace on read-only media: its read commands run unrecorded, said once.
    let readOnly = false;
    if (existsSync(ws.registryPath)) {
      try {
        reg = openRegistry(ws);
        start(reg, scope, input, task, startedAt);
        begun = true;
      } catch (err) {
        readOnly = toStockpipeError(err).code === 'SP_ERR_WORKSPACE_UNWRITABLE';
        warn(readOnly ? 'the workspace is read-only: this command is not recorded in the run history' : 'could not record the start of the run', err);
      }
    }
    let failure: unknown = null;
    let result: T | undefined;
    try {
      result = await work();
    } catch (err) {
      failure = err;
    }
    try {
      const usage = failure !== null && toStockpipeError(failure).exitCode === 2;
      // A workspace that does not exist (a failed first fetch) gets no store just to hold a run.
      if (reg === null && !usage && !readOnly && existsSync(ws.root)) reg = openRegistry(ws);
      if (reg !== null && usage && begun) forget(reg, scope.runId);
      else if (reg !== null && !usage) {
        start(reg, scope, input, task, startedAt);
        finish(reg, scope, failure, failure === null ? await manifestsOfRun(ws, reg, scope.runId) : []);
      }
    } catch (err) {
      // The command's own outcome is what the user needs; a run that could not be ended stays 'running'.
      warn('could not record the end of the run', err);
    } finally {
      reg?.close();
    }
    if (failure !== null) throw failure;
    return result as T;
  } finally {
    closeRunScope();
  }
}
