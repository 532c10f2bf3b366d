/** registry/reader: one handle reused across reads; it sees commits of other handles, a store that
 * appears after it opened, a replaced store; after close() each read opens its own. */
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RegistryReader } from './reader.js';
import { openRegistry } from './store.js';

const folders: string[] = [];
afterEach(async () => {
  for (const f of folders.splice(0)) await rm(f, { recursive: true, force: true });
});

async function workspace(): Promise<string> {
  const ws = await mkdtemp(join(tmpdir(), 'sp-reader-'));
  folders.push(ws);
  return ws;
}

function startRun(ws: string, name: string): void {
  const reg = openRegistry(ws);
  try {
    reg.startRun({ kind: 'train', name });
  } finally {
    reg.close();
  }
}

const runCount = (r: RegistryReader): number => r.read((reg) => reg.get<{ n: number }>('count runs', 'SELECT count(*) AS n FROM runs')!.n);

describe('RegistryReader', () => {
  it('keeps one handle and sees what other handles commit', async () => {
    const ws = await workspace();
    startRun(ws, 'a');
    const r = new RegistryReader(ws);
    const first = r.read((reg) => reg);
    expect(runCount(r)).toBe(1);
    startRun(ws, 'b');
    expect(runCount(r)).toBe(2);
    expect(r.read((reg) => reg)).toBe(first);
    r.close();
  });

  it('reads a missing store as empty, then the store once it is created', async () => {
    const ws = await workspace();
    const r = new RegistryReader(ws);
    expect(runCount(r)).toBe(0);
    startRun(ws, 'a');
    expect(runCount(r)).toBe(1);
    r.close();
  });

  it('follows a store replaced by another file, and one removed', async () => {
    const ws = await workspace();
    const other = await workspace();
    startRun(ws, 'a');
    startRun(other, 'b');
    startRun(other, 'c');
    const r = new RegistryReader(ws);
    expect(runCount(r)).toBe(1);
    await rm(join(ws, 'stockpipe.db'));
    await rm(join(ws, 'stockpipe.db-wal'), { force: true });
    await rm(join(ws, 'stockpipe.db-shm'), { force: true });
    expect(runCount(r)).toBe(0);
    await rename(join(other, 'stockpipe.db'), join(ws, 'stockpipe.db'));
    expect(runCount(r)).toBe(2);
    r.close();
  });

  it('after close(), each read opens and closes its own handle', async () => {
    const ws = await workspace();
    startRun(ws, 'a');
    const r = new RegistryReader(ws);
    const shared = r.read((reg) => reg);
    r.close();
    const own = r.read((reg) => reg);
    expect(own).not.toBe(shared);
    expect(runCount(r)).toBe(1);
  });
});
