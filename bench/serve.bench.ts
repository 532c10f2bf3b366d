/** @module bench/serve
 * `npm run bench -- serve`: load-tests `stockpipe serve` on 127.0.0.1 with autocannon for a
 * bounded time — GET /predict and POST /predict with 100 instances — and, where Debian's
 * python3-flask and python3-sklearn are present, the classic Flask server of
 * ../shared/reference/flask_serve.py with the same tool and settings, in the same run. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { machine } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const WS = join(ROOT, 'bench', '.cache', 'ws-serve');
const SHARED = resolve(ROOT, '..', 'shared');

interface Load {
  requests_per_s: number;
  p50_ms: number;
  p99_ms: number;
  errors: number;
  non_2xx: number;
  total: number;
}

async function load(opts: autocannon.Options): Promise<Load> {
  const r = await autocannon({ connections: 64, pipelining: 1, duration: 15, ...opts });
  return { requests_per_s: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors, non_2xx: r.non2xx, total: r.requests.total };
}

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args, '-w', WS, '--quiet'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stockpipe ${args.join(' ')}: ${r.stdout}${r.stderr}`);
}

async function waitForUrl(child: ChildProcess): Promise<string> {
  return new Promise((res, rej) => {
    child.stdout!.once('data', (d: Buffer) => res((JSON.parse(d.toString()) as { data: { url: string } }).data.url));
    child.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
}

async function waitForHttp(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`${url} did not answer in ${ms / 1000} s`);
}

export async function runServeBench(argv: string[]): Promise<Record<string, unknown>> {
  const duration = Number(argv.find((a) => a.startsWith('--duration='))?.slice(11) ?? 15);
  mkdirSync(WS, { recursive: true });
  // The synthetic default end to end (cached after the first run): a real gbdt champion.
  for (const step of [['fetch'], ['ingest'], ['features'], ['train', '--promote-if-better']]) cli(step);
  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', '--quiet', '-w', WS], { stdio: ['ignore', 'pipe', 'inherit'] });
  const out: Record<string, unknown> = { bench: 'serve', machine: machine(), duration_s: duration, connections: 64 };
  try {
    const url = await waitForUrl(server);
    const get = `${url}/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75`;
    await load({ url: get, duration: 2 }); // warm-up
    out.get_predict = await load({ url: get, duration });
    process.stderr.write(`[serve] GET /predict: ${JSON.stringify(out.get_predict)}\n`);
    const body = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => ({ vol_moving_avg: 1000 + i * 997, adj_close_rolling_med: 10 + i / 3 })) });
    out.post_predict_100 = await load({ url: `${url}/predict`, method: 'POST', headers: { 'content-type': 'application/json' }, body, duration });
    process.stderr.write(`[serve] POST /predict x100: ${JSON.stringify(out.post_predict_100)}\n`);
  } finally {
    server.kill('SIGTERM');
  }
  const flaskScript = join(SHARED, 'reference', 'flask_serve.py');
  const sample = join(SHARED, 'data', 'kaggle-sample');
  const hasFlask = spawnSync('/usr/bin/python3', ['-c', 'import flask, sklearn, pandas'], { encoding: 'utf8' }).status === 0;
  if (existsSync(flaskScript) && existsSync(sample) && hasFlask && !argv.includes('--no-flask')) {
    const port = 18000 + Math.floor(Math.random() * 1000);
    const flask = spawn('/usr/bin/python3', [flaskScript, sample, String(port)], { cwd: join(SHARED, 'reference'), stdio: 'ignore' });
    try {
      const url = `http://127.0.0.1:${port}/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75`;
      await waitForHttp(url, 300_000);
      out.flask_get_predict = await load({ url, duration });
      process.stderr.write(`[serve] Flask GET /predict: ${JSON.stringify(out.flask_get_predict)}\n`);
      const ours = (out.get_predict as Load).requests_per_s;
      out.speedup_vs_flask = Math.round((ours / Math.max(1, (out.flask_get_predict as Load).requests_per_s)) * 10) / 10;
    } finally {
      flask.kill('SIGTERM');
    }
  } else out.flask_get_predict = 'skipped: needs ../shared/reference and Debian python3-flask, python3-sklearn, python3-pandas';
  mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'out', 'serve.json'), `${JSON.stringify(out, null, 2)}\n`);
  return out;
}
