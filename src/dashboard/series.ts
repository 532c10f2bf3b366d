/** @module dashboard/series
 * The symbol explorer's routes: `GET /symbols` (search the cached symbol list) and
 * `GET /symbols/:symbol/series` (columns as arrays, downsampled on the server, the champion's
 * predicted volume per row, and the day-ahead forecasts from the registry). Reading Parquet is
 * db/feature-table's; downsampling is downsample.ts'. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { StockpipeError } from '../core/errors.js';
import { fromDayNumber } from '../core/calendar.js';
import type { Workspace } from '../core/workspace.js';
import type { FeatureTableReader } from '../db/feature-table.js';
import { checkAsOf, checkDateRange } from '../http/validation.js';
import type { RegistryReader } from '../registry/reader.js';
import type { Registry } from '../registry/store.js';
import { minMaxIndices, pick } from './downsample.js';

/** The served model as the dashboard uses it: serve/champion's ChampionHolder, declared here so
 * that dashboard/ imports nothing from serve/ (which registers the dashboard). */
export interface ChampionView {
  readonly current: { readonly id: string; readonly scorer: { predict(vma: number, acm: number): number } } | null;
  /** Checks the champion alias now (after a promotion). */
  refresh(): Promise<void>;
}

export interface ForecastPoint {
  target_date: string;
  asof_date: string;
  adj_close: number | null;
  volume: number | null;
}

/** The newest forecasting model's day-ahead forecasts for `symbol` between two dates (at most `points`, evenly strided). */
export function readForecasts(reg: Registry, symbol: string, from: string, to: string, points: number): { model_id: string | null; forecasts: ForecastPoint[] } {
  const latest = reg.get<{ model_id: string }>('read forecasts', 'SELECT model_id FROM forecasts WHERE symbol = ? ORDER BY created_at DESC LIMIT 1', [symbol]);
  if (latest === undefined) return { model_id: null, forecasts: [] };
  const rows = reg.all<ForecastPoint>('read forecasts',
    'SELECT target_date, asof_date, adj_close, volume FROM forecasts WHERE model_id = ? AND symbol = ? AND target_date >= ? AND target_date <= ? ORDER BY target_date',
    [latest.model_id, symbol, from, to]);
  if (rows.length <= points) return { model_id: latest.model_id, forecasts: rows };
  const step = rows.length / points;
  return { model_id: latest.model_id, forecasts: Array.from({ length: points }, (_, k) => rows[Math.floor(k * step)]!) };
}

/** `?as_of=`: a snapshot id or an ISO-8601 time (checked by http/validation checkAsOf). */
const AS_OF = { type: 'string', minLength: 1, maxLength: 40, description: 'A snapshot id or an ISO-8601 time: the table as it was then (stockpipe snapshots)' } as const;

export function registerSeriesRoutes(app: FastifyInstance, opts: { ws: Workspace; holder: ChampionView; registry: RegistryReader; table: FeatureTableReader }): void {
  const { table, holder } = opts;

  app.get('/symbols', {
    schema: {
      summary: 'Symbols in the features table (search by symbol prefix or name)',
      querystring: {
        type: 'object',
        properties: { q: { type: 'string', maxLength: 100 }, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 10000 }, as_of: AS_OF },
        additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest) => {
    const { q, limit, as_of: asOf } = req.query as { q?: string; limit: number; as_of?: string };
    checkAsOf(asOf);
    const { list } = await table.symbols(asOf);
    let found = list;
    if (q !== undefined && q !== '') {
      const u = q.toUpperCase();
      const l = q.toLowerCase();
      const prefix = list.filter((s) => s.symbol.startsWith(u));
      const other = list.filter((s) => !s.symbol.startsWith(u) && (s.symbol.includes(u) || (s.name?.toLowerCase().includes(l) ?? false)));
      found = [...prefix, ...other];
    }
    return { symbols: found.slice(0, limit), total: found.length };
  });

  app.get('/symbols/:symbol/series', {
    schema: {
      summary: 'One symbol\'s Adj Close, Volume, both features, the champion\'s predicted volume and day-ahead forecasts (downsampled when longer than points)',
      params: { type: 'object', properties: { symbol: { type: 'string', minLength: 1, maxLength: 32 } }, required: ['symbol'] },
      querystring: {
        type: 'object',
        properties: {
          from: { type: 'string', format: 'date' },
          to: { type: 'string', format: 'date' },
          points: { type: 'integer', minimum: 10, maximum: 20000, default: 1500 },
          as_of: AS_OF,
        },
        additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest) => {
    const { symbol } = req.params as { symbol: string };
    const { from, to, points, as_of: asOf } = req.query as { from?: string; to?: string; points: number; as_of?: string };
    checkDateRange(from, to);
    checkAsOf(asOf);
    const s = await table.series(symbol, from, to, asOf);
    if (s === null) throw new StockpipeError('SP_ERR_SYMBOL_NOT_FOUND', `no symbol '${symbol}' in the features table of ${opts.ws.root}${asOf === undefined ? '' : ` as of ${asOf}`}`);
    const n = s.day.length;
    const idx = minMaxIndices(n, [s.adjClose, s.volume], points);
    const dates = new Array<string>(idx.length);
    for (let k = 0; k < idx.length; k++) dates[k] = fromDayNumber(s.day[idx[k]!]!);
    const model = holder.current;
    const predicted = new Array<number | null>(idx.length).fill(null);
    if (model) {
      for (let k = 0; k < idx.length; k++) {
        const vma = s.vma[idx[k]!]!;
        const acm = s.acm[idx[k]!]!;
        if (vma === vma && acm === acm) predicted[k] = Math.max(0, Math.round(model.scorer.predict(vma, acm)));
      }
    }
    const fFrom = from ?? (n > 0 ? fromDayNumber(s.day[0]!) : '0000-01-01');
    const fc = opts.registry.read((reg) => readForecasts(reg, symbol, fFrom, to ?? '9999-12-31', points));
    return {
      symbol, as_of: asOf ?? null, rows: n, points: idx.length, downsampled: idx.length < n,
      dates, adj_close: pick(s.adjClose, idx), volume: pick(s.volume, idx),
      vol_moving_avg: pick(s.vma, idx), adj_close_rolling_med: pick(s.acm, idx),
      predicted_volume: predicted, model_id: model?.id ?? null,
      forecast_model_id: fc.model_id, forecasts: fc.forecasts,
    };
  });
}
