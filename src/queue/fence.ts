/** @module queue/fence
 * The task process's side of the job fence (registry/job-claims): a process started by a queue
 * worker gets its job id, its execution's token and the registry's path (STOCKPIPE_JOB_ID,
 * STOCKPIPE_JOB_TOKEN, STOCKPIPE_JOB_REGISTRY) and installs a commit fence (core/commit-guard) that
 * throws SP_ERR_JOB_SUPERSEDED once the job's claim holds another token: inside each registry
 * transaction (same connection: the check and the commit are one atomic step) and before each rename
 * into place (its own read-only connection). Imported by cli/task-child before the program loads,
 * so it stays small: better-sqlite3 is only required when a rename is first checked. */
import { createRequire } from 'node:module';
import { setCommitFence, type FenceDb } from '../core/commit-guard.js';
import { StockpipeError } from '../core/errors.js';

type OpenDb = (path: string, opts: { readonly: boolean; fileMustExist: boolean }) => FenceDb;

/** Installs the fence when this process runs a queued job; returns whether it did. */
export function installJobFence(env: NodeJS.ProcessEnv): boolean {
  const id = env.STOCKPIPE_JOB_ID;
  const token = env.STOCKPIPE_JOB_TOKEN;
  const registry = env.STOCKPIPE_JOB_REGISTRY;
  if (!id || !token || !registry) return false;
  let own: FenceDb | null = null;
  // The key a model is registered under: the task's (the same across the job's attempts), else the job's id.
  setCommitFence(env.STOCKPIPE_TASK_KEY || id, (db) => {
    if (db === null) {
      const Database = createRequire(import.meta.url)('better-sqlite3') as new (...a: Parameters<OpenDb>) => FenceDb;
      own ??= new Database(registry, { readonly: true, fileMustExist: true });
    }
    const row = (db ?? own)!.prepare('SELECT token FROM job_claims WHERE job_id = ?').get(id) as { token: string } | undefined;
    if (row?.token !== token) {
      throw new StockpipeError('SP_ERR_JOB_SUPERSEDED', `job ${id}: this execution lost its claim (the job was handed to another worker after its lock expired); it commits nothing more`);
    }
  });
  return true;
}
