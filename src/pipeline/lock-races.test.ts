/** Two runs racing for the run lock, each race paused at its moment by a mock of node:fs/promises:
 * while the lock is being created (an O_EXCL open, or the link of a written temp file), and while a
 * run taking over a dead run's lock is about to remove it. */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Workspace } from '../core/workspace.js';
import type { LockInfo } from './lock.js';

/** Where the armed gate pauses the first run: when the lock first exists, or right before it removes a dead run's lock. */
const gate = vi.hoisted(() => ({ armed: null as null | 'created' | 'removing', reached: null as null | (() => void), open: null as null | Promise<void> }));
async function pauseAt(point: 'created' | 'removing'): Promise<void> {
  if (gate.armed !== point) return;
  gate.armed = null;
  gate.reached?.();
  await gate.open;
}
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    open: async (...args: Parameters<typeof fs.open>) => {
      const fh = await fs.open(...args);
      if (args[1] === 'wx' && String(args[0]).endsWith('run.lock')) await pauseAt('created');
      return fh;
    },
    link: async (...args: Parameters<typeof fs.link>) => {
      await fs.link(...args);
      if (String(args[1]).endsWith('run.lock')) await pauseAt('created');
    },
    rm: async (...args: Parameters<typeof fs.rm>) => {
      if (String(args[0]).endsWith('/run.lock')) await pauseAt('removing');
      return fs.rm(...args);
    },
  };
});
const { acquireRunLock } = await import('./lock.js');

/** Arms the gate at `point`; `reached` resolves when the first run pauses there, `open()` lets it go on. */
function arm(point: 'created' | 'removing'): { reached: Promise<void>; open: () => void } {
  let open!: () => void;
  gate.open = new Promise((r) => { open = r; });
  const reached = new Promise<void>((r) => { gate.reached = r; });
  gate.armed = point;
  return { reached, open };
}

type Got = { release(): Promise<void> } | unknown;
const holds = (g: Got): g is { release(): Promise<void> } => g !== null && typeof g === 'object' && 'release' in g;

const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sp-lock-races-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

it('a run that starts while another is creating the lock is refused: it never reads the lock half-made and takes it for a dead run\'s', async () => {
  const ws = new Workspace(dir);
  const { reached, open } = arm('created');
  const first = acquireRunLock(ws, 'train');
  await reached; // the lock file exists; the first run has not returned yet
  const second: Got = await acquireRunLock(ws, 'daily').then((l) => l, (err: unknown) => err);
  open();
  const lock = await first;
  try {
    expect(second).toMatchObject({ code: 'SP_ERR_PIPELINE_LOCKED' });
  } finally {
    if (holds(second)) await second.release();
    await lock.release();
  }
});

it('two runs taking over a dead run\'s lock at once: one takes it, the other is refused (it never removes the lock the other made meanwhile)', async () => {
  const ws = new Workspace(dir);
  await mkdir(ws.pipelineDir, { recursive: true });
  await writeFile(ws.runLock, JSON.stringify({ pid: deadPid, host: hostname(), pipeline: 'train', started_at: '2024-01-01T00:00:00Z', children: [] } satisfies LockInfo));
  const { reached, open } = arm('removing');
  const late = acquireRunLock(ws, 'daily').then((l) => l, (err: unknown) => err);
  await reached; // the first taker has seen the dead lock and is about to remove it
  const other = acquireRunLock(ws, 'train').then((l) => l, (err: unknown) => err); // a second taker
  await new Promise((r) => setTimeout(r, 200));
  open();
  const got: Got[] = [await late, await other];
  try {
    const held = got.filter(holds);
    expect(held).toHaveLength(1);
    expect(got.find((g) => !holds(g))).toMatchObject({ code: 'SP_ERR_PIPELINE_LOCKED' });
    expect(JSON.parse(await readFile(ws.runLock, 'utf8')).pid).toBe(process.pid);
  } finally {
    for (const g of got) if (holds(g)) await g.release();
  }
});
