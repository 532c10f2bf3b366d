import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { StockpipeError } from '../src/core/errors.js';
import { ingest } from '../src/etl/ingest.js';
import { dirSource, listFiles } from '../src/sources/dir.js';
import { zipSource } from '../src/sources/zip-source.js';
import { extractZip } from '../src/sources/zip.js';
import { writeQuirkFixture } from './fixtures/quirks.js';
import { buildZip } from './helpers/zip-writer.js';
import { fetchContext, silentLog, sql, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { columnList, PRICE_COLUMNS, viewSource } from './helpers/store.js';

describe('zip:PATH source', () => {
  it('ingests straight from the archive with the same report and table as the folder', async () => {
    const fx = await writeQuirkFixture();
    const entries = await Promise.all((await listFiles(fx.dir)).map(async (p) => ({ name: `stock-market-dataset/${p}`, data: await readFile(join(fx.dir, p)) })));
    const zipPath = join(await tempWorkspace('zip'), 'quirks.zip'); // removed with the folder, unlike one beside fx.dir
    await writeFile(zipPath, buildZip(entries));
    const wsZip = await tempWorkspace();
    const z = await zipSource(zipPath).fetch(fetchContext(wsZip));
    expect(z.manifest.layout).toBe('zip');
    expect(z.manifest.files.length).toBe(entries.length);
    const rz = await ingest({ ws: new Workspace(wsZip, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest: z.manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    expect(rz.rows_read).toBe(fx.expected.rows_read);
    expect(rz.rows_kept).toBe(fx.expected.rows_kept);
    expect(rz.rows_dropped).toEqual(fx.expected.rows_dropped);
    expect(rz.symbols_without_metadata).toBe(fx.expected.symbols_without_metadata);
    // Nothing was unpacked into the workspace.
    expect(await readdir(join(wsZip, 'raw', 'zip'))).toEqual(['manifest.json']);
    const wsDir = await tempWorkspace();
    const d = await dirSource(fx.dir).fetch(fetchContext(wsDir));
    await ingest({ ws: new Workspace(wsDir, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest: d.manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    // Explicit columns: the lineage column (_snapshot_id) may differ between workspaces.
    const cols = columnList(PRICE_COLUMNS);
    const [zs, d2] = [viewSource(wsZip, 'prices'), viewSource(wsDir, 'prices')];
    const diff = await sql(`SELECT count(*) AS n FROM ((SELECT ${cols} FROM ${zs} EXCEPT ALL SELECT ${cols} FROM ${d2}) UNION ALL (SELECT ${cols} FROM ${d2} EXCEPT ALL SELECT ${cols} FROM ${zs}))`);
    expect(Number(diff[0]!.n)).toBe(0);
    const again = await zipSource(zipPath).fetch(fetchContext(wsZip));
    expect(again.cached).toBe(true);
  });

  it('rejects a missing archive and a corrupt one with clear codes', async () => {
    const ws = await tempWorkspace();
    const missing = await zipSource(join(ws, 'nope.zip')).fetch(fetchContext(ws)).catch((e: unknown) => e);
    expect((missing as StockpipeError).code).toBe('SP_ERR_SOURCE_NOT_FOUND');
    const bad = join(ws, 'bad.zip');
    await writeFile(bad, Buffer.from('PK\u0003\u0004 this is not really a zip archive at all'));
    const corrupt = await zipSource(bad).fetch(fetchContext(ws)).catch((e: unknown) => e);
    expect((corrupt as StockpipeError).code).toBe('SP_ERR_ZIP_CORRUPT');
    expect(await readdir(ws)).toEqual(['bad.zip']);
  });

  it('refuses an archive holding two entries of one name (ingest read the last one twice, never the first)', async () => {
    const ws = await tempWorkspace();
    const head = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
    const zipPath = join(ws, 'dup.zip');
    await writeFile(zipPath, buildZip([
      { name: 'stocks/A.csv', data: `${head}2020-01-02,1,1,1,1,1,5\n` },
      { name: 'stocks/A.csv', data: `${head}2020-01-03,2,2,2,2,2,6\n` },
    ]));
    const err = await zipSource(zipPath).fetch(fetchContext(ws)).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_ZIP_CORRUPT');
    expect((err as StockpipeError).message).toContain('two entries named stocks/A.csv');
    expect(await readdir(ws)).toEqual(['dup.zip']);
  });

  it('skips a symlink entry (zip -y) with its reason: its bytes are a path, which failed ingest as a CSV header', async () => {
    const ws = await tempWorkspace();
    const zip = buildZip([
      { name: 'stocks/A.csv', data: 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n', store: true },
      { name: 'stocks/L.csv', data: 'A.csv', store: true },
    ]);
    // Made on Unix (version made by 3 << 8), mode S_IFLNK | 0777 in the high half of the external attributes.
    const central = zip.indexOf(Buffer.from('stocks/L.csv'), zip.indexOf(Buffer.from('PK\u0001\u0002', 'latin1'))) - 46;
    zip.writeUInt16LE((3 << 8) | 20, central + 4);
    zip.writeUInt32LE((0o120777 << 16) >>> 0, central + 38);
    const zipPath = join(ws, 'links.zip');
    await writeFile(zipPath, zip);
    const { manifest } = await zipSource(zipPath).fetch(fetchContext(ws));
    expect(manifest.files.map((f) => f.path)).toEqual(['stocks/A.csv']);
    expect(manifest.skipped).toEqual([{ path: 'stocks/L.csv', reason: 'symlink entry: not followed in an archive' }]);
    const r = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    expect(r.rows_kept).toBe(1);
    expect(r.files_skipped).toEqual(manifest.skipped);
  });

  it('refuses an archive replaced since fetch (read by the old names, it was "metadata lacks Symbol" or "damaged")', async () => {
    const ws = await tempWorkspace();
    const head = 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n';
    const zipPath = join(ws, 'data.zip');
    await writeFile(zipPath, buildZip([{ name: 'symbols_valid_meta.csv', data: 'Symbol,Security Name\nA,a\n' }, { name: 'stocks/A.csv', data: head }]));
    const { manifest } = await zipSource(zipPath).fetch(fetchContext(ws));
    await writeFile(zipPath, buildZip([{ name: 'data/symbols_valid_meta.csv', data: 'Symbol,Security Name\nB,b\n' }, { name: 'data/stocks/B.csv', data: head }]));
    const err = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_SOURCE_NOT_FOUND');
    expect((err as StockpipeError).message).toContain(`${zipPath} changed since it was fetched`);
    expect((err as StockpipeError).hint).toContain('stockpipe fetch');
  });

  it('refuses an entry whose bytes do not match its CRC-32 (a flipped digit in a stored entry was ingested as another price)', async () => {
    const ws = await tempWorkspace();
    const csv = 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n2020-01-03,1,1,1,1,1,5\n';
    const zip = buildZip([{ name: 'data/stocks/AAA.csv', data: csv, store: true }]);
    const at = zip.indexOf(Buffer.from('2020-01-03,1')) + 11;
    zip[at] = '7'.charCodeAt(0); // Open 1 → 7: still a valid CSV, the CRC-32 no longer matches
    const zipPath = join(ws, 'flipped.zip');
    await writeFile(zipPath, zip);
    const { manifest } = await zipSource(zipPath).fetch(fetchContext(ws));
    const err = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_ZIP_CORRUPT');
    expect((err as StockpipeError).message).toContain('data/stocks/AAA.csv');
    // Unpacking it (the Kaggle download's path) is refused too, leaving nothing behind.
    const dest = join(ws, 'unpacked');
    const unpacked = await extractZip(zipPath, dest).catch((e: unknown) => e);
    expect((unpacked as StockpipeError).code).toBe('SP_ERR_ZIP_CORRUPT');
    expect((unpacked as StockpipeError).message).toContain('data/stocks/AAA.csv');
    expect(await readdir(ws)).not.toContain('unpacked');
    await rm(ws, { recursive: true, force: true });
  });

  describe('a corrupt entry (issue 12)', () => {
    const made: string[] = [];
    afterAll(async () => {
      for (const d of made) await rm(d, { recursive: true, force: true });
    });

    /** Entries, and the one whose deflate data is overwritten after the archive is built. */
    const CASES: [string, string][] = [
      ['the first bars file', 'data/stocks/AAA.csv'],
      ['a later bars file', 'data/etfs/ZZZ.csv'],
    ];
    it.each(CASES)('%s fails ingest with SP_ERR_ZIP_CORRUPT naming the archive and the entry', async (_, broken) => {
      const ws = await tempWorkspace();
      made.push(ws);
      const csv = 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n';
      const names = ['data/etfs/ZZZ.csv', 'data/stocks/AAA.csv', 'data/stocks/BBB.csv'];
      const zip = buildZip(names.map((name) => ({ name, data: csv.repeat(20) })));
      // The local header (30 bytes + name) is followed by the deflate data: make its first block invalid.
      const at = zip.indexOf(Buffer.from(broken)) + broken.length;
      zip.fill(0xff, at, at + 4);
      const zipPath = join(ws, 'broken.zip');
      await writeFile(zipPath, zip);
      const { manifest } = await zipSource(zipPath).fetch(fetchContext(ws));
      const err = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
      expect((err as StockpipeError).code).toBe('SP_ERR_ZIP_CORRUPT');
      expect((err as StockpipeError).message).toContain(broken);
      expect((err as StockpipeError).message).toContain(zipPath);
    });
  });
});
