import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Workspace } from '../core/workspace.js';
import type { LockInfo } from './lock.js';

// The moment a run taking over a dead run's lock has decided to remove it: it pauses right before
// the rm of the lock while a second run tries to take over.
const gate = vi.hoisted(() => ({ armed: false, reached: null as null | (() => void), open: null as null | Promise<void> }));
async function pauseOnce(): Promise<void> {
  if (!gate.armed) return;
  gate.armed = false;
  gate.reached?.();
  await gate.open;
}
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    rm: async (...args: Parameters<typeof fs.rm>) => {
      if (String(args[0]).endsWith('/run.lock')) await pauseOnce();
      return fs.rm(...args);
    },
  };
});
const { acquireRunLock } = await import('./lock.js');

const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sp-lock-takeover-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

it('two runs taking over a dead run\'s lock at once: one takes it, the other is refused (it never removes the lock the other made meanwhile)', async () => {
  const ws = new Workspace(dir);
  await mkdir(ws.pipelineDir, { recursive: true });
  await writeFile(ws.runLock, JSON.stringify({ pid: deadPid, host: hostname(), pipeline: 'train', started_at: '2024-01-01T00:00:00Z', children: [] } satisfies LockInfo));
  let open!: () => void;
  gate.open = new Promise((r) => { open = r; });
  const reached = new Promise<void>((r) => { gate.reached = r; });
  gate.armed = true;
  const late = acquireRunLock(ws, 'daily').then((l) => l, (err: unknown) => err);
  await reached; // the first taker has seen the dead lock and is about to remove it
  const other = acquireRunLock(ws, 'train').then((l) => l, (err: unknown) => err); // a second taker
  await new Promise((r) => setTimeout(r, 200));
  open();
  const got = [await late, await other];
  try {
    const held = got.filter((g) => g !== null && typeof g === 'object' && 'release' in g);
    expect(held).toHaveLength(1);
    expect(got.find((g) => !(held as unknown[]).includes(g))).toMatchObject({ code: 'SP_ERR_PIPELINE_LOCKED' });
    expect(JSON.parse(await readFile(ws.runLock, 'utf8')).pid).toBe(process.pid);
  } finally {
    for (const g of got) if (g !== null && typeof g === 'object' && 'release' in g) await (g as { release(): Promise<void> }).release();
  }
});
