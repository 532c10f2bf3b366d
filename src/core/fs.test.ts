import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeStaleTempsIn, withAtomicOutput, writeFileAtomic } from './fs.js';

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sp-fs-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

describe('atomic outputs', () => {
  it('a file standing where the output folder should be → SP_ERR_WORKSPACE_UNWRITABLE naming it; nothing written', async () => {
    await writeFile(join(dir, 'features'), 'not a folder');
    await expect(writeFileAtomic(join(dir, 'features', 'x.json'), '{}')).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE', message: expect.stringContaining(join(dir, 'features')) });
    await expect(withAtomicOutput(join(dir, 'features', 'x.parquet'), async () => 1)).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE' });
    expect(await readFile(join(dir, 'features'), 'utf8')).toBe('not a folder');
  });

  it('writes through a temp file and leaves no temp behind on failure', async () => {
    await writeFileAtomic(join(dir, 'a', 'b.txt'), 'one');
    expect(await readFile(join(dir, 'a', 'b.txt'), 'utf8')).toBe('one');
    await expect(withAtomicOutput(join(dir, 'a', 'b.txt'), async (tmp) => { await writeFile(tmp, 'half'); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await readFile(join(dir, 'a', 'b.txt'), 'utf8')).toBe('one');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(join(dir, 'a'))).toEqual(['b.txt']);
  });
});

// A pid that is certainly dead: a process that ran and was reaped.
const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;

describe('removeStaleTempsIn (run start: dead processes\' temp outputs anywhere in the workspace)', () => {
  // One case a line: where the temp is, whose pid wrote it, whether it is removed.
  it.each([
    { path: `tables/.prices.parquet.tmp-${deadPid}-mx1abc`, pid: 'dead', removed: true },
    { path: `features/.features.parquet.tmp-${deadPid}-k2`, pid: 'dead', removed: true },
    { path: `validation/.latest.json.tmp-${deadPid}-k2`, pid: 'dead', removed: true },
    { path: `models/m1.tmp-${deadPid}/model.json`, pid: 'dead', removed: true },
    { path: `raw/synthetic/data.tmp-${deadPid}/A.csv`, pid: 'dead', removed: true },
    { path: `pipeline/.run.lock.tmp-${deadPid}-zz`, pid: 'dead', removed: true },
    { path: `tables/.prices.parquet.tmp-${process.pid}-mx1abc`, pid: 'this process', removed: false },
    { path: `tables/.prices.parquet.tmp-1-mx1abc`, pid: 'live (pid 1)', removed: false },
    { path: `runs/r1/.x.tmp-${deadPid}-a`, pid: 'dead, under runs/ (logs: not searched)', removed: false },
    { path: `raw/synthetic/data/.A.csv.tmp-${deadPid}-a`, pid: 'dead, below the third level', removed: false },
    { path: `tables/prices.parquet`, pid: 'not a temp', removed: false },
  ])('$path ($pid) → removed: $removed', async ({ path, removed }) => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), 'x');
    const segs = path.split('/');
    const tempEntry = join(dir, ...segs.slice(0, segs.findIndex((x) => x.includes('.tmp-')) + 1)); // the temp file or folder
    expect(await removeStaleTempsIn(dir)).toEqual(removed ? [tempEntry] : []);
    expect(existsSync(join(dir, path))).toBe(!removed);
  });
});
