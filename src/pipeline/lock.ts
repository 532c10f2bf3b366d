/** @module pipeline/lock
 * One pipeline run at a time per workspace: <workspace>/pipeline/run.lock, created exclusively
 * (O_EXCL) with the holder's pid and run. A lock whose holder process is gone (a killed run) is
 * taken over; a live holder makes the second run refuse (SP_ERR_PIPELINE_LOCKED) or wait. */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { StockpipeError } from '../core/errors.js';
import { processAlive } from '../core/fs.js';

export interface LockInfo {
  pid: number;
  host: string;
  pipeline: string;
  started_at: string;
}

export interface RunLock {
  path: string;
  release(): Promise<void>;
}

export function lockPath(workspace: string): string {
  return join(workspace, 'pipeline', 'run.lock');
}

/** The current holder, or null when the lock is free or stale. */
export async function lockHolder(workspace: string): Promise<LockInfo | null> {
  let info: LockInfo;
  try {
    info = JSON.parse(await readFile(lockPath(workspace), 'utf8')) as LockInfo;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return null; // half-written by a holder killed between create and write: stale
  }
  return info.host === hostname() && !processAlive(info.pid) ? null : info;
}

async function tryAcquire(file: string, info: LockInfo): Promise<boolean> {
  try {
    const fh = await open(file, 'wx');
    try {
      await fh.writeFile(JSON.stringify(info));
    } finally {
      await fh.close();
    }
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Takes the workspace's run lock. `waitMs` > 0 polls until the holder finishes (or the time is
 * up); otherwise a live holder is SP_ERR_PIPELINE_LOCKED at once.
 */
export async function acquireRunLock(workspace: string, pipeline: string, opts: { waitMs?: number; pollMs?: number; now?: () => Date } = {}): Promise<RunLock> {
  const file = lockPath(workspace);
  await mkdir(join(workspace, 'pipeline'), { recursive: true });
  const info: LockInfo = { pid: process.pid, host: hostname(), pipeline, started_at: (opts.now ?? (() => new Date()))().toISOString() };
  const deadline = Date.now() + (opts.waitMs ?? 0);
  for (;;) {
    if (await tryAcquire(file, info)) {
      return { path: file, release: async () => { await rm(file, { force: true }); } };
    }
    const holder = await lockHolder(workspace);
    if (holder === null) {
      await rm(file, { force: true }); // stale: its process is gone
      continue;
    }
    if (Date.now() >= deadline) {
      throw new StockpipeError('SP_ERR_PIPELINE_LOCKED', `workspace ${workspace} is in use by pipeline '${holder.pipeline}' (pid ${holder.pid} on ${holder.host}, since ${holder.started_at})`, {
        hint: `Wait for it to finish, pass --wait, or stop process ${holder.pid}; ${file} is taken over automatically once that process is gone.`,
      });
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}
