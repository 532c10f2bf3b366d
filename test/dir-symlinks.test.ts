import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { ingest, type IngestReport } from '../src/etl/ingest.js';
import { dirSource } from '../src/sources/dir.js';
import type { Manifest } from '../src/sources/types.js';
import { fetchContext, silentLog, sql } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { viewSource } from './helpers/store.js';

const H = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const bars = (volume: number): string => `${H}2020-01-02,1,1,1,1,1,${volume}\n2020-01-03,1,1,1,1,1,${volume + 1}\n`;

/** One entry of the data folder: a file, or a symlink (relative to the data folder or absolute). */
type Entry = { file: string } | { link: string };

/**
 * The data folder's layout (one line per case). `@outside` stands for a folder outside the data
 * folder. Expected: `kept` symbols with their first Volume, `skipped` paths with their reason.
 */
const ENTRIES: [string, Entry][] = [
  ['stocks/REG.csv', { file: bars(10) }],
  ['store/INSIDE.csv', { file: bars(20) }],
  ['stocks/INSIDE.csv', { link: '../store/INSIDE.csv' }], // a symlinked CSV inside the folder
  ['stocks/OUTSIDE.csv', { link: '@outside/files/OUTSIDE.csv' }], // a symlinked CSV outside the folder
  ['etfs', { link: '@outside/etfs' }], // a symlinked etfs/ folder (outside)
  ['more/stocks', { link: '@outside/stocks' }], // a symlinked stocks/ folder (outside)
  ['stocks/BROKEN.csv', { link: '../store/missing.csv' }], // a broken link
  ['stocks/SELF.csv', { link: 'SELF.csv' }], // a link to itself (ELOOP)
  ['stocks/back', { link: '..' }], // a folder link back to an enclosing folder
  ['stocks/ZERO.csv', { link: '/dev/zero' }], // a link to a device: never read (it never ends)
  ['stocks/.HIDDEN.csv', { file: bars(60) }], // a dot file named like data: reported (it vanished silently)
  ['stocks/._REG.csv', { file: 'macOS AppleDouble' }], // macOS' resource fork of REG.csv
  ['.git/HEAD', { file: 'ref: refs/heads/main' }], // other dot entries: not read, not reported
];
const OUTSIDE: [string, string][] = [
  ['files/OUTSIDE.csv', bars(30)],
  ['etfs/LINKED.csv', bars(40)],
  ['stocks/DEEP.csv', bars(50)],
];
const KEPT: [string, number][] = [['DEEP', 50], ['INSIDE', 20], ['LINKED', 40], ['OUTSIDE', 30], ['REG', 10]];
const SKIPPED: [string, RegExp][] = [
  ['stocks/BROKEN.csv', /^broken symlink/],
  ['stocks/SELF.csv', /^symlink loop/],
  ['stocks/back', /^symlink loop/],
  ['stocks/ZERO.csv', /^not a regular file/],
  ['stocks/.HIDDEN.csv', /^hidden/],
  ['stocks/._REG.csv', /^hidden/],
];

describe('dir source: symlinks are followed or reported, never skipped silently (issue 12)', () => {
  let base = '';
  let data = '';
  let outside = '';
  let manifest: Manifest;
  let report: IngestReport;
  let ws = '';

  beforeAll(async () => {
    base = await realpath(await mkdtemp(join(tmpdir(), 'sp-links-')));
    data = join(base, 'data');
    outside = join(base, 'outside');
    ws = join(base, 'ws');
    for (const [p, text] of OUTSIDE) {
      await mkdir(join(outside, p, '..'), { recursive: true });
      await writeFile(join(outside, p), text);
    }
    for (const [p, e] of ENTRIES) {
      await mkdir(join(data, p, '..'), { recursive: true });
      if ('file' in e) await writeFile(join(data, p), e.file);
      else await symlink(e.link.replace('@outside', outside), join(data, p));
    }
    manifest = (await dirSource(data).fetch(fetchContext(ws))).manifest;
    report = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
  });

  afterAll(async () => {
    if (base !== '') await rm(base, { recursive: true, force: true });
  });

  it('lists linked files under their path in the folder and records the real path', () => {
    const byPath = new Map(manifest.files.map((f) => [f.path, f.real_path]));
    expect(byPath.get('stocks/REG.csv')).toBeUndefined();
    expect(byPath.get('stocks/INSIDE.csv')).toBe(join(data, 'store', 'INSIDE.csv'));
    expect(byPath.get('stocks/OUTSIDE.csv')).toBe(join(outside, 'files', 'OUTSIDE.csv'));
    expect(byPath.get('etfs/LINKED.csv')).toBe(join(outside, 'etfs', 'LINKED.csv'));
    expect(byPath.get('more/stocks/DEEP.csv')).toBe(join(outside, 'stocks', 'DEEP.csv'));
  });

  it.each(SKIPPED)('reports %s as skipped with its reason', (path, reason) => {
    const skip = manifest.skipped?.find((s) => s.path === path);
    expect(skip?.reason).toMatch(reason);
    expect(report.files_skipped.find((s) => s.path === path)?.reason).toMatch(reason);
  });

  it('skips nothing else', () => {
    expect(manifest.skipped?.map((s) => s.path).sort()).toEqual(SKIPPED.map(([p]) => p).sort());
  });

  it('ingests the rows of every followed file', async () => {
    const rows = await sql(`SELECT "Symbol", min("Volume") AS v FROM ${viewSource(ws, 'prices')} GROUP BY 1 ORDER BY 1`);
    expect(rows.map((r) => [r.Symbol, Number(r.v)])).toEqual(KEPT);
    expect(report.rows_kept).toBe(2 * KEPT.length);
  });
});

describe('dir source: a file or folder whose name is not UTF-8', () => {
  it('is reported as skipped (fetch failed with SP_ERR_INTERNAL, ENOENT of the name with U+FFFD)', async () => {
    const base = await mkdtemp(join(tmpdir(), 'sp-latin1-'));
    try {
      const data = join(base, 'data');
      await mkdir(join(data, 'stocks'), { recursive: true });
      await writeFile(join(data, 'stocks', 'OK.csv'), bars(10));
      const latin1 = (name: string): Buffer => Buffer.from(name, 'latin1');
      await writeFile(Buffer.concat([Buffer.from(`${data}/stocks/`), latin1('SOCI\xe9T\xe9.csv')]), bars(20));
      await mkdir(Buffer.concat([Buffer.from(`${data}/`), latin1('\xe9tfs')]));
      const ws = join(base, 'ws');
      const { manifest } = await dirSource(data).fetch(fetchContext(ws));
      expect(manifest.files.map((f) => f.path)).toEqual(['stocks/OK.csv']);
      expect(manifest.skipped).toEqual([
        { path: 'stocks/SOCI\uFFFDT\uFFFD.csv', reason: expect.stringMatching(/^its name is not valid UTF-8/) },
        { path: '\uFFFDtfs', reason: expect.stringMatching(/^its name is not valid UTF-8/) },
      ]);
    } finally {
      await rm(base, { recursive: true, force: true });
    }
  });
});
