/** @module bench/queue
 * `npm run bench -- queue [--jobs=N] [--rounds=R] [--sizes=150,300,…] [--no-model]`: the BullMQ executor on this machine,
 * against its own redis-server (TCP on 127.0.0.1, AOF everysec) and real `stockpipe worker` processes.
 * (a) queue overhead: N probe jobs (answered by the worker, no child) at once with 1 and 2 workers at
 * concurrency 1, 8, 32 (jobs/s, best of R rounds, alternating order), and the end-to-end latency of
 * one job on an idle queue; (b) the fixed cost of a real command job: `task-main.js runs list` run
 * directly vs as a worker's child vs through the queue; (c) measured inputs of bench/scale-model
 * (features' fixed and per-row cost, bytes per row), the model checked against measured 1- and
 * 2-worker runs, then the model at 1…64 machines. Tables go to stderr, the JSON to stdout and
 * bench/out/queue.json. Baseline for (a)/(b): the same work without the queue. */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pino } from 'pino';
import { BullmqExecutor } from '../src/queue/executor.js';
import { openRegistry } from '../src/registry/store.js';
import { SYNTHETIC_BENCH } from '../src/sources/synthetic.js';
import { machine, measure } from './measure.js';
import { CLI, env, flush, startRedis, startWorkers, stopWorkers } from './queue-rig.js';
import { bucketRows, fitLine, type ModelJob, simulate } from './scale-model.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const TASK_MAIN = join(ROOT, 'dist', 'bin', 'task-main.js');
const log = pino({ level: 'silent' });
const PREFIX = 'stockpipe';
const load1 = (): number => Math.round(loadavg()[0]! * 100) / 100;
const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const say = (s: string): boolean => process.stderr.write(`${s}\n`);

function stats(ms: number[]): { mean: number; p50: number; p99: number; min: number } {
  const s = [...ms].sort((a, b) => a - b);
  const q = (f: number): number => r3(s[Math.min(s.length - 1, Math.floor(f * s.length))]!);
  return { mean: r3(s.reduce((a, b) => a + b, 0) / s.length), p50: q(0.5), p99: q(0.99), min: r3(s[0]!) };
}

async function openExecutor(redisUrl: string, ws: string): Promise<BullmqExecutor> {
  return BullmqExecutor.open({ url: redisUrl, prefix: PREFIX, workspace: ws, env: {}, log, redisTimeoutMs: 60_000 });
}

/** (a) Probe jobs: throughput per configuration, and one job's latency on an idle queue. */
async function queueOverhead(redisUrl: string, ws: string, n: number, rounds: number): Promise<Record<string, unknown>> {
  const configs = [1, 2].flatMap((workers) => [1, 8, 32].map((concurrency) => ({ workers, concurrency })));
  const runs: { workers: number; concurrency: number; round: number; seconds: number; jobs_per_s: number; load_before: number }[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const c of round % 2 === 1 ? configs : [...configs].reverse()) {
      flush(redisUrl);
      const load = load1();
      const workers = await startWorkers(c.workers, ['--concurrency', String(c.concurrency)], redisUrl, ws);
      const ex = await openExecutor(redisUrl, ws);
      try {
        const stop = new AbortController();
        await Promise.all(Array.from({ length: 200 }, (_, i) => ex.probe(`warm${round}`, 'probe', `w${i}`, 0, i, stop.signal)));
        const t0 = performance.now();
        await Promise.all(Array.from({ length: n }, (_, i) => ex.probe(`r${round}`, 'probe', `p${i}`, 0, i, stop.signal)));
        const seconds = (performance.now() - t0) / 1000;
        runs.push({ ...c, round, seconds: r3(seconds), jobs_per_s: Math.round(n / seconds), load_before: load });
        say(`  ${c.workers} worker(s) × concurrency ${c.concurrency}, round ${round}: ${n} jobs in ${seconds.toFixed(2)} s = ${Math.round(n / seconds)} jobs/s (load ${load})`);
      } finally {
        await ex.close();
        await stopWorkers(workers);
      }
    }
  }
  const best = configs.map((c) => {
    const mine = runs.filter((r) => r.workers === c.workers && r.concurrency === c.concurrency);
    const top = mine.reduce((a, b) => (b.jobs_per_s > a.jobs_per_s ? b : a));
    return { ...c, jobs_per_s: top.jobs_per_s, ms_per_job: r3(1000 / top.jobs_per_s), rounds: mine.map((r) => r.jobs_per_s) };
  });

  // One job at a time on an idle queue: submit → result, 1 worker at concurrency 1.
  flush(redisUrl);
  const load = load1();
  const workers = await startWorkers(1, ['--concurrency', '1'], redisUrl, ws);
  const ex = await openExecutor(redisUrl, ws);
  const ms: number[] = [];
  try {
    const stop = new AbortController();
    for (let i = 0; i < 350; i++) {
      const t0 = performance.now();
      await ex.probe('lat', 'probe', `l${i}`, 0, i, stop.signal);
      if (i >= 50) ms.push(performance.now() - t0); // the first 50 warm up connections and JIT
    }
  } finally {
    await ex.close();
    await stopWorkers(workers);
  }
  const latency = { jobs: ms.length, load_before: load, ...stats(ms) };
  say(`  one job on an idle queue: mean ${latency.mean} ms, p50 ${latency.p50} ms, p99 ${latency.p99} ms (${latency.jobs} jobs, load ${load})`);
  return { jobs: n, rounds, runs, best, latency_ms: latency };
}

/** (b) A trivial real command: Node alone, the command run directly, and as a queued job (interleaved, so load drifts hit all three alike). */
async function commandFixedCost(redisUrl: string, ws: string, k: number): Promise<Record<string, unknown>> {
  const time = (args: string[]): number => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { env: env(redisUrl, ws), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')}: ${r.stderr}`);
    return (performance.now() - t0) / 1000;
  };
  const load = load1();
  time([TASK_MAIN, 'runs', 'list', '--json', '-w', ws]); // creates the store; warms the page cache
  flush(redisUrl);
  const workers = await startWorkers(1, ['--concurrency', '1'], redisUrl, ws);
  const ex = await openExecutor(redisUrl, ws);
  recordRun(ws, 'fixed');
  const nodeOnly: number[] = [];
  const direct: number[] = [];
  const endToEnd: number[] = [];
  const inWorker: number[] = [];
  try {
    const stop = new AbortController();
    for (let i = 0; i <= k; i++) {
      const t0 = performance.now();
      const r = await ex.run({ runId: 'fixed', task: 'runs-list', partition: `k${i}`, attempt: 1, args: ['runs', 'list', '--workspace', ws], logPath: join(ws, 'logs', `k${i}.log`), signal: stop.signal });
      const e2e = (performance.now() - t0) / 1000;
      const plain = time([TASK_MAIN, 'runs', 'list', '--json', '-w', ws]);
      const bare = time(['-e', '0']);
      if (i === 0) continue; // warm-up
      endToEnd.push(e2e);
      inWorker.push(r.worker!.seconds);
      direct.push(plain);
      nodeOnly.push(bare);
    }
  } finally {
    await ex.close();
    await stopWorkers(workers);
  }
  const s = (xs: number[]): { min: number; median: number } => {
    const o = [...xs].sort((a, b) => a - b);
    return { min: r3(o[0]!), median: r3(o[Math.floor(o.length / 2)]!) };
  };
  const out = {
    runs: k, load_before: load, command: 'node dist/bin/task-main.js runs list --json',
    node_start_s: s(nodeOnly), command_direct_s: s(direct), job_in_worker_s: s(inWorker), job_end_to_end_s: s(endToEnd),
  };
  say(`  node -e 0: ${out.node_start_s.median} s; runs list directly: ${out.command_direct_s.median} s; as a job, in the worker (claim + spawn + child): ${out.job_in_worker_s.median} s; end to end through Redis: ${out.job_end_to_end_s.median} s (medians of ${k}, load ${load})`);
  return out;
}

/** Records run `runId` in the workspace's store, as a runner does before it queues the run's jobs (a worker refuses a job whose run its store lacks). */
function recordRun(ws: string, runId: string): void {
  const reg = openRegistry(ws);
  try {
    if (reg.getRun(runId) === null) reg.startRun({ kind: 'bench', run_id: runId, name: 'queue bench' });
  } finally {
    reg.close();
  }
}

/** Bytes of a table's newest snapshot (files are named s<snapshot>-…). */
function snapshotBytes(tableDir: string): number {
  const files: { snap: number; bytes: number }[] = [];
  for (const b of readdirSync(tableDir)) {
    for (const f of readdirSync(join(tableDir, b))) {
      const m = /^s(\d+)-/.exec(f);
      if (m) files.push({ snap: Number(m[1]), bytes: statSync(join(tableDir, b, f)).size });
    }
  }
  const top = Math.max(...files.map((f) => f.snap));
  return files.filter((f) => f.snap === top).reduce((a, f) => a + f.bytes, 0);
}

function cli(args: string[], ws: string, redisUrl: string): { seconds: number; data: Record<string, unknown> } {
  const m = measure(process.execPath, [CLI, ...args, '--json', '--quiet', '-w', ws], { env: env(redisUrl, ws) });
  const doc = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { ok?: boolean; data?: Record<string, unknown>; error?: unknown };
  if (m.status !== 0 || doc.ok !== true) throw new Error(`stockpipe ${args.join(' ')}: ${JSON.stringify(doc.error ?? m.stderr.slice(-500))}`);
  return { seconds: m.seconds, data: doc.data ?? {} };
}

/** Runs `jobs` (one executor per workspace: a job's fence lives in its workspace's store) on the given workers; the makespan. */
async function batch(redisUrl: string, wss: { ws: string; args: string[] }[], workerArgs: string[], nWorkers: number, tag: string): Promise<{ seconds: number; job_s: number[]; load_before: number }> {
  flush(redisUrl);
  const load = load1();
  const workers = await startWorkers(nWorkers, workerArgs, redisUrl, wss[0]!.ws);
  const exs = await Promise.all(wss.map((w) => openExecutor(redisUrl, w.ws)));
  for (const w of wss) recordRun(w.ws, tag);
  try {
    const stop = new AbortController();
    const t0 = performance.now();
    const rs = await Promise.all(wss.map((w, i) => exs[i]!.run({ runId: tag, task: 'features', partition: `ws${i}`, attempt: 1, args: w.args, logPath: join(w.ws, 'logs', `${tag}.log`), signal: stop.signal })));
    return { seconds: r3((performance.now() - t0) / 1000), job_s: rs.map((r) => r.worker!.seconds), load_before: load };
  } finally {
    await Promise.all(exs.map((e) => e.close()));
    await stopWorkers(workers);
  }
}

/** (c) The model's measured inputs, its check against 1- and 2-worker runs, and the model at 1…64 machines. */
async function scaleModel(redisUrl: string, dir: string, dispatchS: number, sizes: number[]): Promise<Record<string, unknown>> {
  // Inputs: `features --force` (a full rebuild: a task-level job) on 4 sizes (symbols × 20 years: 0.4M to 2.1M rows, a bucket of the full data is 1.6M to 2.0M), with 2 threads and with 1.
  const wss: { ws: string; rows: number }[] = [];
  const prepLoad = load1();
  for (const symbols of sizes) {
    const ws = join(dir, `f${symbols}`);
    cli(['fetch', '--symbols', String(symbols), '--years', '20'], ws, redisUrl);
    const rows = Number(cli(['ingest'], ws, redisUrl).data.rows_kept);
    wss.push({ ws, rows });
  }
  // Two rounds, sizes and thread counts interleaved; each point the faster of its two runs (a shared
  // machine: the slower one is the one another process disturbed).
  const timed: { rows: number; threads: number; seconds: number; load_before: number }[] = [];
  for (let round = 0; round < 2; round++) {
    for (const w of round === 0 ? wss : [...wss].reverse()) {
      for (const threads of round === 0 ? [2, 1] : [1, 2]) {
        const load = load1();
        const seconds = cli(['features', '--force', '--threads', String(threads)], w.ws, redisUrl).seconds;
        const same = timed.find((x) => x.rows === w.rows && x.threads === threads);
        if (same === undefined) timed.push({ rows: w.rows, threads, seconds, load_before: load });
        else if (seconds < same.seconds) Object.assign(same, { seconds, load_before: load });
      }
    }
  }
  const fit = (t: number): { fixed_s: number; us_per_row: number } => {
    const pts = timed.filter((x) => x.threads === t);
    const f = fitLine(pts.map((p) => p.rows), pts.map((p) => p.seconds));
    return { fixed_s: r3(f.intercept), us_per_row: r3(f.slope * 1e6) };
  };
  const t2 = fit(2);
  const t1 = fit(1);
  const big = wss.at(-1)!;
  const bytesPerRow = { prices: r3(snapshotBytes(join(big.ws, 'store', 'prices')) / big.rows), features: r3(snapshotBytes(join(big.ws, 'store', 'features')) / big.rows) };
  say(`  features --force: ${t2.fixed_s} s + ${t2.us_per_row} µs/row with 2 threads, ${t1.fixed_s} s + ${t1.us_per_row} µs/row with 1 (least squares over ${sizes.length} sizes, ${wss[0]!.rows}…${big.rows} rows); bytes/row: prices ${bytesPerRow.prices}, features ${bytesPerRow.features}`);

  // Check: the same jobs through the queue, on 1 worker (2 threads) and on 2 workers (1 thread each,
  // sharing this machine's 2 cores: two 1-core "machines"), against the model's prediction.
  const jobs = wss.map((w) => ({ ws: w.ws, args: ['features', '--force', '--workspace', w.ws] }));
  const one = await batch(redisUrl, jobs, ['--concurrency', '1'], 1, 'one');
  const two = await batch(redisUrl, jobs, ['--concurrency', '1', '--threads', '1'], 2, 'two');
  const predicted = (f: { fixed_s: number; us_per_row: number }, machines: number): number =>
    r3(simulate(wss.map((w) => ({ compute: f.fixed_s + (f.us_per_row * w.rows) / 1e6, bytes: 0 })), machines, Infinity, dispatchS).seconds);
  const check = {
    one_worker: { measured_s: one.seconds, modelled_s: predicted(t2, 1), load_before: one.load_before, job_s: one.job_s },
    two_workers: { measured_s: two.seconds, modelled_s: predicted(t1, 2), load_before: two.load_before, job_s: two.job_s },
  };
  say(`  check, ${jobs.length} features jobs: 1 worker measured ${one.seconds} s vs modelled ${check.one_worker.modelled_s} s; 2 workers measured ${two.seconds} s vs modelled ${check.two_workers.modelled_s} s`);

  // Check 2: the train pipeline (a chain of task-level jobs) on 1 worker and on 2: no room to overlap.
  const train: Record<string, unknown>[] = [];
  for (const n of [1, 2]) {
    const ws = join(dir, `train${n}`);
    flush(redisUrl);
    const load = load1();
    const workers = await startWorkers(n, ['--concurrency', '1'], redisUrl, ws);
    try {
      const r = measure(process.execPath, [CLI, 'run', 'train', '--executor', 'bullmq', '--json', '--quiet', '-w', ws], { env: { ...env(redisUrl, ws), STOCKPIPE_SYMBOLS: '40', STOCKPIPE_YEARS: '3' } });
      const d = (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { data?: { tasks?: { name: string; seconds: number }[]; status?: string } }).data;
      if (d?.status !== 'finished') throw new Error(`run train on ${n} worker(s): ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
      const taskSum = r3((d.tasks ?? []).reduce((a, t) => a + t.seconds, 0));
      train.push({ workers: n, measured_s: r.seconds, sum_of_tasks_s: taskSum, load_before: load });
      say(`  check, run train (a chain) on ${n} worker(s): ${r.seconds} s (its tasks sum to ${taskSum} s; load ${load})`);
    } finally {
      await stopWorkers(workers);
    }
  }

  // The model: the benchmark dataset (30M rows) in the store's 16 buckets, one job per bucket.
  const buckets = bucketRows(SYNTHETIC_BENCH);
  const assumptions = {
    machines: 'each like this one (2 cores); one bucket job at a time with 2 threads',
    job_s: `${t2.fixed_s} s + ${t2.us_per_row} µs × rows (measured above on task-level features jobs; assumed to hold for a bucket's job)`,
    bytes_per_job: `rows × ${r3(bytesPerRow.prices + bytesPerRow.features)} B (prices read + features written, measured above), through the shared file system`,
    dispatch_s: dispatchS,
    planning_s: 0.5, // the runner's plan and cache keys: ≈ the fully cached `run train` at full scale (BENCHMARKS.md, 1.1 s with 0.7 s in the runner)
    commit_s: 1.0, // assumed: one catalog transaction for 16 buckets' files and the view update; not measured (partitioned features is not on this branch)
    bandwidths_MBps: { '1 GbE NFS': 117, '10 GbE NFS': 1170 },
  };
  const mjobs: ModelJob[] = buckets.map((rows) => ({ compute: t2.fixed_s + (t2.us_per_row * rows) / 1e6, bytes: rows * (bytesPerRow.prices + bytesPerRow.features) }));
  const serial = assumptions.planning_s + assumptions.commit_s;
  // Each column's speed-up is against 1 machine on the same file system.
  const caps: [string, number][] = [['no_cap', Infinity], ...Object.entries(assumptions.bandwidths_MBps).map(([k, v]): [string, number] => [k, v * 1e6])];
  const base = new Map(caps.map(([name, bw]) => [name, simulate(mjobs, 1, bw, dispatchS).seconds + serial]));
  const table = [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64].map((m) => {
    const row: Record<string, number | string> = { machines: m };
    for (const [name, bw] of caps) {
      const s = simulate(mjobs, m, bw, dispatchS);
      row[`${name}_s`] = r3(s.seconds + serial);
      row[`${name}_speedup`] = r3(base.get(name)! / (s.seconds + serial));
      if (bw !== Infinity) row[`${name}_bandwidth_bound_s`] = r3(s.bandwidthBoundSeconds);
    }
    return row;
  });
  say('  MODEL (not a measurement): features of 30.0M rows as 16 bucket jobs');
  say('  machines | no cap: s (speed-up) | 1 GbE: s (speed-up) | 10 GbE: s (speed-up)');
  for (const r of table) say(`  ${String(r.machines).padStart(8)} | ${r.no_cap_s} (${r.no_cap_speedup}×) | ${r['1 GbE NFS_s']} (${r['1 GbE NFS_speedup']}×) | ${r['10 GbE NFS_s']} (${r['10 GbE NFS_speedup']}×)`);
  return {
    label: 'a model, not a measurement (its inputs are measured; the check rows are measured)',
    inputs: { prep_load_before: prepLoad, features_runs: timed, threads2: t2, threads1: t1, bytes_per_row: bytesPerRow },
    check_features_jobs: check, check_train_pipeline: train,
    buckets: { rows: buckets, total: buckets.reduce((a, b) => a + b, 0), largest_share: r3(buckets[0]! / buckets.reduce((a, b) => a + b, 0)) },
    assumptions, table,
  };
}

export async function runQueueBench(argv: string[]): Promise<Record<string, unknown>> {
  const n = Number(argv.find((a) => a.startsWith('--jobs='))?.slice(7) ?? 3000);
  const rounds = Number(argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 2);
  const sizes = (argv.find((a) => a.startsWith('--sizes='))?.slice(8) ?? '150,300,500,800').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'sp-bench-queue-'));
  const ws = join(dir, 'ws');
  mkdirSync(ws);
  const redis = await startRedis(dir);
  try {
    const out: Record<string, unknown> = { machine: { ...machine(), lscpu_model: /Model name:\s*(.+)/.exec(spawnSync('lscpu', { encoding: 'utf8' }).stdout ?? '')?.[1]?.trim() ?? null, loadavg_at_start: spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim() }, redis: 'redis-server on 127.0.0.1 (TCP), appendonly yes, appendfsync everysec' };
    say(`(a) queue overhead: probe jobs (no child process), ${n} per run`);
    const a = await queueOverhead(redis.url, ws, n, rounds);
    out.queue_overhead = a;
    say('(b) fixed cost of a real command job');
    const b = await commandFixedCost(redis.url, ws, 10);
    out.command_fixed_cost = b;
    if (!argv.includes('--no-model')) {
      say('(c) scale-out model');
      // What the queue adds to a command job beyond running it (Redis round trips, the claim, the spawn from the worker).
      const dispatchS = Math.max(0, (b.job_end_to_end_s as { median: number }).median - (b.command_direct_s as { median: number }).median);
      out.scale_model = await scaleModel(redis.url, dir, r3(dispatchS), sizes);
    }
    out.loadavg_at_end = spawnSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).stdout.trim();
    mkdirSync(join(ROOT, 'bench', 'out'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'out', 'queue.json'), `${JSON.stringify(out, null, 2)}\n`);
    return out;
  } finally {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
