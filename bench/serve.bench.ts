/** @module bench/serve
 * `npm run bench -- serve`: load-tests `stockpipe serve` on 127.0.0.1 with autocannon for a
 * bounded time — GET /predict and POST /predict with 100 instances — then API replicas: GET
 * /predict on `serve --workers 2` and on one `serve` process side by side with a bare Fastify app
 * answering the same route with an integer (bench/bare-fastify.ts), alternated, with the load
 * generator sharing every core and, where taskset exists, pinned to core 0 with the servers on
 * core 1; and, where Debian's python3-flask and python3-sklearn are present, the classic Flask
 * server of ../shared/reference/flask_serve.py with the same tool and settings, in the same run.
 * Options: --duration=S (15), --replica-duration=S (10), --replica-rounds=N (2), --no-flask. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
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

/** The CPUs this process may run on now (Linux), e.g. `0-1`. */
function cpusAllowed(): string | null {
  const m = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? m[1]! : null;
}

/** Sets the CPUs of every thread of this process (the load generator: autocannon runs in it). */
function pinSelf(cpus: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpus, String(process.pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`taskset -a -p -c ${cpus}: ${r.stderr}`);
}

/** Starts a server process, pinned to `cpus` when given; resolves with its base URL. */
async function startServer(args: string[], cpus: string | null, parseUrl: (line: string) => string): Promise<{ url: string; child: ChildProcess }> {
  const [cmd, ...rest] = cpus === null ? [process.execPath, ...args] : ['taskset', '-c', cpus, process.execPath, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((res, rej) => {
    child.stdout!.once('data', (d: Buffer) => res(parseUrl(d.toString().split('\n')[0]!)));
    child.once('exit', (c) => rej(new Error(`${args.join(' ')} exited ${c}`)));
  });
  return { url, child };
}

const stopServer = (child: ChildProcess): Promise<void> =>
  new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    child.once('exit', () => res());
    child.kill('SIGTERM');
  });

type ReplicaTarget = 'bare_fastify' | 'serve_workers_1' | 'serve_workers_2';

/**
 * GET /predict on a bare Fastify app, `serve` and `serve --workers 2`, started together (idle ones
 * take no CPU) and loaded one at a time, alternating for `rounds` rounds; the best round of each.
 */
async function replicaLayout(cpus: string | null, duration: number, rounds: number): Promise<Record<string, unknown>> {
  const query = '/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75';
  const cliUrl = (line: string): string => (JSON.parse(line) as { data: { url: string } }).data.url;
  const servers: Record<ReplicaTarget, { url: string; child: ChildProcess } | null> = { bare_fastify: null, serve_workers_1: null, serve_workers_2: null };
  const best: Partial<Record<ReplicaTarget, Load>> = {};
  try {
    servers.bare_fastify = await startServer([...process.execArgv, join(ROOT, 'bench', 'bare-fastify.ts')], cpus, (line) => `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`);
    servers.serve_workers_1 = await startServer([CLI, 'serve', '--port', '0', '--json', '--quiet', '-w', WS], cpus, cliUrl);
    servers.serve_workers_2 = await startServer([CLI, 'serve', '--workers', '2', '--port', '0', '--json', '--quiet', '-w', WS], cpus, cliUrl);
    for (const s of Object.values(servers)) await load({ url: `${s!.url}${query}`, duration: 2 }); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const target of Object.keys(servers) as ReplicaTarget[]) {
        const r = await load({ url: `${servers[target]!.url}${query}`, duration });
        process.stderr.write(`[serve] replicas ${cpus === null ? 'shared cores' : `servers on cpu ${cpus}`}, round ${round + 1}, ${target}: ${JSON.stringify(r)}\n`);
        if (r.requests_per_s > (best[target]?.requests_per_s ?? -1)) best[target] = r;
      }
    }
  } finally {
    for (const s of Object.values(servers)) if (s) await stopServer(s.child);
  }
  const ratio = (t: ReplicaTarget): number => Math.round((best[t]!.requests_per_s / Math.max(1, best.bare_fastify!.requests_per_s)) * 100) / 100;
  return { ...best, ratio_workers_2_vs_bare: ratio('serve_workers_2'), ratio_workers_1_vs_bare: ratio('serve_workers_1') };
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

const numberArg = (argv: string[], name: string, dflt: number): number => Number(argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt);

export async function runServeBench(argv: string[]): Promise<Record<string, unknown>> {
  const duration = numberArg(argv, 'duration', 15);
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
    await stopServer(server);
  }
  const replicaDuration = numberArg(argv, 'replica-duration', 10);
  const rounds = numberArg(argv, 'replica-rounds', 2);
  const allowed = cpusAllowed();
  const canPin = allowed !== null && spawnSync('taskset', ['-V'], { encoding: 'utf8' }).status === 0 && availableParallelism() >= 2;
  out.replicas = {
    connections: 64, duration_s: replicaDuration, rounds, best_of: 'the round with the most requests/s',
    shared_cores: await replicaLayout(null, replicaDuration, rounds),
    pinned:
      canPin
        ? await (async () => {
            // The load generator (this process) on core 0, every server process on core 1.
            pinSelf('0');
            try {
              return { load_generator_cpu: '0', server_cpu: '1', ...(await replicaLayout('1', replicaDuration, rounds)) };
            } finally {
              pinSelf(allowed!);
            }
          })()
        : 'skipped: needs taskset and 2 cores',
  };
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
