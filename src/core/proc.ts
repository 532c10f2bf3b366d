/** @module core/proc
 * Facts about other processes by pid: alive (a zombie counts as dead), its start time (so a
 * reused pid is not mistaken for the process we recorded), its command line, whether it is
 * exiting. Linux reads /proc; elsewhere only the signal-0 probe is available and the rest is null.
 * Deciding what to do with a process (kill it, wait for it) is the caller's. */
import { readFileSync } from 'node:fs';

/** The fields of /proc/<pid>/stat after the command name: [state, ppid, …]; null when unreadable. */
function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** True when a process with this pid is alive: signal 0 reaches it and it is not a zombie. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const state = statFields(pid)?.[0];
  return state !== 'Z' && state !== 'X';
}

/** The process's start time (clock ticks since boot, /proc/<pid>/stat field 22), or null. */
export function processStartTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/** PF_EXITING in /proc/<pid>/stat's flags: the kernel is tearing the process down (a SIGKILL landed). */
const PF_EXITING = 0x4;

/**
 * True when `pid` is gone or on its way out: not alive, exiting (its file descriptors may already
 * be closed while its children are not yet re-parented), or a new process reusing the pid
 * (`startTime` given and different).
 */
export function processGone(pid: number, startTime?: string | null): boolean {
  if (!processAlive(pid)) return true;
  const f = statFields(pid);
  if (f === null) return false; // no /proc: the signal probe is all we know
  if ((Number(f[6]) & PF_EXITING) !== 0) return true;
  return startTime !== undefined && startTime !== null && f[19] !== startTime;
}

/** The process's argv (from /proc/<pid>/cmdline), or null when unreadable. */
export function processCmdline(pid: number): string[] | null {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw === '' ? null : raw.replace(/\0$/, '').split('\0');
  } catch {
    return null;
  }
}
