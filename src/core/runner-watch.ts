/** @module core/runner-watch
 * A pipeline task's process dies with its runner. Node has no PR_SET_PDEATHSIG, and the usual
 * signals of a dead parent (the IPC channel's 'disconnect', EPIPE on stdout) need the main thread,
 * which may be busy for seconds (a synchronous step, or serving DuckDB's table-function calls).
 * So a tiny worker thread with its own event loop polls the runner every `intervalMs` and SIGKILLs
 * this process once the runner is gone; the main thread's signals and every commit point
 * (core/commit-guard) check too. SIGKILL, not exit(): an exit while a DuckDB query waits on the
 * main thread hangs in libuv's thread-pool join with one thread spinning.
 * Temp outputs stay behind for the next run's cleanup (core/fs removeStaleTempsIn).
 * The runner's pid comes from the caller (cli/main reads it from the environment). */
import { Worker } from 'node:worker_threads';
import { setCommitGuard } from './commit-guard.js';
import { processGone } from './proc.js';

/** The watchdog's source: a CommonJS script for an eval worker (no build step, no main-loop dependency). */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const { self, runner, ms } = workerData;
function gone() {
  if (process.ppid !== runner) return true; // re-parented: the runner exited
  try { process.kill(runner, 0); } catch (err) { if (err.code !== 'EPERM') return true; }
  try {
    const s = readFileSync('/proc/' + runner + '/stat', 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return f[0] === 'Z' || f[0] === 'X' || (Number(f[6]) & 4) !== 0; // zombie, or PF_EXITING
  } catch { return false; }
}
const check = () => { if (gone()) process.kill(self, 'SIGKILL'); };
check();
setInterval(check, ms);
`;

/** True when the runner `runnerPid` is gone (or exiting), or this process was re-parented away from it. */
export function runnerGone(runnerPid: number): boolean {
  return process.ppid !== runnerPid || processGone(runnerPid);
}

/** Ends this process at once: no exit handlers, no thread joins, nothing committed after this line. */
export function dieNow(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL to oneself is delivered before kill() returns; this only satisfies the type checker.
  throw new Error('unreachable: SIGKILL did not end the process');
}

export interface RunnerWatchOptions {
  /** How often the watchdog thread looks (default 100 ms). */
  intervalMs?: number;
}

/**
 * Makes this process die with `runnerPid`: starts the watchdog thread, installs the commit guard,
 * and turns the main thread's signs of a dead runner (IPC 'disconnect', EPIPE on stdout/stderr,
 * an uncaught error after the runner died) into an immediate SIGKILL of this process.
 */
export function watchRunner(runnerPid: number, opts: RunnerWatchOptions = {}): void {
  if (runnerGone(runnerPid)) dieNow(); // the runner died while this process was starting
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { self: process.pid, runner: runnerPid, ms: opts.intervalMs ?? 100 } });
  worker.unref();
  worker.on('error', () => undefined); // a watchdog failure must not crash the task; the other checks remain
  setCommitGuard(() => {
    if (runnerGone(runnerPid)) dieNow();
  });
  if (process.channel) {
    process.channel.unref();
    process.once('disconnect', dieNow); // the runner never disconnects a live task: it died
  }
  const onStreamError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'EPIPE' || runnerGone(runnerPid)) dieNow();
  };
  process.stdout.on('error', onStreamError);
  process.stderr.on('error', onStreamError);
  process.on('uncaughtExceptionMonitor', (err: unknown) => {
    if ((err as NodeJS.ErrnoException | null)?.code === 'EPIPE' || runnerGone(runnerPid)) dieNow();
  });
}
