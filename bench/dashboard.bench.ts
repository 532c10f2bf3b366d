/** @module bench/dashboard
 * `npm run bench -- dashboard [--symbols 3000] [--years 2] [--runs 100000]`: the dashboard's JSON
 * routes at real sizes (README.md, Dashboard), in process through Fastify's inject: the symbol list (first call
 * computes, later calls are cached), one symbol's series (whole, and its last year), the Data view's
 * routes (table summaries: first call computes, later calls cached; row pages; one symbol's rows),
 * the downloads (one symbol's last year as CSV and Parquet; two symbols' whole history), and the runs
 * pages of a registry seeded with N seven-task pipeline runs. Data and registry are cached in
 * bench/.cache/dashboard-*. */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { machine } from './measure.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const TASKS = ['fetch', 'ingest', 'validate', 'features', 'train', 'evaluate', 'register'];

function arg(argv: string[], name: string, def: number): number {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
}

/** Inserts `n` finished pipeline runs with 7 tasks each in one transaction. */
function seedRuns(ws: string, n: number): void {
  const reg = openRegistry(ws);
  try {
    reg.transaction(() => {
      const t0 = Date.parse('2020-01-01T00:00:00Z');
      for (let i = 0; i < n; i++) {
        const id = `bench${String(i).padStart(8, '0')}`;
        const at = new Date(t0 + i * 60_000).toISOString();
        reg.run('seed run', "INSERT INTO runs (run_id, kind, name, status, started_at, ended_at) VALUES (?, 'pipeline', 'train', ?, ?, ?)", [id, i % 50 === 0 ? 'failed' : 'finished', at, at]);
        TASKS.forEach((t, p) => reg.run('seed task', 'INSERT INTO task_runs (run_id, task, position, status, attempts, seconds) VALUES (?, ?, ?, ?, 1, 0.5)', [id, t, p, p === 0 ? 'cached' : 'succeeded']));
      }
    });
  } finally {
    reg.close();
  }
}

async function timed<T>(fn: () => Promise<T>, repeat = 5): Promise<{ ms_first: number; ms_min: number; value: T }> {
  let first = 0;
  let min = Infinity;
  let value: T | undefined;
  for (let i = 0; i < repeat; i++) {
    const t0 = performance.now();
    value = await fn();
    const ms = performance.now() - t0;
    if (i === 0) first = ms;
    min = Math.min(min, ms);
  }
  return { ms_first: Math.round(first * 10) / 10, ms_min: Math.round(min * 10) / 10, value: value as T };
}

export async function runDashboardBench(argv: string[]): Promise<unknown> {
  const symbols = arg(argv, 'symbols', 3000);
  const years = arg(argv, 'years', 2);
  const runs = arg(argv, 'runs', 100_000);
  const ws = join(ROOT, 'bench', '.cache', `dashboard-${symbols}x${years}`);
  const cli = join(ROOT, 'dist', 'bin', 'main.js');
  if (!existsSync(join(ws, 'tables', 'features', '_snapshot.json'))) {
    for (const a of [['fetch', '--symbols', String(symbols), '--years', String(years)], ['ingest'], ['features'], ['train', '--kind', 'polyreg', '--promote-if-better']]) {
      execFileSync(process.execPath, [cli, ...a, '-w', ws, '--quiet'], { stdio: 'inherit' });
    }
  }
  const reg = openRegistry(ws);
  const have = reg.get<{ n: number }>('count', "SELECT COUNT(*) AS n FROM runs WHERE kind = 'pipeline'")?.n ?? 0;
  reg.close();
  if (have < runs) seedRuns(ws, runs - have);

  const holder = new ChampionHolder(ws, pino({ level: 'silent' }));
  await holder.refresh();
  const { app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'bench' });
  const get = async (url: string): Promise<{ status: number; bytes: number; body: string }> => {
    const r = await app.inject(url);
    return { status: r.statusCode, bytes: r.rawPayload.length, body: r.body };
  };
  const list = await timed(() => get('/symbols'));
  const syms = (JSON.parse(list.value.body) as { symbols: { symbol: string; rows: number }[]; total: number });
  const sym = syms.symbols.reduce((a, b) => (b.rows > a.rows ? b : a)).symbol; // the longest series
  const series = await timed(() => get(`/symbols/${sym}/series?points=1500`));
  const seriesSmall = await timed(() => get(`/symbols/${sym}/series?points=300`));
  const info = syms.symbols.find((s) => s.symbol === sym) as unknown as { date_max: string };
  const yearAgo = `${Number(info.date_max.slice(0, 4)) - 1}${info.date_max.slice(4)}`;
  const seriesYear = await timed(() => get(`/symbols/${sym}/series?points=1500&from=${yearAgo}&to=${info.date_max}`));
  const tables = await timed(() => get('/tables'));
  const rowsFirst = await timed(() => get('/tables/features/rows?limit=25'));
  const rowsDeep = await timed(() => get('/tables/features/rows?limit=25&offset=1000000'));
  const rowsSymbol = await timed(() => get(`/tables/features/rows?limit=25&symbols=${sym}`));
  const exportCsv = await timed(() => get(`/export/features?symbols=${sym}&from=${yearAgo}&format=csv`));
  const exportParquet = await timed(() => get(`/export/features?symbols=${sym}&from=${yearAgo}&format=parquet`));
  const two = `${syms.symbols[0]!.symbol},${sym}`;
  const exportTwo = await timed(() => get(`/export/features?symbols=${two}&format=csv`), 3);
  const first = await timed(() => get('/runs?limit=25'));
  const last = await timed(() => get(`/runs?limit=25&offset=${runs - 25}`));
  const failed = await timed(() => get('/runs?limit=25&status=failed'));
  const one = await timed(() => get('/runs/bench00000042'));
  await app.close();
  const row = (t: { ms_first: number; ms_min: number; value: { bytes: number; status: number } }) => ({ ms_first: t.ms_first, ms_min: t.ms_min, bytes: t.value.bytes, status: t.value.status });
  return {
    machine: machine(), symbols: syms.total, runs, series_symbol: sym, series_rows: syms.symbols.find((s) => s.symbol === sym)!.rows,
    symbols_list: row(list), series_1500: row(series), series_300: row(seriesSmall), series_last_year: row(seriesYear),
    tables: row(tables), rows_first_page: row(rowsFirst), rows_offset_1m: row(rowsDeep), rows_one_symbol: row(rowsSymbol),
    export_symbol_year_csv: row(exportCsv), export_symbol_year_parquet: row(exportParquet), export_two_symbols_csv: row(exportTwo),
    runs_first_page: row(first), runs_last_page: row(last), runs_failed_page: row(failed), run_details: row(one),
  };
}
