import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigSchema } from '../core/config.js';
import { silentLog, tempWorkspace } from '../../test/helpers/workspace.js';
import { cleanBars, writePrices, type Bar } from '../../test/helpers/bars.js';
import type { Anomaly, Reference, ValidationReport } from './types.js';
import { validateTable, type ValidateResult } from './validate.js';
import { failedHint, validateWorkspace } from './workspace.js';
import { StockpipeError } from '../core/errors.js';
import { Workspace } from '../core/workspace.js';
import type { Progress } from '../core/progress.js';
import { commitQuery, priceRowsQuery } from '../../test/helpers/store.js';

const settings = ConfigSchema.parse({}).validate;

type Source = { identity: string; switchedAt: string | null } | null;
async function validate(workspace: string, opts: { referencePath?: string; setReference?: boolean; minPeriodRows?: number; source?: Source; progress?: Progress } = {}): Promise<ValidateResult> {
  const s = opts.minPeriodRows === undefined ? settings : { ...settings, drift: { ...settings.drift, min_period_rows: opts.minPeriodRows } };
  return validateTable({ ws: new Workspace(workspace, { threads: 1, memoryLimit: '256MB' }), table: 'prices', referencePath: opts.referencePath, setReference: opts.setReference ?? false, settings: s, now: () => new Date('2026-01-02T03:04:05Z'), log: silentLog, source: opts.source, progress: opts.progress });
}

const CLEAN = cleanBars({ symbols: 6, days: 300 });
let refPath = '';

/** Validates mutated bars (or a reshaped table) against the clean reference. */
async function variant(bars: Bar[], select?: string): Promise<Anomaly[]> {
  const ws = await tempWorkspace('sp-val-');
  await writePrices(ws, bars, select);
  return (await validate(ws, { referencePath: refPath })).report.anomalies;
}

const find = (as: Anomaly[], code: string, column?: string | null): Anomaly | undefined => as.find((a) => a.code === code && (column === undefined || a.column === column));
const copy = (): Bar[] => CLEAN.map((b) => ({ ...b }));
const bySymbol = (bars: Bar[], s: string): Bar[] => bars.filter((b) => b.Symbol === s);

describe('validate on crafted tables', () => {
  beforeAll(async () => {
    const ws = await tempWorkspace('sp-val-ref-');
    await writePrices(ws, CLEAN);
    const first = await validate(ws);
    refPath = first.reference_path;
    expect(first.report.reference_created).toBe(true);
    expect(first.report.anomalies).toEqual([]);
  });

  it('is silent on clean data, twice, with PSI exactly 0 and the reference versioned', async () => {
    const ws = await tempWorkspace('sp-val-');
    await writePrices(ws, CLEAN);
    // each pass is shown as it runs (a terminal's bar), and it is the report's phases, in order
    const shown: string[] = [];
    const progress: Progress = { start: (label) => shown.push(label), update() {}, stop() {} };
    const a = await validate(ws, { progress });
    expect(shown).toEqual(Object.keys(a.report.phases).map((p) => `validate: ${p}`));
    expect(shown).toContain('validate: columns');
    expect(a.report).toMatchObject({ status: 'ok', reference_version: 1, reference_created: true, anomalies: [], summary: { error: 0, warning: 0, info: 0 } });
    const b = await validate(ws);
    expect(b.report).toMatchObject({ status: 'ok', reference_version: 1, reference_created: false, anomalies: [] });
    expect(Object.keys(b.report.drift).sort()).toEqual(['Adj Close', 'Close', 'High', 'Low', 'Open', 'Volume']);
    for (const d of Object.values(b.report.drift)) expect(d.psi).toBe(0);
    const latest = JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8')) as ValidationReport;
    expect(latest.status).toBe('ok');
    const c = await validate(ws, { setReference: true });
    expect(c.report.reference_version).toBe(2);
    const ref = JSON.parse(await readFile(join(ws, 'validation', 'reference.json'), 'utf8')) as Reference;
    expect(ref.version).toBe(2);
    expect(JSON.parse(await readFile(join(ws, 'validation', 'reference-v1.json'), 'utf8'))).toMatchObject({ version: 1, rows: 1800 });
  });

  it('identical data gives no drift at any size; a fresh sample of the same process gives none either', async () => {
    for (const [symbols, days] of [[2, 40], [20, 2000]] as const) {
      const ws = await tempWorkspace('sp-val-');
      const bars = cleanBars({ symbols, days, seed: 9 });
      await writePrices(ws, bars);
      await validate(ws);
      const again = await validate(ws);
      expect(find(again.report.anomalies, 'drift')).toBeUndefined();
      for (const d of Object.values(again.report.drift)) expect(d.psi).toBe(0);
      if (symbols < 20) continue;
      // Fresh daily noise for the same symbols: volumes (stationary per symbol) raise no alert.
      // (Prices are random walks, so other noise is genuinely another distribution.)
      const other = await tempWorkspace('sp-val-');
      await writePrices(other, cleanBars({ symbols, days, seed: 9, noiseSeed: 10 }));
      const fresh = await validate(other, { referencePath: again.reference_path });
      expect(find(fresh.report.anomalies, 'drift', 'Volume')).toBeUndefined();
      expect(fresh.report.drift.Volume!.psi).toBeGreaterThan(0);
    }
  });

  it('schema: missing column and type change are errors, an extra column a warning', async () => {
    expect(find(await variant(CLEAN, 'SELECT * EXCLUDE ("Asset") FROM t'), 'missing_column', 'Asset')?.severity).toBe('error');
    expect(find(await variant(CLEAN, 'SELECT * REPLACE ("Volume"::DOUBLE AS "Volume") FROM t'), 'type_changed', 'Volume')?.severity).toBe('error');
    expect(find(await variant(CLEAN, 'SELECT *, 1 AS extra FROM t'), 'extra_column', 'extra')?.severity).toBe('warning');
    expect(find(await variant([]), 'empty_table')?.severity).toBe('error');
  });

  it('nulls, non-finite values and out-of-range values', async () => {
    const nulls = copy();
    for (let i = 0; i < nulls.length; i += 5) nulls[i]!.Close = null;
    expect(find(await variant(nulls), 'null_spike', 'Close')).toMatchObject({ severity: 'error', count: 360 });
    const nan = copy();
    nan[7]!.Close = Number.NaN;
    expect(find(await variant(nan), 'non_finite', 'Close')).toMatchObject({ severity: 'error', count: 1 });
    const one = copy();
    one[3]!.High = 1e6;
    expect(find(await variant(one), 'out_of_range', 'High')).toMatchObject({ severity: 'info', count: 1, examples: [`S0 ${one[3]!.Date}`] });
    const many = copy();
    for (let i = 0; i < 20; i++) many[i]!.Low = -1;
    expect(find(await variant(many), 'out_of_range', 'Low')).toMatchObject({ severity: 'warning', count: 20 });
  });

  it('prices and volumes: zero/negative prices, High < Low, OHLC outside the range, volume quirks', async () => {
    const b = copy();
    b[10]!.Open = 0;
    b[11]!['Adj Close'] = -0.5;
    b[12]!.High = b[12]!.Low! - 1;
    b[13]!.Open = b[13]!.High! * 2;
    b[14]!.Volume = 0;
    b[15]!.Volume = -3;
    b[16]!.Volume = 3_000_000_000;
    const as = await variant(b);
    expect(find(as, 'nonpositive_price', 'Open')).toMatchObject({ severity: 'warning', count: 1, values: { zero: 1, negative: 0 } });
    expect(find(as, 'nonpositive_price', 'Adj Close')).toMatchObject({ severity: 'warning', count: 1, values: { zero: 0, negative: 1 } });
    expect(find(as, 'high_below_low')).toMatchObject({ severity: 'warning', count: 1, examples: [`S0 ${b[12]!.Date}`] });
    expect(find(as, 'ohlc_inconsistent')).toMatchObject({ severity: 'info', count: 1 });
    expect(find(as, 'zero_volume')).toMatchObject({ severity: 'info', count: 1 });
    expect(find(as, 'negative_volume')).toMatchObject({ severity: 'error', count: 1 });
    expect(find(as, 'large_volume')).toMatchObject({ severity: 'info', count: 1 });
  });

  it('dates: duplicates, invalid dates, weekend and holiday rows, market-wide gaps', async () => {
    const dup = copy();
    dup.splice(5, 0, { ...dup[5]! });
    expect(find(await variant(dup), 'duplicate_date')).toMatchObject({ severity: 'error', count: 1, examples: ['S0'] });
    const apart = copy();
    apart.push({ ...apart[700]! }); // not adjacent: the unsorted-file path
    expect(find(await variant(apart), 'duplicate_date')).toMatchObject({ severity: 'error', count: 1, examples: [apart[700]!.Symbol] });
    const bad = copy();
    bad[3]!.Date = '2015-13-01';
    expect(find(await variant(bad), 'invalid_date')).toMatchObject({ severity: 'error', count: 1, examples: ['2015-13-01'] });
    const off = copy();
    off.push({ ...off[0]!, Date: '2015-01-03' }, { ...off[1]!, Symbol: 'S1', Date: '2015-01-19' });
    const offAs = await variant(off);
    expect(offAs.filter((a) => a.code === 'non_trading_day').map((a) => [a.severity, a.examples])).toEqual([['warning', ['2015-01-03']], ['info', ['2015-01-19']]]);
    expect(find(offAs, 'missing_trading_days')).toBeUndefined();
    const day = CLEAN[100]!.Date;
    const gap = await variant(copy().filter((b) => b.Date !== day));
    expect(find(gap, 'calendar_gap')).toMatchObject({ severity: 'info', count: 1, examples: [day] });
    expect(find(gap, 'missing_trading_days')).toBeUndefined();
  });

  it('symbols: missing trading days, stale, short history, no metadata, gone symbols', async () => {
    const s1 = bySymbol(CLEAN, 'S1').map((b) => b.Date);
    const drop = new Set(s1.slice(50, 90));
    const few = new Set([s1[10]!, s1[20]!]);
    const gaps = await variant(copy().filter((b) => !(b.Symbol === 'S1' && drop.has(b.Date)) && !(b.Symbol === 'S2' && few.has(b.Date))));
    expect(gaps.filter((a) => a.code === 'missing_trading_days').map((a) => [a.severity, a.count])).toEqual([['warning', 40], ['info', 2]]);
    expect(find(gaps, 'missing_trading_days')!.examples![0]).toBe(`S1: 40 of 300 (${s1.slice(50, 53).join(', ')})`);
    const lastDays = new Set(s1.slice(-20));
    const stale = await variant(copy().filter((b) => !(b.Symbol === 'S3' && lastDays.has(b.Date))));
    expect(find(stale, 'stale_symbol')).toMatchObject({ severity: 'warning', count: 1, examples: [`S3 (last ${s1[279]}, 20 trading days behind)`] });
    const extra = copy();
    extra.push({ ...extra[0]!, Symbol: 'ZONE', 'Security Name': null });
    const one = await variant(extra);
    expect(find(one, 'short_history')).toMatchObject({ severity: 'info', count: 1, examples: ['ZONE (1)'] });
    expect(find(one, 'missing_metadata')).toMatchObject({ severity: 'info', count: 1, examples: ['ZONE'] });
    expect(find(one, 'null_spike', 'Security Name')?.severity).toBe('warning');
    const gone = await variant(copy().filter((b) => b.Symbol !== 'S5'));
    expect(find(gone, 'missing_symbols')).toMatchObject({ severity: 'warning', count: 1, examples: ['S5'] });
    expect(find(gone, 'rows_decreased')).toMatchObject({ severity: 'warning', count: 300 });
  });

  it('drift: a 10x volume shift is flagged by PSI over the threshold; prices are not', async () => {
    const as = await variant(copy().map((b) => ({ ...b, Volume: b.Volume! * 10 })));
    const d = find(as, 'drift', 'Volume');
    expect(d?.severity).toBe('warning');
    expect(d!.values!.psi).toBeGreaterThan(d!.values!.threshold!);
    expect(find(as, 'drift', 'Close')).toBeUndefined();
  });

  it('PSI equals a hand-computed value on the reference deciles', async () => {
    // Reference volumes 1..100: exact deciles 10.9, 20.8, …, 90.1 (quantile_cont), 10 per bin.
    // New volumes 1..50 twice: 20 in each of the five lower bins, none in the upper five.
    const ws = await tempWorkspace('sp-val-');
    const ref = cleanBars({ symbols: 1, days: 100 }).map((b, i) => ({ ...b, Volume: i + 1 }));
    await writePrices(ws, ref);
    const r = await validate(ws);
    const saved = JSON.parse(await readFile(r.reference_path, 'utf8')) as Reference;
    expect(saved.drift.columns.Volume!.edges.map((e) => Math.round(e * 10) / 10)).toEqual([10.9, 20.8, 30.7, 40.6, 50.5, 60.4, 70.3, 80.2, 90.1]);
    expect(saved.drift.columns.Volume!.counts).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 10]);
    await writePrices(ws, ref.map((b, i) => ({ ...b, Volume: (i % 50) + 1 })));
    const hand = 5 * (0.2 - 0.1) * Math.log(0.2 / 0.1) + 5 * (1e-4 - 0.1) * Math.log(1e-4 / 0.1);
    const again = await validate(ws);
    expect(again.report.drift.Volume!.psi).toBeCloseTo(hand, 12);
    expect(find(again.report.anomalies, 'drift', 'Volume')).toMatchObject({ severity: 'warning' });
  });

  it('drift of the new rows: the days after the reference against its last month', async () => {
    const all = cleanBars({ symbols: 6, days: 360, seed: 3 });
    const cut = [...new Set(all.map((b) => b.Date))].sort()[299]!;
    const ws = await tempWorkspace('sp-val-');
    await writePrices(ws, all.filter((b) => b.Date <= cut));
    await validate(ws, { minPeriodRows: 50 });
    await writePrices(ws, all);
    const same = await validate(ws, { minPeriodRows: 50 });
    expect(same.report.drift_new_rows).toMatchObject({ since: cut, rows: 360 });
    expect(same.report.drift_new_rows!.columns.Volume!.psi).toBeGreaterThan(0);
    expect(find(same.report.anomalies, 'drift')).toBeUndefined();
    await writePrices(ws, all.map((b) => (b.Date > cut ? { ...b, Volume: b.Volume! * 3 } : b)));
    const shifted = await validate(ws, { minPeriodRows: 50 });
    expect(find(shifted.report.anomalies, 'drift', 'Volume')).toMatchObject({ severity: 'warning', detail: expect.stringContaining(`360 rows after ${cut}`) });
    expect(find(shifted.report.anomalies, 'drift', 'Close')).toBeUndefined();
  });
});

describe('the reference across a source switch', () => {
  const made: string[] = [];
  afterAll(async () => {
    for (const ws of made) await rm(ws, { recursive: true, force: true });
  });
  // name, source when the reference was inferred, source now, explicit --reference, expected [version, source_changed]
  const cases: [string, Source, Source, boolean, [number, boolean]][] = [
    ['same source: reused', { identity: 'dir:/a', switchedAt: null }, { identity: 'dir:/a', switchedAt: null }, false, [1, false]],
    ['switched to another source: a new version, said so', { identity: 'dir:/a', switchedAt: null }, { identity: 'synthetic', switchedAt: '2026-01-02T04:00:00Z' }, false, [2, true]],
    ['no source then, a first source now: reused', null, { identity: 'dir:/a', switchedAt: null }, false, [1, false]],
    ['no source then, a switch after the reference: a new version', null, { identity: 'dir:/b', switchedAt: '2026-01-02T04:00:00Z' }, false, [2, true]],
    ['no source then, a switch before the reference: reused', null, { identity: 'dir:/b', switchedAt: '2026-01-01T00:00:00Z' }, false, [1, false]],
    ['switched, but --reference names a file: that file', { identity: 'dir:/a', switchedAt: null }, { identity: 'synthetic', switchedAt: '2026-01-02T04:00:00Z' }, true, [1, false]],
  ];
  it.each(cases)('%s', async (_name, then, now, explicit, [version, renewed]) => {
    const ws = await tempWorkspace('sp-val-src-');
    made.push(ws);
    await writePrices(ws, cleanBars({ symbols: 3, days: 60 }));
    const first = await validate(ws, { source: then });
    expect(JSON.parse(await readFile(first.reference_path, 'utf8'))).toMatchObject({ data_source: then?.identity ?? null });
    const r = await validate(ws, { source: now, referencePath: explicit ? first.reference_path : undefined });
    expect([r.report.reference_version, find(r.report.anomalies, 'source_changed')?.severity ?? null]).toEqual([version, renewed ? 'info' : null]);
    expect(r.report.reference_created).toBe(renewed);
  });
});

describe('incremental checks and the reference', () => {
  it('checks whole against another reference of the same version number (another workspace\'s v1), and whole against its own after that', async () => {
    const ws = await tempWorkspace('sp-val-inc-');
    const other = await tempWorkspace('sp-val-inc-other-');
    await commitQuery(ws, 'prices', priceRowsQuery(['AA', 'BB', 'CC'], 200));
    await commitQuery(other, 'prices', priceRowsQuery(['AA', 'BB', 'CC'], 200, 500));
    const own = await validate(ws);
    const foreign = (await validate(other)).reference_path; // v1 too, of other prices
    expect(own.report.reference_version).toBe(1);
    const restate = (bump: number): Promise<unknown> => commitQuery(ws, 'prices', priceRowsQuery(['AA', 'BB', 'CC'], 200, bump), { restate: new Map([['AA', '2018-06-01']]) });
    await restate(1);
    // Only the restated rows (≈ 50) were checked against the other reference: its out-of-range prices went unseen.
    const against = await validate(ws, { referencePath: foreign });
    expect([against.report.mode, against.report.rows_checked]).toEqual(['full', 600]);
    expect(find(against.report.anomalies, 'out_of_range', 'Adj Close')).toBeDefined();
    await restate(2);
    // The rows the last report checked were checked against the other reference, not this one: whole again.
    const back = await validate(ws);
    expect([back.report.mode, back.report.rows_checked, back.report.reference_version]).toEqual(['full', 600, 1]);
    await restate(3);
    const next = await validate(ws);
    expect([next.report.mode, next.report.since_snapshot]).toEqual(['incremental', back.report.snapshot]);
  });
});

describe('SP_ERR_VALIDATION_FAILED\'s hint', () => {
  it('hints --set-reference only for anomalies measured against the reference: a zero price fails again after it', async () => {
    const ws = await tempWorkspace('sp-val-hint-');
    const bars = copy();
    bars[5]!.Open = 0;
    await writePrices(ws, bars);
    const run = (setReference: boolean): Promise<unknown> => validateWorkspace({
      ws: new Workspace(ws, { threads: 1, memoryLimit: '256MB' }), settings: { ...settings, fail_on: 'warning' }, setReference, now: () => new Date('2026-01-02T03:04:05Z'), log: silentLog,
    }).then(() => null, (e: unknown) => e);
    for (const setReference of [false, true]) {
      const err = await run(setReference);
      expect(err).toBeInstanceOf(StockpipeError);
      expect((err as StockpipeError).code).toBe('SP_ERR_VALIDATION_FAILED');
      // It hinted `stockpipe validate --set-reference`, after which the same check failed the same way (here, the second pass).
      expect((err as StockpipeError).hint).toBe('nonpositive_price is found in the data whatever the reference (`stockpipe validate --set-reference` would find it again): fix the data, or give it another severity in the config ("validate": {"severity": {"nonpositive_price": "info"}}), or fail on errors only (validate.fail_on "error", --fail-on error). Read the named report for the rows.');
    }
    // Reference-relative ones keep the code's own hint (accept with --set-reference); a mix names both.
    expect(failedHint([{ code: 'drift', severity: 'warning' }, { code: 'out_of_range', severity: 'warning' }])).toEqual({});
    expect(failedHint([{ code: 'duplicate_date', severity: 'error' }, { code: 'missing_column', severity: 'error' }]).hint).toBe('duplicate_date is found in the data whatever the reference (`stockpipe validate --set-reference` would find it again): fix the data, or give it another severity in the config ("validate": {"severity": {"duplicate_date": "info"}}). If the change in missing_column is intended, accept it with `stockpipe validate --set-reference`. Read the named report for the rows.');
  });
});
