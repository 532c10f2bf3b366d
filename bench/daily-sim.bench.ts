/** @module bench/daily-sim
 * `npm run bench -- daily-sim [--days 21] [--drift-from 11] [--synthetic]`: a month of `stockpipe
 * run daily` replayed on held-back data. The last `days` trading days of the real Kaggle sample
 * (../shared/data/kaggle-sample; a synthetic set when it is absent or with --synthetic) are
 * removed from a copy read through `dir:`; each simulated day appends that day's bars and runs the
 * daily pipeline (fetch → ingest → validate → features → forecast → monitor → retrain-if-needed),
 * so forecasts mature one day later and monitor scores them. From day `drift-from` on, the
 * appended volumes are distorted (× exp(1.5·z), z seeded standard normal per row): an injected
 * drift that monitor must catch and answer with a retrain. Alerts go to a webhook on 127.0.0.1. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync, copyFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createRng, deriveSeed } from '../src/core/rng.js';
import { machine } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const SAMPLE = resolve(ROOT, '..', 'shared', 'data', 'kaggle-sample');

interface Doc { ok: boolean; data?: Record<string, any>; error?: { code: string; message: string } }

const run = promisify(execFile);

/** One CLI call, asynchronously (the webhook server in this process must keep answering). */
async function cli(args: string[], ws: string, config?: string): Promise<Doc> {
  const r = await run(process.execPath, [CLI, ...args, '-w', ws, '--json', ...(config ? ['--config', config] : [])], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .catch((err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }));
  const last = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as Doc;
  } catch {
    throw new Error(`stockpipe ${args.join(' ')} printed no JSON: ${r.stderr.slice(-2000)}`);
  }
}

/** Every CSV of the Kaggle layout below `root`: relative path → header + data lines. */
function readLayout(root: string): Map<string, { header: string; lines: string[] }> {
  const out = new Map<string, { header: string; lines: string[] }>();
  for (const dir of ['stocks', 'etfs']) {
    if (!existsSync(join(root, dir))) continue;
    for (const f of readdirSync(join(root, dir)).filter((x) => x.endsWith('.csv')).sort()) {
      const text = readFileSync(join(root, dir, f), 'utf8').replace(/\r\n/g, '\n');
      const [header = '', ...lines] = text.split('\n').filter((l) => l !== '');
      out.set(`${dir}/${f}`, { header, lines });
    }
  }
  return out;
}

/** One data line with its Volume (the last field) distorted by exp(1.5·z). */
function distort(line: string, seed: number): string {
  const i = line.lastIndexOf(',');
  const v = Number(line.slice(i + 1));
  if (line.slice(i + 1) === '' || !Number.isFinite(v)) return line;
  const z = createRng(seed).normal();
  return `${line.slice(0, i + 1)}${Math.round(v * Math.exp(1.5 * z))}`;
}

const num = (x: unknown, d = 4): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

export async function runDailySimBench(argv: string[]): Promise<unknown> {
  const opt = (name: string, def: number): number => { const i = argv.indexOf(name); return i >= 0 ? Number(argv[i + 1]) : def; };
  const days = opt('--days', 21);
  const driftFrom = opt('--drift-from', 11);
  const tmp = mkdtempSync(join(tmpdir(), 'sp-daily-sim-'));
  const hooks: unknown[] = [];
  const server = createServer((req, res) => { let b = ''; req.on('data', (c: Buffer) => { b += c.toString(); }); req.on('end', () => { hooks.push(JSON.parse(b)); res.end('ok'); }); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    // 1. The data: the real sample, or a synthetic set made by the generator.
    let src = SAMPLE;
    let label = 'real Kaggle sample (../shared/data/kaggle-sample)';
    if (argv.includes('--synthetic') || !existsSync(SAMPLE)) {
      const gen = join(tmp, 'gen');
      const f = await cli(['fetch', '--symbols', '60', '--years', '4'], gen);
      if (!f.ok) throw new Error(`synthetic fetch failed: ${f.error?.message}`);
      src = join(gen, 'raw', 'synthetic', 'data');
      label = 'synthetic (60 symbols × 4 years, seed 42)';
    }
    const files = readLayout(src);
    const dates = [...new Set([...files.values()].flatMap((f) => f.lines.map((l) => l.slice(0, 10))))].sort();
    const held = dates.slice(-days);
    const cut = held[0]!;
    // 2. The copy read through dir:, with the held-back days removed.
    const sim = join(tmp, 'source');
    const pending = new Map<string, Map<string, string[]>>();
    for (const [rel, f] of files) {
      mkdirSync(join(sim, rel, '..'), { recursive: true });
      const before = f.lines.filter((l) => l.slice(0, 10) < cut);
      writeFileSync(join(sim, rel), `${[f.header, ...before].join('\n')}\n`);
      const byDay = new Map<string, string[]>();
      for (const l of f.lines) if (l.slice(0, 10) >= cut) byDay.set(l.slice(0, 10), [...(byDay.get(l.slice(0, 10)) ?? []), l]);
      pending.set(rel, byDay);
    }
    if (existsSync(join(src, 'symbols_valid_meta.csv'))) copyFileSync(join(src, 'symbols_valid_meta.csv'), join(sim, 'symbols_valid_meta.csv'));
    const ws = join(tmp, 'ws');
    const config = join(tmp, 'stockpipe.config.json');
    writeFileSync(config, JSON.stringify({ fetch: { source: `dir:${sim}` }, features: { extended: true }, pipeline: { retries: 0 }, alerts: { webhook_url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` } }));

    const rows: Record<string, unknown>[] = [];
    const runDay = async (day: number, date: string | null): Promise<void> => {
      const t0 = performance.now();
      const r = await cli(['run', 'daily'], ws, config);
      const seconds = Math.round(performance.now() - t0) / 1000;
      const runId = r.data?.run_id ?? /run (\w+)/.exec(r.error?.message ?? '')?.[1];
      const shown = runId ? (await cli(['runs', 'show', String(runId)], ws)).data : undefined;
      const task = (n: string) => (shown?.tasks as { task: string; status: string; summary: Record<string, any> | null }[] | undefined)?.find((t) => t.task === n);
      const mon = task('monitor')?.summary ?? {};
      const champion = ((await cli(['models', 'list'], ws)).data as unknown as { id: string; aliases: string[] }[] | undefined)?.find((x) => x.aliases.includes('forecast_champion'))?.id ?? null;
      // the model judged on the newest days (the one that made the latest matured forecasts)
      const m = ((mon.models as Record<string, any>[] | undefined) ?? []).filter((x) => x.window?.to).sort((a, b) => String(b.window.to).localeCompare(String(a.window.to)))[0] ?? {};
      const drift = (mon.drift as { column: string; psi: number; status: string }[] | undefined) ?? [];
      const retrain = task('retrain-if-needed');
      rows.push({
        day, date, status: r.ok ? 'finished' : r.error?.code, seconds,
        matured: mon.matured ?? null, pending: mon.pending ?? null,
        mape_volume: m.mape_volume ?? null, mae_adj_close: m.mae_adj_close ?? null, skill_adj_close: m.skill_adj_close ?? null, skill_volume: m.skill_volume ?? null,
        psi_log_volume: drift.find((d) => d.column === 'log_volume')?.psi ?? null,
        alerts: ((mon.alerts as { kind: string; message: string }[] | undefined) ?? []).map((a) => `${a.kind}: ${a.message}`),
        retrain: retrain?.status ?? null, retrain_summary: retrain?.summary ?? null,
        judged_model: m.model_id ?? null, forecast_champion: champion,
      });
      const x = rows[rows.length - 1]!;
      process.stderr.write(`day ${day} ${date ?? '(initial)'} ${x.status} ${seconds}s matured ${x.matured} mape_vol ${num(x.mape_volume)} skill_vol ${num(x.skill_volume)} psi ${num(x.psi_log_volume)} retrain ${x.retrain} alerts ${(x.alerts as string[]).length}\n`);
    };
    await runDay(0, null);
    for (const [i, date] of held.entries()) {
      for (const [rel, byDay] of pending) {
        const lines = byDay.get(date);
        if (!lines) continue;
        const out = i + 1 >= driftFrom ? lines.map((l, k) => distort(l, deriveSeed(42, (i * 100_003 + k * 7919 + rel.length * 31 + rel.charCodeAt(7)) | 0))) : lines;
        appendFileSync(join(sim, rel), `${out.join('\n')}\n`);
      }
      await runDay(i + 1, date);
    }
    return { bench: 'daily-sim', machine: machine(), data: label, held_back: { days, from: held[0], to: held[held.length - 1] }, drift_from_day: driftFrom, drift: 'Volume × exp(1.5·z) on every appended row from that day on', webhook_alerts_received: hooks.length, days: rows };
  } finally {
    server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
