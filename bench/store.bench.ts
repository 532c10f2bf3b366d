/** @module bench/store
 * `npm run bench -- store [--symbols=N] [--years=Y]`: the partitioned store's day-to-day costs on
 * synthetic data read as a folder source: a cold ingest + features; two new trading days appended to
 * every file, one after the other (fetch + ingest + features, incremental); a restatement of 20 symbols' whole histories
 * (Adj Close re-adjusted, as after a dividend); each checked against a full rebuild's row count;
 * validate after the cold build (a full check that infers the reference) and after each new day. */
import { readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SYNTHETIC_BENCH } from '../src/sources/synthetic.js';
import { machine, measure } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const CACHE = join(ROOT, 'bench', '.cache');

function cli(args: string[]): { seconds: number; peak_rss_mb: number | null; data: Record<string, unknown> } {
  const r = measure(process.execPath, [CLI, ...args, '--json']);
  if (r.status !== 0) throw new Error(`stockpipe ${args.join(' ')} failed: ${r.stdout}${r.stderr}`);
  return { seconds: r.seconds, peak_rss_mb: r.peak_rss_mb, data: (JSON.parse(r.stdout) as { data: Record<string, unknown> }).data };
}

function nextWeekday(d: string): string {
  const t = new Date(`${d}T00:00:00Z`);
  do t.setUTCDate(t.getUTCDate() + 1);
  while (t.getUTCDay() === 0 || t.getUTCDay() === 6);
  return t.toISOString().slice(0, 10);
}

function csvFiles(data: string): string[] {
  return ['stocks', 'etfs'].flatMap((d) => readdirSync(join(data, d)).filter((f) => f.endsWith('.csv')).map((f) => join(data, d, f)));
}

export async function runStoreBench(argv: string[]): Promise<Record<string, unknown>> {
  // Default: the etl benchmark's settings (≈ 28M rows, real-like number formats); --symbols=N for a smaller run.
  const symbols = Number(argv.find((a) => a.startsWith('--symbols='))?.slice(10) ?? SYNTHETIC_BENCH.symbols);
  const gen = join(CACHE, `store-gen-${symbols}`);
  const ws = join(CACHE, 'store-ws');
  rmSync(ws, { recursive: true, force: true });
  cli(['fetch', '--workspace', gen, '--source', 'synthetic', '--seed', String(SYNTHETIC_BENCH.seed), '--symbols', String(symbols), '--years', String(SYNTHETIC_BENCH.years), '--start', SYNTHETIC_BENCH.start]);
  const data = join(CACHE, 'store-src');
  rmSync(data, { recursive: true, force: true });
  measure('cp', ['-r', join(gen, 'raw', 'synthetic', 'data'), data]);
  const src = ['--source', `dir:${data}`, '--workspace', ws];
  cli(['fetch', ...src]);
  const ingest = cli(['ingest', '--workspace', ws]);
  const features = cli(['features', '--workspace', ws]);
  // validate: a full check (infers the reference) after the cold build, an incremental one after the new day.
  const validations: Record<string, unknown>[] = [];
  const check = (when: string): void => {
    const r = measure(process.execPath, [CLI, 'validate', '--workspace', ws, '--json']);
    const doc = JSON.parse(r.stdout) as { ok: boolean; data?: Record<string, unknown>; error?: { code: string } };
    validations.push({ when, seconds: r.seconds, ok: doc.ok, mode: doc.data?.mode ?? null, rows_checked: doc.data?.rows_checked ?? null, status: doc.data?.status ?? doc.error?.code });
  };
  check('after the cold build');
  const cold = { rows: ingest.data.table_rows, ingest_s: ingest.seconds, features_s: features.seconds, total_s: ingest.seconds + features.seconds, ingest_peak_rss_mb: ingest.peak_rss_mb, features_peak_rss_mb: features.peak_rss_mb };
  // New trading days for every symbol: the last line repeated on the next weekday. The first after the
  // cold build reads its features' context from the table; the second from the tails file the first left.
  const files = csvFiles(data);
  const newDay = (): Record<string, unknown> => {
    for (const f of files) {
      const text = readFileSync(f, 'utf8').trimEnd().split('\n');
      const last = text[text.length - 1]!;
      if (!/^\d{4}-\d{2}-\d{2},/.test(last)) continue;
      appendFileSync(f, `${nextWeekday(last.slice(0, 10))}${last.slice(10)}\n`);
    }
    const f1 = cli(['fetch', ...src]);
    const i1 = cli(['ingest', '--workspace', ws]);
    const x1 = cli(['features', '--workspace', ws]);
    return { fetch_s: f1.seconds, ingest_s: i1.seconds, features_s: x1.seconds, total_s: f1.seconds + i1.seconds + x1.seconds, ingest_mode: i1.data.mode, files_tail_read: i1.data.files_tail_read, features_mode: x1.data.mode, rows_computed: x1.data.rows_computed, symbols_context_cached: x1.data.symbols_context_cached };
  };
  // Validated after each day, as the daily pipeline does: the first check after the reference bins
  // every data file for drift (validate/drift-cache), the second only the day's new files.
  const day = newDay();
  check('after the first new day');
  const day2 = newDay();
  check('after the second new day');
  // A restatement: 20 symbols' Adj Close re-adjusted over their whole history.
  const restated = files.slice(0, 20);
  for (const f of restated) {
    const lines = readFileSync(f, 'utf8').split('\n');
    for (let i = 1; i < lines.length; i++) {
      const c = lines[i]!.split(',');
      if (c.length === 7 && c[5] !== '') c[5] = String(Number(c[5]) * 0.99);
      lines[i] = c.join(',');
    }
    writeFileSync(f, lines.join('\n'));
  }
  const f2 = cli(['fetch', ...src]);
  const i2 = cli(['ingest', '--workspace', ws]);
  const x2 = cli(['features', '--workspace', ws]);
  const restate = { symbols: restated.length, fetch_s: f2.seconds, ingest_s: i2.seconds, features_s: x2.seconds, ingest_mode: i2.data.mode, features_mode: x2.data.mode, rows_computed: x2.data.rows_computed, symbols_changed: x2.data.symbols_changed };
  return { machine: machine(), date: new Date().toISOString(), symbols, rows: cold.rows, cold, new_day: day, second_new_day: day2, restatement: restate, validate: validations };
}
