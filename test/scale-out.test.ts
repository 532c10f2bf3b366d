/** `stockpipe run --executor bullmq` with real processes: a real redis-server (helpers/redis), `stockpipe
 * worker`s and the runner through the CLI; no mock of Redis or BullMQ. Same outputs as the local executor;
 * a worker SIGKILLed or frozen (SIGSTOP) mid-job; the runner SIGKILLed mid-job and resumed; Redis restarted
 * with and without its AOF; the setup errors. Polling loops below only wait (bounded) for real processes;
 * nothing asserts on durations. Every process a test starts is stopped by its pid in afterEach. */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { layout, Workspace } from '../src/core/workspace.js';
import { openDuckDB, queryRows, sqlString } from '../src/db/duckdb.js';
import { CLI, cliEnv, ROOT, runCliAsync, startCli, type CliResult, type StartedCli } from './helpers/cli.js';
import { REDIS_SKIP, startRedis, type TestRedis } from './helpers/redis.js';
import { tempDirSync } from './helpers/temp.js';

/** Small synthetic workspaces: a whole train run takes 10-15 s here, each job 1-3 s (mostly process start). */
const SMALL = { STOCKPIPE_SYMBOLS: '40', STOCKPIPE_YEARS: '3' };
const TASKS = ['fetch', 'ingest', 'validate', 'features', 'train', 'evaluate', 'register'];
/** The tasks that are commands (jobs); register moves the alias in the runner itself. */
const JOBS = TASKS.filter((t) => t !== 'register');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// Every process and Redis a test started; afterEach stops what is still there (a failed test too).
interface Proc {
  child: ChildProcess;
  done: Promise<unknown>;
  stderr(): string;
}
const started: Proc[] = [];
const redises: TestRedis[] = [];

/** `unshare` flags giving a process its own mount namespace (a worker on a "machine" without the workspace), or null. */
const UNSHARE = ((): string[] | null => {
  const probe = tempDirSync('unshare');
  for (const flags of [
    ['-m', '--propagation', 'private'],
    ['-r', '-m', '--propagation', 'private'],
  ]) {
    if (spawnSync('unshare', [...flags, 'sh', '-c', 'mount -t tmpfs sp-probe "$0"', probe], { stdio: 'ignore' }).status === 0) return flags;
  }
  console.log('skipped: cannot mount in a new mount namespace (unshare -m): the unreachable-workspace test is skipped');
  return null;
})();

/** The pids of a process's children (a worker's task processes). */
function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when there is none
  }
}

/** A process's state letter from /proc (R, S, T, Z…), or null when it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? null;
  } catch {
    return null; // no /proc/<pid>: gone
  }
}
/** Exited (gone, or a zombie its frozen parent has not reaped). */
const exited = (pid: number): boolean => ['Z', 'X', null].includes(procState(pid));

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // already gone: nothing to signal
  }
}

/** Stops a started process and its task processes: resumed if frozen, SIGKILLed, waited for. */
async function kill(c: Proc): Promise<void> {
  const pid = c.child.pid!;
  if (c.child.exitCode !== null || c.child.signalCode !== null) return;
  const kids = childrenOf(pid);
  for (const p of [pid, ...kids]) signal(p, 'SIGCONT');
  signal(pid, 'SIGKILL');
  for (const p of kids) signal(p, 'SIGKILL');
  await c.done;
}

afterEach(async () => {
  for (const c of started.splice(0)) await kill(c);
  for (const r of redises.splice(0)) await r.stop();
});

/** A process started otherwise than by startCli (its output kept), stopped by afterEach. */
function track(child: ChildProcess): Proc {
  let stderr = '';
  child.stdout!.resume();
  child.stderr!.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const p = { child, done: new Promise((res) => child.on('close', res)), stderr: () => stderr };
  started.push(p);
  return p;
}

function cli(args: string[], env: Record<string, string>): StartedCli {
  const c = startCli(args, { env, timeoutMs: 120_000 });
  started.push(c);
  return c;
}

async function redis(o: Parameters<typeof startRedis>[0] = {}): Promise<TestRedis> {
  const r = await startRedis(o);
  redises.push(r);
  return r;
}

/** Polls `probe` until it returns something other than undefined/false; fails after `ms` saying what it waited for. */
async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000, detail: () => string | Promise<string> = () => ''): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}\n${await detail()}`);
    await sleep(50);
  }
}

/** A command's result, failing the test when it does not end within `ms` (a hang is a failure, never a wait). */
async function ended(c: StartedCli, ms = 50_000): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${c.child.spawnargs.slice(2, 4).join(' ')} did not end within ${ms} ms; stderr: ${c.stderr().slice(-3000)}`)), ms);
  });
  try {
    return await Promise.race([c.done, late]);
  } finally {
    clearTimeout(timer);
  }
}

interface TestWorker {
  cli: StartedCli;
  /** Its id as `runs show` names it. */
  id: string;
  pid: number;
}

/** Starts `stockpipe worker --debug` (its info log says `took a job`) and waits for its banner. */
async function startWorker(env: Record<string, string>, extra: string[] = []): Promise<TestWorker> {
  const c = cli(['worker', '--debug', ...extra], env);
  const id = await waitFor(
    'the worker banner',
    () => /worker (\S+): taking jobs/.exec(c.stderr())?.[1] ?? (c.child.exitCode === null ? undefined : 'exited'),
    30_000,
    () => c.stderr(),
  );
  expect(id, c.stderr()).not.toBe('exited');
  return { cli: c, id, pid: c.child.pid! };
}

/** Two workers with the same env and flags, started side by side. */
const twoWorkers = (env: Record<string, string>, extra: string[] = []): Promise<TestWorker[]> => Promise.all([startWorker(env, extra), startWorker(env, extra)]);

/** The worker's JSON log lines. */
function logLines(w: TestWorker): Record<string, unknown>[] {
  return w.cli
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {}; // a line still being written
      }
    });
}
/** The jobs of `task` the worker took, with the claims its execution counted (2: a redelivered job). */
const took = (w: TestWorker, task: string): { job: string; partition: string | null; claims: number }[] =>
  logLines(w)
    .filter((l) => (l.msg === 'took a job' || l.msg === 'took a redelivered job') && l.task === task)
    .map((l) => ({ job: String(l.job), partition: l.partition === null || l.partition === undefined ? null : String(l.partition), claims: Number(l.claims) }));
/** `worker: done <task> (...)` lines: jobs of `task` the worker completed. */
const done = (w: TestWorker, task: string): number =>
  w.cli
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith(`worker: done ${task} (`)).length;

/** `worker: done features [<partition>] (...)` lines: the worker completed that partition's job. */
const donePart = (w: TestWorker, task: string, partition: string): number =>
  w.cli
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith(`worker: done ${task} [${partition}] (`)).length;

/** The worker that takes a job of `task`, and its task process. */
async function runningOn(workers: TestWorker[], task: string): Promise<{ w: TestWorker; child: number }> {
  const w = await waitFor(
    `a worker taking ${task}`,
    () => workers.find((x) => took(x, task).length > 0),
    45_000,
    () => workers.map((x) => x.cli.stderr().slice(-1500)).join('\n---\n'),
  );
  const child = await waitFor(`${task}'s task process`, () => childrenOf(w.pid)[0], 10_000);
  return { w, child };
}

async function json<D = Record<string, any>>(args: string[], env: Record<string, string>): Promise<D> {
  const r = await runCliAsync([...args, '--json'], { env });
  expect(r.json.ok, `${args.join(' ')}: ${r.stdout}\n${r.stderr}`).toBe(true);
  return r.json.data as D;
}

interface WorkerRecord {
  partition: string | null;
  worker: string;
  host: string;
  pid: number;
  seconds: number;
  claims: number;
}
interface TaskRow {
  task: string;
  status: string;
  attempts: number;
  error_code: string | null;
  error?: string | null;
  log_path: string | null;
  workers?: WorkerRecord[];
}
const runTasks = async (ws: string, runId: string, env: Record<string, string>): Promise<Record<string, TaskRow>> =>
  Object.fromEntries((await json<{ tasks: TaskRow[] }>(['runs', 'show', runId, '-w', ws], env)).tasks.map((t) => [t.task, t]));
const models = async (ws: string, env: Record<string, string>): Promise<{ id: string }[]> => json<{ id: string }[]>(['models', 'list', '-w', ws], env);
const snapshotTables = async (ws: string, env: Record<string, string>): Promise<string[]> =>
  (await json<{ snapshots: { table: string }[] }>(['snapshots', '-w', ws], env)).snapshots.map((s) => s.table).sort();
const statuses = (r: CliResult): Record<string, string> => Object.fromEntries(((r.jsonOrNull?.data?.tasks ?? []) as { name: string; status: string }[]).map((t) => [t.name, t.status]));
const allSucceeded = Object.fromEntries(TASKS.map((t) => [t, 'succeeded']));
/** A run `--from <task>` on a copy of a seed: the tasks before it are skipped (the seed ran them). */
const FROM = ['--from', 'features'];
const succeededFrom = (task: string): Record<string, string> => Object.fromEntries(TASKS.map((t, i) => [t, i < TASKS.indexOf(task) ? 'skipped' : 'succeeded']));
const fromSucceeded = succeededFrom('features');
/** The faults aimed at the train job run `--from train` on a copy of the seed that also ran features (no features jobs first). */
const FROM_TRAIN = ['--from', 'train'];
const fromTrainSucceeded = succeededFrom('train');

/** A config file for `--config`: features (and ingest) fan out as 2 partition jobs instead of the default 8.
 * Two still cover the fan-out over both workers and a redelivered partition, with 6 fewer task processes a run. */
async function twoPartitions(extra: Record<string, unknown> = {}): Promise<string> {
  const conf = join(tempDirSync('scale-conf'), 'stockpipe.config.json');
  await writeFile(conf, JSON.stringify({ pipeline: { partitions: 2, ...extra } }));
  return conf;
}
/** `--from features` on a copy of the seed, with 2 partition jobs. */
const fromFeatures = async (): Promise<string[]> => [...FROM, '--config', await twoPartitions()];

/** Rows of `table` in one workspace and not the other, both ways (all columns but the lineage column). */
async function tableDiff(a: string, b: string, table: 'prices' | 'features'): Promise<{ rows: number; onlyA: number; onlyB: number }> {
  const db = await openDuckDB({ tempDir: tempDirSync('duckdb'), memoryLimit: '512MB', threads: 1 });
  try {
    const src = (ws: string): string => `(SELECT * EXCLUDE (_snapshot_id) FROM read_parquet(${sqlString(join(ws, 'tables', table, '**', '*.parquet'))}, hive_partitioning = false))`;
    const count = async (q: string): Promise<number> => Number((await queryRows(db.connection, `SELECT count(*) AS n FROM (${q})`))[0]!.n);
    return { rows: await count(src(a)), onlyA: await count(`${src(a)} EXCEPT ALL ${src(b)}`), onlyB: await count(`${src(b)} EXCEPT ALL ${src(a)}`) };
  } finally {
    db.close();
  }
}

const modelJson = (ws: string, id: string): Promise<Buffer> => readFile(new Workspace(ws).path(layout.modelFile(id, 'model.json')));

describe.skipIf(REDIS_SKIP !== null)('stockpipe run --executor bullmq', () => {
  // fetch → ingest → validate run once (local executor), and features on a copy of that (seedF); the fault
  // scenarios run the rest of the pipeline on a copy: `--from features` (features as 2 partition jobs, train,
  // evaluate) where a features job is the one faulted, else `--from train` (train, evaluate) on a copy of seedF.
  // The local side of the equality test is seedF's copy run `--from train`.
  let seed = '';
  let seedF = '';
  beforeAll(async () => {
    seed = tempDirSync('scale-seed');
    const out = await ended(cli(['run', 'train', '--to', 'validate', '--json', '-w', seed], SMALL));
    expect(out.json.ok, out.stderr).toBe(true);
    seedF = tempDirSync('scale-seedf');
    await cp(seed, seedF, { recursive: true });
    const f = await ended(cli(['run', 'train', '--from', 'features', '--to', 'features', '--json', '-w', seedF], SMALL));
    expect(f.json.ok, f.stderr).toBe(true);
  }, 120_000);
  const fromSeed = async (name: string, from = seed): Promise<string> => {
    const ws = tempDirSync(name);
    await cp(from, ws, { recursive: true });
    return ws;
  };
  /** Redis, and a run `--from train` on a copy of seedF started while 2 workers (`extra` flags) start. */
  const trainRun = async (name: string, extra: string[] = [], o: Parameters<typeof startRedis>[0] = {}) => {
    const r = await redis(o);
    const env = { ...SMALL, STOCKPIPE_REDIS_URL: r.url };
    const ws = await fromSeed(name, seedF);
    const run = cli(['run', 'train', '--executor', 'bullmq', ...FROM_TRAIN, '--json', '-w', ws], env);
    const workers = await twoWorkers(env, extra);
    return { r, env, ws, run, workers };
  };

  it('2 workers give the outputs of the local executor (tables value for value, model.json byte for byte)', async () => {
    const r = await redis();
    const env = { ...SMALL, STOCKPIPE_REDIS_URL: r.url };
    // One worker gives each job --threads 1, the other --threads 0 (one thread, no parse or feature worker
    // threads), the local runner's tasks use all cores (the config's default): the model must not depend
    // on the thread count (docs/style.md: same data, config and seed, same bytes).
    // The first is given a --workspace of its own: a job runs on the workspace its runner named, and the worker says so.
    const workers = await Promise.all([startWorker(env, ['--threads', '1', '-w', tempDirSync('scale-own')]), startWorker(env, ['--threads', '0'])]);
    expect(workers[0]!.cli.stderr()).toContain('worker: --workspace is not used');
    expect(workers[1]!.cli.stderr()).not.toContain('--workspace is not used');
    const threadsOf = (id: string): number => (id === workers[0]!.id ? 1 : 0);
    const queued = tempDirSync('scale-q');
    // The local side: the seed's prices and features (fetch → features ran there on the local executor), then the rest.
    const local = await fromSeed('scale-l', seedF);
    // ingest and features fan out as partition jobs: 2 of them each here (pipeline.partitions; 8 by default)
    // still cover the fan-out and the alternation between workers, with 12 fewer process starts.
    const conf = await twoPartitions();
    const [q, l] = await Promise.all([ended(cli(['run', 'train', '--executor', 'bullmq', '--config', conf, '--json', '-w', queued], env), 150_000), ended(cli(['run', 'train', ...FROM_TRAIN, '--json', '-w', local], SMALL), 150_000)]);
    expect(q.json.ok, q.stderr).toBe(true);
    expect(l.json.ok, l.stderr).toBe(true);
    expect(statuses(q)).toEqual(allSucceeded);
    expect(statuses(l)).toEqual(fromTrainSucceeded);

    for (const t of ['prices', 'features'] as const) {
      const d = await tableDiff(queued, local, t);
      expect(d.rows, t).toBeGreaterThan(1000);
      expect({ onlyQueued: d.onlyA, onlyLocal: d.onlyB }, t).toEqual({ onlyQueued: 0, onlyLocal: 0 });
    }
    const [mq, ml, tasks] = await Promise.all([models(queued, env), models(local, env), runTasks(queued, String(q.json.data.run_id), env)]);
    expect([mq.length, ml.length]).toEqual([1, 1]);
    expect((await modelJson(queued, mq[0]!.id)).equals(await modelJson(local, ml[0]!.id))).toBe(true);
    // The train task's log: the runner's line, then the worker's (the command line, its result, its exit), then the runner's last.
    const trainLog = (await readFile(tasks.train!.log_path!, 'utf8')).trim().split('\n');
    const worker = tasks.train!.workers![0]!.worker;
    expect(trainLog[0]).toMatch(/ \[runner\] attempt 1\/\d+ started$/);
    expect(trainLog[1]).toMatch(new RegExp(` \\[worker ${worker}\\] \\$ stockpipe train .*--threads ${threadsOf(worker)}$`));
    expect(trainLog.slice(-3).map((l) => l.split(' ').slice(1, 4).join(' '))).toEqual([`[worker ${worker}] result:`, `[worker ${worker}] exit`, '[runner] succeeded'].map((x) => expect.stringContaining(x)));
    const stamps = trainLog.map((l) => l.split(' ')[0]!).filter((t) => /^\d{4}-\d\d-\d\dT/.test(t));
    expect(stamps).toEqual([...stamps].sort());

    // Each job ran once, on a worker `runs show` names; jobs alternate between idle workers, so both served.
    // ingest and features fan out: one job per group of buckets (pipeline.partitions, default 8), together every bucket once.
    const FANNED = ['ingest', 'features'];
    for (const t of JOBS.filter((x) => !FANNED.includes(x)))
      expect(
        tasks[t]!.workers?.map((x) => [x.partition, x.claims]),
        t,
      ).toEqual([[null, 1]]);
    for (const t of FANNED) {
      const parts = tasks[t]!.workers ?? [];
      expect(parts.length, t).toBeGreaterThan(1);
      expect(parts.every((x) => x.claims === 1), t).toBe(true);
      const buckets = parts.flatMap((x) => x.partition!.slice(1).split('.').map(Number)).sort((a, b) => a - b);
      expect(buckets, t).toEqual([...new Set(buckets)]);
    }
    expect(tasks.register!.workers).toEqual([]);
    const names = new Set(JOBS.flatMap((t) => tasks[t]!.workers!.map((x) => x.worker)));
    expect([...names].sort()).toEqual(workers.map((w) => w.id).sort());
    // Every job's command line carries the --threads of the worker that ran it (0 included: it is one thread,
    // not "unset"). A fanned-out task's log holds the runner's commit; its partitions' command lines are not in it.
    for (const t of JOBS.filter((x) => !FANNED.includes(x))) {
      const started = (await readFile(tasks[t]!.log_path!, 'utf8')).split('\n').map((l) => / \[worker (\S+)\] \$ stockpipe .*--threads (\d+)$/.exec(l)).filter((m) => m !== null);
      expect(started.length, t).toBe(1);
      for (const m of started) expect(Number(m[2]), `${t} on ${m[1]}`).toBe(threadsOf(m[1]!));
    }
  }, 200_000);

  it('a worker SIGKILLed mid-job: its job goes to the other worker after the lock expires; one model version', async () => {
    const { env, ws, run, workers } = await trainRun('scale-kill', ['--lock-seconds', '2']);
    const { w: victim, child } = await runningOn(workers, 'train');
    signal(victim.pid, 'SIGKILL');
    const other = workers.find((w) => w !== victim)!;
    await waitFor("the killed worker's task process to die with it", () => exited(child), 10_000);

    const out = await ended(run);
    expect(out.json.ok, out.stderr).toBe(true);
    expect(statuses(out)).toEqual(fromTrainSucceeded);
    const [tasks, ms] = await Promise.all([runTasks(ws, String(out.json.data.run_id), env), models(ws, env)]);
    expect(tasks.train!.workers?.map((x) => [x.worker, x.claims])).toEqual([[other.id, 2]]);
    expect(took(other, 'train').map((t) => t.claims)).toEqual([2]);
    expect(ms).toHaveLength(1);
  });

  it('a worker frozen (SIGSTOP) mid-job: its job goes to the other worker; the frozen execution commits nothing more', async () => {
    const r = await redis();
    const env = { ...SMALL, STOCKPIPE_REDIS_URL: r.url };
    const workers = await twoWorkers(env, ['--lock-seconds', '2']);
    const ws = await fromSeed('scale-stop');
    const run = cli(['run', 'train', '--executor', 'bullmq', ...(await fromFeatures()), '--json', '-w', ws], env);
    const storeFiles = async (): Promise<string[]> => (await readdir(join(ws, 'store', 'features'), { recursive: true }).catch(() => [])).map(String).filter((n) => n.endsWith('.parquet'));

    // 1. features, one partition: worker X frozen, and its task process held, until worker Y has taken
    // the stalled partition job and run it to the end.
    // Then the held process goes on (X still frozen) and finishes its stage: never committed (the runner
    // commits only the stages of the results it got, and BullMQ refuses X's late completion).
    const f = await runningOn(workers, 'features');
    const x = f.w;
    const y = workers.find((w) => w !== x)!;
    const held = took(x, 'features')[0]!;
    const runId = held.job.split('.')[0]!;
    const part = held.partition!;
    // Frozen as soon as it starts: a partition of this small workspace takes about a second.
    signal(f.child, 'SIGSTOP');
    signal(x.pid, 'SIGSTOP');
    await waitFor(
      `the features partition ${part} redelivered and done on the other worker`,
      () => donePart(y, 'features', part) === 1,
      45_000,
      () => y.cli.stderr().slice(-2000),
    );
    expect(took(y, 'features').filter((t) => t.partition === part).map((t) => t.claims)).toEqual([2]);
    signal(f.child, 'SIGCONT');

    // 2. train (now on Y, X being frozen): Y frozen while its task process runs on and registers the model;
    // nobody redelivers the job meanwhile (both workers are frozen). Then X wakes, finds the job stalled and
    // runs it again: the model registered under the job's id is its result, no second version.
    const t = await runningOn([y], 'train');
    signal(y.pid, 'SIGSTOP');
    await waitFor('the held features partition process to end', () => exited(f.child), 30_000);
    await waitFor("the frozen worker's train process to end", () => exited(t.child), 30_000);
    expect(await models(ws, env)).toHaveLength(1);
    signal(x.pid, 'SIGCONT');
    await waitFor(
      'the train job redelivered and done on the woken worker',
      () => done(x, 'train') === 1,
      30_000,
      () => x.cli.stderr().slice(-2000),
    );
    expect(took(x, 'train').map((c) => c.claims)).toEqual([2]);
    signal(y.pid, 'SIGCONT');

    const out = await ended(run);
    expect(out.json.ok, out.stderr).toBe(true);
    expect(statuses(out)).toEqual(fromSucceeded);
    // The frozen workers' late ends are refused by BullMQ: the lock went to the other worker, which finished.
    for (const [w, prefix] of [
      [x, `${held.job}`],
      [y, `${runId}.train.all.a1.`],
    ] as const) {
      const refused = (l: Record<string, unknown>): boolean => String(l.err ?? '').startsWith(`Missing lock for job ${prefix}`);
      await waitFor(
        `${prefix}: the frozen worker's late end refused`,
        () => logLines(w).some(refused),
        30_000,
        () => w.cli.stderr().slice(-2000),
      );
    }
    expect([donePart(x, 'features', part), donePart(y, 'features', part), done(x, 'train'), done(y, 'train')]).toEqual([0, 1, 1, 0]);
    const [tasks, ms, snapshots] = await Promise.all([runTasks(ws, runId, env), models(ws, env), snapshotTables(ws, env)]);
    // (The task rows in the message: a features task retried after its commit would answer from the cache, without workers.)
    expect(tasks.features!.workers?.filter((c) => c.partition === part).map((c) => [c.worker, c.claims]), JSON.stringify(tasks.features)).toEqual([[y.id, 2]]);
    expect(tasks.train!.workers?.map((c) => [c.worker, c.claims]), JSON.stringify(tasks.train)).toEqual([[x.id, 2]]);
    expect(ms).toHaveLength(1);
    expect(snapshots).toEqual(['features', 'prices']); // one snapshot per table: the seed's ingest, Y's features
    const view = (await readdir(join(ws, 'tables', 'features'), { recursive: true })).map(String).filter((n) => n.endsWith('.parquet'));
    expect((await storeFiles()).map((n) => n.split('/').pop()).sort()).toEqual(view.map((n) => n.split('/').pop()).sort());
  }, 120_000); // two redeliveries and a train run twice: past 60 s on a loaded machine (each wait above is bounded)

  it('a runner SIGKILLed mid-job: the job completes on its worker; run --resume re-attaches to it', async () => {
    const { env, ws, run, workers } = await trainRun('scale-runner');
    const { w } = await runningOn(workers, 'train');
    signal(run.child.pid!, 'SIGKILL');
    await run.done;
    await waitFor(
      'the train job to complete without its runner',
      () => done(w, 'train') === 1,
      30_000,
      () => w.cli.stderr().slice(-2000),
    );

    // --debug: the runner's info log says when it re-attaches.
    const resumed = await ended(cli(['run', 'train', '--resume', '--executor', 'bullmq', '--debug', '--json', '-w', ws], env));
    expect(resumed.json.ok, resumed.stderr).toBe(true);
    expect(resumed.json.data.resumed).toBe(true);
    expect(statuses(resumed)).toEqual(fromTrainSucceeded);
    expect(resumed.stderr).toContain('re-attached to a job queued before');
    expect(workers.map((x) => done(x, 'train'))).toEqual(workers.map((x) => (x === w ? 1 : 0)));
    const [tasks, ms] = await Promise.all([runTasks(ws, String(resumed.json.data.run_id), env), models(ws, env)]);
    expect(tasks.train!.workers?.map((x) => [x.worker, x.claims])).toEqual([[w.id, 1]]);
    expect(ms).toHaveLength(1);
  });

  it('Redis SIGKILLed and restarted with its AOF while a job runs: the run finishes, the job ran once', async () => {
    const { r, env, ws, run, workers } = await trainRun('scale-aof');
    const { w } = await runningOn(workers, 'train');
    await r.restart();

    // Observed: it finishes (the AOF, fsynced at every write, kept the job and its lock; everyone reconnects).
    const out = await ended(run);
    expect(out.json.ok, out.stderr).toBe(true);
    expect(statuses(out)).toEqual(fromTrainSucceeded);
    const [tasks, ms] = await Promise.all([runTasks(ws, String(out.json.data.run_id), env), models(ws, env)]);
    expect(tasks.train!.workers?.map((c) => [c.worker, c.claims])).toEqual([[w.id, 1]]);
    expect(workers.map((x) => done(x, 'train')).reduce((a, b) => a + b)).toBe(1);
    expect(ms).toHaveLength(1);
  });

  it('Redis restarted without AOF while a job runs: the run fails with SP_ERR_QUEUE_JOB_LOST; run --resume finishes with one model version', async () => {
    // The runner notices the loss within its watchdog's look at jobs it has not heard of (~5 s): Redis is
    // back at once, so pipeline.redis_timeout_s (an outage's limit) plays no part and keeps its default.
    const { r, env, ws, run, workers } = await trainRun('scale-noaof', [], { aof: false });
    const { w } = await runningOn(workers, 'train');
    const job = took(w, 'train')[0]!.job;
    await r.restart();

    const out = await ended(run);
    expect(out.json.error?.code, out.stderr).toBe('SP_ERR_RUN_FAILED');
    const runId = job.split('.')[0]!;
    const failed = await runTasks(ws, runId, env);
    expect([failed.train!.status, failed.train!.error_code, failed.train!.attempts]).toEqual(['failed', 'SP_ERR_QUEUE_JOB_LOST', 1]);
    // The lost job's execution ran to its end on the worker (it committed its model); Redis forgot the job.
    await waitFor(
      "the lost job's end refused",
      () => logLines(w).some((l) => String(l.err ?? '').startsWith(`Missing key for job ${job}.`)),
      30_000,
      () => w.cli.stderr().slice(-2000),
    );

    const resumed = await ended(cli(['run', 'train', '--resume', '--executor', 'bullmq', '--json', '-w', ws], env));
    expect(resumed.json.ok, resumed.stderr).toBe(true);
    expect(statuses(resumed)).toEqual(fromTrainSucceeded);
    // The same job id again (attempt 1 of the resumed task): its second claim, and the model of its first execution.
    const [tasks, ms] = await Promise.all([runTasks(ws, runId, env), models(ws, env)]);
    expect(tasks.train!.workers?.map((c) => c.claims)).toEqual([2]);
    expect(ms).toHaveLength(1);
  });

  it('setup errors, for run and worker: no STOCKPIPE_REDIS_URL, nothing listening, an evicting Redis', async () => {
    const ws = tempDirSync('scale-err');
    const expectError = async (args: string[], env: Record<string, string>, code: string): Promise<CliResult> => {
      const out = await runCliAsync([...args, '--json'], { env, timeoutMs: 30_000 });
      expect(out.json.error?.code, `${args.join(' ')}: ${out.stdout}\n${out.stderr}`).toBe(code);
      return out;
    };
    const lru = await redis();
    execFileSync('redis-cli', ['-s', lru.url.slice('unix://'.length), 'config', 'set', 'maxmemory-policy', 'allkeys-lru']);
    const nothing = `unix://${join(tempDirSync('scale-none'), 'redis.sock')}`;
    const fine = await redis();
    // Independent cases, run side by side.
    await Promise.all(
      [['run', 'train', '--executor', 'bullmq', '-w', ws], ['worker']].flatMap((args) => [
        expectError(args, SMALL, 'SP_ERR_USAGE').then((out) => expect(out.json.error?.message).toContain('STOCKPIPE_REDIS_URL')),
        expectError(args, { ...SMALL, STOCKPIPE_REDIS_URL: nothing }, 'SP_ERR_REDIS_UNREACHABLE'),
        expectError(args, { ...SMALL, STOCKPIPE_REDIS_URL: lru.url }, 'SP_ERR_REDIS_CONFIG'),
        // Probed after issue 16: a database the server lacks was a warning, and the jobs went to database 0.
        expectError(args, { ...SMALL, STOCKPIPE_REDIS_URL: `${fine.url}?db=99` }, 'SP_ERR_REDIS_CONFIG').then((out) => expect(out.json.error?.message).toContain('has no database 99')),
      ]),
    );
    expect(await readdir(ws)).not.toContain('stockpipe.db'); // refused before anything ran
  });

  it('a worker of another build (an update installed on the runner only): the job fails with SP_ERR_WORKER_BUILD naming both, nothing run', async () => {
    const r = await redis();
    const env = { ...SMALL, STOCKPIPE_REDIS_URL: r.url };
    // The bundle copied beside dist/bin (node_modules still found), with another build id.
    const other = join(ROOT, 'dist', `bin-other-${process.pid}`);
    await cp(join(ROOT, 'dist', 'bin'), other, { recursive: true });
    try {
      const ours = JSON.parse(readFileSync(join(ROOT, 'dist', 'bin', 'build.json'), 'utf8')).id as string;
      expect(ours).toMatch(/^[0-9a-f]{16}$/);
      await writeFile(join(other, 'build.json'), '{"id":"00000000000000aa"}\n');
      const worker = track(spawn(process.execPath, [join(other, 'main.js'), 'worker', '--debug'], { cwd: ROOT, env: cliEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
      await waitFor('the worker banner', () => /taking jobs/.test(worker.stderr()) || worker.child.exitCode !== null, 30_000);
      expect(worker.stderr()).toMatch(/taking jobs .*build 00000000000000aa\)/);
      const conf = join(tempDirSync('scale-conf'), 'stockpipe.config.json');
      await writeFile(conf, JSON.stringify({ pipeline: { retries: 0 } })); // the first failure ends the run
      const ws = join(tempDirSync('scale-build'), 'ws');
      const out = await ended(cli(['run', 'train', '--executor', 'bullmq', '--config', conf, '--json', '-w', ws], env));
      expect(out.json.error?.code, out.stderr).toBe('SP_ERR_RUN_FAILED');
      const runId = (await json<{ runs: { run_id: string }[] }>(['runs', 'list', '-w', ws], env)).runs[0]!.run_id;
      const tasks = await runTasks(ws, runId, env);
      expect([tasks.fetch!.status, tasks.fetch!.error_code]).toEqual(['failed', 'SP_ERR_WORKER_BUILD']);
      expect(tasks.fetch!.error).toContain(`build 00000000000000aa, the runner on`);
      expect(tasks.fetch!.error).toContain(`build ${ours}`);
      expect(await readdir(ws)).not.toContain('raw'); // nothing fetched
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it.skipIf(UNSHARE === null)('a worker whose machine lacks the workspace path: the job fails with SP_ERR_WORKSPACE_UNREACHABLE', async () => {
    const r = await redis();
    const env = { ...SMALL, STOCKPIPE_REDIS_URL: r.url };
    // One machine: the worker runs in its own mount namespace, where the workspace's parent folder is an empty tmpfs.
    const hidden = tempDirSync('scale-hidden');
    const ws = join(hidden, 'ws');
    const worker = track(
      spawn('unshare', [...UNSHARE!, 'sh', '-c', 'mount -t tmpfs sp-hidden "$0" && exec "$@"', hidden, process.execPath, CLI, 'worker', '--debug'], {
        cwd: ROOT,
        env: cliEnv(env),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    );
    await waitFor('the worker banner', () => /taking jobs/.test(worker.stderr()) || worker.child.exitCode !== null, 30_000);
    expect(worker.child.exitCode, worker.stderr()).toBeNull();
    const conf = join(tempDirSync('scale-conf'), 'stockpipe.config.json');
    await writeFile(conf, JSON.stringify({ pipeline: { retries: 0 } })); // the first failure ends the run

    const out = await ended(cli(['run', 'train', '--executor', 'bullmq', '--config', conf, '--json', '-w', ws], env));
    expect(out.json.error?.code, out.stderr).toBe('SP_ERR_RUN_FAILED');
    const runId = (await json<{ runs: { run_id: string }[] }>(['runs', 'list', '-w', ws], env)).runs[0]!.run_id;
    const tasks = await runTasks(ws, runId, env);
    expect([tasks.fetch!.status, tasks.fetch!.error_code]).toEqual(['failed', 'SP_ERR_WORKSPACE_UNREACHABLE']);
    expect(worker.stderr()).toMatch(/^worker: failed fetch /m);
  });
});
