import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { processAlive, processStartTime } from '../core/proc.js';
import type { StockpipeError } from '../core/errors.js';
import { acquireRunLock, type LockInfo } from './lock.js';
import { Workspace } from '../core/workspace.js';

const linux = process.platform === 'linux';
if (!linux) console.log('lock.test: orphan cases skipped: they need /proc (Linux)');
const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;

let ws: string;
const sleepers: ChildProcess[] = [];
beforeEach(async () => { ws = await mkdtemp(join(tmpdir(), 'sp-lock-')); });
afterEach(async () => { await rm(ws, { recursive: true, force: true }); });
afterAll(() => { for (const s of sleepers) s.kill('SIGKILL'); });

/** A live process standing in for a task process; `argv` decides whether it names the workspace. */
async function sleeper(extraArg: string): Promise<number> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', '--workspace', extraArg], { stdio: 'ignore' });
  sleepers.push(child);
  await new Promise((r) => child.once('spawn', r));
  return child.pid!;
}

async function writeLock(info: Partial<LockInfo>): Promise<void> {
  await mkdir(join(ws, 'pipeline'), { recursive: true });
  await writeFile(new Workspace(ws).runLock, JSON.stringify({ host: hostname(), pipeline: 'train', started_at: '2024-01-01T00:00:00Z', ...info }));
}

describe.runIf(linux)('taking over a dead runner\'s lock', () => {
  // One case a line: the recorded task process, whether it is ours, whether the takeover kills it.
  it.each([
    { name: 'a live task process of this workspace', names: 'ws', start: 'real', killed: true },
    { name: 'a reused pid (start time differs)', names: 'ws', start: 'other', killed: false },
    { name: 'a process of another workspace', names: 'elsewhere', start: 'real', killed: false },
  ] as const)('$name → killed: $killed', async ({ names, start, killed }) => {
    const pid = await sleeper(names === 'ws' ? ws : join(ws, 'elsewhere'));
    await writeLock({ pid: deadPid, children: [{ pid, start: start === 'real' ? processStartTime(pid) : '1' }] });
    const lock = await acquireRunLock(new Workspace(ws), 'train');
    try {
      expect(lock.killedOrphans).toEqual(killed ? [pid] : []);
      expect(processAlive(pid)).toBe(!killed); // killed ones were waited for
      expect((JSON.parse(await readFile(new Workspace(ws).runLock, 'utf8')) as LockInfo).pid).toBe(process.pid);
    } finally {
      await lock.release();
    }
  });

  it('a live holder is SP_ERR_PIPELINE_LOCKED and its task processes are left alone', async () => {
    const pid = await sleeper(ws);
    await writeLock({ pid: process.pid, start: processStartTime(process.pid), children: [{ pid, start: processStartTime(pid) }] });
    await expect(acquireRunLock(new Workspace(ws), 'train')).rejects.toMatchObject({ code: 'SP_ERR_PIPELINE_LOCKED', hint: expect.stringContaining('pass --wait') });
    // After a --wait (a scheduled run's hour) it says it waited, not to pass --wait.
    const err = await acquireRunLock(new Workspace(ws), 'train', { waitMs: 60, pollMs: 10 }).catch((e: unknown) => e as StockpipeError);
    expect(err).toMatchObject({ code: 'SP_ERR_PIPELINE_LOCKED', message: expect.stringMatching(/still after waiting 0\.1 s \(--wait\)$/), hint: expect.stringContaining('wait longer (a larger --wait)') });
    expect(processAlive(pid)).toBe(true);
  });
});

describe('the lock records the live task processes', () => {
  it('started/ended rewrite the lock file; nothing is written after release', async () => {
    const lock = await acquireRunLock(new Workspace(ws), 'train');
    const children = async (): Promise<number[]> => ((JSON.parse(await readFile(new Workspace(ws).runLock, 'utf8')) as LockInfo).children ?? []).map((c) => c.pid);
    lock.processes.started(101);
    lock.processes.started(102);
    expect(await children()).toEqual([101, 102]);
    lock.processes.ended(101);
    expect(await children()).toEqual([102]);
    await lock.release();
    lock.processes.ended(102);
    expect(existsSync(new Workspace(ws).runLock)).toBe(false);
  });

  it('a rewrite that fails (a full disk) is not thrown into the task\'s start or exit; the next one records the children', async () => {
    const lock = await acquireRunLock(new Workspace(ws), 'train');
    const file = new Workspace(ws).runLock;
    try {
      // A folder where the lock file is: the rename fails, as a write on a full disk would.
      await rm(file);
      await mkdir(join(file, 'x'), { recursive: true });
      expect(() => lock.processes.started(101)).not.toThrow();
      expect(readdirSync(join(ws, 'pipeline'))).toEqual(['run.lock']); // its temp file removed
      await rm(file, { recursive: true });
      lock.processes.started(102);
      expect(((JSON.parse(await readFile(file, 'utf8')) as LockInfo).children ?? []).map((c) => c.pid)).toEqual([101, 102]);
    } finally {
      await rm(file, { recursive: true, force: true });
      await lock.release();
    }
  });

  it('taking the lock removes dead processes\' temp outputs, keeps live ones', async () => {
    await mkdir(join(ws, 'tables'), { recursive: true });
    const dead = join(ws, 'tables', `.prices.parquet.tmp-${deadPid}-a1`);
    const live = join(ws, 'tables', `.prices.parquet.tmp-${process.pid}-a1`);
    await writeFile(dead, 'x');
    await writeFile(live, 'x');
    const lock = await acquireRunLock(new Workspace(ws), 'train');
    await lock.release();
    expect(lock.removedTemps).toEqual([dead]);
    expect([existsSync(dead), existsSync(live)]).toEqual([false, true]);
  });
});
