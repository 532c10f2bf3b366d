import { mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { StockpipeError } from '../src/core/errors.js';
import { Workspace } from '../src/core/workspace.js';
import { ingest } from '../src/etl/ingest.js';
import { dirSource } from '../src/sources/dir.js';
import { zipSource } from '../src/sources/zip-source.js';
import type { Manifest } from '../src/sources/types.js';
import { buildZip } from './helpers/zip-writer.js';
import { fetchContext, silentLog, tempWorkspace } from './helpers/workspace.js';

const CSV = 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n';

describe('a bars file over 2 GiB (read whole, so refused by its size)', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await rm(d, { recursive: true, force: true });
  });
  const run = (ws: string, manifest: Manifest): Promise<unknown> =>
    ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);

  it('a folder source\'s file is SP_ERR_INPUT_TOO_LARGE naming it (it was SP_ERR_SOURCE_NOT_FOUND, "make it a readable file again")', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const src = join(ws, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    await writeFile(join(src, 'stocks', 'OK.csv'), CSV);
    await writeFile(join(src, 'stocks', 'BIG.csv'), CSV);
    await truncate(join(src, 'stocks', 'BIG.csv'), 2 ** 31 + 10); // sparse: no disk used
    const { manifest } = await dirSource(src).fetch(fetchContext(ws));
    const err = await run(ws, manifest);
    expect((err as StockpipeError).code).toBe('SP_ERR_INPUT_TOO_LARGE');
    expect((err as StockpipeError).message).toContain(join(src, 'stocks', 'BIG.csv'));
    expect((err as StockpipeError).message).toContain(`${2 ** 31 + 10} bytes`);
    expect(await readdir(ws)).not.toContain('tables');
  });

  it('a file grown past 2 GiB since the last ingest is refused too: the incremental ingest read only its new bytes, without a bound', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const src = join(ws, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    await writeFile(join(src, 'stocks', 'BIG.csv'), CSV);
    const first = await run(ws, (await dirSource(src).fetch(fetchContext(ws))).manifest);
    expect(first).toMatchObject({ rows_kept: 1 });
    await truncate(join(src, 'stocks', 'BIG.csv'), 2 ** 31 + 10); // grown (sparse: no disk used)
    const err = await run(ws, (await dirSource(src).fetch(fetchContext(ws))).manifest);
    expect([(err as StockpipeError).code, (err as StockpipeError).message]).toEqual(['SP_ERR_INPUT_TOO_LARGE', expect.stringContaining(`${2 ** 31 + 10} bytes`)]);
  });

  it('a zip entry is refused by the size it inflates to, before it is inflated (a zip bomb is never held in memory)', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const zip = buildZip([{ name: 'stocks/OK.csv', data: CSV }, { name: 'stocks/BOMB.csv', data: CSV }]);
    // An honest bomb declares its gigabytes; one is made here by declaring 3.75 GiB in the central
    // directory's uncompressed size (offset 24 of the entry's header) of the second entry.
    const central = zip.indexOf(Buffer.from('stocks/BOMB.csv'), zip.indexOf(Buffer.from('PK\u0001\u0002', 'latin1'))) - 46;
    expect(zip.toString('latin1', central + 46, central + 46 + 15)).toBe('stocks/BOMB.csv');
    zip.writeUInt32LE(0xf0000000, central + 24);
    const zipPath = join(ws, 'bomb.zip');
    await writeFile(zipPath, zip);
    const { manifest } = await zipSource(zipPath).fetch(fetchContext(ws));
    const err = await run(ws, manifest);
    expect((err as StockpipeError).code).toBe('SP_ERR_INPUT_TOO_LARGE');
    expect((err as StockpipeError).message).toContain(`${zipPath}: entry stocks/BOMB.csv: it holds ${0xf0000000} bytes`);
  });

  it('so is the metadata file (it was inflated whole, or read as "cannot read: make it a readable file again")', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const zip = buildZip([{ name: 'stocks/OK.csv', data: CSV }, { name: 'symbols_valid_meta.csv', data: 'Symbol,Security Name\nOK,ok\n' }]);
    const central = zip.indexOf(Buffer.from('symbols_valid_meta.csv'), zip.indexOf(Buffer.from('PK\u0001\u0002', 'latin1'))) - 46;
    zip.writeUInt32LE(0xf0000000, central + 24);
    const zipPath = join(ws, 'meta.zip');
    await writeFile(zipPath, zip);
    const z = await zipSource(zipPath).fetch(fetchContext(ws));
    const err = await run(ws, z.manifest);
    expect((err as StockpipeError).code).toBe('SP_ERR_INPUT_TOO_LARGE');
    expect((err as StockpipeError).message).toContain(`${zipPath}: entry symbols_valid_meta.csv: it holds ${0xf0000000} bytes`);
    const src = join(ws, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    await writeFile(join(src, 'stocks', 'OK.csv'), CSV);
    await writeFile(join(src, 'symbols_valid_meta.csv'), 'Symbol,Security Name\nOK,ok\n');
    await truncate(join(src, 'symbols_valid_meta.csv'), 2 ** 31 + 10);
    const ws2 = await tempWorkspace();
    made.push(ws2);
    const d = await dirSource(src).fetch(fetchContext(ws2));
    const err2 = await run(ws2, d.manifest);
    expect((err2 as StockpipeError).code).toBe('SP_ERR_INPUT_TOO_LARGE');
    expect((err2 as StockpipeError).message).toContain(`${join(src, 'symbols_valid_meta.csv')}: it holds ${2 ** 31 + 10} bytes`);
  });
});
