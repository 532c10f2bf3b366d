/** Incremental validate: after a first full check, a new snapshot's rows (by their lineage column)
 * are the only values checked against the same reference; symbol and calendar checks still see the
 * whole table; an overwrite, a new reference or --as-of checks everything again. */
import { appendFile, mkdir, readdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const day = (i: number): string => new Date(Date.UTC(2015, 0, 5) + i * 86_400_000).toISOString().slice(0, 10);

type Data = { mode: string; since_snapshot: number | null; rows: number; rows_checked: number; snapshot: number; anomalies: { code: string; examples?: unknown[] }[] };

function sp(args: string[]): Data {
  const r = runCli(['--json', ...args]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return r.json.data as Data;
}

describe('validate on a new snapshot', () => {
  it('checks only the rows the snapshot brought, and everything after an overwrite', async () => {
    const root = await tempDir('validate-inc');
    const src = join(root, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    for (let s = 0; s < 6; s++) {
      let text = HEADER;
      for (let i = 0; i < 400; i++) text += `${day(i)},${10 + s},${11 + s},${9 + s},${10 + s},${10 + s},${1000 + i}\n`;
      await writeFile(join(src, 'stocks', `V${s}.csv`), text);
    }
    const ws = join(root, 'ws');
    const step = (...a: string[]): Data => sp([...a, '--workspace', ws]);
    step('fetch', '--source', `dir:${src}`);
    step('ingest');
    const first = step('validate');
    expect([first.mode, first.rows_checked, first.rows]).toEqual(['full', 2400, 2400]);
    // A clean new day for every symbol: 6 rows checked, no value anomaly.
    for (let s = 0; s < 6; s++) await appendFile(join(src, 'stocks', `V${s}.csv`), `${day(400)},${10 + s},${11 + s},${9 + s},${10 + s},${10 + s},1400\n`);
    step('fetch', '--source', `dir:${src}`);
    step('ingest');
    const clean = step('validate');
    expect([clean.mode, clean.since_snapshot, clean.rows_checked, clean.rows]).toEqual(['incremental', first.snapshot, 6, 2406]);
    expect(clean.anomalies.map((a) => a.code)).not.toContain('high_below_low');
    // A bad new day (High below Low, a negative price): found among the new rows.
    await appendFile(join(src, 'stocks', 'V2.csv'), `${day(401)},12,5,9,-1,10,1401\n`);
    step('fetch', '--source', `dir:${src}`);
    step('ingest');
    const bad = step('validate');
    expect([bad.mode, bad.since_snapshot, bad.rows_checked]).toEqual(['incremental', clean.snapshot, 1]);
    expect(bad.anomalies.map((a) => a.code)).toEqual(expect.arrayContaining(['high_below_low', 'nonpositive_price']));
    // The same snapshot again: nothing new since, so a full check (the last report is of this snapshot).
    const again = step('validate');
    expect([again.mode, again.rows_checked]).toEqual(['full', 2407]);
    // A forced full ingest is an overwrite: checked whole.
    step('ingest', '--force');
    const whole = step('validate');
    expect([whole.mode, whole.rows_checked]).toEqual(['full', 2407]);
  }, 120_000);
  it('after the registry was moved aside (a new one numbers snapshots from 1 again), the new rows up to the last report\'s snapshot number are checked too', async () => {
    const root = await tempDir('validate-inc-reg');
    const src = join(root, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    const write = async (bad: boolean): Promise<void> => {
      for (let s = 0; s < 4; s++) {
        let text = HEADER;
        for (let i = 0; i < 300; i++) text += bad && s === 1 && i === 10 ? `${day(i)},12,5,9,-1,10,1010\n` : `${day(i)},${10 + s},${11 + s},${9 + s},${10 + s},${10 + s},${1000 + i}\n`;
        await writeFile(join(src, 'stocks', `R${s}.csv`), text);
      }
    };
    const newDay = async (i: number): Promise<void> => {
      for (let s = 0; s < 4; s++) await appendFile(join(src, 'stocks', `R${s}.csv`), `${day(i)},${10 + s},${11 + s},${9 + s},${10 + s},${10 + s},1400\n`);
      step('fetch', '--source', `dir:${src}`);
      step('ingest');
    };
    const ws = join(root, 'ws');
    const step = (...a: string[]): Data => sp([...a, '--workspace', ws]);
    await write(false);
    step('fetch', '--source', `dir:${src}`);
    step('ingest');
    await newDay(300);
    step('validate', '--fail-on', 'never');
    await newDay(301);
    const last = step('validate', '--fail-on', 'never');
    expect([last.mode, last.snapshot]).toEqual(['incremental', 3]);
    // The registry moved aside; the new one's first snapshot has a bad row (High below Low, a negative price).
    for (const f of await readdir(ws)) if (f.startsWith('stockpipe.db')) await rename(join(ws, f), join(ws, `aside-${f}`));
    await write(true);
    step('fetch', '--source', `dir:${src}`);
    step('ingest');
    for (const i of [300, 301, 302]) await newDay(i);
    const after = step('validate', '--fail-on', 'never');
    expect(after.snapshot).toBe(4);
    expect([after.mode, after.rows_checked]).toEqual(['full', after.rows]);
    expect(after.anomalies.map((a) => a.code)).toEqual(expect.arrayContaining(['high_below_low', 'nonpositive_price']));
    // And the next day is incremental again, since the report just written.
    await newDay(303);
    const next = step('validate', '--fail-on', 'never');
    expect([next.mode, next.since_snapshot, next.rows_checked]).toEqual(['incremental', 4, 4]);
  }, 120_000);
});
