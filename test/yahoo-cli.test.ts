/** `stockpipe fetch --source yahoo --symbols A,B` through the built CLI against a local chart API on
 * 127.0.0.1 (base URL from the flag and from STOCKPIPE_YAHOO_BASE_URL), then ingest. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toDayNumber, tradingDays } from '../src/core/calendar.js';
import { runCliAsync } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';


// Async: this file's HTTP server answers the CLI meanwhile.
async function sp(args: string[], env: Record<string, string> = {}) {
  const r = await runCliAsync(args, { env });
  return { code: r.code, json: r.json };
}

let server: Server;
let base = '';
const seen: string[] = [];
beforeAll(async () => {
  const days = tradingDays('2020-01-02', '2020-12-31');
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '', 'http://x');
    const sym = decodeURIComponent(u.pathname.split('/').pop() ?? '');
    seen.push(sym);
    if (sym !== 'AAPL' && sym !== 'MSFT') return void res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ chart: { result: null, error: { code: 'Not Found', description: 'No data found, symbol may be delisted' } } }));
    const p1 = Number(u.searchParams.get('period1'));
    const p2 = Number(u.searchParams.get('period2'));
    const ts = days.map((d) => toDayNumber(d) * 86400 + 52200).filter((t) => t >= p1 && t < p2);
    const px = ts.map((_, i) => 100 + i);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ chart: { result: [{ meta: { symbol: sym, instrumentType: 'EQUITY', longName: `${sym} Inc.`, gmtoffset: -18000 }, timestamp: ts, indicators: { quote: [{ open: px, high: px, low: px, close: px, volume: px.map((x) => x * 1000) }], adjclose: [{ adjclose: px }] } }], error: null } }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('stockpipe fetch --source yahoo', () => {
  it('fetches a comma list of tickers over --start/--end, then ingest reads it; a 404 ticker fails with SP_ERR_YAHOO_NOT_FOUND', async () => {
    const ws = await tempWorkspace('sp-yahoo-cli-');
    try {
      const f = await sp(['fetch', '--source', 'yahoo', '--symbols', 'AAPL,MSFT', '--start', '2020-01-01', '--end', '2020-12-31', '--yahoo-base-url', base, '-w', ws, '--json']);
      expect(f.code).toBe(0);
      expect(f.json.data).toMatchObject({ source: 'yahoo', files: 3, cached: false });
      expect(await readdir(join(ws, 'raw', 'yahoo', 'data', 'stocks'))).toEqual(['AAPL.csv', 'MSFT.csv']);
      const i = await sp(['ingest', '-w', ws, '--json']);
      expect(i.json.data).toMatchObject({ symbols: 2, rows_kept: 2 * 253, symbols_without_metadata: 0, date_min: '2020-01-02', date_max: '2020-12-31' });
      seen.length = 0;
      const again = await sp(['fetch', '--source', 'yahoo', '--symbols', 'AAPL,MSFT', '--start', '2020-01-01', '--end', '2020-12-31', '-w', ws, '--json'], { STOCKPIPE_YAHOO_BASE_URL: base });
      expect(again.json.data).toMatchObject({ cached: true });
      expect(seen).toEqual([]);
      const bad = await sp(['fetch', '--source', 'yahoo', '--symbols', 'AAPL,NOPE', '--end', '2021-01-08', '-w', ws, '--json'], { STOCKPIPE_YAHOO_BASE_URL: base });
      expect(bad.code).toBe(1);
      expect(bad.json.error?.code).toBe('SP_ERR_YAHOO_NOT_FOUND');
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  }, 60_000);
});
