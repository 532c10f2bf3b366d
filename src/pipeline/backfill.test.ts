import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { getLog } from '../core/log.js';
import { Workspace } from '../core/workspace.js';
import { getBackfill } from '../registry/backfills.js';
import { getPipelineRun, listPipelineRuns } from '../registry/pipeline.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { planBackfill, runBackfill, type BackfillOptions } from './backfill.js';
import { runPipeline } from './runner.js';
import { backfillDays, checkLogicalDate, todayInNewYork } from './logical-date.js';
import type { Pipeline } from './types.js';

let ws: string;
let reg: Registry;
let calls: string[];
let failOn: Set<string>;
beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-backfill-'));
  await writeFile(join(ws, 'src.txt'), 'x');
  reg = openRegistry(ws);
  calls = [];
  failOn = new Set();
});
afterEach(async () => {
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

/** data (date-independent, cached by its input) → forecast (dated) → monitor (dated, always runs). */
const pipeline: Pipeline = {
  name: 'daily',
  description: '',
  tasks: [
    {
      name: 'data',
      version: '1',
      inputs: ['src.txt'],
      run: async () => {
        calls.push('data');
        return {};
      },
    },
    {
      name: 'forecast',
      version: '1',
      deps: ['data'],
      dated: true,
      inputs: ['src.txt'],
      run: async (ctx) => {
        calls.push(`forecast ${ctx.logicalDate}`);
        return { summary: { date: ctx.logicalDate } };
      },
    },
    {
      name: 'monitor',
      version: '1',
      deps: ['forecast'],
      cache: 'never',
      dated: true,
      run: async (ctx) => {
        calls.push(`monitor ${ctx.logicalDate}`);
        if (failOn.has(ctx.logicalDate!)) throw new StockpipeError('SP_ERR_TASK_FAILED', `monitor failed on ${ctx.logicalDate}`);
        return {};
      },
    },
  ],
};

const NOW = new Date('2024-07-10T12:00:00Z');
const DAYS = backfillDays('2024-07-01', '2024-07-09', NOW);
const backfill = (o: Partial<BackfillOptions> = {}) => runBackfill({ ws: new Workspace(ws), pipeline, registry: reg, log: getLog('test'), days: DAYS, from: '2024-07-01', to: '2024-07-09', ...o });

describe('logical dates', () => {
  const code = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (err) {
      return (err as StockpipeError).code;
    }
    return undefined;
  };
  it('a logical date is a real, past-or-today NYSE trading day; the hint names the neighbours', () => {
    expect(checkLogicalDate('--date', '2024-07-03', NOW)).toBe('2024-07-03');
    expect(code(() => checkLogicalDate('--date', '2024-07-04', NOW))).toBe('SP_ERR_NOT_TRADING_DAY'); // Independence Day
    expect(code(() => checkLogicalDate('--date', '2024-07-06', NOW))).toBe('SP_ERR_NOT_TRADING_DAY'); // Saturday
    expect(code(() => checkLogicalDate('--date', '2024-07-11', NOW))).toBe('SP_ERR_DATE_IN_FUTURE');
    expect(code(() => checkLogicalDate('--date', '2024-02-30', NOW))).toBe('SP_ERR_USAGE');
    expect(code(() => checkLogicalDate('--date', '20240703', NOW))).toBe('SP_ERR_USAGE');
    try {
      checkLogicalDate('--date', '2024-07-04', NOW);
    } catch (err) {
      expect((err as StockpipeError).hint).toContain('2024-07-03');
      expect((err as StockpipeError).hint).toContain('2024-07-05');
    }
    // Today is New York's date: 02:00 UTC on the 11th is still the 10th there.
    expect(todayInNewYork(new Date('2024-07-11T02:00:00Z'))).toBe('2024-07-10');
  });
  it('a backfill range lists its trading days in order; an empty, reversed or future range is refused', () => {
    expect(DAYS).toEqual(['2024-07-01', '2024-07-02', '2024-07-03', '2024-07-05', '2024-07-08', '2024-07-09']);
    expect(code(() => backfillDays('2024-07-06', '2024-07-07', NOW))).toBe('SP_ERR_NOT_TRADING_DAY');
    expect(code(() => backfillDays('2024-07-09', '2024-07-01', NOW))).toBe('SP_ERR_USAGE');
    expect(code(() => backfillDays('2024-07-01', '2024-07-12', NOW))).toBe('SP_ERR_DATE_IN_FUTURE');
  });
  it("a range's errors name its ends as the caller calls them: the CLI's flags by default, an API request's fields when asked", () => {
    const said = (fn: () => unknown): string => {
      try {
        fn();
      } catch (err) {
        return `${(err as StockpipeError).message} | ${(err as StockpipeError).hint}`;
      }
      return '';
    };
    expect(said(() => backfillDays('2024-07-09', '2024-07-01', NOW))).toBe('--from 2024-07-09 is after --to 2024-07-01 | Give the first day with --from and the last with --to.');
    expect(said(() => backfillDays('2024-07-01', '2024-07-12', NOW))).toMatch(/^--to 2024-07-12 is after today/);
    const fields = { from: '"from"', to: '"to"' };
    expect(said(() => backfillDays('2024-07-09', '2024-07-01', NOW, fields))).toBe('"from" 2024-07-09 is after "to" 2024-07-01 | Give the first day with "from" and the last with "to".');
    expect(said(() => backfillDays('2024-02-30', '2024-07-01', NOW, fields))).toMatch(/^"from" must be a real calendar date/);
    expect(said(() => backfillDays('2024-07-01', '2024-07-12', NOW, fields))).toMatch(/^"to" 2024-07-12 is after today/);
  });
});

describe('backfill', () => {
  it('runs every trading day in order with its logical date; the dated task is cached per day', async () => {
    const out = await backfill();
    expect(out.status).toBe('finished');
    expect(out.days.map((d) => [d.date, d.status])).toEqual(DAYS.map((d) => [d, 'succeeded']));
    expect(calls.filter((c) => c.startsWith('monitor')).map((c) => c.slice(8))).toEqual(DAYS);
    expect(calls.filter((c) => c === 'data')).toHaveLength(1); // date-independent: cached after the first day
    expect(calls.filter((c) => c.startsWith('forecast'))).toHaveLength(DAYS.length); // one cache entry per day
    const runs = listPipelineRuns(reg, { backfill: out.backfill_id, limit: 100 });
    expect(runs.map((r) => r.logical_date).sort()).toEqual(DAYS);
    const b = getBackfill(reg, out.backfill_id)!;
    expect([b.status, b.days_total, b.days_succeeded, b.days_failed, b.days_skipped]).toEqual(['finished', 6, 6, 0, 0]);
    expect(b.days.map((d) => d.run_id)).toEqual(out.days.map((d) => d.run_id));
  });

  it('a hash memo that cannot be saved does not keep the backfill from recording its end', async () => {
    await mkdir(join(new Workspace(ws).hashMemo, 'x'), { recursive: true }); // a folder where the memo goes: its save fails
    const out = await backfill();
    expect(out.status).toBe('finished');
    expect(getBackfill(reg, out.backfill_id)!.status).toBe('finished');
  });

  it('a second call skips every succeeded day without running a task or starting a run', async () => {
    const first = await backfill();
    calls = [];
    const second = await backfill();
    expect(calls).toEqual([]);
    expect(second.backfill_id).not.toBe(first.backfill_id); // the first finished: a new record
    expect(second.days.map((d) => d.status)).toEqual(DAYS.map(() => 'skipped'));
    expect(second.days.map((d) => d.run_id)).toEqual(first.days.map((d) => d.run_id)); // pointing at the runs that did them
    expect(listPipelineRuns(reg, { limit: 100 })).toHaveLength(DAYS.length);
    expect(getBackfill(reg, second.backfill_id)!.days_skipped).toBe(DAYS.length);
    expect(planBackfill(reg, 'daily', DAYS).map((p) => p.action)).toEqual(DAYS.map(() => 'skip'));
    expect(planBackfill(reg, 'daily', DAYS, true).map((p) => p.action)).toEqual(DAYS.map(() => 'run'));
    // --force runs the days again (and ignores the task cache, as `run --force`).
    calls = [];
    await backfill({ force: true });
    expect(calls.filter((c) => c === 'data')).toHaveLength(DAYS.length);
  });

  it('a day with only a --from/--to slice run is not skipped: the backfill runs the whole day', async () => {
    await runPipeline({ ws: new Workspace(ws), pipeline, registry: reg, log: getLog('test'), logicalDate: '2024-07-02', to: 'forecast' });
    expect(calls).toEqual(['data', 'forecast 2024-07-02']); // monitor never ran for 07-02
    expect(planBackfill(reg, 'daily', DAYS).map((p) => p.action)).toEqual(DAYS.map(() => 'run'));
    calls = [];
    const out = await backfill();
    expect(out.days.map((d) => d.status)).toEqual(DAYS.map(() => 'succeeded'));
    expect(calls.filter((c) => c.startsWith('monitor')).map((c) => c.slice(8))).toEqual(DAYS);
  });

  it("a failing day stops it; started again it resumes that day's run and runs only the remaining days", async () => {
    failOn.add('2024-07-05');
    const out = await backfill();
    expect(out.status).toBe('failed');
    expect(out.failed).toMatchObject({ date: '2024-07-05', task: 'monitor', code: 'SP_ERR_TASK_FAILED' });
    expect(out.days.map((d) => d.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'failed']);
    expect(
      getBackfill(reg, out.backfill_id)!
        .days.slice(4)
        .map((d) => d.status),
    ).toEqual(['queued', 'queued']);
    expect(planBackfill(reg, 'daily', DAYS).map((p) => p.action)).toEqual(['skip', 'skip', 'skip', 'resume', 'run', 'run']);

    failOn.clear();
    calls = [];
    const again = await backfill();
    expect(again.status).toBe('finished');
    expect(again.resumed).toBe(true);
    expect(again.backfill_id).toBe(out.backfill_id);
    expect(again.days.map((d) => [d.date, d.status])).toEqual([
      ['2024-07-01', 'skipped'],
      ['2024-07-02', 'skipped'],
      ['2024-07-03', 'skipped'],
      ['2024-07-05', 'succeeded'],
      ['2024-07-08', 'succeeded'],
      ['2024-07-09', 'succeeded'],
    ]);
    // 07-05 continued in its own run: only the failed task ran again.
    expect(again.days[3]!.run_id).toBe(out.days[3]!.run_id);
    expect(getPipelineRun(reg, again.days[3]!.run_id!)!.tasks.map((t) => [t.task, t.status])).toEqual([
      ['data', 'cached'],
      ['forecast', 'succeeded'],
      ['monitor', 'succeeded'],
    ]);
    expect(calls.filter((c) => c.startsWith('monitor')).map((c) => c.slice(8))).toEqual(['2024-07-05', '2024-07-08', '2024-07-09']);
    const b = getBackfill(reg, out.backfill_id)!;
    expect([b.status, b.days_succeeded, b.days_skipped, b.days_failed]).toEqual(['finished', 3, 3, 0]);
  });

  it('--continue-on-failure runs the other days and ends failed', async () => {
    failOn.add('2024-07-02');
    const out = await backfill({ continueOnFailure: true });
    expect(out.status).toBe('failed');
    expect(out.days.map((d) => d.status)).toEqual(['succeeded', 'failed', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(getBackfill(reg, out.backfill_id)!.days_failed).toBe(1);
  });

  it('a cancelled backfill stops and ends cancelled; the next call continues it', async () => {
    const abort = new AbortController();
    const out = await backfill({
      signal: abort.signal,
      onDay: (d) => {
        if (d.date === '2024-07-02') abort.abort();
      },
    });
    expect(out.status).toBe('cancelled');
    expect(out.days.map((d) => d.date)).toEqual(['2024-07-01', '2024-07-02']);
    const again = await backfill();
    expect(again.backfill_id).toBe(out.backfill_id);
    expect(again.days.filter((d) => d.status === 'succeeded').map((d) => d.date)).toEqual(DAYS.slice(2));
  });

  it('a cancelled --force backfill continued with --force does not run again the days it already ran', async () => {
    await backfill(); // every day finished once
    calls = [];
    const abort = new AbortController();
    const out = await backfill({
      force: true,
      signal: abort.signal,
      onDay: (d) => {
        if (d.date === '2024-07-02') abort.abort();
      },
    });
    expect(out.status).toBe('cancelled');
    // The days it ran are kept; the others are still forced.
    expect(planBackfill(reg, 'daily', DAYS, true, out.backfill_id).map((p) => p.action)).toEqual(['skip', 'skip', 'run', 'run', 'run', 'run']);
    calls = [];
    const again = await backfill({ force: true });
    expect(again.backfill_id).toBe(out.backfill_id);
    expect(again.days.map((d) => d.status)).toEqual(['skipped', 'skipped', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(calls.filter((c) => c.startsWith('monitor')).map((c) => c.slice(8))).toEqual(DAYS.slice(2));
    expect(calls.filter((c) => c === 'data')).toHaveLength(4); // still forced: the cache ignored on each remaining day
  });
});
