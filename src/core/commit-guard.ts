/** @module core/commit-guard
 * The last check before an output becomes visible (a temp file renamed into place, a registry
 * write committed). A pipeline task's process installs one that ends the process when its runner
 * died (cli/main via core/runner-watch), so an orphaned task never commits. A task run by a queue
 * worker (executor bullmq) also installs a *fence*: it commits only while its execution still holds
 * the job's claim (queue/fence), so a stalled execution whose job was handed to another worker never
 * commits. Elsewhere both are no-ops. Callers only call `beforeCommit()` (the registry passes its
 * database, so the fence's check is inside the committing transaction). */

/** The part of a better-sqlite3 database the fence reads with. */
export interface FenceDb {
  prepare(sql: string): { get(...args: unknown[]): unknown };
}

let guard: (() => void) | null = null;
let fence: ((db: FenceDb | null) => void) | null = null;
let jobKey: string | null = null;

/** Installs the check (null removes it). It must not return when committing is not allowed. */
export function setCommitGuard(fn: (() => void) | null): void {
  guard = fn;
}

/** Installs a queued job's fence and key (null removes them): `check` throws when this execution lost the job. */
export function setCommitFence(key: string | null, check: ((db: FenceDb | null) => void) | null): void {
  jobKey = key;
  fence = check;
}

/** A pipeline task run here (executor local): its task key names the work, without a fence (pipeline/executor's taskKey). */
export function setTaskKey(key: string | null): void {
  jobKey = key;
}

/** The queued job (its id) or the pipeline task (its task key) this process runs for, or null: a registration keyed by it is done once. */
export function currentJobKey(): string | null {
  return jobKey;
}

/** Called right before a rename into place or a registry commit (`db`: inside that registry transaction). */
export function beforeCommit(db?: FenceDb): void {
  guard?.();
  fence?.(db ?? null);
}
