import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { Workspace } from '../core/workspace.js';

// The moment the lock file first exists: after the call that creates it (an O_EXCL open, or the
// link of a written temp file), the first run pauses there while a second run tries to take the lock.
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
    open: async (...args: Parameters<typeof fs.open>) => {
      const fh = await fs.open(...args);
      if (args[1] === 'wx' && String(args[0]).endsWith('run.lock')) await pauseOnce();
      return fh;
    },
    link: async (...args: Parameters<typeof fs.link>) => {
      await fs.link(...args);
      if (String(args[1]).endsWith('run.lock')) await pauseOnce();
    },
  };
});
const { acquireRunLock } = await import('./lock.js');

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sp-lock-create-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

it('a run that starts while another is creating the lock is refused: it never reads the lock half-made and takes it for a dead run\'s', async () => {
  const ws = new Workspace(dir);
  let open!: () => void;
  gate.open = new Promise((r) => { open = r; });
  const reached = new Promise<void>((r) => { gate.reached = r; });
  gate.armed = true;
  const first = acquireRunLock(ws, 'train');
  await reached; // the lock file exists; the first run has not returned yet
  const second = await acquireRunLock(ws, 'daily').then((l) => l, (err: unknown) => err);
  open();
  const lock = await first;
  try {
    expect(second).toMatchObject({ code: 'SP_ERR_PIPELINE_LOCKED' });
  } finally {
    if (second !== null && typeof second === 'object' && 'release' in second) await (second as { release(): Promise<void> }).release();
    await lock.release();
  }
});
