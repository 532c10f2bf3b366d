import { readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StockpipeError } from '../src/core/errors.js';
import { extractZip } from '../src/sources/zip.js';
import { buildZip } from './helpers/zip-writer.js';
import { tempWorkspace } from './helpers/workspace.js';

describe('extractZip (the kaggle source unpacks its archive to disk)', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const d of made) await rm(d, { recursive: true, force: true });
  });

  it('refuses an archive whose entries add up to more than the free space, before writing anything (a zip bomb)', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const zip = buildZip(Array.from({ length: 2000 }, (_, i) => ({ name: `stocks/S${i}.csv`, data: 'x' })));
    // Each entry declares ~4 GB in the central directory (offset 24 of its header): 8.6 TB in all,
    // as a bomb's do; yauzl would hold each entry to it, so only the free space bounds the writes.
    for (let at = zip.indexOf(Buffer.from('PK\u0001\u0002', 'latin1')); at >= 0; at = zip.indexOf(Buffer.from('PK\u0001\u0002', 'latin1'), at + 4)) zip.writeUInt32LE(0xfffffff0, at + 24);
    const zipPath = join(ws, 'bomb.zip');
    await writeFile(zipPath, zip);
    const err = await extractZip(zipPath, join(ws, 'data')).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_DISK_FULL');
    expect((err as StockpipeError).message).toContain(`${2000 * 0xfffffff0} bytes`);
    expect(await readdir(ws)).toEqual(['bomb.zip']);
  });

  it('unpacks an archive that fits', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const zipPath = join(ws, 'ok.zip');
    await writeFile(zipPath, buildZip([{ name: 'stocks/A.csv', data: 'Date\n' }]));
    const entries = await extractZip(zipPath, join(ws, 'data'));
    expect(entries.map((e) => e.name)).toEqual(['stocks/A.csv']);
    expect(await readdir(join(ws, 'data', 'stocks'))).toEqual(['A.csv']);
  });

  it('does not write a symlink entry (zip -y) as a file: its bytes are a path, which ingest read as a CSV header', async () => {
    const ws = await tempWorkspace();
    made.push(ws);
    const zip = buildZip([{ name: 'stocks/A.csv', data: 'Date\n', store: true }, { name: 'stocks/L.csv', data: 'A.csv', store: true }]);
    // Made on Unix (version made by 3 << 8), mode S_IFLNK | 0777 in the high half of the external attributes.
    const central = zip.indexOf(Buffer.from('stocks/L.csv'), zip.indexOf(Buffer.from('PK\u0001\u0002', 'latin1'))) - 46;
    zip.writeUInt16LE((3 << 8) | 20, central + 4);
    zip.writeUInt32LE((0o120777 << 16) >>> 0, central + 38);
    const zipPath = join(ws, 'links.zip');
    await writeFile(zipPath, zip);
    const entries = await extractZip(zipPath, join(ws, 'data'));
    expect(entries.map((e) => [e.name, e.symlink === true])).toEqual([['stocks/A.csv', false], ['stocks/L.csv', true]]);
    expect(await readdir(join(ws, 'data', 'stocks'))).toEqual(['A.csv']);
  });
});
