import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { getLog } from '../core/log.js';
import { cronFor, dueAt, type LeftRun, localDate, nextFire, occurrences, runScheduler, RunsInFlight, schedulerTick, type Schedule, type SchedulerDeps } from './schedule.js';
import { Workspace } from '../core/workspace.js';
import type { StockpipeError } from '../core/errors.js';

const daily: Schedule = { pipeline: 'daily', cron: '30 18 * * 1-5', timezone: 'America/New_York', trading_days_only: true };
const ny = (d: Date): string => localDate(d, 'America/New_York');

let ws: string;
beforeEach(async () => { ws = await mkdtemp(join(tmpdir(), 'sp-sched-')); });
afterEach(async () => { await rm(ws, { recursive: true, force: true }); });

describe('schedule', () => {
  it('fires on NYSE trading days only: no run on 2024-07-04 or the weekend', () => {
    const occ = occurrences(daily, new Date('2024-07-01T00:00:00Z'), new Date('2024-07-09T00:00:00Z'));
    expect(occ.map(ny)).toEqual(['2024-07-01', '2024-07-02', '2024-07-03', '2024-07-05', '2024-07-08']);
    expect(occ[0]!.toISOString()).toBe('2024-07-01T22:30:00.000Z'); // 18:30 EDT
    const every = occurrences({ ...daily, trading_days_only: false }, new Date('2024-07-01T00:00:00Z'), new Date('2024-07-09T00:00:00Z'));
    expect(every.map(ny)).toContain('2024-07-04');
  });

  it("judges a trading day by the occurrence's date in New York, whatever the schedule's zone (Tokyo's Saturday morning is Friday's close)", () => {
    const tokyo: Schedule = { pipeline: 'daily', cron: '0 7 * * 2-6', timezone: 'Asia/Tokyo', trading_days_only: true };
    const occ = occurrences(tokyo, new Date('2024-07-01T00:00:00Z'), new Date('2024-07-09T00:00:00Z'));
    expect(occ.map((d) => localDate(d, 'Asia/Tokyo'))).toEqual(['2024-07-02', '2024-07-03', '2024-07-04', '2024-07-06', '2024-07-09']);
    expect(occ.map(ny)).toEqual(['2024-07-01', '2024-07-02', '2024-07-03', '2024-07-05', '2024-07-08']); // not 07-04 (Independence Day)
    expect(dueAt(tokyo, new Date('2024-07-04T22:00:00Z'), new Date('2024-07-05T22:30:00Z')).run?.toISOString()).toBe('2024-07-05T22:00:00.000Z');
  });

  it('after downtime runs the latest occurrence once and reports the earlier ones missed', () => {
    const d = dueAt(daily, new Date('2024-07-01T22:30:00Z'), new Date('2024-07-05T23:00:00Z'));
    expect(d.run?.toISOString()).toBe('2024-07-05T22:30:00.000Z');
    expect(d.missed.map(ny)).toEqual(['2024-07-02', '2024-07-03']);
    expect(dueAt(daily, new Date('2024-07-05T22:30:00Z'), new Date('2024-07-05T23:00:00Z')).run).toBeNull();
    // first start: only an occurrence within the grace period, no history catch-up
    expect(dueAt(daily, null, new Date('2024-07-05T22:30:30Z')).run?.toISOString()).toBe('2024-07-05T22:30:00.000Z');
    expect(dueAt(daily, null, new Date('2024-07-05T23:30:00Z')).run).toBeNull();
    // … and the grace window's earlier occurrences of a frequent schedule are no runs missed while it was down (it alerted 5 of them)
    const every10s: Schedule = { ...daily, cron: '*/10 * * * * *' };
    const first = dueAt(every10s, null, new Date('2024-07-05T22:30:55Z'));
    expect([first.run?.toISOString(), first.missed]).toEqual(['2024-07-05T22:30:50.000Z', []]);
  });

  it('after a long downtime of a frequent schedule runs the latest occurrence, not the thousandth', () => {
    const everyMinute: Schedule = { ...daily, cron: '* * * * *' };
    // Down from Friday 10:00 to Monday 10:00 (New York): thousands of occurrences passed.
    const d = dueAt(everyMinute, new Date('2024-07-12T14:00:00Z'), new Date('2024-07-15T14:00:00Z'));
    expect(d.run?.toISOString()).toBe('2024-07-15T14:00:00.000Z');
    expect(d.missed.length).toBeGreaterThan(0);
    expect(d.missed.every((m) => m < d.run!)).toBe(true);
    // The latest one on a trading day: down over the weekend until Sunday, Friday's last minute.
    expect(dueAt(everyMinute, new Date('2024-07-12T14:00:00Z'), new Date('2024-07-14T14:00:00Z')).run?.toISOString()).toBe('2024-07-13T03:59:00.000Z');
    expect(dueAt({ ...daily, cron: '* * * * * *' }, new Date('2024-07-12T14:00:00Z'), new Date('2024-07-14T14:00:00Z')).run?.toISOString()).toBe('2024-07-13T03:59:59.000Z');
  });

  it('a schedule every second finds its next trading-day occurrence across a weekend at once', () => {
    const everySecond: Schedule = { ...daily, cron: '* * * * * *' };
    const t0 = performance.now();
    const next = occurrences(everySecond, new Date('2024-07-13T16:00:00Z'), new Date('2024-07-20T00:00:00Z'), 1);
    expect(next.map((d) => d.toISOString())).toEqual(['2024-07-15T04:00:00.000Z']); // Monday 00:00:00 EDT
    expect(performance.now() - t0).toBeLessThan(1000); // was seconds: every second of the weekend, one by one
    // 2024-07-04 (a holiday) is skipped at a per-second schedule too.
    expect(occurrences(everySecond, new Date('2024-07-04T03:59:58Z'), new Date('2024-07-06T00:00:00Z'), 2).map((d) => d.toISOString())).toEqual(['2024-07-04T03:59:59.000Z', '2024-07-05T04:00:00.000Z']);
  });

  // Probed: the scheduler printed "next run never" (and GET /schedules next_run null) for schedules the config took and
  // the scheduler then ran: the next occurrence was looked for 400 days ahead only.
  it('finds a next occurrence years away: a leap day, a yearly date on weekends and holidays', () => {
    const leap: Schedule = { ...daily, cron: '0 18 29 2 *' };
    expect(nextFire([leap], new Date('2026-12-07T16:00:00Z'))?.toISOString()).toBe('2028-02-29T23:00:00.000Z');
    // 15 January: a Saturday in 2028, Martin Luther King Jr. Day in 2029: the next trading one is in 2030.
    const yearly: Schedule = { ...daily, cron: '0 18 15 1 *' };
    expect(nextFire([yearly], new Date('2027-01-16T00:00:00Z'))?.toISOString()).toBe('2030-01-15T23:00:00.000Z');
    expect(nextFire([yearly, daily], new Date('2027-01-16T00:00:00Z'))?.toISOString()).toBe('2027-01-19T23:30:00.000Z'); // Tuesday (Monday the 18th: MLK day)
  });

  it('rejects an invalid cron expression with SP_ERR_SCHEDULE_INVALID', () => {
    expect(() => cronFor({ ...daily, cron: '61 25 * * *' })).toThrow(expect.objectContaining({ code: 'SP_ERR_SCHEDULE_INVALID' }));
  });

  it('never overlaps one pipeline, survives a failed run, alerts missed runs (fake clock)', async () => {
    let now = new Date('2024-07-01T22:30:10Z');
    const alerts: string[] = [];
    const starts: string[] = [];
    let finish: (() => void) | undefined;
    const deps: SchedulerDeps = {
      ws: new Workspace(ws), schedules: [daily], log: getLog('test'), now: () => now, signal: new AbortController().signal, sleep: async () => {},
      alert: async (a) => { alerts.push(a.kind); },
      startRun: (p, occ) => { starts.push(`${p}@${ny(occ)}`); return new Promise((resolve) => { finish = () => resolve({ status: 'finished' }); }); },
    };
    const state: Record<string, string> = {};
    const running = new Map<string, Promise<unknown>>();
    expect(await schedulerTick(deps, state, running)).toEqual(['daily']);
    now = new Date('2024-07-02T22:30:05Z'); // next day, the first run still going
    expect(await schedulerTick(deps, state, running)).toEqual([]);
    expect(alerts).toEqual(['overlap_skipped']);
    finish!();
    await Promise.all(running.values());
    deps.startRun = async () => { throw new Error('spawn failed'); };
    now = new Date('2024-07-08T22:31:00Z'); // down over 07-03 .. 07-05 (07-04 a holiday)
    expect(await schedulerTick(deps, state, running)).toEqual(['daily']);
    await Promise.all(running.values());
    // A run that could not start is alerted (it had no run to alert it).
    expect(alerts).toEqual(['overlap_skipped', 'missing_run', 'scheduled_run_failed']);
    expect(running.size).toBe(0);
    expect(starts).toEqual(['daily@2024-07-01']);
  });

  // Probed: the config file broken while the scheduler ran (or the lock held past --wait): each scheduled run failed at
  // its start, with no run to record or alert it, and the scheduler only logged a warning: nobody was told.
  it('a scheduled run that failed without its own alert is alerted; a failed pipeline run (which alerted) is not again', async () => {
    const got: { kind: string; message: string; details: Record<string, unknown> }[] = [];
    const deps: SchedulerDeps = {
      ws: new Workspace(ws), schedules: [daily], log: getLog('test'), now: () => new Date('2024-07-01T22:30:10Z'), signal: new AbortController().signal, sleep: async () => {},
      alert: async (a) => { got.push(a); },
      startRun: async () => ({ status: 'failed', error: { code: 'SP_ERR_CONFIG_INVALID', message: 'config: Unrecognized key: "bogus"', log_path: '/ws/pipeline/scheduler/x.log' } }),
    };
    const running = new Map<string, Promise<unknown>>();
    await schedulerTick(deps, {}, running);
    await Promise.all(running.values());
    expect(got).toEqual([{
      kind: 'scheduled_run_failed', severity: 'error', pipeline: 'daily',
      message: 'daily: the scheduled run due at 2024-07-01T22:30:00.000Z failed: SP_ERR_CONFIG_INVALID: config: Unrecognized key: "bogus"',
      details: { cron: daily.cron, occurrence: '2024-07-01T22:30:00.000Z', error_code: 'SP_ERR_CONFIG_INVALID', error: 'config: Unrecognized key: "bogus"', log_path: '/ws/pipeline/scheduler/x.log' },
    }]);
    got.length = 0;
    deps.startRun = async () => ({ status: 'failed', run_id: 'r1' });
    await schedulerTick(deps, {}, running);
    await Promise.all(running.values());
    expect(got).toEqual([]);
  });

  // Probed: a scheduler SIGKILLed during a scheduled run left the run abandoned (its process dies with the scheduler) and
  // the occurrence handled; the next scheduler said nothing of it, and nothing resumed or alerted it.
  it('keeps each scheduled run in progress in scheduler-runs.json until it ends', async () => {
    const w = new Workspace(ws);
    mkdirSync(w.pipelineDir, { recursive: true });
    let finish: (() => void) | undefined;
    const deps: SchedulerDeps = {
      ws: w, schedules: [daily], log: getLog('test'), now: () => new Date('2024-07-01T22:30:10Z'), signal: new AbortController().signal, sleep: async () => {}, alert: async () => {},
      startRun: (_p, _occ, started) => { started?.(4242); return new Promise((resolve) => { finish = () => resolve({ status: 'finished' }); }); },
    };
    const running = new Map<string, Promise<unknown>>();
    await schedulerTick(deps, {}, running, new RunsInFlight(w.schedulerRuns, deps.log));
    expect(JSON.parse(await readFile(w.schedulerRuns, 'utf8'))).toEqual([{ pipeline: 'daily', occurrence: '2024-07-01T22:30:00.000Z', started_at: '2024-07-01T22:30:10.000Z', pid: 4242 }]);
    finish!();
    await Promise.all(running.values());
    expect(JSON.parse(await readFile(w.schedulerRuns, 'utf8'))).toEqual([]);
  });

  it('a run the last scheduler left when it was killed is alerted at the next start: abandoned (with its resume) or never begun; one that ended is not', async () => {
    const w = new Workspace(ws);
    mkdirSync(w.pipelineDir, { recursive: true });
    const left = (pipeline: string, pid: number | null): LeftRun => ({ pipeline, occurrence: '2024-07-01T22:30:00.000Z', started_at: '2024-07-01T22:30:01.000Z', pid });
    writeFileSync(w.schedulerRuns, JSON.stringify([left('daily', 11), left('train', 12), left('backfill', 13)]));
    const got: { kind: string; run_id?: string; message: string; details: Record<string, unknown> }[] = [];
    const asked: (number | null)[] = [];
    const ac = new AbortController();
    ac.abort(); // the loop stops at once: only the start's check runs
    await runScheduler({
      ws: w, schedules: [daily], log: getLog('test'), now: () => new Date('2024-07-02T10:00:00Z'), signal: ac.signal, sleep: async () => {},
      startRun: async () => ({ status: 'finished' }),
      alert: async (a) => { got.push(a); },
      runOf: (l) => { asked.push(l.pid); return l.pipeline === 'daily' ? { run_id: 'r1', status: 'abandoned' } : l.pipeline === 'backfill' ? { run_id: 'r3', status: 'failed' } : null; },
    });
    expect(asked).toEqual([11, 12, 13]);
    expect(got.map((a) => [a.kind, a.run_id, a.details.reason])).toEqual([['scheduled_run_failed', 'r1', 'scheduler_killed'], ['scheduled_run_failed', undefined, 'scheduler_killed']]);
    expect(got[0]!.message).toContain('stockpipe run daily --resume r1');
    expect(got[1]!.message).toMatch(/^train: the scheduled run due at 2024-07-01T22:30:00.000Z never ran/);
    // Reported once: the next start finds nothing left.
    expect(JSON.parse(await readFile(w.schedulerRuns, 'utf8'))).toEqual([]);
    // A store that cannot be read now: still alerted (without the run), and the scheduler starts.
    writeFileSync(w.schedulerRuns, JSON.stringify([left('daily', 11)]));
    got.length = 0;
    await runScheduler({
      ws: w, schedules: [daily], log: getLog('test'), now: () => new Date('2024-07-02T10:00:00Z'), signal: ac.signal, sleep: async () => {},
      startRun: async () => ({ status: 'finished' }), alert: async (a) => { got.push(a); },
      runOf: () => { throw new Error('database is locked'); },
    });
    expect(got.map((a) => [a.kind, a.details.reason])).toEqual([['scheduled_run_failed', 'scheduler_killed']]);
    expect(got[0]!.message).toContain('stockpipe runs list --pipeline daily');
    // A damaged file is logged and read as nothing: the scheduler starts.
    writeFileSync(w.schedulerRuns, 'null');
    expect(await RunsInFlight.readLeft(w.schedulerRuns, getLog('test'))).toEqual([]);
  });

  it('the loop sleeps until the next fire time, persists its state, stops on abort', async () => {
    let now = new Date('2024-07-03T22:00:00Z');
    const ac = new AbortController();
    const started: string[] = [];
    const sleeps: number[] = [];
    await runScheduler({
      ws: new Workspace(ws), schedules: [daily], log: getLog('test'), now: () => now, signal: ac.signal, alert: async () => {},
      startRun: async (p, occ) => { started.push(`${p}@${ny(occ)}`); return { status: 'finished', run_id: 'r' }; },
      sleep: async (ms) => { sleeps.push(ms); now = new Date(now.getTime() + ms); if (started.length >= 2) ac.abort(); },
    });
    expect(started).toEqual(['daily@2024-07-03', 'daily@2024-07-05']);
    expect(sleeps.every((ms) => ms <= 60_000)).toBe(true);
    const state = JSON.parse(await readFile(join(ws, 'pipeline', 'scheduler-state.json'), 'utf8')) as Record<string, string>;
    expect(Object.values(state)).toEqual(['2024-07-05T22:30:00.000Z']);
  });

  // Probed on a full disk: the state's failed write ended the scheduler (exit 1), and with it every later run.
  it('a state that cannot be written does not stop the scheduler: its runs go on', async () => {
    let now = new Date('2024-07-03T22:00:00Z');
    const ac = new AbortController();
    const started: string[] = [];
    await runScheduler({
      ws: new Workspace(ws), schedules: [daily], log: getLog('test'), now: () => now, signal: ac.signal, alert: async () => {},
      startRun: async (p, occ) => {
        // Once the state was read: a folder where it goes, so every write of it fails.
        mkdirSync(join(new Workspace(ws).schedulerState, 'x'), { recursive: true });
        started.push(`${p}@${ny(occ)}`);
        return { status: 'finished', run_id: 'r' };
      },
      sleep: async (ms) => { now = new Date(now.getTime() + ms); if (started.length >= 2) ac.abort(); },
    });
    expect(started).toEqual(['daily@2024-07-03', 'daily@2024-07-05']);
  });

  // Probed: `null` or a value that is no time in the state file was SP_ERR_INTERNAL (invalid JSON already said this).
  it('a state file of the wrong shape is SP_ERR_CONFIG_INVALID naming it, with the way out', async () => {
    const w = new Workspace(ws);
    mkdirSync(dirname(w.schedulerState), { recursive: true });
    for (const [text, why] of [['null', 'it is no JSON object'], ['[]', 'it is no JSON object'], ['{"daily@x":"garbage"}', '"daily@x" is no time ("garbage")'], ['{"daily@x":7}', '"daily@x" is no time (7)']] as const) {
      writeFileSync(w.schedulerState, text);
      const err = await runScheduler({
        ws: w, schedules: [daily], log: getLog('test'), now: () => new Date('2024-07-03T22:00:00Z'), signal: new AbortController().signal, alert: async () => {},
        startRun: async () => ({ status: 'finished' }), sleep: async () => {},
      }).catch((e: unknown) => e);
      expect((err as StockpipeError).code, text).toBe('SP_ERR_CONFIG_INVALID');
      expect((err as StockpipeError).message).toBe(`scheduler state ${w.schedulerState} is unreadable: ${why}`);
      expect((err as StockpipeError).hint).toMatch(/starts without catch-up/);
    }
    rmSync(w.schedulerState);
  });
});
