import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fetchContext, tempWorkspace } from '../../test/helpers/workspace.js';
import type { StockpipeError } from '../core/errors.js';
import { dirSource, hashAndCountRows } from './dir.js';
import { holdsBarsFile } from './manifest.js';

describe('hashAndCountRows', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('counts the rows after the header whatever the line ends (a CR-only file counted 0: ingest reads its rows)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-dir-rows-'));
    dirs.push(dir);
    const h = 'Date,Open,High,Low,Close,Adj Close,Volume';
    const r = '2020-01-02,1,2,0.5,1.5,1.4,100';
    const cases: [string, string, number][] = [
      ['lf', `${h}\n${r}\n${r}\n`, 2],
      ['lf, no final end', `${h}\n${r}\n${r}`, 2],
      ['crlf', `${h}\r\n${r}\r\n${r}\r\n`, 2],
      ['cr only', `${h}\r${r}\r${r}\r`, 2],
      ['cr only, no final end', `${h}\r${r}\r${r}`, 2],
      ['header only', h, 0],
      ['empty', '', 0],
    ];
    for (const [name, text, rows] of cases) {
      const p = join(dir, `${name}.csv`);
      await writeFile(p, text);
      expect((await hashAndCountRows(p)).rows, name).toBe(rows);
    }
    // A CRLF split between two chunks of the read (64 KiB) is one line end.
    const long = `${h}\r\n${'x'.repeat(65536 - h.length - 3)}\r\n${r}\r\n`;
    const p = join(dir, 'split.csv');
    await writeFile(p, long);
    expect(long.indexOf('\r\n', h.length + 2)).toBe(65535);
    expect((await hashAndCountRows(p)).rows).toBe(2);
  });
});

describe('a source without bars files ingest reads', () => {
  it('holdsBarsFile agrees with ingest: the folder named exactly stocks/ or etfs/, no dot file', () => {
    expect(holdsBarsFile(['data/stocks/AAA.csv'])).toBe(true);
    expect(holdsBarsFile(['etfs/EEE.CSV'])).toBe(true);
    expect(holdsBarsFile(['Stocks/AAA.csv', 'ETFs/EEE.csv'])).toBe(false);
    expect(holdsBarsFile(['stocks/.x.csv', '.Trash/stocks/A.csv', 'stocks/.csv', 'other/A.csv'])).toBe(false);
  });

  it('fetch refuses Stocks/ and ETFs/ naming the folder to rename (fetch took them; ingest then said "no stocks/<SYMBOL>.csv")', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-dir-case-'));
    const ws = await tempWorkspace();
    try {
      await mkdir(join(dir, 'Stocks'));
      await writeFile(join(dir, 'Stocks', 'AAA.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,0.5,1.5,1.4,100\n');
      const err = (await dirSource(dir).fetch(fetchContext(ws)).catch((e: unknown) => e)) as StockpipeError;
      expect(err.code).toBe('SP_ERR_SOURCE_LAYOUT');
      expect(err.hint).toContain('rename Stocks/ to stocks/');
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(ws, { recursive: true, force: true });
    }
  });
});
