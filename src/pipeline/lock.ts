/** @module pipeline/lock
 * One pipeline run at a time per workspace: <workspace>/pipeline/run.lock, created exclusively
 * (a hard link to a temp file holding its content, so never seen empty) with the holder's pid, start time and run, and the pids of its live task processes
 * (rewritten by temp file + rename as tasks start and end). A lock whose holder process is gone (a
 * killed run) is taken over: first any task process it recorded that is still alive (and verified
 * to be that process, by start time and command line) is killed and waited for, so a resumed run
 * never shares the workspace with an orphan. Taking the lock also removes the temp outputs of dead
 * processes anywhere in the workspace. A live holder makes the second run refuse
 * (SP_ERR_PIPELINE_LOCKED) or wait. */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { link, open, readFile, rm, writeFile } from 'node:fs/promises';
import { StockpipeError } from '../core/errors.js';
import { ensureWritableDir, readFileOrNull, removeStaleTempsIn, tempPathFor } from '../core/fs.js';
import { getLog, type Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { processAlive, processCmdline, processGone, processStartTime } from '../core/proc.js';
import type { ProcessTracker } from './types.js';

export interface LockedProcess {
  pid: number;
  /** /proc start time (clock ticks since boot), null where unknown. */
  start: string | null;
}

export interface LockInfo {
  pid: number;
  host: string;
  pipeline: string;
  started_at: string;
  /** The holder's start time (absent in locks written by older versions). */
  start?: string | null;
  /** The holder's live task processes (absent in locks written by older versions). */
  children?: LockedProcess[];
}

export interface RunLock {
  path: string;
  /** Records the holder's task processes in the lock file. */
  processes: ProcessTracker;
  /** Stale temp outputs removed when the lock was taken. */
  removedTemps: string[];
  /** Orphaned task processes of a dead holder that were killed when the lock was taken over. */
  killedOrphans: number[];
  release(): Promise<void>;
}

export interface AcquireOptions {
  waitMs?: number;
  pollMs?: number;
  now?: () => Date;
  /** How long to wait for killed orphans to exit (default 10 s). */
  orphanWaitMs?: number;
  /** Where a failed rewrite of the lock is reported (default: a `lock` module logger). */
  log?: Logger;
}

async function readLock(ws: Workspace, file = ws.runLock): Promise<{ text: string; info: LockInfo | null } | null> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    return { text: '', info: null }; // unreadable: treated as stale, as before
  }
  try {
    return { text, info: JSON.parse(text) as LockInfo };
  } catch {
    return { text, info: null }; // half-written by a holder killed between create and write: stale
  }
}

const holderGone = (info: LockInfo): boolean => info.host === hostname() && processGone(info.pid, info.start);

/** What SP_ERR_PIPELINE_LOCKED says of a live holder. */
export function inUse(ws: Workspace, holder: LockInfo): string {
  return `workspace ${ws.root} is in use by pipeline '${holder.pipeline}' (pid ${holder.pid} on ${holder.host}, since ${holder.started_at})`;
}

/** The current holder, or null when the lock is free or stale. */
export async function lockHolder(ws: Workspace): Promise<LockInfo | null> {
  const got = await readLock(ws);
  if (got === null || got.info === null) return null;
  return holderGone(got.info) ? null : got.info;
}

/** True when `p` is still the task process the dead holder recorded (same start time, a stockpipe command on this workspace). */
export function isOrphanOf(p: LockedProcess, ws: Workspace): boolean {
  if (!processAlive(p.pid) || p.start === null || processStartTime(p.pid) !== p.start) return false;
  const argv = processCmdline(p.pid);
  return argv !== null && argv.includes(ws.root);
}

/** SIGKILLs the dead holder's orphaned task processes and waits until they are gone; returns their pids. */
async function killOrphans(children: readonly LockedProcess[], ws: Workspace, waitMs: number): Promise<number[]> {
  const orphans = children.filter((c) => isOrphanOf(c, ws));
  for (const o of orphans) {
    try {
      process.kill(o.pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const alive = orphans.filter((o) => processAlive(o.pid));
    if (alive.length === 0) return orphans.map((o) => o.pid);
    if (Date.now() >= deadline) {
      throw new StockpipeError('SP_ERR_PIPELINE_LOCKED', `workspace ${ws.root}: task process ${alive.map((o) => o.pid).join(', ')} of a dead run is still alive ${waitMs / 1000} s after SIGKILL`, {
        hint: `Check the process (ps -p ${alive[0]!.pid}); run again once it is gone.`,
      });
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Creates the lock with its content in one step: the holder's JSON is written to a temp file that
 * is then hard-linked to the lock's name (link fails with EEXIST when the lock exists). Created
 * empty and written after (O_EXCL, then a write), a lock could be read empty by a second run in
 * between — as a holder killed before writing leaves it, so taken for stale and removed: both runs
 * held it. Where the file system has no hard links, O_EXCL and a write as before.
 */
async function tryAcquire(file: string, info: LockInfo): Promise<boolean> {
  const text = JSON.stringify(info);
  // Unique within the process too (two acquisitions in one millisecond must not share the temp file).
  const tmp = `${tempPathFor(file)}${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, text);
  try {
    await link(tmp, file);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS') throw err;
  } finally {
    await rm(tmp, { force: true });
  }
  try {
    const fh = await open(file, 'wx');
    try {
      await fh.writeFile(text);
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
 * Removes a dead holder's lock, `text` as read, and only it. Checked then removed, a run taking over
 * could remove the lock another run had just made in its place (both had seen the dead one: the
 * other removed it and made its own in between) and take it too. So every removal of a dead lock
 * happens under a short takeover lock (`<lock>.takeover`, made as the lock is), which re-reads the
 * lock first: a lock made after the dead one went is never removed. When another process holds the
 * takeover lock, this returns after a short pause and the caller looks at the lock again; a takeover
 * lock whose process is gone is removed.
 */
async function removeIfStill(file: string, text: string): Promise<void> {
  const mutex = `${file}.takeover`;
  const me: LockInfo = { pid: process.pid, host: hostname(), pipeline: 'takeover', started_at: new Date().toISOString(), start: processStartTime(process.pid) };
  if (!(await tryAcquire(mutex, me))) {
    const other = await readFileOrNull(mutex);
    let info: LockInfo | null = null;
    try {
      info = other === null ? null : (JSON.parse(other) as LockInfo);
    } catch {
      info = null; // a takeover lock is made whole: unparsable is a damaged file, gone with its process
    }
    if (other !== null && (info === null || holderGone(info)) && (await readFileOrNull(mutex)) === other) await rm(mutex, { force: true });
    else await new Promise((r) => setTimeout(r, 10)); // another run is taking over: look again
    return;
  }
  try {
    if ((await readFileOrNull(file)) === text) await rm(file, { force: true });
  } finally {
    await rm(mutex, { force: true });
  }
}

/**
 * The lock's process tracker: rewrites the lock file (temp + rename) with the live children. A
 * failed rewrite (a full disk) is logged, not thrown: it runs in a child's start and exit handlers,
 * where a throw would crash the runner with its task done but not recorded. The children stay in
 * memory for the next rewrite, and a child the file misses still dies with its runner (core/runner-watch).
 */
function tracker(file: string, info: LockInfo, isReleased: () => boolean, log: Logger): ProcessTracker {
  const children = new Map<number, LockedProcess>();
  const write = (): void => {
    if (isReleased()) return;
    const tmp = tempPathFor(file);
    try {
      writeFileSync(tmp, JSON.stringify({ ...info, children: [...children.values()] }));
      renameSync(tmp, file);
    } catch (err) {
      rmSync(tmp, { force: true });
      log.warn({ err, lock: file }, 'pipeline: cannot record the task processes in the run lock yet');
    }
  };
  return {
    started(pid) {
      children.set(pid, { pid, start: processStartTime(pid) });
      write();
    },
    ended(pid) {
      if (children.delete(pid)) write();
    },
  };
}

/**
 * Takes the workspace's run lock. `waitMs` > 0 polls until the holder finishes (or the time is
 * up); otherwise a live holder is SP_ERR_PIPELINE_LOCKED at once.
 */
export async function acquireRunLock(ws: Workspace, pipeline: string, opts: AcquireOptions = {}): Promise<RunLock> {
  const file = ws.runLock;
  await ensureWritableDir(ws.pipelineDir);
  const info: LockInfo = { pid: process.pid, host: hostname(), pipeline, started_at: (opts.now ?? (() => new Date()))().toISOString(), start: processStartTime(process.pid), children: [] };
  const deadline = Date.now() + (opts.waitMs ?? 0);
  const killedOrphans: number[] = [];
  for (;;) {
    if (await tryAcquire(file, info)) {
      let released = false;
      const removedTemps = await removeStaleTempsIn(ws);
      return {
        path: file,
        processes: tracker(file, info, () => released, opts.log ?? getLog('lock')),
        removedTemps,
        killedOrphans,
        release: async () => {
          released = true;
          await rm(file, { force: true });
        },
      };
    }
    const got = await readLock(ws);
    if (got === null) continue; // released meanwhile
    if (got.info === null || holderGone(got.info)) {
      // Stale: its runner is gone. Its task processes must be too before this run starts.
      killedOrphans.push(...(await killOrphans(got.info?.children ?? [], ws, opts.orphanWaitMs ?? 10_000)));
      await removeIfStill(file, got.text);
      continue;
    }
    const holder = got.info;
    if (Date.now() >= deadline) {
      // After a --wait (a scheduled run waits an hour) the hint said to pass --wait, which was given.
      const waited = (opts.waitMs ?? 0) > 0 ? ` still after waiting ${Math.round(opts.waitMs! / 100) / 10} s (--wait)` : '';
      throw new StockpipeError('SP_ERR_PIPELINE_LOCKED', `${inUse(ws, holder)}${waited}`, {
        hint: `Wait for it to finish, ${waited === '' ? 'pass --wait' : 'wait longer (a larger --wait)'}, or stop process ${holder.pid}; ${file} is taken over automatically once that process is gone.`,
      });
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 500));
  }
}

/** The scheduler holding a workspace's schedules (scheduler.lock). */
export interface SchedulerLock {
  path: string;
  release(): Promise<void>;
}

/**
 * One `stockpipe scheduler` per workspace: <workspace>/pipeline/scheduler.lock, created as run.lock
 * is (whole, with the holder's pid, host and start time) and taken over when its holder is gone. A
 * second scheduler would fire every occurrence again: each run waits for the first one's and runs
 * the pipeline a second time. A live holder is SP_ERR_PIPELINE_LOCKED naming it.
 */
export async function acquireSchedulerLock(ws: Workspace, opts: { now?: () => Date } = {}): Promise<SchedulerLock> {
  const file = ws.schedulerLock;
  await ensureWritableDir(ws.pipelineDir);
  const info: LockInfo = { pid: process.pid, host: hostname(), pipeline: 'scheduler', started_at: (opts.now ?? (() => new Date()))().toISOString(), start: processStartTime(process.pid) };
  for (;;) {
    if (await tryAcquire(file, info)) return { path: file, release: () => rm(file, { force: true }) };
    const got = await readLock(ws, file);
    if (got === null) continue; // released meanwhile
    if (got.info === null || holderGone(got.info)) {
      await removeIfStill(file, got.text);
      continue;
    }
    const holder = got.info;
    throw new StockpipeError('SP_ERR_PIPELINE_LOCKED', `workspace ${ws.root} already has a scheduler: pid ${holder.pid} on ${holder.host}, since ${holder.started_at}; a second one would start every scheduled run twice`, {
      hint: `Keep the one running, or stop process ${holder.pid} first; ${file} is taken over automatically once that process is gone.`,
    });
  }
}
