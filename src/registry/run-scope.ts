/** @module registry/run-scope
 * The run a command process records (cli/command-run opens it; nothing else does). While one is
 * open, the registry's startRun adopts it for the first run the command's own code starts (train,
 * evaluate, forecast, tune: one row per command, not two) and nests any later one under it; a catalog
 * commit records the snapshot it wrote against it, in the commit's transaction; store/read notes
 * each snapshot read, flushed when the run ends. With no scope open (serve, tests calling the domain
 * directly) all of this is a null check. Process-wide, like core/commit-guard. */

export interface RunScope {
  readonly runId: string;
  readonly kind: string;
  /** The pipeline run a task's command belongs to (null: a standalone command, or a parent not in this store). */
  parentRunId: string | null;
  /** The command's own code started its run (it took runId). */
  adopted: boolean;
  /** Snapshots read, in order, not yet stored. */
  readonly reads: Set<number>;
}

let scope: RunScope | null = null;

/** Opens the process's run scope (replacing any). */
export function openRunScope(runId: string, kind: string, parentRunId: string | null): RunScope {
  scope = { runId, kind, parentRunId, adopted: false, reads: new Set() };
  return scope;
}

/** Closes it (no-op when none is open). */
export function closeRunScope(): void {
  scope = null;
}

/** The open scope, or null. */
export function currentRunScope(): RunScope | null {
  return scope;
}

/** Notes that the command read a snapshot (a no-op outside a command run). */
export function noteSnapshotRead(snapshotId: number): void {
  scope?.reads.add(snapshotId);
}
