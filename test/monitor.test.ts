/** `stockpipe monitor` through the built CLI on a tiny synthetic workspace (forecast rows inserted
 * directly), and GET /monitoring through Fastify's inject: its shape, filters, empty workspace. */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nextTradingDay } from '../src/core/calendar.js';
import { MonitorConfigSchema } from '../src/core/config.js';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { runCli as sp } from './helpers/cli.js';
import { silentLog, sql, tempWorkspace } from './helpers/workspace.js';
import { viewSource } from './helpers/store.js';

let base: string;
let dates: string[];
let nSymbols = 0;
const MODEL = 'fc-test-1';
const CONFIG = { monitor: { min_rows: 1, window_days: 5, max_psi: 10 } };

/** beforeAll: a fetched and ingested workspace with forecast rows of MODEL inserted directly
 * (5 matured and 1 pending per symbol), never monitored. Each test monitors its own copy. */
beforeAll(async () => {
  base = await tempWorkspace('monitor-base');
  for (const step of [['fetch', '--symbols', '5', '--years', '1'], ['ingest']]) {
    const r = sp([...step, '-w', base, '--json']);
    expect(r.code, r.stderr).toBe(0);
  }
  const ws = base;
  const prices = viewSource(ws, 'prices');
  const rows = (await sql(`SELECT "Symbol" AS s, "Date"::VARCHAR AS d, "Adj Close" AS a, "Volume"::DOUBLE AS v FROM ${prices}
    WHERE "Symbol" IN (SELECT "Symbol" FROM ${prices} GROUP BY 1 HAVING count(*) > 10 ORDER BY 1 LIMIT 4) ORDER BY 1, 2`)) as { s: string; d: string; a: number; v: number }[];
  const bySym = new Map<string, typeof rows>();
  for (const r of rows) bySym.set(r.s, [...(bySym.get(r.s) ?? []), r]);
  const k = bySym.size; // the synthetic quirk symbols (one-row, header-only) are left out
  expect(k).toBeGreaterThanOrEqual(2);
  const targets = new Set<string>();
  const reg = openRegistry(ws);
  try {
    for (const [sym, rs] of bySym) {
      const tail = rs.slice(-6);
      for (let j = 1; j < tail.length; j++) {
        const prev = tail[j - 1]!;
        const cur = tail[j]!;
        targets.add(cur.d);
        reg.run('t', 'INSERT INTO forecasts (model_id, symbol, asof_date, target_date, adj_close, volume, last_adj_close, last_volume, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
          [MODEL, sym, prev.d, cur.d, cur.a * 1.02, cur.v * 0.9, prev.a, prev.v, '2026-01-01T00:00:00Z']);
      }
      const last = tail[tail.length - 1]!;
      reg.run('t', 'INSERT INTO forecasts (model_id, symbol, asof_date, target_date, adj_close, volume, last_adj_close, last_volume, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [MODEL, sym, last.d, nextTradingDay(last.d), last.a, last.v, last.a, last.v, '2026-01-01T00:00:00Z']);
    }
  } finally {
    reg.close();
  }
  dates = [...targets].sort();
  nSymbols = k;
}, 120_000);

async function seeded(): Promise<{ ws: string; cfgFile: string }> {
  const ws = await tempWorkspace('monitor');
  await cp(base, ws, { recursive: true });
  const cfgFile = join(ws, 'stockpipe.config.json');
  await writeFile(cfgFile, JSON.stringify(CONFIG));
  return { ws, cfgFile };
}

describe('stockpipe monitor (CLI) and GET /monitoring', () => {
  it('scores matured forecasts, leaves the immature ones pending, is idempotent', async () => {
    const { ws, cfgFile } = await seeded();
    const k = nSymbols;
    const targets = new Set(dates);
    const r = sp(['monitor', '--json', '-w', ws, '-c', cfgFile]);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json.data as Record<string, unknown> & { models: Record<string, unknown>[]; drift: { column: string }[]; thresholds: Record<string, unknown> };
    expect(d).toMatchObject({ matured: 5 * k, scored: 5 * k, pending: k, retrain_needed: false, alerts: [] });
    expect(d.points).toBe(5 * k * 6 + targets.size * 6 + 2); // per symbol-day, per day, two drift columns (no features table)
    expect(d.models[0]).toMatchObject({ model_id: MODEL, forecasts: 6 * k, matured: 5 * k, pending: k });
    expect(d.models[0]!.mape_adj_close as number).toBeCloseTo(0.02, 9);
    expect(d.drift.map((x) => x.column)).toEqual(['log_volume', 'return_1d']);
    expect(d.thresholds).toMatchObject({ min_rows: 1, window_days: 5, max_psi: 10, retrain_on_alert: true }); // 15 recent rows on 10 PSI bins: large by chance
    expect(d.drift.every((x) => (x as unknown as { status: string }).status === 'ok')).toBe(true);
    expect(typeof d.seconds).toBe('number');
    const again = sp(['monitor', '--json', '-w', ws, '-c', cfgFile]);
    expect(again.json.data).toMatchObject({ matured: 5 * k, scored: 0, pending: k });
    const human = sp(['monitor', '-w', ws, '-c', cfgFile, '--model', MODEL]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain(MODEL);
    // A model no forecast and no registry entry names is refused (it was a success that wrote drift points).
    const unknown = sp(['monitor', '--json', '-w', ws, '-c', cfgFile, '--model', 'nosuch']);
    expect([unknown.code, unknown.json.error?.code]).toEqual([1, 'SP_ERR_MODEL_NOT_FOUND']);
  }, 120_000);

  it('GET /monitoring serves the series, drift, alerts and thresholds; filters; 400 on a bad date', async () => {
    const { ws, cfgFile } = await seeded();
    const m = sp(['monitor', '--json', '-w', ws, '-c', cfgFile]);
    expect(m.code, m.stderr).toBe(0);
    const thresholds = MonitorConfigSchema.parse({ min_rows: 1, window_days: 5, max_psi: 10 });
    const { app } = await buildApp({ workspace: ws, holder: new ChampionHolder(ws, silentLog), accessLog: null, version: 'test', monitor: thresholds });
    try {
      const r = await app.inject('/monitoring');
      expect(r.statusCode).toBe(200);
      const body = JSON.parse(r.body) as { models: { model_id: string; series: Record<string, unknown>[] }[]; drift: Record<string, unknown>[]; alerts: unknown[]; thresholds: Record<string, unknown> };
      expect(body.models.map((m) => m.model_id)).toEqual([MODEL]);
      expect(body.models[0]!.series.map((x) => x.date)).toEqual(dates);
      expect(Object.keys(body.models[0]!.series[0]!).sort()).toEqual(['date', 'mae_adj_close', 'mae_adj_close_persistence', 'mae_volume', 'mae_volume_persistence', 'mape_adj_close', 'mape_volume', 'n'].sort());
      expect(body.models[0]!.series[body.models[0]!.series.length - 1]!.n).toBeLessThanOrEqual(nSymbols);
      expect(body.drift.map((x) => Object.keys(x).sort())).toEqual([['column', 'date', 'n', 'psi'], ['column', 'date', 'n', 'psi']]);
      expect(body.alerts).toEqual([]);
      expect(body.thresholds).toEqual(thresholds);
      const last = dates[dates.length - 1]!;
      const one = JSON.parse((await app.inject(`/monitoring?from=${last}&to=${last}`)).body) as typeof body;
      expect(one.models[0]!.series.map((s) => s.date)).toEqual([last]);
      const other = JSON.parse((await app.inject(`/monitoring?model=${MODEL}&symbol=NOPE`)).body) as typeof body;
      expect(other.models).toEqual([]);
      const none = await app.inject('/monitoring?model=nope');
      expect(none.statusCode).toBe(404);
      expect((JSON.parse(none.body) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'SP_ERR_MODEL_NOT_FOUND', message: expect.stringContaining('nope') });
      const bad = await app.inject('/monitoring?from=yesterday');
      expect(bad.statusCode).toBe(400);
      expect((JSON.parse(bad.body) as { error: { code: string } }).error.code).toBe('SP_ERR_BAD_REQUEST');
      expect((await app.inject({ method: 'POST', url: '/monitoring' })).statusCode).toBe(405);
      const doc = JSON.parse((await app.inject('/openapi.json')).body) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/monitoring');
    } finally {
      await app.close();
    }
    const empty = await tempWorkspace('monitor-empty');
    const e = await buildApp({ workspace: empty, holder: new ChampionHolder(empty, silentLog), accessLog: null, version: 'test' });
    try {
      const r = await e.app.inject('/monitoring');
      expect(r.statusCode).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ models: [], drift: [], alerts: [], thresholds: { max_psi: 0.25 } });
    } finally {
      await e.app.close();
    }
  });
});
