import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashAndCountRows } from './dir.js';

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
