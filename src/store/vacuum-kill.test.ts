/** Vacuum killed while it deletes files: every snapshot it still lists as readable reads in full, and
 * the next vacuum deletes what the killed one left. The kill is an `rm` of a data file that throws
 * (as if the process died there), after an earlier one succeeded. */
import { existsSync } from 'node:fs';
import { afterEach, expect, it, vi } from 'vitest';
import { Workspace } from '../core/workspace.js';
import { allFiles, liveFiles, listSnapshotsReadable } from '../registry/catalog.js';
import { openRegistry } from '../registry/store.js';
import { commitQuery, priceRowsQuery } from '../../test/helpers/store.js';
import { tempDir } from '../../test/helpers/temp.js';

const kill = vi.hoisted(() => ({ after: -1 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...fs,
    rm: async (...args: Parameters<typeof fs.rm>) => {
      if (kill.after >= 0 && /[\\/]store[\\/]prices[\\/]bucket=/.test(String(args[0])) && kill.after-- === 0) throw new Error('killed while deleting');
      return fs.rm(...args);
    },
  };
});
const { vacuumStore } = await import('./vacuum.js');

afterEach(() => { kill.after = -1; });

it('a vacuum killed while deleting files leaves no snapshot listed readable with a file missing; the next vacuum deletes the rest', async () => {
  const dir = await tempDir('vacuum-kill');
  const ws = new Workspace(dir);
  for (let k = 0; k <= 3; k++) await commitQuery(dir, 'prices', priceRowsQuery(['AA', 'BB', 'CC'], 10, k), { split: 2 });
  kill.after = 1; // the first data file goes, the process dies at the second
  await expect(vacuumStore(ws, { keepSnapshots: 1, dryRun: false, now: () => new Date() })).rejects.toThrow('killed while deleting');
  kill.after = -1;
  const reg = openRegistry(ws, { readonly: true });
  try {
    const listed = listSnapshotsReadable(reg, 'prices');
    expect(listed.some((s) => !s.readable)).toBe(true); // the dropped snapshots say so
    for (const s of listed.filter((x) => x.readable)) {
      for (const f of liveFiles(reg, s)) expect(existsSync(ws.path(f.path)), `snapshot ${s.id} lists ${f.path}`).toBe(true);
    }
  } finally {
    reg.close();
  }
  const again = await vacuumStore(ws, { keepSnapshots: 1, dryRun: false, now: () => new Date() });
  expect(again.removed.files).toBeGreaterThan(0);
  const reg2 = openRegistry(ws, { readonly: true });
  try {
    for (const f of allFiles(reg2, 'prices')) expect(existsSync(ws.path(f.path)), f.path).toBe(f.deleted_at === null);
  } finally {
    reg2.close();
  }
});
