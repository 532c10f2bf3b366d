/** @module sources/yahoo-client
 * The Yahoo chart API client (docs/data.md): one GET per symbol and date range, at most N requests a
 * second, retried with backoff + jitter (Retry-After honoured on 429), and the chart JSON parsed
 * into typed columns (NaN = a null in Yahoo's arrays). Storing the bars is sources/yahoo.ts. */
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { abortableSleep, randomJitter, retryAfterMs, retryLoop, sourceBackoffMs } from '../core/retry.js';

export const DEFAULT_YAHOO_BASE_URL = 'https://query1.finance.yahoo.com';
const USER_AGENT = 'Mozilla/5.0 (compatible; stockpipe)';

export interface YahooClientOptions {
  baseUrl: string;
  /** At most this many requests start per second (retries included). */
  requestsPerSecond: number;
  /** Retries per request after the first try (default 5). */
  maxRetries?: number;
  fetchImpl?: typeof fetch;
  /** Injectable waiting and clock, so tests never wait. */
  sleep?: (ms: number) => Promise<void>;
  nowMs?: () => number;
  /** Jitter source in [0, 1). */
  random?: () => number;
  log: Logger;
  signal?: AbortSignal;
}

/** One symbol's bars as Yahoo sent them, sorted by day, deduplicated. */
export interface YahooBars {
  symbol: string;
  /** 'EQUITY', 'ETF', … (meta.instrumentType). */
  instrumentType: string;
  name: string | null;
  /** Trading day as days since 1970-01-01 (exchange-local date of the bar's timestamp). */
  day: Int32Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  adjClose: Float64Array;
  volume: Float64Array;
}

const num = z.number().nullable();
const ChartSchema = z.object({
  chart: z.object({
    result: z.array(z.object({
      meta: z.object({ symbol: z.string(), instrumentType: z.string().optional(), longName: z.string().optional(), shortName: z.string().optional(), gmtoffset: z.number().optional() }).passthrough(),
      timestamp: z.array(z.number()).optional(),
      indicators: z.object({
        quote: z.array(z.object({ open: z.array(num).optional(), high: z.array(num).optional(), low: z.array(num).optional(), close: z.array(num).optional(), volume: z.array(num).optional() })),
        adjclose: z.array(z.object({ adjclose: z.array(num).optional() })).optional(),
      }),
    }).passthrough()).min(1),
    error: z.unknown().nullable(),
  }),
});

/** Spaces request starts at least 1000/rps ms apart, on the injected clock. */
class RateLimiter {
  private nextMs = -Infinity;
  constructor(private readonly intervalMs: number, private readonly nowMs: () => number, private readonly sleep: (ms: number) => Promise<void>) {}
  async take(): Promise<void> {
    const now = this.nowMs();
    const at = Math.max(now, this.nextMs);
    this.nextMs = at + this.intervalMs;
    if (at > now) await this.sleep(at - now);
  }
}

export interface YahooClient {
  /** Bars of `symbol` for days in [fromDay, toDay] (inclusive), or throws a SP_ERR_YAHOO_* error. */
  chart(symbol: string, fromDay: number, toDay: number): Promise<YahooBars>;
  /** Requests sent so far (retries included). */
  readonly requests: number;
}

export function yahooClient(opts: YahooClientOptions): YahooClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const http = opts.fetchImpl ?? fetch;
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const nowMs = opts.nowMs ?? (() => Date.now());
  const random = opts.random ?? randomJitter; // jitter only
  const maxRetries = opts.maxRetries ?? 5;
  const limiter = new RateLimiter(1000 / opts.requestsPerSecond, nowMs, sleep);
  let requests = 0;

  const chart = async (symbol: string, fromDay: number, toDay: number): Promise<YahooBars> => {
    const period1 = fromDay * 86400;
    const period2 = (toDay + 1) * 86400;
    const url = `${base}/v8/finance/chart/${encodeURIComponent(symbol)}?period1=${period1}&period2=${period2}&interval=1d&events=div,split&includeAdjustedClose=true`;
    let reason = 'unreachable';
    return retryLoop(async () => {
      await limiter.take();
      requests++;
      let res: Response | null = null;
      reason = 'unreachable';
      let retryAfter: number | undefined;
      try {
        res = await http(url, { headers: { accept: 'application/json', 'user-agent': USER_AGENT }, signal: opts.signal });
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        reason = `unreachable: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (res !== null) {
        if (res.status === 200) return { ok: true, value: parseChart(symbol, url, await res.text(), fromDay, toDay) };
        const body = await res.text().catch(() => '');
        if (res.status === 404) {
          throw new StockpipeError('SP_ERR_YAHOO_NOT_FOUND', `Yahoo has no symbol '${symbol}' (HTTP 404${describeError(body)})`, { hint: `Check the ticker '${symbol}' in --symbols (Yahoo spells share classes with '-', e.g. BRK-B).` });
        }
        if (res.status !== 429 && res.status < 500) {
          throw new StockpipeError('SP_ERR_YAHOO_UNAVAILABLE', `Yahoo answered ${symbol} with HTTP ${res.status}${describeError(body)} (${url})`);
        }
        reason = `HTTP ${res.status}`;
        retryAfter = retryAfterMs(res.headers.get('retry-after'), nowMs());
      }
      const error = new StockpipeError('SP_ERR_YAHOO_UNAVAILABLE', `Yahoo kept failing for ${symbol} (${reason}); gave up after ${maxRetries} retries`, { hint: 'Try again later, or lower fetch.yahoo_requests_per_second.' });
      return { ok: false, error, retryAfterMs: retryAfter };
    }, {
      retries: maxRetries, backoff: sourceBackoffMs, random, signal: opts.signal, sleep: opts.sleep ?? abortableSleep,
      onRetry: (step) => opts.log.warn({ symbol, reason, retry: step.retry, of: maxRetries, delay_ms: step.delayMs }, 'yahoo request failed; retrying'),
    });
  };
  return { chart, get requests() { return requests; } };
}

function describeError(body: string): string {
  try {
    const d = (JSON.parse(body) as { chart?: { error?: { description?: unknown } } }).chart?.error?.description;
    return typeof d === 'string' ? `: ${d.slice(0, 200)}` : '';
  } catch {
    return ''; // not JSON: the status says enough
  }
}

/** Parses a 200 answer; anything that is not the chart shape is SP_ERR_YAHOO_MALFORMED naming symbol and URL. */
export function parseChart(symbol: string, url: string, text: string, fromDay: number, toDay: number): YahooBars {
  const bad = (what: string, cause?: unknown): StockpipeError =>
    new StockpipeError('SP_ERR_YAHOO_MALFORMED', `Yahoo's answer for ${symbol} is ${what} (${url})`, { cause, hint: 'Nothing was stored; retry later. If it persists, the API changed: report it with this URL.' });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw bad('not valid JSON', err);
  }
  const parsed = ChartSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw bad(`not a chart result (${i ? `${i.path.join('.')}: ${i.message}` : 'unexpected shape'})`);
  }
  const r = parsed.data.chart.result[0]!;
  const ts = r.timestamp ?? [];
  const q = r.indicators.quote[0] ?? {};
  const adj = r.indicators.adjclose?.[0]?.adjclose;
  const cols = [q.open, q.high, q.low, q.close, adj ?? q.close, q.volume];
  for (const c of cols) if (c !== undefined && c.length !== ts.length) throw bad(`inconsistent: ${ts.length} timestamps but an indicator array of ${c.length}`);
  const offset = r.meta.gmtoffset ?? 0;
  // Sort by day and keep the last bar of a day (Yahoo may repeat the live bar), within the range.
  const order = ts.map((t, i) => ({ day: Math.floor((t + offset) / 86400), i })).filter((x) => x.day >= fromDay && x.day <= toDay).sort((a, b) => a.day - b.day || a.i - b.i);
  const keep = order.filter((x, k) => k + 1 === order.length || order[k + 1]!.day !== x.day);
  const n = keep.length;
  const take = (c: (number | null)[] | undefined): Float64Array => {
    const out = new Float64Array(n).fill(Number.NaN);
    if (c) for (let k = 0; k < n; k++) out[k] = c[keep[k]!.i] ?? Number.NaN;
    return out;
  };
  const day = Int32Array.from(keep, (x) => x.day);
  return {
    symbol: r.meta.symbol,
    instrumentType: r.meta.instrumentType ?? 'EQUITY',
    name: r.meta.longName ?? r.meta.shortName ?? null,
    day, open: take(q.open), high: take(q.high), low: take(q.low), close: take(q.close), adjClose: take(adj ?? q.close), volume: take(q.volume),
  };
}
