/** @module bench/serve
 * `npm run bench -- serve`: load-tests `stockpipe serve` on 127.0.0.1 with autocannon for a
 * bounded time — GET /predict and POST /predict with 100 instances — then API replicas: GET
 * /predict on a bare Fastify app answering the same route with an integer (bench/bare-fastify.ts)
 * and on `serve`, like with like: one process each, and two node:cluster workers each, alternated
 * in one run; first on shared cores, then, where taskset exists, with the servers on core 1 and the
 * load generator on core 0. autocannon runs as its own process throughout (the benchmark process
 * only waits), and the load average is recorded before and after each layout. Each replica row
 * also has the server's CPU time per request (its processes, from /proc): requests/s moves with
 * whatever else runs on the machine, CPU per request much less. Where Debian's
 * python3-flask and python3-sklearn are present, the classic Flask server of
 * ../shared/reference/flask_serve.py is loaded with the same tool and settings, in the same run.
 * Then fresh-process rounds: bare Fastify and `serve` (one process each) alternated, each round
 * a newly started server (pinned as above where possible), 2 s of warm-up, then loaded; medians
 * over the rounds, so that neither a server's age nor a slow minute of the machine decides.
 * Options: --duration=S (15), --replica-duration=S (10), --replica-rounds=N (2), --no-flask,
 * --replicas-only (skip the single-server rows and Flask; --replica-rounds=0 skips the replicas
 * too), --fresh-rounds=N (10; 0 skips them),
 * --fresh-duration=S (4). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism, loadavg } from 'node:os';
import { machine } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
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

const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');

/**
 * Loads `url` with autocannon run as its own process (so the benchmark process takes no CPU from
 * the server), pinned to `cpus` when given.
 */
async function load(opts: { url: string; duration: number; method?: string; body?: string; contentType?: string }, cpus: string | null = null): Promise<Load> {
  const args = [AUTOCANNON, '-j', '-c', '64', '-p', '1', '-d', String(opts.duration)];
  if (opts.method) args.push('-m', opts.method);
  if (opts.contentType) args.push('-H', `content-type=${opts.contentType}`);
  if (opts.body !== undefined) args.push('-b', opts.body);
  args.push(opts.url);
  const [cmd, ...rest] = cpus === null ? [process.execPath, ...args] : ['taskset', '-c', cpus, process.execPath, ...args];
  const child = spawn(cmd!, rest, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  if (code !== 0) throw new Error(`autocannon exited ${code}: ${err}`);
  const r = JSON.parse(out.trim().split('\n').pop()!) as { requests: { average: number; total: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { requests_per_s: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, errors: r.errors, non_2xx: r.non2xx, total: r.requests.total };
}

const loadAvg = (): number[] => loadavg().map((x) => Math.round(x * 100) / 100);

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU seconds (user + system) used so far by `pid` and its descendants (Linux /proc; null elsewhere). */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let ticks = Number(f[11]) + Number(f[12]);
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(' ').filter(Boolean)) ticks += (cpuSeconds(Number(c)) ?? 0) * CLK_TCK;
    }
    return ticks / CLK_TCK;
  } catch {
    return null;
  }
}

/**
 * load(), and the server's CPU time per request over it (its process and children, e.g. cluster
 * workers): unlike requests/s, hardly moved by other processes taking CPU, so it compares servers
 * on a busy machine. null where /proc is missing.
 */
async function loadWithCpu(pid: number, opts: Parameters<typeof load>[0], cpus: string | null): Promise<Load & { server_cpu_us_per_request: number | null }> {
  const before = cpuSeconds(pid);
  const r = await load(opts, cpus);
  const after = cpuSeconds(pid);
  const us = before === null || after === null || r.total === 0 ? null : Math.round(((after - before) * 1e6) / r.total * 10) / 10;
  return { ...r, server_cpu_us_per_request: us };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/**
 * Bare Fastify and `serve`, one process each, alternated for `rounds` rounds, every round on a newly
 * started server (2 s of warm-up, then `duration` seconds of load); medians of requests/s and of the
 * server's CPU time per request, and their ratios.
 */
async function freshRounds(layout: { servers: string | null; load: string | null }, duration: number, rounds: number): Promise<Record<string, unknown>> {
  const query = '/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75';
  const targets = {
    bare_fastify_1: { args: [...process.execArgv, join(ROOT, 'bench', 'bare-fastify.ts')], url: (line: string) => `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}` },
    serve_1: { args: [CLI, 'serve', '--port', '0', '--json', '--quiet', '-w', WS], url: (line: string) => (JSON.parse(line) as { data: { url: string } }).data.url },
  };
  const seen: Record<string, { rps: number[]; cpu: number[] }> = { bare_fastify_1: { rps: [], cpu: [] }, serve_1: { rps: [], cpu: [] } };
  const loadBefore = loadAvg();
  for (let round = 0; round < rounds; round++) {
    for (const [name, t] of Object.entries(targets)) {
      const server = await startServer(t.args, layout.servers, t.url);
      try {
        await load({ url: `${server.url}${query}`, duration: 2 }, layout.load);
        const r = await loadWithCpu(server.child.pid!, { url: `${server.url}${query}`, duration }, layout.load);
        process.stderr.write(`[serve] fresh round ${round + 1}, ${name}: ${JSON.stringify(r)}\n`);
        seen[name]!.rps.push(r.requests_per_s);
        if (r.server_cpu_us_per_request !== null) seen[name]!.cpu.push(r.server_cpu_us_per_request);
      } finally {
        await stopServer(server.child);
      }
    }
  }
  const med = (xs: number[]): number | null => (xs.length === 0 ? null : Math.round(median(xs) * 100) / 100);
  const ratio = (a: number | null, b: number | null, invert: boolean): number | null => (a === null || b === null ? null : Math.round((invert ? b / a : a / b) * 100) / 100);
  const rps = { bare_fastify_1: med(seen.bare_fastify_1!.rps), serve_1: med(seen.serve_1!.rps) };
  const cpu = { bare_fastify_1: med(seen.bare_fastify_1!.cpu), serve_1: med(seen.serve_1!.cpu) };
  return {
    servers_on_cpu: layout.servers ?? 'any', load_generator_on_cpu: layout.load ?? 'any', duration_s: duration, rounds, load_avg_before: loadBefore, load_avg_after: loadAvg(),
    requests_per_s_rounds: Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.rps])),
    cpu_us_per_request_rounds: Object.fromEntries(Object.entries(seen).map(([k, v]) => [k, v.cpu])),
    requests_per_s_median: rps, cpu_us_per_request_median: cpu,
    ratio_serve_1_vs_bare_1: ratio(rps.serve_1, rps.bare_fastify_1, false),
    // Requests per CPU second relative to bare Fastify's.
    cpu_ratio_serve_1_vs_bare_1: ratio(cpu.serve_1, cpu.bare_fastify_1, true),
  };
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

/** SIGTERM, then SIGKILL after 10 s (a benchmark never hangs on a server that does not stop). */
const stopServer = (child: ChildProcess): Promise<void> =>
  new Promise((res) => {
    if (child.exitCode !== null || child.signalCode !== null) return res();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });

type ReplicaTarget = 'bare_fastify_1' | 'serve_1' | 'bare_fastify_2' | 'serve_workers_2';

/**
 * GET /predict on a bare Fastify app and on `serve`, one process each and two node:cluster workers
 * each, all started together (idle ones take no CPU) and loaded one at a time, alternating for
 * `rounds` rounds; the best round of each. `layout.servers`/`layout.load` pin the servers and the
 * load generator (null: no pinning).
 */
async function replicaLayout(layout: { servers: string | null; load: string | null }, duration: number, rounds: number): Promise<Record<string, unknown>> {
  const query = '/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75';
  const cliUrl = (line: string): string => (JSON.parse(line) as { data: { url: string } }).data.url;
  const bareUrl = (line: string): string => `http://127.0.0.1:${(JSON.parse(line) as { port: number }).port}`;
  const bare = join(ROOT, 'bench', 'bare-fastify.ts');
  const servers: Record<ReplicaTarget, { url: string; child: ChildProcess } | null> = { bare_fastify_1: null, serve_1: null, bare_fastify_2: null, serve_workers_2: null };
  const rows: Partial<Record<ReplicaTarget, Load & { rounds: number[]; cpu_us_rounds: number[] }>> = {};
  const loadBefore = loadAvg();
  try {
    servers.bare_fastify_1 = await startServer([...process.execArgv, bare], layout.servers, bareUrl);
    servers.serve_1 = await startServer([CLI, 'serve', '--port', '0', '--json', '--quiet', '-w', WS], layout.servers, cliUrl);
    servers.bare_fastify_2 = await startServer([...process.execArgv, bare, '--workers=2'], layout.servers, bareUrl);
    servers.serve_workers_2 = await startServer([CLI, 'serve', '--workers', '2', '--port', '0', '--json', '--quiet', '-w', WS], layout.servers, cliUrl);
    for (const s of Object.values(servers)) await load({ url: `${s!.url}${query}`, duration: 2 }, layout.load); // warm-up
    for (let round = 0; round < rounds; round++) {
      for (const target of Object.keys(servers) as ReplicaTarget[]) {
        const r = await loadWithCpu(servers[target]!.child.pid!, { url: `${servers[target]!.url}${query}`, duration }, layout.load);
        process.stderr.write(`[serve] replicas, servers on cpu ${layout.servers ?? 'any'}, load generator on cpu ${layout.load ?? 'any'}, round ${round + 1}, ${target}: ${JSON.stringify(r)}\n`);
        const prev = rows[target];
        const all = [...(prev?.rounds ?? []), r.requests_per_s];
        const cpu = [...(prev?.cpu_us_rounds ?? []), ...(r.server_cpu_us_per_request === null ? [] : [r.server_cpu_us_per_request])];
        rows[target] = r.requests_per_s > (prev?.requests_per_s ?? -1) ? { ...r, rounds: all, cpu_us_rounds: cpu } : { ...prev!, rounds: all, cpu_us_rounds: cpu };
      }
    }
  } finally {
    for (const s of Object.values(servers)) if (s) await stopServer(s.child);
  }
  const ratio = (a: ReplicaTarget, b: ReplicaTarget): number => Math.round((rows[a]!.requests_per_s / Math.max(1, rows[b]!.requests_per_s)) * 100) / 100;
  // Requests per CPU second relative to bare Fastify's: the throughput ratio when each server has its CPU to itself.
  const cpuMedian = (t: ReplicaTarget): number | null => (rows[t]!.cpu_us_rounds.length > 0 ? median(rows[t]!.cpu_us_rounds) : null);
  const cpuRatio = (a: ReplicaTarget, b: ReplicaTarget): number | null => {
    const x = cpuMedian(a);
    const y = cpuMedian(b);
    return x === null || y === null ? null : Math.round((y / x) * 100) / 100;
  };
  return {
    servers_cpu: layout.servers ?? 'any', load_generator_cpu: layout.load ?? 'any', load_avg_before: loadBefore, load_avg_after: loadAvg(), ...rows,
    ratio_serve_1_vs_bare_1: ratio('serve_1', 'bare_fastify_1'),
    ratio_workers_2_vs_bare_2: ratio('serve_workers_2', 'bare_fastify_2'),
    ratio_workers_2_vs_bare_1: ratio('serve_workers_2', 'bare_fastify_1'),
    cpu_us_per_request_median: Object.fromEntries((Object.keys(rows) as ReplicaTarget[]).map((t) => [t, cpuMedian(t)])),
    cpu_ratio_serve_1_vs_bare_1: cpuRatio('serve_1', 'bare_fastify_1'),
    cpu_ratio_workers_2_vs_bare_2: cpuRatio('serve_workers_2', 'bare_fastify_2'),
  };
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

/** GET /predict and POST /predict (100 instances) on one `serve` process. */
async function singleServer(out: Record<string, unknown>, duration: number): Promise<void> {
  const server = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--json', '--quiet', '-w', WS], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const url = await waitForUrl(server);
    const get = `${url}/predict?vol_moving_avg=2326635.5&adj_close_rolling_med=25.75`;
    await load({ url: get, duration: 2 }); // warm-up
    out.get_predict = await load({ url: get, duration });
    process.stderr.write(`[serve] GET /predict: ${JSON.stringify(out.get_predict)}\n`);
    const body = JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => ({ vol_moving_avg: 1000 + i * 997, adj_close_rolling_med: 10 + i / 3 })) });
    out.post_predict_100 = await load({ url: `${url}/predict`, method: 'POST', contentType: 'application/json', body, duration });
    process.stderr.write(`[serve] POST /predict x100: ${JSON.stringify(out.post_predict_100)}\n`);
  } finally {
    await stopServer(server);
  }
}

export async function runServeBench(argv: string[]): Promise<Record<string, unknown>> {
  const duration = numberArg(argv, 'duration', 15);
  mkdirSync(WS, { recursive: true });
  // The synthetic default end to end (cached after the first run): a real gbdt champion.
  for (const step of [['fetch'], ['ingest'], ['features'], ['train', '--promote-if-better']]) cli(step);
  const out: Record<string, unknown> = { bench: 'serve', machine: machine(), duration_s: duration, connections: 64, load_generator: 'autocannon, its own process' };
  const replicasOnly = argv.includes('--replicas-only');
  if (!replicasOnly) await singleServer(out, duration);
  const replicaDuration = numberArg(argv, 'replica-duration', 10);
  const rounds = numberArg(argv, 'replica-rounds', 2);
  const allowed = cpusAllowed();
  const canPin = allowed !== null && spawnSync('taskset', ['-V'], { encoding: 'utf8' }).status === 0 && availableParallelism() >= 2;
  out.replicas = rounds === 0 ? 'skipped: --replica-rounds=0' : {
    connections: 64, duration_s: replicaDuration, rounds, best_of: 'the round with the most requests/s', load_generator: 'autocannon, its own process',
    shared_cores: await replicaLayout({ servers: null, load: null }, replicaDuration, rounds),
    // The load generator on core 0, every server process on core 1: a 1-process server has a core to itself.
    pinned: canPin ? await replicaLayout({ servers: '1', load: '0' }, replicaDuration, rounds) : 'skipped: needs taskset and 2 cores',
  };
  const freshCount = numberArg(argv, 'fresh-rounds', 10);
  out.fresh_rounds = freshCount === 0 ? 'skipped: --fresh-rounds=0'
    : await freshRounds(canPin ? { servers: '1', load: '0' } : { servers: null, load: null }, numberArg(argv, 'fresh-duration', 4), freshCount);
  const flaskScript = join(SHARED, 'reference', 'flask_serve.py');
  const sample = join(SHARED, 'data', 'kaggle-sample');
  const hasFlask = spawnSync('/usr/bin/python3', ['-c', 'import flask, sklearn, pandas'], { encoding: 'utf8' }).status === 0;
  if (existsSync(flaskScript) && existsSync(sample) && hasFlask && !argv.includes('--no-flask') && !replicasOnly) {
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
