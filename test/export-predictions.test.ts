/** `stockpipe export predictions` and `GET /export/predictions` (docs/cli.md, docs/api.md) on a small
 * synthetic workspace with a gbdt champion and a polyreg: the rows are the features table's, each
 * predicted_volume equals what `GET /predict` answers for the row's features (and what the symbol
 * chart's series shows), the CSV and Parquet files hold the same rows, the download equals the
 * command's file, and the errors are coded. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { Workspace } from '../src/core/workspace.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { readTable, sourceOf } from '../src/store/read.js';
import { PREDICTION_COLUMNS, volumeScorerOf } from '../src/ml/export-predictions.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { silentLog, sql } from './helpers/workspace.js';

let ws = '';
let out = '';
let app: FastifyInstance;
const ids = { gbdt: '', poly: '' };
let symbols: string[] = [];

function sp(...args: string[]): { code: number | null; stderr: string; json: { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string } } } {
  const r = runCli([...args, '-w', ws, '--quiet', '--json']);
  return { code: r.code, stderr: r.stderr, json: JSON.parse(r.stdout) as { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string } } };
}

beforeAll(async () => {
  ws = await tempDir('export-predictions');
  out = await tempDir('export-predictions-out');
  for (const args of [['fetch', '--symbols', '4', '--years', '2'], ['ingest'], ['features']]) expect(sp(...args).code).toBe(0);
  const gbdt = sp('train', '--trees', '30');
  expect(gbdt.code, gbdt.stderr).toBe(0);
  ids.gbdt = gbdt.json.data!.model_id as string;
  ids.poly = sp('train', '--kind', 'polyreg').json.data!.model_id as string;
  const source = sourceOf(readTable(new Workspace(ws), 'features'));
  symbols = (await sql(`SELECT DISTINCT "Symbol" AS s FROM ${source} ORDER BY 1`)).map((r) => String(r.s));
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  ({ app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: join(ws, 'no-dashboard') }));
}, 180_000);

afterAll(async () => {
  await app?.close();
});

/** CSV text → header and rows of strings (the symbols and ids here hold no commas or quotes). */
function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trimEnd().split('\n');
  return { header: lines[0]!.split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}

describe('export predictions', () => {
  it('writes every features row of the range with the served prediction: a few rows equal GET /predict, all equal the chart series', async () => {
    const sym = symbols[1]!;
    const file = join(out, 'p.csv');
    const r = sp('export', 'predictions', '--model', 'champion', '--symbols', sym, '--from', '2000-01-01', '--format', 'csv', '--out', file);
    expect(r.code, r.stderr).toBe(0);
    const champion = String((await (await app.inject('/models')).json() as { serving: string }).serving);
    expect(r.json.data).toMatchObject({ table: 'predictions', model_id: champion, format: 'csv', symbols: [sym] });
    const { header, rows } = parseCsv(await readFile(file, 'utf8'));
    expect(header).toEqual([...PREDICTION_COLUMNS]);
    expect(rows.length).toBe(r.json.data!.rows);
    const source = sourceOf(readTable(new Workspace(ws), 'features'));
    const want = await sql(`SELECT CAST("Date" AS VARCHAR) AS d, "Volume" AS v FROM ${source} WHERE "Symbol" = '${sym}' ORDER BY "Date"`);
    expect(rows.map((x) => [x[1], x[2]])).toEqual(want.map((w) => [String(w.d), String(w.v)]));
    expect(new Set(rows.map((x) => x[0]))).toEqual(new Set([sym]));
    expect(new Set(rows.map((x) => x[6]))).toEqual(new Set([champion]));
    // A few rows, evenly spread, scored by the API from the row's own feature values.
    const scored = rows.filter((x) => x[3] !== '' && x[4] !== '');
    expect(scored.length).toBeGreaterThan(100);
    for (let k = 0; k < 8; k++) {
      const x = scored[Math.floor((k * (scored.length - 1)) / 7)]!;
      const api = await app.inject(`/predict?vol_moving_avg=${x[3]}&adj_close_rolling_med=${x[4]}`);
      expect(api.statusCode, api.body).toBe(200);
      expect(api.headers['x-model-id']).toBe(champion);
      expect(x[5], `${x[0]} ${x[1]}`).toBe(api.body);
    }
    // Rows whose features are null (the rolling windows' first days) have no prediction.
    for (const x of rows.filter((y) => y[3] === '' || y[4] === '')) expect(x[5]).toBe('');
    // Every row equals the symbol chart's predicted volume (all points: the series is not downsampled here).
    const series = (await app.inject(`/symbols/${sym}/series?points=20000`)).json() as { dates: string[]; predicted_volume: (number | null)[]; model_id: string; downsampled: boolean };
    expect(series.downsampled).toBe(false);
    expect(series.model_id).toBe(champion);
    expect(rows.map((x) => [x[1], x[5] === '' ? null : Number(x[5])])).toEqual(series.dates.map((d, i) => [d, series.predicted_volume[i]]));
  });

  it('another model by id; Parquet holds the same rows as CSV; the download equals the command\'s file', async () => {
    const [a, b] = [symbols[0]!, symbols[2]!];
    const common = ['--model', ids.poly, '--symbols', `${a},${b}`, '--from', '2000-01-01', '--to', '2100-01-01'];
    expect(sp('export', 'predictions', ...common, '--out', join(out, 'poly.csv')).code).toBe(0);
    const pq = sp('export', 'predictions', ...common, '--out', join(out, 'poly.parquet'));
    expect(pq.code, pq.stderr).toBe(0);
    const csv = await readFile(join(out, 'poly.csv'), 'utf8');
    const fromParquet = await sql(`SELECT "Symbol", CAST("Date" AS VARCHAR) AS "Date", "Volume", vol_moving_avg, adj_close_rolling_med, predicted_volume, model_id FROM read_parquet('${join(out, 'poly.parquet')}')`);
    const fromCsv = parseCsv(csv).rows;
    expect(fromParquet.length).toBe(fromCsv.length);
    expect(fromParquet.map((r) => [r.Symbol, r.Date, String(r.Volume), r.predicted_volume === null ? '' : String(r.predicted_volume), r.model_id]))
      .toEqual(fromCsv.map((x) => [x[0], x[1], x[2], x[5], x[6]]));
    expect(new Set(fromCsv.map((x) => x[6]))).toEqual(new Set([ids.poly]));
    const dl = await app.inject(`/export/predictions?model=${ids.poly}&symbols=${a},${b}&from=2000-01-01&to=2100-01-01&format=csv`);
    expect(dl.statusCode, dl.body).toBe(200);
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="predictions_${a}-${b}_2000-01-01_2100-01-01.csv"`);
    expect(dl.headers['x-model-id']).toBe(ids.poly);
    expect(dl.body).toBe(csv);
  });

  it('errors: an unknown model (404 / exit 1), a day-ahead model, --model on another table, an unknown symbol; nothing written', async () => {
    const missing = sp('export', 'predictions', '--model', 'nope', '--out', join(out, 'x.csv'));
    expect([missing.code, missing.json.error?.code]).toEqual([1, 'SP_ERR_MODEL_NOT_FOUND']);
    expect(sp('export', 'features', '--model', ids.gbdt, '--out', join(out, 'x.csv')).json.error?.code).toBe('SP_ERR_USAGE');
    expect(sp('export', 'predictions', '--symbols', 'NOPE', '--out', join(out, 'x.csv')).json.error?.code).toBe('SP_ERR_SYMBOL_NOT_FOUND');
    await expect(volumeScorerOf({ id: 'f-1', kind: 'forecast', path: ws })).rejects.toMatchObject({ code: 'SP_ERR_USAGE' });
    await expect(readFile(join(out, 'x.csv'))).rejects.toMatchObject({ code: 'ENOENT' });
    for (const [url, status, code] of [['/export/predictions?model=nope', 404, 'SP_ERR_MODEL_NOT_FOUND'], ['/export/predictions?symbols=NOPE', 404, 'SP_ERR_SYMBOL_NOT_FOUND'],
      ['/export/predictions?from=2020-02-01&to=2020-01-01', 400, 'SP_ERR_BAD_REQUEST'], ['/export/predictions?format=xlsx', 400, 'SP_ERR_BAD_REQUEST']] as const) {
      const r = await app.inject(url);
      expect(r.statusCode, `${url}: ${r.body}`).toBe(status);
      expect((r.json() as { error: { code: string } }).error.code, url).toBe(code);
    }
  });
});
