/** @module monitor/run.test
 * One monitoring pass against a real prices table (snapshots committed here through store/write) and a real registry
 * with forecasts inserted directly: only matured forecasts are joined, nothing is scored twice,
 * the numbers equal a naive recomputation, and thresholds/drift decide alerts and retrain_needed. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commitQuery } from '../../test/helpers/store.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLog, tempWorkspace } from '../../test/helpers/workspace.js';
import { nextTradingDay, tradingDays } from '../core/calendar.js';
import { MonitorConfigSchema, type MonitorConfig } from '../core/config.js';
import { openDuckDB, type DuckDB } from '../db/duckdb.js';
import { listAlerts } from '../registry/alerts.js';
import { monitorSeries } from '../registry/monitoring.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { runMonitor } from './run.js';
import { monitorPass } from './pass.js';
import { monitoringBody } from '../serve/monitoring.js';
import { deliverRecorded } from '../pipeline/run-alerts.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Workspace } from '../core/workspace.js';

interface Bar { sym: string; date: string; adj: number; vol: number }

let ws: string;
let reg: Registry;
let db: DuckDB;
beforeEach(async () => {
  ws = await tempWorkspace('sp-monitor-');
  reg = openRegistry(ws, { now: () => new Date('2026-01-05T00:00:00Z') });
  db = await openDuckDB({ tempDir: join(ws, 'tmp'), memoryLimit: '256MB', threads: 1 });
});
afterEach(async () => {
  db.close();
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

/** A new snapshot of the prices table holding exactly `bars`. */
async function writePrices(bars: Bar[]): Promise<void> {
  const values = bars.map((b) => `('${b.sym}', '${b.date}', ${b.adj}, ${b.vol}::BIGINT)`).join(',');
  await commitQuery(ws, 'prices', `SELECT * FROM (VALUES ${values}) t("Symbol", "Date", "Adj Close", "Volume")`);
}

function bars(symbols: readonly string[], dates: readonly string[], f: (s: number, i: number) => { adj: number; vol: number }): Bar[] {
  return symbols.flatMap((sym, s) => dates.map((date, i) => ({ sym, date, ...f(s, i) })));
}

function insertForecast(model: string, symbol: string, target: string, p: { adj: number; vol: number; lastAdj: number; lastVol: number }): void {
  reg.run('test forecast', `INSERT INTO forecasts (model_id, symbol, asof_date, target_date, adj_close, volume, last_adj_close, last_volume, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, [model, symbol, target, target, p.adj, p.vol, p.lastAdj, p.lastVol, '2026-01-01T00:00:00Z']);
}

/** A registered day-ahead model with a model.json (enough for the alias). */
async function registerForecastModel(id: string): Promise<void> {
  const dir = join(ws, 'models', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), '{}');
  reg.registerModel({ model_id: id, kind: 'forecast', path: dir, metrics: { forecast: { mae_adj_close: 1 } }, test_slice: null });
}

const cfg = (over: Partial<MonitorConfig> = {}): MonitorConfig => MonitorConfigSchema.parse({ window_days: 5, min_rows: 1, max_psi: 100, ...over });
const pass = (thresholds: MonitorConfig, modelId?: string) => runMonitor({ ws: new Workspace(ws), reg, conn: db.connection, thresholds, modelId, log: silentLog });

const SYMS = ['AAA', 'BBB', 'CCC'];
const DATES = tradingDays('2024-01-02', 60);
const price = (s: number, i: number) => ({ adj: 100 + s * 10 + i * 0.1 + (i % 3) * 0.7, vol: 1_000_000 * (1 + s) + ((i * 7919) % 1000) * 1000 });

/** Forecasts for the last 10 dates (matured) and 2 days after the data (not yet). */
function forecastAll(model: string, adjFactor: number, volFactor: number): void {
  const targets = [...DATES.slice(-10), nextTradingDay(DATES[59]!), nextTradingDay(nextTradingDay(DATES[59]!))];
  SYMS.forEach((sym, s) => {
    for (const target of targets) {
      const i = DATES.indexOf(target);
      const a = price(s, i >= 0 ? i : 60 + targets.indexOf(target) - 10);
      const prev = price(s, (i >= 0 ? i : 59) - 1);
      insertForecast(model, sym, target, { adj: a.adj * adjFactor, vol: a.vol * volFactor, lastAdj: prev.adj, lastVol: prev.vol });
    }
  });
}

/** The naive twin: per-day means over the matured rows. */
function naiveDay(model: string, date: string, rows: Bar[]): Record<string, number> {
  const fc = reg.all<{ symbol: string; adj_close: number; volume: number; last_adj_close: number; last_volume: number }>('t', 'SELECT * FROM forecasts WHERE model_id = ? AND target_date = ?', [model, date]);
  const acc: Record<string, number[]> = { mae_adj_close: [], mape_adj_close: [], mae_volume: [], mape_volume: [], mae_adj_close_persistence: [], mae_volume_persistence: [] };
  for (const f of fc) {
    const a = rows.find((b) => b.sym === f.symbol && b.date === date);
    if (!a) continue;
    acc.mae_adj_close!.push(Math.abs(f.adj_close - a.adj));
    acc.mape_adj_close!.push(Math.abs(f.adj_close - a.adj) / Math.abs(a.adj));
    acc.mae_volume!.push(Math.abs(f.volume - a.vol));
    acc.mape_volume!.push(Math.abs(f.volume - a.vol) / Math.abs(a.vol));
    acc.mae_adj_close_persistence!.push(Math.abs(f.last_adj_close - a.adj));
    acc.mae_volume_persistence!.push(Math.abs(f.last_volume - a.vol));
  }
  return Object.fromEntries(Object.entries(acc).map(([k, xs]) => [k, xs.reduce((s, x) => s + x, 0) / xs.length]));
}

describe('monitor', () => {
  it('joins only matured predictions, equals a naive recomputation, never scores twice, and picks up late actuals', async () => {
    const rows = bars(SYMS, DATES, price);
    await writePrices(rows);
    forecastAll('m-good', 1.01, 1.1);
    insertForecast('m-good', 'ZZZ', DATES[55]!, { adj: 1, vol: 1, lastAdj: 1, lastVol: 1 }); // a symbol prices never has
    const r1 = await pass(cfg());
    expect(r1).toMatchObject({ scored: 30, matured: 30, pending: 7 });
    expect(r1.models[0]).toMatchObject({ model_id: 'm-good', forecasts: 37, matured: 30, pending: 7, scored_now: 30 });
    const series = monitorSeries(reg, { model: 'm-good' })[0]!.series;
    expect(series.map((s) => s.date)).toEqual(DATES.slice(-10));
    for (const s of series) {
      expect(s.n).toBe(3);
      const want = naiveDay('m-good', s.date, rows);
      for (const [k, v] of Object.entries(want)) expect(s[k as keyof typeof s] as number).toBeCloseTo(v, 9);
    }
    const perSym = monitorSeries(reg, { model: 'm-good', symbol: 'BBB' })[0]!.series;
    expect(perSym).toHaveLength(10);
    expect(perSym[0]!.mape_adj_close).toBeCloseTo(0.01, 12);
    const count = (): number => reg.get<{ n: number }>('t', "SELECT COUNT(*) AS n FROM monitor_points WHERE model_id <> ''")!.n;
    expect(count()).toBe(30 * 6 + 10 * 6);
    // Again with nothing new: nothing scored, nothing rewritten.
    const r2 = await pass(cfg());
    expect(r2).toMatchObject({ scored: 0, matured: 30, pending: 7, alerts: [], retrain_needed: false });
    expect(count()).toBe(240);
    // The next day's bars arrive: exactly those 3 forecasts mature.
    const next = nextTradingDay(DATES[59]!);
    const more = [...rows, ...bars(SYMS, [next], (s) => price(s, 60))];
    await writePrices(more);
    const r3 = await pass(cfg());
    expect(r3).toMatchObject({ scored: 3, matured: 33, pending: 4 });
    const last = monitorSeries(reg, { model: 'm-good', from: next })[0]!.series;
    expect(last.map((s) => [s.date, s.n])).toEqual([[next, 3]]);
    expect(last[0]!.mape_adj_close).toBeCloseTo(naiveDay('m-good', next, more).mape_adj_close!, 12);
  });

  it('the pass\'s alerts say how their delivery went (--json said delivered: null, never tried, when the webhook had answered 500)', async () => {
    await writePrices(bars(SYMS, DATES, price));
    forecastAll('m-bad', 1.2, 1.1);
    const hook = createServer((_req, res) => void res.writeHead(500).end());
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const channels = { webhookUrl: `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`, onSuccess: false, timeoutMs: 2000 };
      const w = new Workspace(ws);
      const data = await monitorPass({ ws: w, thresholds: cfg({ max_mape_adj_close: 0.15 }), now: () => new Date('2026-01-05T00:00:00Z'), log: silentLog, deliver: (a) => deliverRecorded(w, a, channels, silentLog) });
      expect(data.alerts.map((a) => [a.kind, a.delivered])).toEqual([['error_threshold', { webhook: 'HTTP 500' }]]);
      expect(listAlerts(reg).map((a) => a.delivered)).toEqual([{ webhook: 'HTTP 500' }]);
    } finally {
      hook.close();
    }
  });

  it('GET /monitoring\'s from..to picks alerts by their data window, as the series, not by when they were recorded', async () => {
    await writePrices(bars(SYMS, DATES, price));
    forecastAll('m-bad', 1.2, 1.1);
    const past = await pass(cfg({ max_mape_adj_close: 0.15 }));
    const [alert] = past.alerts;
    expect(alert).toMatchObject({ kind: 'error_threshold', details: { from: DATES[55], to: DATES[59] } });
    const body = (from: string, to: string, model?: string) => monitoringBody(reg, { from, to, model }, cfg()).alerts.map((a) => a.id);
    // Recorded on 2026-01-05 (the registry's clock) about days of 2024: a range of those days showed none.
    expect(body(DATES[50]!, DATES[59]!)).toEqual([alert!.id]);
    expect(body(DATES[0]!, DATES[40]!)).toEqual([]);
    expect(body('2026-01-01', '2026-12-31')).toEqual([]);
    await registerForecastModel('m-other');
    expect(body(DATES[50]!, DATES[59]!, 'm-other')).toEqual([]); // another model's error alert
    expect(body(DATES[50]!, DATES[59]!, 'm-bad')).toEqual([alert!.id]);
  });

  it('retrain triggers past the error threshold and not below it; the alert is recorded once', async () => {
    await writePrices(bars(SYMS, DATES, price));
    forecastAll('m-bad', 1.2, 1.1); // 20 % error on Adj Close
    await registerForecastModel('m-bad');
    reg.setAlias('forecast_champion', 'm-bad', 'manual');
    const below = await pass(cfg({ max_mape_adj_close: 0.25 }));
    expect(below.checks.find((c) => c.metric === 'mape_adj_close')).toMatchObject({ model_id: 'm-bad', status: 'ok', n: 15 });
    expect(below.checks.find((c) => c.metric === 'mape_adj_close')!.value).toBeCloseTo(0.2, 12);
    expect(below.retrain_needed).toBe(false);
    expect(below.alerts).toEqual([]);
    expect(listAlerts(reg)).toEqual([]);
    // New forecasts mature (a second model on the same data) with a tighter threshold: alert + retrain.
    reg.run('t', 'DELETE FROM monitor_points');
    const past = await pass(cfg({ max_mape_adj_close: 0.15 }));
    expect(past.retrain_needed).toBe(true);
    expect(past.alerts).toHaveLength(1);
    expect(past.alerts[0]).toMatchObject({ kind: 'error_threshold', severity: 'error' });
    expect(listAlerts(reg).map((a) => a.kind)).toEqual(['error_threshold']);
    // Configurable: the alert is still recorded, but no retrain is asked for.
    reg.run('t', 'DELETE FROM monitor_points');
    const noRetrain = await pass(cfg({ max_mape_adj_close: 0.15, retrain_on_alert: false }));
    expect(noRetrain.alerts).toHaveLength(1);
    expect(noRetrain.retrain_needed).toBe(false);
    // Too few rows in the window: not judged.
    reg.run('t', 'DELETE FROM monitor_points');
    const few = await pass(cfg({ max_mape_adj_close: 0.15, min_rows: 1000 }));
    expect(few.checks.every((c) => c.status === 'too_few_rows')).toBe(true);
    expect(few.retrain_needed).toBe(false);
  });

  it('input drift: PSI against the window before; a shifted volume alerts (once), identical inputs do not', async () => {
    const syms = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`);
    const stable = (s: number) => ({ adj: 50 + s, vol: 10_000 * (s + 1) ** 2 });
    await writePrices(bars(syms, DATES, stable));
    const calm = await pass(cfg({ max_psi: 0.25, window_days: 10, reference_days: 40 }));
    expect(calm.drift.map((d) => d.column)).toEqual(['log_volume', 'return_1d']);
    expect(calm.drift.every((d) => d.status === 'ok' && d.psi! < 1e-9)).toBe(true);
    expect(calm.drift[0]).toMatchObject({ n: 400, reference_n: 1600, to: DATES[59], from: DATES[50], reference_to: DATES[49], reference_from: DATES[10] });
    expect(calm.retrain_needed).toBe(false);
    // A new day arrives and the last 10 days' volumes are 50 times larger.
    await writePrices(bars(syms, tradingDays(DATES[0]!, 61), (s, i) => ({ ...stable(s), vol: stable(s).vol * (i >= 51 ? 50 : 1) })));
    const shifted = await pass(cfg({ max_psi: 0.25, window_days: 10, reference_days: 40 }));
    expect(shifted.drift.find((d) => d.column === 'log_volume')).toMatchObject({ status: 'exceeded' });
    expect(shifted.alerts.map((a) => a.kind)).toEqual(['drift']);
    expect(shifted.retrain_needed).toBe(true);
    const again = await pass(cfg({ max_psi: 0.25, window_days: 10, reference_days: 40 }));
    expect(again.alerts).toEqual([]);
    // Nothing new to alert on, but the window is still past the threshold: a retrain is still needed.
    expect(again.drift.find((d) => d.column === 'log_volume')).toMatchObject({ status: 'exceeded', new: false });
    expect(again.retrain_needed).toBe(true);
    // The same day measured against another reference window is a new measurement: it alerts once.
    const otherRef = await pass(cfg({ max_psi: 0.25, window_days: 10, reference_days: 30 }));
    const measured = otherRef.drift.find((d) => d.column === 'log_volume')!;
    expect(measured.status).toBe('exceeded');
    expect(measured.reference_from).not.toBe(shifted.drift.find((d) => d.column === 'log_volume')!.reference_from);
    expect(otherRef.alerts.map((a) => [a.kind, a.details?.reference_from])).toEqual([['drift', measured.reference_from]]);
    expect((await pass(cfg({ max_psi: 0.25, window_days: 10, reference_days: 30 }))).alerts).toEqual([]);
    // A lower threshold that a column now passes alerts for it; the same threshold again does not.
    const lower = await pass(cfg({ max_psi: 0.0001, window_days: 10, reference_days: 30 }));
    expect(lower.alerts.map((a) => a.details?.column).sort()).toEqual(['log_volume', 'return_1d'].filter((c) => lower.drift.find((d) => d.column === c)?.status === 'exceeded'));
    expect(lower.alerts.length).toBeGreaterThan(0);
    expect((await pass(cfg({ max_psi: 0.0001, window_days: 10, reference_days: 30 }))).alerts).toEqual([]);
  });

  it("a second pass with nothing new still reports the champion's error past its threshold (no second alert); a replaced model's does not count", async () => {
    await writePrices(bars(SYMS, DATES, price));
    forecastAll('m-bad', 1.2, 1.1);
    await registerForecastModel('m-bad');
    reg.setAlias('forecast_champion', 'm-bad', 'manual');
    const first = await pass(cfg({ max_mape_adj_close: 0.15 }));
    expect(first.alerts).toHaveLength(1);
    expect(first.retrain_needed).toBe(true);
    // The pipeline's own pass after a manual one: nothing matured since, the state is unchanged.
    const second = await pass(cfg({ max_mape_adj_close: 0.15 }));
    expect(second.scored).toBe(0);
    expect(second.alerts).toEqual([]);
    expect(second.checks.find((c) => c.metric === 'mape_adj_close')).toMatchObject({ model_id: 'm-bad', status: 'exceeded', new: false });
    expect(second.retrain_needed).toBe(true);
    expect(listAlerts(reg)).toHaveLength(1);
    // Within the threshold, or the alias moved on: no retrain from the old window.
    expect((await pass(cfg({ max_mape_adj_close: 0.25 }))).retrain_needed).toBe(false);
    await registerForecastModel('m-new');
    reg.setAlias('forecast_champion', 'm-new', 'manual');
    expect((await pass(cfg({ max_mape_adj_close: 0.15 }))).retrain_needed).toBe(false);
    // New forecasts of the retired model mature: the alert is recorded, and still no retrain.
    reg.run('t', "DELETE FROM monitor_points WHERE model_id = 'm-bad'");
    const retired = await pass(cfg({ max_mape_adj_close: 0.15 }));
    expect([retired.alerts.length, retired.checks.find((c) => c.model_id === 'm-bad' && c.metric === 'mape_adj_close')?.new, retired.retrain_needed]).toEqual([1, true, false]);
  });

  it('the window is the last window_days trading days up to the newest scored day, not the last window_days scored days', async () => {
    await writePrices(bars(SYMS, DATES, price));
    for (const i of [5, 59]) SYMS.forEach((sym, s) => {
      const a = price(s, i);
      const prev = price(s, i - 1);
      insertForecast('m-gap', sym, DATES[i]!, { adj: a.adj * (i === 5 ? 2 : 1.01), vol: a.vol, lastAdj: prev.adj, lastVol: prev.vol });
    });
    const r = await pass(cfg({ max_mape_adj_close: 0.5 }));
    // The old day (100 % error), scored once, stays out of the recent window (it was in it, and alerted).
    expect(r.models[0]!.window).toEqual({ from: DATES[59], to: DATES[59], days: 1 });
    expect(r.models[0]!.mape_adj_close).toBeCloseTo(0.01, 9);
    expect(r.alerts).toEqual([]);
  });

  it("drift_reference 'training': the reference window ends where the forecast champion's training did", async () => {
    const syms = Array.from({ length: 40 }, (_, i) => `S${String(i).padStart(2, '0')}`);
    await writePrices(bars(syms, DATES, (s) => ({ adj: 50 + s, vol: 10_000 * (s + 1) ** 2 })));
    // Probed: without a forecast champion the window before was measured without a word; the result says so.
    const none = await pass(cfg({ window_days: 10, reference_days: 15, drift_reference: 'training' }));
    expect(none.drift[0]).toMatchObject({ reference_to: DATES[49] });
    expect(none.drift_reference).toEqual({ configured: 'training', used: 'previous', model_id: null, fallback: 'no forecast champion yet (forecast_champion names no model)' });
    const dir = join(ws, 'models', 'forecast-x');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'model.json'), '{}');
    await writeFile(join(dir, 'metrics.json'), JSON.stringify({ split: { kind: 'time', test_from: DATES[55], valid_from: DATES[52] } }));
    reg.registerModel({ model_id: 'forecast-x', kind: 'forecast', path: dir, metrics: { forecast: { mae_adj_close: 1 } }, test_slice: null });
    reg.setAlias('forecast_champion', 'forecast-x', 'manual');
    const inside = await pass(cfg({ window_days: 10, reference_days: 15, drift_reference: 'training' }));
    expect(inside.drift[0]).toMatchObject({ reference_to: DATES[49] });
    expect(inside.drift_reference).toEqual({ configured: 'training', used: 'previous', model_id: null, fallback: `the forecast champion forecast-x trained up to ${DATES[51]}, inside the recent window (from ${DATES[50]})` });
    await writeFile(join(dir, 'metrics.json'), JSON.stringify({ split: { kind: 'time', test_from: DATES[40], valid_from: DATES[30] } }));
    const t = await pass(cfg({ window_days: 10, reference_days: 15, drift_reference: 'training' }));
    expect(t.drift[0]).toMatchObject({ reference_to: DATES[29], reference_from: DATES[15], from: DATES[50], to: DATES[59] });
    expect(t.drift_reference).toEqual({ configured: 'training', used: 'training', model_id: 'forecast-x', fallback: null });
    const p = await pass(cfg({ window_days: 10, reference_days: 15, drift_reference: 'previous' }));
    expect(p.drift[0]).toMatchObject({ reference_to: DATES[49], reference_from: DATES[35] });
    expect(p.drift_reference).toEqual({ configured: 'previous', used: 'previous', model_id: null, fallback: null });
    // Probed: a metrics.json damaged outside stockpipe was SP_ERR_INTERNAL ("Unexpected end of JSON input", "Cannot read
    // properties of null"); it is the champion's format error naming the file. Gone or without a split: the window before.
    const metrics = join(dir, 'metrics.json');
    for (const [text, why] of [['{"split": ', 'is not valid JSON'], ['null', 'holds no JSON object'], ['{"split": {"valid_from": 7}}', 'has no valid split']] as const) {
      await writeFile(metrics, text);
      const err = await pass(cfg({ drift_reference: 'training' })).catch((e: unknown) => e);
      expect(err, text).toMatchObject({ code: 'SP_ERR_MODEL_FORMAT' });
      expect((err as Error).message).toContain(`${metrics} ${why}`);
    }
    await rm(metrics);
    await mkdir(metrics);
    expect(await pass(cfg({ drift_reference: 'training' })).catch((e: unknown) => e)).toMatchObject({ code: 'SP_ERR_MODEL_FORMAT', message: expect.stringContaining('not a regular file (a folder)') });
    await rm(metrics, { recursive: true });
    const gone = await pass(cfg({ window_days: 10, reference_days: 15, drift_reference: 'training' }));
    expect(gone.drift[0]).toMatchObject({ reference_to: DATES[49] });
    expect(gone.drift_reference).toMatchObject({ used: 'previous', fallback: 'the forecast champion forecast-x records no training split (metrics.json)' });
    await writeFile(metrics, '{"split": null}');
    expect((await pass(cfg({ window_days: 10, reference_days: 15, drift_reference: 'training' }))).drift[0]).toMatchObject({ reference_to: DATES[49] });
  });
});
