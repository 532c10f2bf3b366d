/** Logical dates and backfills through the built CLI (docs/pipelines.md): `--date` is checked against
 * the NYSE calendar and today; forecast, monitor and train --task forecast read only rows dated up
 * to it (rows after it changed → the same output); `backfill daily` runs each trading day once, in
 * order, and a second call skips them all; `runs list --json` shows the logical dates. beforeAll
 * builds one small workspace with a forecast champion; each test works in its own copy. */
import { cp } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { nextTradingDay, previousTradingDay } from '../src/core/calendar.js';
import { currentSnapshot } from '../src/registry/catalog.js';
import { openRegistry } from '../src/registry/store.js';
import { runCliAsync } from './helpers/cli.js';
import { commitQuery, viewSource } from './helpers/store.js';
import { sql, tempWorkspace } from './helpers/workspace.js';

/** Runs a command on `ws` (without blocking: independent commands of a test run side by side). */
async function sp(ws: string, args: string[]) {
  const r = await runCliAsync([...args, '-w', ws, '--json']);
  const why = r.code === null ? `killed by ${r.signal ?? '?'}\n` : '';
  return { code: r.code, json: r.json, stderr: `${args.join(' ')}: ${why}${r.stderr}` };
}
/** The CLI's --json document and exit code for `args` (no workspace added). */
const cliJson = async (args: string[]) => {
  const r = await runCliAsync(args);
  return { code: r.code, json: r.json };
};

/** A Wednesday inside the synthetic data (2010-01-04 .. 2011-12-30). */
const D = '2011-06-15';
let base = '';

beforeAll(async () => {
  base = await tempWorkspace('backfill-base');
  for (const step of [['fetch', '--symbols', '8', '--years', '2'], ['ingest'], ['features', '--extended'], ['train', '--task', 'forecast', '--trees', '10', '--promote-if-better']]) {
    const r = await sp(base, step);
    expect(r.code, r.stderr).toBe(0);
  }
}, 180_000);

async function copy(): Promise<string> {
  const w = await tempWorkspace('backfill');
  await cp(base, w, { recursive: true });
  return w;
}

/** Commits a snapshot of both tables with every row dated after `day` changed (Volume ×7, Adj Close ×1.5). */
async function changeRowsAfter(ws: string, day: string): Promise<void> {
  for (const table of ['prices', 'features'] as const) {
    const src = viewSource(ws, table);
    const cols = (await sql(`DESCRIBE SELECT * EXCLUDE (_snapshot_id) FROM ${src}`)).map((r) => String(r.column_name));
    const select = cols.map((c) => (c === 'Volume' ? `CASE WHEN "Date" > '${day}' THEN "Volume" * 7 ELSE "Volume" END AS "Volume"` : c === 'Adj Close' ? `CASE WHEN "Date" > '${day}' THEN "Adj Close" * 1.5 ELSE "Adj Close" END AS "Adj Close"` : `"${c}"`)).join(', ');
    const syms = (await sql(`SELECT DISTINCT "Symbol" AS s FROM ${src} WHERE "Date" > '${day}'`)).map((r) => String(r.s));
    const firstAfter = await sql(`SELECT "Symbol" AS s, min("Date") AS d FROM ${src} WHERE "Date" > '${day}' GROUP BY 1`);
    // A features build records how it built (its window, which forecast and evaluate compare with the model's): the restated snapshot keeps it.
    const reg = openRegistry(ws, { readonly: true });
    const source = table === 'features' ? (currentSnapshot(reg, table)?.source ?? undefined) : undefined;
    reg.close();
    await commitQuery(ws, table, `SELECT ${select} FROM ${src}`, { restate: new Map(firstAfter.map((r) => [String(r.s), String(r.d)])), source });
    expect(syms.length).toBeGreaterThan(0);
  }
  const changed = await sql(`SELECT count(*)::INTEGER AS n FROM ${viewSource(ws, 'prices')} WHERE "Date" > '${day}'`);
  expect(Number(changed[0]!.n)).toBeGreaterThan(100);
}

function storedForecasts(ws: string): unknown[] {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return reg.all('t', 'SELECT model_id, symbol, asof_date, target_date, adj_close, volume, last_adj_close, last_volume FROM forecasts ORDER BY model_id, symbol, target_date');
  } finally {
    reg.close();
  }
}

describe('--date', () => {
  it('refuses a non-trading day (naming its neighbours), a future date, and --date on a volume training', async () => {
    const ws = base; // refused before anything is read or written: the commands run side by side
    const [sat, holiday, future, monitor, train, backfillSat, backfillFuture] = await Promise.all(
      [
        ['run', 'daily', '--date', '2011-06-18'],
        ['forecast', '--date', '2011-07-04'],
        ['run', 'daily', '--date', '2999-01-04'],
        ['monitor', '--date', '2999-01-04'],
        ['train', '--date', D],
        ['backfill', 'daily', '--from', '2011-06-18', '--to', '2011-06-19'],
        ['backfill', 'daily', '--from', '2011-06-15', '--to', '2999-01-04'],
      ].map((args) => cliJson([...args, '-w', ws, '--json'])),
    );
    expect([sat!.code, sat!.json.error?.code]).toEqual([2, 'SP_ERR_NOT_TRADING_DAY']);
    expect(sat!.json.error?.hint).toContain('2011-06-17');
    expect(sat!.json.error?.hint).toContain('2011-06-20');
    expect(holiday!.json.error?.code).toBe('SP_ERR_NOT_TRADING_DAY');
    expect([future!.code, future!.json.error?.code]).toEqual([2, 'SP_ERR_DATE_IN_FUTURE']);
    expect(monitor!.json.error?.code).toBe('SP_ERR_DATE_IN_FUTURE');
    expect(train!.json.error?.code).toBe('SP_ERR_USAGE');
    expect(backfillSat!.json.error?.code).toBe('SP_ERR_NOT_TRADING_DAY');
    expect(backfillFuture!.json.error?.code).toBe('SP_ERR_DATE_IN_FUTURE');
  });

  it("forecast --date D: each symbol's last bar up to D, for the next trading day; rows after D never change it", async () => {
    const [a, b] = await Promise.all([copy(), copy()]);
    await changeRowsAfter(b, D);
    const [ra, rb] = await Promise.all([sp(a, ['forecast', '--date', D]), sp(b, ['forecast', '--date', D])]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.json.data).toMatchObject({ logical_date: D, asof_date_max: D });
    expect(ra.json.data.target_dates).toContain(nextTradingDay(D));
    expect(ra.json.data.target_dates.every((t: string) => t <= nextTradingDay(D))).toBe(true);
    const { run_id: _a, seconds: _s, ...da } = ra.json.data;
    const { run_id: _b, seconds: _t, ...db } = rb.json.data;
    expect(db).toEqual(da);
    expect(storedForecasts(b)).toEqual(storedForecasts(a));
    // Without --date the changed rows are seen.
    expect((await sp(b, ['forecast'])).json.data.asof_date_max > D).toBe(true);
    // Before the first bar (the data starts in 2010): nothing to forecast is a failure, nothing written (it was an empty success).
    const runsBefore = (await sp(a, ['runs', 'list', '--kind', 'all'])).json.data.runs.length;
    const stored = storedForecasts(a);
    const early = await sp(a, ['forecast', '--date', '2009-06-15']);
    expect([early.code, early.json.error?.code]).toEqual([1, 'SP_ERR_FEATURES_MISSING']);
    expect(early.json.error?.message).toContain('2009-06-15');
    expect(storedForecasts(a)).toEqual(stored);
    // The command's own run is recorded, failed, as every writing command's failure is.
    const runs = (await sp(a, ['runs', 'list', '--kind', 'all'])).json.data.runs as { kind: string; status: string }[];
    expect(runs.length).toBe(runsBefore + 1);
    expect(runs[0]).toMatchObject({ kind: 'forecast', status: 'failed' });
  });

  it('monitor --date D: matured up to D, windows end at D; rows after D never change it', async () => {
    const [a, b] = await Promise.all([copy(), copy()]);
    await changeRowsAfter(b, D);
    const days = [previousTradingDay(previousTradingDay(previousTradingDay(D))), previousTradingDay(previousTradingDay(D)), previousTradingDay(D), D];
    // The two workspaces side by side; in each, the days in order, then monitor.
    const out: Record<string, any>[] = await Promise.all(
      [a, b].map(async (ws) => {
        for (const day of days) expect((await sp(ws, ['forecast', '--date', day])).code).toBe(0);
        const m = await sp(ws, ['monitor', '--date', D]);
        expect(m.code, m.stderr).toBe(0);
        const { seconds: _s, alerts, ...rest } = m.json.data;
        return { ...rest, alerts: (alerts as { kind: string; message: string }[]).map((x) => [x.kind, x.message]) };
      }),
    );
    expect(out[0]).toMatchObject({ logical_date: D });
    expect(out[0]!.matured).toBeGreaterThan(0);
    expect(out[0]!.pending).toBeGreaterThan(0); // the forecasts for the day after D
    expect(out[0]!.models[0].window.to).toBe(D);
    expect(out[0]!.drift.length).toBeGreaterThan(0);
    for (const d of out[0]!.drift) expect(d.to).toBe(D);
    expect(out[1]).toEqual(out[0]);
  });

  it('train --task forecast --date D: trained on rows up to D only; rows after D never change the model', async () => {
    const [a, b] = await Promise.all([copy(), copy()]);
    await changeRowsAfter(b, D);
    const args = ['train', '--task', 'forecast', '--trees', '10', '--date', D];
    const [ra, rb] = await Promise.all([sp(a, args), sp(b, args)]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    expect(ra.json.data.test.date_max <= D).toBe(true);
    for (const k of ['rows_train', 'rows_valid', 'rows_test', 'metrics', 'skill', 'test']) expect(rb.json.data[k], k).toEqual(ra.json.data[k]);
  });
});

describe('stockpipe backfill', () => {
  it('--dry-run lists the trading days; a backfill runs each in order with its date, a second call skips them all; runs list shows the dates', async () => {
    const ws = await copy();
    const range = ['--from', '2011-06-11', '--to', D]; // a Saturday .. Wednesday: 3 trading days
    const dry = await sp(ws, ['backfill', 'daily', ...range, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json.data.days.map((d: { date: string; action: string }) => [d.date, d.action])).toEqual([
      ['2011-06-13', 'run'],
      ['2011-06-14', 'run'],
      ['2011-06-15', 'run'],
    ]);

    const first = await sp(ws, ['backfill', 'daily', ...range]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json.data).toMatchObject({ pipeline: 'daily', from: '2011-06-11', to: D, status: 'finished' });
    expect(first.json.data.days.map((d: { date: string; status: string }) => [d.date, d.status])).toEqual([
      ['2011-06-13', 'succeeded'],
      ['2011-06-14', 'succeeded'],
      ['2011-06-15', 'succeeded'],
    ]);
    const id = first.json.data.backfill_id as string;

    const list = await sp(ws, ['runs', 'list']);
    expect(list.json.data.total).toBe(3);
    const runs = list.json.data.runs as { run_id: string; logical_date: string; backfill_id: string; started_at: string }[];
    expect(runs.map((r) => r.logical_date).reverse()).toEqual(['2011-06-13', '2011-06-14', '2011-06-15']); // newest first: run in date order
    expect(runs.every((r) => r.backfill_id === id)).toBe(true);
    // Each day's forecast ran for its own date; the data tasks ran once.
    const day3 = Object.fromEntries(((await sp(ws, ['runs', 'show', runs[0]!.run_id])).json.data.tasks as { task: string; status: string }[]).map((t) => [t.task, t.status]));
    expect(day3).toMatchObject({ ingest: 'cached', validate: 'cached', features: 'cached', forecast: 'succeeded', monitor: 'succeeded' });
    expect(storedForecasts(ws).filter((f) => (f as { asof_date: string }).asof_date === '2011-06-14').length).toBeGreaterThan(0);

    const again = await sp(ws, ['backfill', 'daily', ...range]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.data.days.map((d: { status: string }) => d.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(again.json.data.days.map((d: { run_id: string }) => d.run_id)).toEqual(first.json.data.days.map((d: { run_id: string }) => d.run_id));
    const [all, ofBackfill] = await Promise.all([sp(ws, ['runs', 'list']), sp(ws, ['runs', 'list', '--backfill', id])]);
    expect(all.json.data.total).toBe(3); // no run started: no task ran
    expect(ofBackfill.json.data.total).toBe(3);
  }, 180_000);
});
