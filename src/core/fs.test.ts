import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withAtomicOutput, writeFileAtomic } from './fs.js';

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
