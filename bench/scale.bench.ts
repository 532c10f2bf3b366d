/** @module bench/scale
 * `npm run bench -- scale [--symbols=N] [--partitions=2,8]`: the features task at full scale (≈ 28M real-like rows) on
 * the local executor against the bullmq executor, side by side in one run, on the same prices
 * snapshot: (a) local `features --force` (both cores); (b) 1 queue worker, concurrency 2 (both
 * cores, each job --threads 1); (c) 1 worker pinned to one core (`taskset -c 0`); (d) 2 workers
 * pinned to one core each. Wall time, CPU seconds (the workers' own and their children's, from
 * /proc, plus the runner's), each partition's duration and rows (for the scale-out model), and a
 * check that every distributed result equals the local one. Starts its own redis-server. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SYNTHETIC_BENCH } from '../src/sources/synthetic.js';
import { machine } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const CLI = join(ROOT, 'dist', 'bin', 'main.js');
const CACHE = join(ROOT, 'bench', '.cache');
const TICK = 100; // clock ticks per second in /proc/<pid>/stat (USER_HZ)

interface Timed { seconds: number; cpu_s: number; data: Record<string, unknown> }

/** Runs the CLI under GNU time: wall and CPU (user + system, children included). Asynchronous: the workers' pipes keep draining. */
function timed(args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  const t0 = performance.now();
  const c = spawn('/usr/bin/time', ['-f', '__T__ %U %S', process.execPath, CLI, ...args, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  c.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
  c.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  return new Promise((res, rej) => c.on('close', (code) => {
    const seconds = (performance.now() - t0) / 1000;
    const m = /__T__ ([\d.]+) ([\d.]+)/.exec(stderr);
    if (code !== 0) return rej(new Error(`stockpipe ${args.join(' ')} failed: ${stdout.slice(-2000)}${stderr.slice(-2000)}`));
    res({ seconds: round(seconds), cpu_s: m ? round(Number(m[1]) + Number(m[2])) : Number.NaN, data: (JSON.parse(stdout.trim().split('\n').pop()!) as { data: Record<string, unknown> }).data });
  }));
}

const round = (x: number): number => Math.round(x * 1000) / 1000;

/** A process's CPU seconds so far, its waited-for children's included (/proc/<pid>/stat utime, stime, cutime, cstime). */
function cpuOf(pid: number): number {
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / TICK;
}

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runScaleBench(argv: string[]): Promise<Record<string, unknown>> {
  const symbols = Number(argv.find((a) => a.startsWith('--symbols='))?.slice(10) ?? SYNTHETIC_BENCH.symbols);
  // pipeline.partitions for the distributed runs (default: the config's default, 8); several = each in turn.
  const partitionSets = (argv.find((a) => a.startsWith('--partitions='))?.slice(13) ?? '8').split(',').map(Number);
  const gen = join(CACHE, `store-gen-${symbols}`);
  const ws = join(CACHE, `scale-ws-${symbols}`);
  const env = { ...process.env };
  delete env.STOCKPIPE_REDIS_URL;
  // The prices: the store benchmark's generated data (made once), ingested once into this workspace.
  if (!existsSync(join(gen, 'raw', 'synthetic', 'manifest.json'))) {
    await timed(['fetch', '--workspace', gen, '--source', 'synthetic', '--seed', String(SYNTHETIC_BENCH.seed), '--symbols', String(symbols), '--years', String(SYNTHETIC_BENCH.years), '--start', SYNTHETIC_BENCH.start], env);
  }
  if (!existsSync(join(ws, 'tables', 'prices', '_snapshot.json'))) {
    rmSync(ws, { recursive: true, force: true });
    await timed(['fetch', '--workspace', ws, '--source', `dir:${join(gen, 'raw', 'synthetic', 'data')}`], env);
    await timed(['ingest', '--workspace', ws], env);
  }
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-redis-'));
  const sock = join(dir, 'redis.sock');
  const redis = spawn('redis-server', ['--port', '0', '--unixsocket', sock, '--dir', dir, '--save', '', '--appendonly', 'yes', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const workers: ChildProcess[] = [];
  const stopWorkers = async (): Promise<void> => {
    await Promise.all(workers.splice(0).map((w) => new Promise<void>((res) => {
      if (w.exitCode !== null) return res();
      w.once('exit', () => res());
      w.kill('SIGTERM');
    })));
  };
  try {
    await waitFor(() => existsSync(sock) && spawnSync('redis-cli', ['-s', sock, 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG', 10_000, 'redis-server');
    const qenv = { ...env, STOCKPIPE_REDIS_URL: `unix://${sock}` };
    const local = await timed(['features', '--workspace', ws, '--force'], env);
    const rows = Number(local.data.rows);
    const scenarios: Record<string, unknown>[] = [];
    const distributed = async (name: string, specs: { cpu?: string; concurrency: number }[], partitions: number): Promise<Record<string, unknown>> => {
      const config = join(dir, `partitions-${partitions}.json`);
      writeFileSync(config, JSON.stringify({ pipeline: { partitions } }));
      for (const s of specs) {
        const args = [CLI, 'worker', '--workspace', ws, '--concurrency', String(s.concurrency)];
        const w = s.cpu === undefined ? spawn(process.execPath, args, { env: qenv, stdio: ['ignore', 'ignore', 'pipe'] }) : spawn('taskset', ['-c', s.cpu, process.execPath, ...args], { env: qenv, stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        w.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
        (w as ChildProcess & { err: () => string }).err = () => err;
        workers.push(w);
      }
      await waitFor(() => workers.every((w) => (w as ChildProcess & { err: () => string }).err().includes('taking jobs')), 30_000, 'the workers');
      const before = workers.reduce((a, w) => a + cpuOf(w.pid!), 0);
      const r = await timed(['run', 'train', '--workspace', ws, '--config', config, '--from', 'features', '--to', 'features', '--force-task', 'features', '--executor', 'bullmq'], qenv);
      const after = workers.reduce((a, w) => a + cpuOf(w.pid!), 0);
      const show = JSON.parse(spawnSync(process.execPath, [CLI, 'runs', 'show', String(r.data.run_id), '--workspace', ws, '--json'], { env, encoding: 'utf8' }).stdout) as { data: { tasks: { task: string; seconds: number; summary: Record<string, unknown> | null; workers: { partition: string; worker: string; seconds: number }[] }[] } };
      const task = show.data.tasks.find((t) => t.task === 'features')!;
      const out = {
        name, partitions_setting: partitions, workers: specs, run_seconds: r.seconds, task_seconds: task.seconds, cpu_s: round(after - before + r.cpu_s), rows: task.summary?.rows,
        partitions: task.workers.map((p) => ({ partition: p.partition, seconds: p.seconds })),
      };
      if (Number(task.summary?.rows) !== rows) throw new Error(`${name}: ${String(task.summary?.rows)} rows, the local build has ${rows}`);
      scenarios.push(out);
      return out;
    };
    const ratios: Record<string, unknown>[] = [];
    for (const n of partitionSets) {
      const one = (await distributed('1 worker, concurrency 2', [{ concurrency: 2 }], n)) as { task_seconds: number; cpu_s: number };
      await stopWorkers();
      const pinned1 = (await distributed('1 worker pinned (taskset -c 0), concurrency 1', [{ cpu: '0', concurrency: 1 }], n)) as { task_seconds: number };
      await stopWorkers();
      const pinned2 = (await distributed('2 workers pinned (cores 0 and 1), concurrency 1 each', [{ cpu: '0', concurrency: 1 }, { cpu: '1', concurrency: 1 }], n)) as { task_seconds: number };
      await stopWorkers();
      ratios.push({
        partitions: n,
        one_worker_vs_local: round(one.task_seconds / local.seconds),
        two_pinned_speedup_vs_one_pinned: round(pinned1.task_seconds / pinned2.task_seconds),
        cpu_distributed_vs_local: round(one.cpu_s / local.cpu_s),
      });
    }
    return {
      benchmark: 'scale',
      machine: machine(),
      rows,
      local: { seconds: local.seconds, cpu_s: local.cpu_s, command: 'features --force' },
      scenarios,
      ratios,
    };
  } finally {
    await stopWorkers();
    redis.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}
