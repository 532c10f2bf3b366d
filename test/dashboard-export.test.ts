/** The Data view's table routes, the downloads and `stockpipe export`'s narrowing (docs/api.md,
 * docs/cli.md), on a small synthetic features table built by the CLI: a series range is read and
 * downsampled on the server (the chosen range only, extremes kept), table schemas and exact counts,
 * row pages in Symbol, Date order, CSV and Parquet downloads equal to the table's rows, and the
 * CLI export writing the same rows as the download, with its errors. */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Workspace } from '../src/core/workspace.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { exportTable } from '../src/store/export.js';
import { readTable, sourceOf } from '../src/store/read.js';
import { writeForecasts } from '../src/registry/forecasts.js';
import { openRegistry } from '../src/registry/store.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { silentLog, sql } from './helpers/workspace.js';

let ws = '';
let app: FastifyInstance;
let source = '';
let symbols: string[] = [];
/** Days of the table at fractions of its span (the ranges the tests ask for). */
let day: (fraction: number) => string = () => '';

beforeAll(async () => {
  ws = await tempDir('dash-export');
  for (const args of [['fetch', '--symbols', '5', '--years', '3'], ['ingest'], ['features']]) {
    const r = runCli([...args, '-w', ws, '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
  }
  source = sourceOf(readTable(new Workspace(ws), 'features'));
  symbols = (await sql(`SELECT DISTINCT "Symbol" AS s FROM ${source} ORDER BY 1`)).map((r) => String(r.s));
  const dates = (await sql(`SELECT DISTINCT "Date" AS d FROM ${source} ORDER BY 1`)).map((r) => String(r.d));
  day = (f) => dates[Math.floor(f * (dates.length - 1))]!;
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  ({ app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: join(ws, 'no-dashboard') }));
}, 120_000);

afterAll(async () => {
  await app?.close();
});

const json = <T>(body: string): T => JSON.parse(body) as T;

/** A CSV text's rows as arrays of strings (no quoted fields in these tables but the names, which carry no commas or quotes here). */
function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trimEnd().split('\n');
  const split = (l: string): string[] => l.split(',').map((c) => c.replace(/^"(.*)"$/, '$1'));
  return { header: split(lines[0]!), rows: lines.slice(1).map(split) };
}

describe('series range and downsampling', () => {
  it('reads only the chosen range, downsamples it on the server and keeps its extremes', async () => {
    const sym = symbols[1]!;
    const from = day(0.2);
    const to = day(0.7);
    const want = await sql(`SELECT "Date" AS d, "Adj Close" AS c, "Volume"::DOUBLE AS v FROM ${source} WHERE "Symbol" = '${sym}' AND "Date" BETWEEN '${from}' AND '${to}' ORDER BY 1`);
    expect(want.length).toBeGreaterThan(200);
    const s = json<{ rows: number; points: number; downsampled: boolean; dates: string[]; adj_close: number[]; volume: number[] }>(
      (await app.inject(`/symbols/${sym}/series?from=${from}&to=${to}&points=40`)).body);
    expect(s.rows).toBe(want.length);
    expect(s.downsampled).toBe(true);
    expect(s.points).toBeLessThanOrEqual(40);
    expect(s.dates.length).toBe(s.points);
    expect(s.dates[0]! >= from && s.dates.at(-1)! <= to).toBe(true);
    expect([...s.dates].sort()).toEqual(s.dates);
    // every kept point is a real row of the range; the range's min and max survive
    const byDate = new Map(want.map((r) => [String(r.d), r]));
    s.dates.forEach((d, k) => expect(byDate.get(d)?.c).toBe(s.adj_close[k]));
    const closes = want.map((r) => Number(r.c));
    expect(Math.max(...s.adj_close)).toBe(Math.max(...closes));
    expect(Math.min(...s.adj_close)).toBe(Math.min(...closes));
    expect(Math.max(...s.volume)).toBe(Math.max(...want.map((r) => Number(r.v))));
    // a short range is sent whole
    const [a, b] = [day(0.4), day(0.42)];
    const short = json<{ rows: number; downsampled: boolean; dates: string[] }>((await app.inject(`/symbols/${sym}/series?from=${a}&to=${b}&points=40`)).body);
    expect(short.downsampled).toBe(false);
    expect(short.dates).toEqual(want.map((r) => String(r.d)).filter((d) => d >= a && d <= b));
    expect(short.dates.length).toBeGreaterThan(5);
    const bad = await app.inject(`/symbols/${sym}/series?from=${to}&to=${from}`);
    expect([bad.statusCode, json<{ error: { code: string } }>(bad.body).error.code]).toEqual([400, 'SP_ERR_BAD_REQUEST']);
  });
});

describe('tables and snapshots', () => {
  it('lists each table with its typed schema and exact counts', async () => {
    const r = json<{ tables: { table: string; snapshot: { id: number } | null; columns: { name: string; type: string }[]; rows: number; symbols: number; dates: number; date_min: string }[] }>((await app.inject('/tables')).body);
    expect(r.tables.map((t) => t.table)).toEqual(['prices', 'features', 'forecasts']);
    const [counts] = await sql(`SELECT count(*)::INTEGER AS n, count(DISTINCT "Date")::INTEGER AS d, min("Date") AS lo FROM ${source}`);
    const f = r.tables[1]!;
    expect(f).toMatchObject({ rows: counts!.n, symbols: symbols.length, dates: counts!.d, date_min: counts!.lo });
    const types = Object.fromEntries(f.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({ Symbol: 'VARCHAR', Date: 'VARCHAR', 'Adj Close': 'DOUBLE', Volume: 'BIGINT', vol_moving_avg: 'DOUBLE', adj_close_rolling_med: 'DOUBLE' });
    const snaps = json<{ snapshots: { id: number; table: string }[] }>((await app.inject('/snapshots')).body).snapshots;
    expect(snaps.map((s) => s.table).sort()).toEqual(['features', 'prices']);
    expect(snaps.find((s) => s.table === 'features')!.id).toBe(f.snapshot!.id);
    expect((await app.inject('/tables/nope/rows')).statusCode).toBe(400);
    // The registry's forecasts table has no snapshots: a 400, as `stockpipe snapshots forecasts` is a usage error (it answered 200, an empty list).
    const fc = await app.inject('/snapshots?table=forecasts');
    expect([fc.statusCode, json<{ error: { code: string } }>(fc.body).error.code]).toEqual([400, 'SP_ERR_BAD_REQUEST']);
    expect((await app.inject('/snapshots?table=prices')).statusCode).toBe(200);
  });

  it('pages rows in Symbol, Date order, narrowed by symbols and dates', async () => {
    const sym = symbols.slice(0, 2);
    const q = `symbols=${sym.join(',')}&from=${day(0.1)}&to=${day(0.5)}`;
    const want = await sql(`SELECT "Symbol" AS s, "Date" AS d FROM ${source} WHERE "Symbol" IN ('${sym.join("','")}') AND "Date" BETWEEN '${day(0.1)}' AND '${day(0.5)}' ORDER BY 1, 2`);
    expect(want.length).toBeGreaterThan(250);
    const got: string[] = [];
    let total = -1;
    for (let offset = 0; offset < want.length; offset += 100) {
      const p = json<{ columns: { name: string }[]; rows: unknown[][]; total: number }>((await app.inject(`/tables/features/rows?${q}&limit=100&offset=${offset}`)).body);
      const si = p.columns.findIndex((c) => c.name === 'Symbol');
      const di = p.columns.findIndex((c) => c.name === 'Date');
      for (const row of p.rows) got.push(`${row[si]} ${row[di]}`);
      total = p.total;
    }
    expect(total).toBe(want.length);
    expect(got).toEqual(want.map((r) => `${r.s} ${r.d}`));
    // unfiltered, a page across a symbol boundary equals SQL's OFFSET (the page is found through rows per symbol)
    const [first] = await sql(`SELECT count(*)::INTEGER AS n FROM ${source} WHERE "Symbol" = '${symbols[0]}'`);
    const offset = Number(first!.n) - 7;
    const all = await sql(`SELECT "Symbol" AS s, "Date" AS d FROM ${source} ORDER BY 1, 2 LIMIT 30 OFFSET ${offset}`);
    const p = json<{ rows: unknown[][]; total: number }>((await app.inject(`/tables/features/rows?limit=30&offset=${offset}`)).body);
    expect(p.rows.map((r) => `${r[0]} ${r[2]}`)).toEqual(all.map((r) => `${r.s} ${r.d}`));
    const end = json<{ rows: unknown[][]; total: number }>((await app.inject(`/tables/features/rows?limit=30&offset=${p.total - 3}`)).body);
    expect(end.rows.length).toBe(3);
    expect((json<{ rows: unknown[][] }>((await app.inject(`/tables/features/rows?offset=${p.total}`)).body)).rows).toEqual([]);
  });

  it('refuses a symbols value naming an empty symbol (400), and the unfiltered page keeps its rows', async () => {
    // Probed: `symbols=%20` was read as the symbol '' (0 rows) and cached under the unfiltered page's key:
    // whichever came first, the other answered its rows (the whole table 'of 0 rows', or ' ' all of them).
    const [all] = await sql(`SELECT count(*)::INTEGER AS n FROM ${source}`);
    for (const u of ['/tables/features/rows?symbols=%20', `/tables/features/rows?symbols=${symbols[0]},%20`, '/export/features?symbols=%20', '/export/predictions?symbols=%20']) {
      const r = await app.inject(u);
      expect([r.statusCode, json<{ error: { code: string; message: string } }>(r.body).error.code], u).toEqual([400, 'SP_ERR_BAD_REQUEST']);
      expect(json<{ error: { message: string } }>(r.body).error.message).toMatch(/^symbols '.*' names an empty symbol$/);
    }
    expect(json<{ total: number }>((await app.inject('/tables/features/rows?limit=1')).body).total).toBe(all!.n);
  });
});

describe('downloads', () => {
  const filter = (): string => `symbols=${symbols[0]},${symbols[2]}&from=${day(0.3)}&to=${day(0.6)}`;
  const wantQuery = (): string => `SELECT "Symbol", "Date", "Adj Close", "Volume", vol_moving_avg, _snapshot_id FROM ${source} WHERE "Symbol" IN ('${symbols[0]}', '${symbols[2]}') AND "Date" BETWEEN '${day(0.3)}' AND '${day(0.6)}' ORDER BY "Symbol", "Date"`;

  it('a CSV download parses to the table\'s rows; the temp file is gone after', async () => {
    const r = await app.inject(`/export/features?${filter()}&format=csv`);
    expect(r.statusCode, r.body).toBe(200);
    expect(r.headers['content-type']).toContain('text/csv');
    expect(r.headers['content-disposition']).toBe(`attachment; filename="features_${symbols[0]}-${symbols[2]}_${day(0.3)}_${day(0.6)}.csv"`);
    const { header, rows } = parseCsv(r.body);
    const want = await sql(wantQuery());
    expect(rows.length).toBe(want.length);
    expect(Number(r.headers['x-rows'])).toBe(want.length);
    const col = (n: string): number => header.indexOf(n);
    rows.forEach((row, i) => {
      const w = want[i]!;
      expect([row[col('Symbol')], row[col('Date')], Number(row[col('Adj Close')]), Number(row[col('Volume')]), Number(row[col('_snapshot_id')])])
        .toEqual([w.Symbol, w.Date, w['Adj Close'], Number(w.Volume), w._snapshot_id]);
      const vma = row[col('vol_moving_avg')]!;
      expect(vma === '' ? null : Number(vma)).toBe(w.vol_moving_avg);
    });
    // the streamed temp file is removed once sent
    await new Promise((res) => setTimeout(res, 50));
    const left = await import('node:fs/promises').then((fs) => fs.readdir(new Workspace(ws).tmpDir));
    expect(left.filter((n) => n.startsWith('export-'))).toEqual([]);
  });

  it('a Parquet download reads back as the same rows', async () => {
    const r = await app.inject(`/export/features?${filter()}&format=parquet`);
    expect(r.statusCode).toBe(200);
    expect(r.rawPayload.subarray(0, 4).toString()).toBe('PAR1');
    const dir = await tempDir('dash-export-dl');
    const file = join(dir, 'x.parquet');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, r.rawPayload));
    const got = await sql(`SELECT "Symbol", "Date", "Adj Close", "Volume", vol_moving_avg, _snapshot_id FROM read_parquet('${file}')`);
    expect(got).toEqual(await sql(wantQuery()));
  });

  it('refuses a bad format (400), an unknown table (400), an unknown symbol (404), from > to (400)', async () => {
    const code = async (u: string): Promise<[number, string]> => {
      const r = await app.inject(u);
      return [r.statusCode, json<{ error: { code: string } }>(r.body).error.code];
    };
    expect(await code('/export/features?format=xlsx')).toEqual([400, 'SP_ERR_BAD_REQUEST']);
    expect(await code('/export/forecastz')).toEqual([400, 'SP_ERR_BAD_REQUEST']);
    expect(await code('/export/features?symbols=NOPE')).toEqual([404, 'SP_ERR_SYMBOL_NOT_FOUND']);
    expect(await code('/export/prices?from=2020-01-02&to=2020-01-01')).toEqual([400, 'SP_ERR_BAD_REQUEST']);
    expect(await code('/export/prices?symbols=A,,B')).toEqual([400, 'SP_ERR_BAD_REQUEST']);
    // Probed after issue 16: unknown symbols were quoted back whole (a 900-character one in full).
    const long = await app.inject(`/export/features?symbols=${'Z'.repeat(900)},${Array.from({ length: 30 }, (_, i) => `NO${i}`).join(',')}`);
    expect(long.statusCode).toBe(404);
    const message = json<{ error: { message: string } }>(long.body).error.message;
    expect(message).not.toContain('Z'.repeat(101));
    expect(message).toContain('and 21 more');
  });
});

describe('stockpipe export with symbols and dates', () => {
  it('writes the same bytes as the download (CSV) and reports the narrowing in --json', async () => {
    const dir = await tempDir('dash-export-cli');
    const out = join(dir, 'sub', 'f.csv');
    const r = runCli(['export', 'features', '--symbols', `${symbols[0]},${symbols[2]}`, '--from', day(0.3), '--to', day(0.6), '--format', 'csv', '--out', out, '-w', ws, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const want = await sql(wantQueryCount(symbols[0]!, symbols[2]!));
    expect(r.json!.data).toMatchObject({ table: 'features', format: 'csv', rows: want[0]!.n, symbols: [symbols[0], symbols[2]], from: day(0.3), to: day(0.6) });
    const dl = await app.inject(`/export/features?symbols=${symbols[0]},${symbols[2]}&from=${day(0.3)}&to=${day(0.6)}&format=csv`);
    expect(await readFile(out, 'utf8')).toBe(dl.body);
  });

  it('errors: bad table, bad or mismatched format, folder as --out, bad date, unknown symbol; nothing written', async () => {
    const dir = await tempDir('dash-export-err');
    await mkdir(join(dir, 'd.csv'));
    // through the CLI: the codes' exit statuses and hints
    const cases: [string[], string, number][] = [
      [['export', 'forecastz', '--out', join(dir, 'a.csv')], 'SP_ERR_USAGE', 2],
      [['export', 'prices', '--symbols', 'NOPE', '--out', join(dir, 'a.csv')], 'SP_ERR_SYMBOL_NOT_FOUND', 1],
    ];
    for (const [args, code, exit] of cases) {
      const r = runCli([...args, '-w', ws, '--json']);
      expect([r.json?.error?.code, r.code], args.join(' ')).toEqual([code, exit]);
      expect(r.json!.error!.hint).toBeTruthy();
    }
    // the rest in process (the same function the command calls)
    const w = new Workspace(ws);
    const refused = async (out: string, opts: Parameters<typeof exportTable>[3]): Promise<string | undefined> =>
      exportTable(w, 'prices', join(dir, out), opts).then(() => undefined, (err: { code?: string }) => err.code);
    expect(await refused('a.csv', { format: 'xlsx' })).toBe('SP_ERR_USAGE');
    expect(await refused('a.csv', { format: 'parquet' })).toBe('SP_ERR_USAGE');
    expect(await refused('a.txt', {})).toBe('SP_ERR_USAGE');
    expect(await refused('d.csv', {})).toBe('SP_ERR_USAGE');
    expect(await refused('a.csv', { from: '2019-02-30' })).toBe('SP_ERR_USAGE');
    expect(await refused('a.csv', { from: day(0.6), to: day(0.3) })).toBe('SP_ERR_USAGE');
    expect(await refused('a.csv', { symbols: [''] })).toBe('SP_ERR_USAGE');
    const left = await import('node:fs/promises').then((fs) => fs.readdir(dir));
    expect(left).toEqual(['d.csv']);
  });
});

describe('the registry\'s forecasts table', () => {
  it('is listed with exact counts, paged in (symbol, target_date, model_id) order, and downloads / exports as CSV and Parquet', async () => {
    // 3 models × 4 symbols × 30 target days, written out of order, with nulls
    const rows = [];
    for (const m of ['fc-b', 'fc-a', 'fc-c']) for (const sym of symbols.slice(0, 4).reverse()) for (let d = 29; d >= 0; d--) {
      rows.push({ model_id: m, symbol: sym, asof_date: day(0.5 + d / 100), target_date: day(0.5 + (d + 1) / 100), adj_close: d % 7 === 0 ? null : 10 + d / 3, volume: 1000 + d, last_adj_close: 10, last_volume: d % 5 === 0 ? null : 999, run_id: null });
    }
    const reg = openRegistry(ws);
    try {
      writeForecasts(reg, rows);
    } finally {
      reg.close();
    }
    const want = [...rows].sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : x.target_date < y.target_date ? -1 : x.target_date > y.target_date ? 1 : x.model_id < y.model_id ? -1 : 1));
    const t = json<{ tables: { table: string; source: string; rows: number; symbols: number; dates: number; columns: { name: string; type: string }[] }[] }>((await app.inject('/tables')).body).tables.find((x) => x.table === 'forecasts')!;
    expect(t).toMatchObject({ source: 'registry', rows: rows.length, symbols: symbols.slice(0, 4).length, dates: 30 });
    expect(t.columns.map((c) => c.name)).toEqual(['model_id', 'symbol', 'asof_date', 'target_date', 'adj_close', 'volume', 'last_adj_close', 'last_volume', 'created_at', 'run_id']);
    const page = json<{ rows: unknown[][]; total: number }>((await app.inject(`/tables/forecasts/rows?symbols=${symbols[1]}&offset=10&limit=20`)).body);
    const mine = want.filter((r) => r.symbol === symbols[1]);
    expect(page.total).toBe(mine.length);
    expect(page.rows.map((r) => `${r[0]} ${r[3]} ${r[4]}`)).toEqual(mine.slice(10, 30).map((r) => `${r.model_id} ${r.target_date} ${r.adj_close}`));
    expect((await app.inject('/tables/forecasts/rows?as_of=1')).statusCode).toBe(400);
    // Probed: an unknown symbol quoted every one back whole (as issue 16 did for the store tables), hinted with the CLI's flags only.
    const unknown = await app.inject(`/export/forecasts?symbols=${'Z'.repeat(900)},${Array.from({ length: 30 }, (_, i) => `NO${i}`).join(',')}`);
    expect(unknown.statusCode).toBe(404);
    const e = json<{ error: { code: string; message: string; hint: string } }>(unknown.body).error;
    expect(e.code).toBe('SP_ERR_SYMBOL_NOT_FOUND');
    expect(e.message).not.toContain('Z'.repeat(101));
    expect(e.message).toContain('and 21 more');
    expect(e.hint).toContain('?symbols=');

    const csv = await app.inject('/export/forecasts?format=csv');
    expect(csv.statusCode, csv.body).toBe(200);
    const { header, rows: got } = parseCsv(csv.body);
    expect(header.slice(0, 6)).toEqual(['model_id', 'symbol', 'asof_date', 'target_date', 'adj_close', 'volume']);
    expect(got.map((r) => [r[0], r[1], r[3], r[4] === '' ? null : Number(r[4]), r[7] === '' ? null : Number(r[7])]))
      .toEqual(want.map((r) => [r.model_id, r.symbol, r.target_date, r.adj_close, r.last_volume]));
    const pq = await app.inject(`/export/forecasts?format=parquet&symbols=${symbols[0]}&from=${day(0.6)}`);
    const dir = await tempDir('dash-export-fc');
    await import('node:fs/promises').then((fs) => fs.writeFile(join(dir, 'f.parquet'), pq.rawPayload));
    const back = await sql(`SELECT model_id, symbol, target_date, adj_close, volume FROM read_parquet('${join(dir, 'f.parquet')}')`);
    expect(back).toEqual(want.filter((r) => r.symbol === symbols[0] && r.target_date >= day(0.6)).map((r) => ({ model_id: r.model_id, symbol: r.symbol, target_date: r.target_date, adj_close: r.adj_close, volume: r.volume })));
    // the CLI writes the same bytes
    const out = join(dir, 'f.csv');
    const r = runCli(['export', 'forecasts', '--out', out, '-w', ws, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.data).toMatchObject({ table: 'forecasts', snapshot_id: null, rows: rows.length, format: 'csv' });
    expect(await readFile(out, 'utf8')).toBe(csv.body);
  });
});

function wantQueryCount(a: string, b: string): string {
  return `SELECT count(*)::INTEGER AS n FROM ${source} WHERE "Symbol" IN ('${a}', '${b}') AND "Date" BETWEEN '${day(0.3)}' AND '${day(0.6)}'`;
}
