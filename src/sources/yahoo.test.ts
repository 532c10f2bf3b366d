/** @module sources/yahoo.test
 * The yahoo source against a local chart API on 127.0.0.1 answering in the recorded shape of
 * query1.finance.yahoo.com/v8/finance/chart (fixtures written here). Never reaches the internet. */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fetchContext, silentLog, tempWorkspace } from '../../test/helpers/workspace.js';
import { toDayNumber, tradingDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import { ingest } from '../etl/ingest.js';
import type { Manifest } from './types.js';
import { yahooSource, type YahooSourceOptions } from './yahoo.js';
import { Workspace } from '../core/workspace.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface Bar { date: string; o: number | null; h: number | null; l: number | null; c: number | null; a: number | null; v: number | null }

/** A fake chart API: per-symbol bars (2020), filtered by period1/period2 like Yahoo's. */
class FakeYahoo {
  url = '';
  seen: { symbol: string; period1: number; period2: number; query: URLSearchParams }[] = [];
  queue: Handler[] = [];
  bars = new Map<string, { type: string; name: string; bars: Bar[] }>();
  private server: Server | null = null;

  constructor() {
    const days = tradingDays('2020-01-02', '2020-03-31');
    const mk = (seed: number): Bar[] => days.map((date, i) => {
      const c = Math.round((100 * seed + i * 0.37 + Math.sin(i) * 2) * 100) / 100;
      return { date, o: c - 0.5, h: c + 1.25, l: c - 1.5, c, a: Math.round(c * 0.98 * 1e6) / 1e6, v: 1_000_000 * seed + i * 1234 };
    });
    const aapl = mk(3);
    aapl[5] = { ...aapl[5]!, o: null, h: null, l: null, c: null, a: null, v: null }; // Yahoo's null day
    this.bars.set('AAPL', { type: 'EQUITY', name: 'Apple Inc.', bars: aapl });
    this.bars.set('SPY', { type: 'ETF', name: 'SPDR S&P 500 ETF Trust', bars: mk(3.2) });
  }
  async start(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
  private handle(req: IncomingMessage, res: ServerResponse): void {
    const u = new URL(req.url ?? '', 'http://x');
    const m = /^\/v8\/finance\/chart\/([^/]+)$/.exec(u.pathname);
    const symbol = decodeURIComponent(m?.[1] ?? '');
    this.seen.push({ symbol, period1: Number(u.searchParams.get('period1')), period2: Number(u.searchParams.get('period2')), query: u.searchParams });
    const q = this.queue.shift();
    if (q) return q(req, res);
    const s = this.bars.get(symbol);
    if (!m || !s) return json(res, 404, { chart: { result: null, error: { code: 'Not Found', description: 'No data found, symbol may be delisted' } } });
    const p1 = Number(u.searchParams.get('period1'));
    const p2 = Number(u.searchParams.get('period2'));
    const rows = s.bars.filter((b) => { const t = toDayNumber(b.date) * 86400 + 14.5 * 3600; return t >= p1 && t < p2; });
    const meta = { currency: 'USD', symbol, exchangeName: 'NMS', instrumentType: s.type, longName: s.name, gmtoffset: -18000, timezone: 'EST', exchangeTimezoneName: 'America/New_York', dataGranularity: '1d', range: '' };
    const result = rows.length === 0
      ? { meta, indicators: { quote: [{}], adjclose: [{}] } } // Yahoo's answer for an empty range
      : {
          meta,
          timestamp: rows.map((b) => toDayNumber(b.date) * 86400 + 14.5 * 3600),
          events: {},
          indicators: { quote: [{ open: rows.map((b) => b.o), high: rows.map((b) => b.h), low: rows.map((b) => b.l), close: rows.map((b) => b.c), volume: rows.map((b) => b.v) }], adjclose: [{ adjclose: rows.map((b) => b.a) }] },
        };
    json(res, 200, { chart: { result: [result], error: null } });
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

let fake: FakeYahoo;
let ws: string;
let clock: number;
let sleeps: number[];
beforeEach(async () => {
  fake = new FakeYahoo();
  await fake.start();
  ws = await tempWorkspace('sp-yahoo-');
  clock = Date.parse('2026-01-02T00:00:00Z');
  sleeps = [];
});
afterEach(async () => {
  await fake.stop();
  await rm(ws, { recursive: true, force: true });
});

function source(over: Partial<YahooSourceOptions> = {}): ReturnType<typeof yahooSource> {
  return yahooSource({
    baseUrl: fake.url, symbols: ['AAPL', 'spy'], start: '2020-01-01', end: '2020-01-31', requestsPerSecond: 2,
    sleep: async (ms) => { sleeps.push(ms); clock += ms; }, nowMs: () => clock, random: () => 0.5, ...over,
  });
}
const data = (...p: string[]): string => join(ws, 'raw', 'yahoo', 'data', ...p);
const sha = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
async function expectCode(p: Promise<unknown>, code: string): Promise<StockpipeError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(StockpipeError);
  expect((err as StockpipeError).code).toBe(code);
  return err as StockpipeError;
}
async function listRaw(): Promise<string[]> {
  return readdir(join(ws, 'raw', 'yahoo')).catch(() => []);
}

describe('yahoo source', () => {
  it('lands the Kaggle layout (stocks/etfs by instrumentType, metadata, manifest with sha256); ingest reads it and drops the null day', async () => {
    const r = await source().fetch(fetchContext(ws));
    expect(r.cached).toBe(false);
    expect(fake.seen.map((s) => s.symbol)).toEqual(['AAPL', 'SPY']);
    const q = fake.seen[0]!.query;
    expect([q.get('interval'), q.get('events'), q.get('includeAdjustedClose')]).toEqual(['1d', 'div,split', 'true']);
    expect(fake.seen[0]!.period1).toBe(toDayNumber('2020-01-01') * 86400);
    expect(fake.seen[0]!.period2).toBe(toDayNumber('2020-02-01') * 86400);
    const aapl = (await readFile(data('stocks', 'AAPL.csv'), 'utf8')).split('\n');
    const jan = tradingDays('2020-01-02', '2020-01-31');
    expect(aapl[0]).toBe('Date,Open,High,Low,Close,Adj Close,Volume');
    expect(aapl.length).toBe(jan.length + 2); // header + rows + final newline
    expect(aapl[1]).toBe(`2020-01-02,${fake.bars.get('AAPL')!.bars[0]!.o},${fake.bars.get('AAPL')!.bars[0]!.h},${fake.bars.get('AAPL')!.bars[0]!.l},300,294,3000000`);
    expect(aapl[6]).toBe(`${jan[5]},,,,,,`);
    expect(await readdir(data('etfs'))).toEqual(['SPY.csv']);
    expect(await readFile(data('symbols_valid_meta.csv'), 'utf8')).toBe('Symbol,Security Name,ETF\nAAPL,Apple Inc.,N\nSPY,SPDR S&P 500 ETF Trust,Y\n');
    const m = JSON.parse(await readFile(join(ws, 'raw', 'yahoo', 'manifest.json'), 'utf8')) as Manifest;
    expect(m.files.map((f) => f.path)).toEqual(['etfs/SPY.csv', 'stocks/AAPL.csv', 'symbols_valid_meta.csv']);
    for (const f of m.files) expect(f.sha256).toBe(sha(await readFile(data(f.path))));
    expect(m.files[1]!.rows).toBe(jan.length);
    const rep = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '256MB' }), manifest: m, strict: false, force: false, log: silentLog, progress: fetchContext(ws).progress });
    expect(rep.rows_read).toBe(2 * jan.length);
    expect(rep.rows_kept).toBe(2 * jan.length - 1);
    expect(rep.rows_dropped).toMatchObject({ null_values: 1 });
    expect(rep.symbols_without_metadata).toBe(0);
  });

  it('does not store the bar of a session still open in New York (its live bar): a fetch after the close gets the final one', async () => {
    const last = async (): Promise<string> => (await readFile(data('stocks', 'AAPL.csv'), 'utf8')).trim().split('\n').pop()!.split(',')[0]!;
    // 2020-01-31 11:00 in New York: the session is open, so the newest final bar is the day before.
    await source({ end: '2020-01-31' }).fetch(fetchContext(ws, { now: () => new Date('2020-01-31T16:00:00Z') }));
    expect(await last()).toBe('2020-01-30');
    expect(fake.seen[0]!.period2).toBe(toDayNumber('2020-01-31') * 86400);
    // 17:00 there: closed; the incremental fetch asks for the 31st and appends its bar.
    fake.seen = [];
    await source({ end: '2020-01-31' }).fetch(fetchContext(ws, { now: () => new Date('2020-01-31T22:00:00Z') }));
    expect(fake.seen[0]!.period1).toBe(toDayNumber('2020-01-31') * 86400);
    expect(await last()).toBe('2020-01-31');
  });

  it('is incremental: asks only for days after the newest stored, appends, and leaves the manifest untouched when nothing is new', async () => {
    await source().fetch(fetchContext(ws));
    const before = await readFile(data('stocks', 'AAPL.csv'), 'utf8');
    fake.seen = [];
    const r2 = await source({ end: '2020-02-14' }).fetch(fetchContext(ws));
    expect(r2.cached).toBe(false);
    expect(fake.seen.map((s) => s.period1)).toEqual([toDayNumber('2020-02-01') * 86400, toDayNumber('2020-02-01') * 86400]);
    const after = await readFile(data('stocks', 'AAPL.csv'), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(after.slice(before.length).split('\n').filter(Boolean)).toHaveLength(tradingDays('2020-02-03', '2020-02-14').length);
    const manifestText = await readFile(join(ws, 'raw', 'yahoo', 'manifest.json'), 'utf8');
    expect((JSON.parse(manifestText) as Manifest).files.find((f) => f.path === 'stocks/AAPL.csv')!.sha256).toBe(sha(after));
    // Same range again: the stored days reach --end, so nothing is requested and nothing changes.
    fake.seen = [];
    const r3 = await source({ end: '2020-02-14' }).fetch(fetchContext(ws, { now: () => new Date('2026-02-01T00:00:00Z') }));
    expect(r3.cached).toBe(true);
    expect(fake.seen).toEqual([]);
    // A weekend past the newest day: one request each, empty answers, manifest byte-identical.
    const r4 = await source({ end: '2020-02-16' }).fetch(fetchContext(ws, { now: () => new Date('2026-02-02T00:00:00Z') }));
    expect(fake.seen).toHaveLength(2);
    expect(r4.cached).toBe(true);
    expect(await readFile(join(ws, 'raw', 'yahoo', 'manifest.json'), 'utf8')).toBe(manifestText);
  });

  it('an empty range for a new symbol stores a header-only file', async () => {
    const r = await source({ symbols: ['AAPL'], start: '2020-01-04', end: '2020-01-05' }).fetch(fetchContext(ws));
    expect(await readFile(data('stocks', 'AAPL.csv'), 'utf8')).toBe('Date,Open,High,Low,Close,Adj Close,Volume\n');
    expect(r.manifest.files.find((f) => f.path === 'stocks/AAPL.csv')!.rows).toBe(0);
  });

  it('a 404 symbol fails the whole fetch with SP_ERR_YAHOO_NOT_FOUND naming it; nothing is stored, a previous fetch stays as it was', async () => {
    const err = await expectCode(source({ symbols: ['AAPL', 'NOPE', 'SPY'] }).fetch(fetchContext(ws)), 'SP_ERR_YAHOO_NOT_FOUND');
    expect(err.message).toContain("'NOPE'");
    expect(await listRaw()).toEqual([]);
    await source().fetch(fetchContext(ws));
    const manifest = await readFile(join(ws, 'raw', 'yahoo', 'manifest.json'), 'utf8');
    const aapl = await readFile(data('stocks', 'AAPL.csv'), 'utf8');
    await expectCode(source({ symbols: ['AAPL', 'NOPE'], end: '2020-02-28' }).fetch(fetchContext(ws)), 'SP_ERR_YAHOO_NOT_FOUND');
    expect(await readFile(join(ws, 'raw', 'yahoo', 'manifest.json'), 'utf8')).toBe(manifest);
    expect(await readFile(data('stocks', 'AAPL.csv'), 'utf8')).toBe(aapl);
    expect((await listRaw()).sort()).toEqual(['data', 'manifest.json']);
  });

  it('429 with Retry-After, then success: waits as told (injected sleep) and stores the data', async () => {
    fake.queue.push((_req, res) => json(res, 429, { finance: { error: 'Too Many Requests' } }, { 'retry-after': '7' }));
    fake.queue.push((_req, res) => json(res, 503, {}));
    const r = await source({ symbols: ['AAPL'] }).fetch(fetchContext(ws));
    expect(r.cached).toBe(false);
    expect(fake.seen).toHaveLength(3);
    expect(sleeps).toContain(7000);
    expect(sleeps).toContain(Math.round((2 + 0.5) * 1000)); // second failure: 2^1 + jitter
    expect((await readFile(data('stocks', 'AAPL.csv'), 'utf8')).split('\n').length).toBeGreaterThan(10);
  });

  it('exhausted retries → SP_ERR_YAHOO_UNAVAILABLE, nothing stored', async () => {
    for (let i = 0; i < 4; i++) fake.queue.push((_req, res) => json(res, 500, {}));
    await expectCode(source({ symbols: ['AAPL'], maxRetries: 3 }).fetch(fetchContext(ws)), 'SP_ERR_YAHOO_UNAVAILABLE');
    expect(fake.seen).toHaveLength(4);
    expect(await listRaw()).toEqual([]);
  });

  it('malformed JSON → SP_ERR_YAHOO_MALFORMED naming the symbol and the URL, nothing stored', async () => {
    fake.queue.push((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"chart": {"result": [{"meta": '));
    const err = await expectCode(source().fetch(fetchContext(ws)), 'SP_ERR_YAHOO_MALFORMED');
    expect(err.message).toContain('AAPL');
    expect(err.message).toContain(`${fake.url}/v8/finance/chart/AAPL?period1=`);
    expect(await listRaw()).toEqual([]);
    fake.queue.push((_req, res) => json(res, 200, { chart: { result: [{ meta: { symbol: 'AAPL' }, timestamp: [1, 2], indicators: { quote: [{ close: [1] }] } }], error: null } }));
    await expectCode(source().fetch(fetchContext(ws)), 'SP_ERR_YAHOO_MALFORMED');
  });

  it('rate limit: request starts are spaced 1/rps apart on the injected clock', async () => {
    await source({ symbols: ['AAPL', 'SPY'], requestsPerSecond: 4 }).fetch(fetchContext(ws));
    expect(sleeps).toEqual([250]);
  });
});
