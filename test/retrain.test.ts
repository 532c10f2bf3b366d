/** The daily pipeline's retrain-if-needed through the built CLI on a tiny synthetic workspace:
 * the cooldown counts from the newest data any retrain used (a re-run of an earlier day neither
 * retrains on older data nor moves that anchor back), and a run started at retrain-if-needed does
 * not judge its day by another day's monitor result. Found by probing (2026-12-05). */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tradingDays } from '../src/core/calendar.js';
import { runCli as sp } from './helpers/cli.js';
import { sql, tempWorkspace } from './helpers/workspace.js';
import { viewSource } from './helpers/store.js';

let ws: string;
let cfg: string;
let days: string[];

interface Task { task: string; status: string; log_path: string | null; summary: { retrained?: boolean; data_date?: string; reason?: string; retrain_needed?: boolean } | null }

/** `run daily --date D` (extra flags after): its tasks. */
function dailyTasks(date: string, ...extra: string[]): Task[] {
  const r = sp<{ run_id: string }>(['run', 'daily', '--date', date, ...extra, '-w', ws, '-c', cfg, '--json', '--threads', '2']);
  expect(r.code, r.stderr).toBe(0);
  return sp<{ tasks: Task[] }>(['runs', 'show', r.json.data!.run_id, '-w', ws, '--json']).json.data!.tasks;
}

/** `run daily --date D` (extra flags after), and its retrain-if-needed task. */
function daily(date: string, ...extra: string[]): Task {
  return dailyTasks(date, ...extra).find((t) => t.task === 'retrain-if-needed')!;
}

beforeAll(async () => {
  ws = await tempWorkspace('retrain');
  cfg = join(ws, 'tight.config.json');
  // Every volume error is past 0.1 %: a retrain is needed on every judged day; drift never alerts.
  await writeFile(cfg, JSON.stringify({ monitor: { max_mape_volume: 0.001, max_psi: 100, min_rows: 1, retrain_cooldown_days: 3 } }));
  for (const step of [['fetch', '--symbols', '6', '--years', '2'], ['ingest']]) {
    const r = sp([...step, '-w', ws, '--json']);
    expect(r.code, r.stderr).toBe(0);
  }
  const last = ((await sql(`SELECT max("Date")::VARCHAR AS d FROM ${viewSource(ws, 'prices')}`)) as { d: string }[])[0]!.d;
  days = lastDays(last, 12);
}, 180_000);

/** The `n` trading days up to `last`, oldest first. */
function lastDays(last: string, n: number): string[] {
  return tradingDays(`${Number(last.slice(0, 4)) - 1}-01-02`, last).slice(-n);
}

describe('retrain-if-needed', () => {
  it('the cooldown counts from the newest data a retrain used; an earlier day re-run does not retrain or move it back; --from retrain-if-needed does not judge by another day', () => {
    const d = (k: number): string => days[days.length - 1 - k]!;
    const first = dailyTasks(d(9));
    expect(first.find((t) => t.task === 'retrain-if-needed')!.summary).toMatchObject({ retrained: false }); // the first model: nothing matured yet
    // Tested on its data's last monitor.train_test_days (63) trading days, fitted on every day before them.
    expect(readFileSync(first.find((t) => t.task === 'forecast-model')!.log_path!, 'utf8')).toContain(`$ stockpipe train --task forecast --promote-if-better --test-days 63 --date ${d(9)}`);
    expect(daily(d(8)).summary).toMatchObject({ retrained: true, data_date: d(8), promotion: { outcome: 'promoted', compared: expect.stringMatching(/^the same training procedure as forecast-/) } });
    // The retrain took forecast_champion (the same procedure on newer data): it has no matured forecast yet.
    expect(daily(d(7)).summary).toMatchObject({ retrained: false, reason: 'monitored error and drift within thresholds' });
    expect(daily(d(6)).summary).toMatchObject({ retrained: false, reason: expect.stringContaining('fewer than 3 trading days') });
    expect(daily(d(4)).summary).toMatchObject({ retrained: true, data_date: d(4) });
    // An earlier day again: its data is older than the last retrain's.
    const again = daily(d(8), '--force');
    expect(again.summary?.retrained).toBe(false);
    // The anchor stays d(4): one trading day later is still in the cooldown (it was d(8) before: a retrain).
    expect(daily(d(3)).summary).toMatchObject({ retrained: false, reason: expect.stringContaining(`data up to ${d(4)}`) });
    // Started at the retrain step for another day: the monitor result at hand is d(3)'s.
    expect(daily(d(1), '--from', 'retrain-if-needed').summary).toMatchObject({ retrained: false, reason: expect.stringContaining(`is for ${d(3)}, not ${d(1)}`) });
    // A run without --date judges all the data: a dated monitor result (d(3)'s) is not its own either.
    const undated = sp<{ run_id: string }>(['run', 'daily', '--from', 'retrain-if-needed', '-w', ws, '-c', cfg, '--json', '--threads', '2']);
    expect(undated.code, undated.stderr).toBe(0);
    const undatedTasks = sp<{ tasks: Task[] }>(['runs', 'show', undated.json.data!.run_id, '-w', ws, '--json']).json.data!.tasks;
    expect(undatedTasks.find((t) => t.task === 'retrain-if-needed')!.summary).toMatchObject({ retrained: false, reason: expect.stringContaining(`is for ${d(3)}, not all the data`) });
  }, 300_000);

  it('a young workspace (at most 5 × monitor.train_test_days trading days) keeps train\'s default cut: its first model has rows to fit', async () => {
    const young = await tempWorkspace('retrain-young');
    for (const step of [['fetch', '--symbols', '4', '--years', '1'], ['ingest']]) {
      const r = sp([...step, '-w', young, '--json']);
      expect(r.code, r.stderr).toBe(0);
    }
    const first = ((await sql(`SELECT min("Date")::VARCHAR AS d FROM ${viewSource(young, 'prices')}`)) as { d: string }[])[0]!.d;
    const date = tradingDays(first, 120).at(-1)!; // 120 trading days of data: 63 of them would leave no row to fit
    const r = sp<{ run_id: string }>(['run', 'daily', '--date', date, '-w', young, '--json', '--threads', '2']);
    expect(r.code, r.stderr).toBe(0);
    const tasks = sp<{ tasks: Task[] }>(['runs', 'show', r.json.data!.run_id, '-w', young, '--json']).json.data!.tasks;
    const log = readFileSync(tasks.find((t) => t.task === 'forecast-model')!.log_path!, 'utf8');
    expect(log).toContain(`$ stockpipe train --task forecast --promote-if-better --date ${date}`);
  }, 180_000);
});
