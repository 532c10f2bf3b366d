/** `kill -9` of `stockpipe run train` at each task (hardening issue 12): the task process dies
 * with its runner and commits nothing after it; the run reads as abandoned; resuming finishes with
 * the outputs of an uninterrupted run. A later, fully cached run still removes dead processes'
 * temp files. Real processes throughout; the kill moments come from the store and the run lock. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processAlive } from '../src/core/proc.js';
import type { LockInfo } from '../src/pipeline/lock.js';
import { getPipelineRun, listPipelineRuns } from '../src/registry/pipeline.js';
import { openRegistry } from '../src/registry/store.js';
import { DIST, startCli } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { tableDigest } from './helpers/store.js';

const ENV = { STOCKPIPE_SYMBOLS: '40', STOCKPIPE_YEARS: '3', STOCKPIPE_THREADS: '2' };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const linux = process.platform === 'linux';
if (!linux) console.log('runner-death.test: skipped: it finds processes through /proc (Linux)');

function cli(args: string[]) {
  const started_ = startCli(args, { env: ENV });
  started.push(started_.child);
  return started_;
}

const sha = (p: string): string => createHash('sha256').update(readFileSync(p)).digest('hex');

/** Every output a task could write or commit: path → size, mtime and hash. */
function snapshot(ws: string): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (p: string): void => {
    const st = statSync(p);
    if (st.isDirectory()) for (const n of readdirSync(p)) add(join(p, n));
    else out[p.slice(ws.length + 1)] = `${st.size}:${st.mtimeMs}:${sha(p)}`;
  };
  for (const d of ['tables', 'features', 'validation', 'models']) if (existsSync(join(ws, d))) add(join(ws, d));
  for (const src of existsSync(join(ws, 'raw')) ? readdirSync(join(ws, 'raw')) : []) if (existsSync(join(ws, 'raw', src, 'manifest.json'))) add(join(ws, 'raw', src, 'manifest.json'));
  for (const f of ['stockpipe.db', 'stockpipe.db-wal']) if (existsSync(join(ws, f))) add(join(ws, f));
  return out;
}

/** Live (non-zombie) processes whose command line names the workspace. */
function processesOf(ws: string): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(ws) && processAlive(pid);
    } catch {
      return false; // exited while we looked
    }
  });
}

/** The named task's state in the newest run, and the task pids the run lock records. */
function observe(ws: string, task: string): { status: string | null; pids: number[] } {
  let status: string | null = null;
  try {
    const reg = openRegistry(ws, { readonly: true });
    try {
      const run = listPipelineRuns(reg, { limit: 1 })[0];
      status = (run && getPipelineRun(reg, run.run_id)!.tasks.find((t) => t.task === task)?.status) ?? null;
    } finally {
      reg.close();
    }
  } catch {
    // the store may not exist yet, or be busy
  }
  let pids: number[] = [];
  try {
    pids = ((JSON.parse(readFileSync(new Workspace(ws).runLock, 'utf8')) as LockInfo).children ?? []).map((c) => c.pid);
  } catch {
    // no lock yet, or being replaced
  }
  return { status, pids };
}

/** Waits until `alive()` lists nothing, at most `ms` (the caller then asserts on it: still alive after `ms` is a failure). */
async function gone(alive: () => unknown[], ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (alive().length > 0 && Date.now() < deadline) await sleep(20);
}

const workspaces: string[] = [];
const started: ChildProcess[] = [];
afterAll(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); // a failed test's runs
  await sleep(500); // their task processes follow them (what this file tests)
  for (const w of workspaces) await rm(w, { recursive: true, force: true });
});

describe.runIf(linux)('a SIGKILLed runner takes its task process with it', () => {
  it('at each task: nothing alive or written after the kill, run abandoned; resume equals an uninterrupted run; a cached run still clears dead temps', async () => {
    const a = await tempWorkspace('sp-death-a-');
    const b = await tempWorkspace('sp-death-b-');
    workspaces.push(a, b);
    const baseline = cli(['run', 'train', '--json', '-w', a]).done; // runs alongside the kills

    // One kill moment a line: the task running when the runner is killed (the runs chain: each resumes the last).
    const moments = [{ task: 'fetch' }, { task: 'ingest' }, { task: 'validate' }, { task: 'features' }, { task: 'train' }, { task: 'evaluate' }];
    for (const [i, { task }] of moments.entries()) {
      const victim = cli(['run', 'train', ...(i === 0 ? [] : ['--resume']), '--json', '-w', b]);
      let pids: number[] = [];
      for (let n = 0; n < 6000 && victim.child.exitCode === null; n++) {
        const seen = observe(b, task);
        if (seen.status === 'running' && seen.pids.length > 0) {
          victim.child.kill('SIGKILL');
          pids = seen.pids;
          break;
        }
        await sleep(20);
      }
      const end = await victim.done;
      expect(pids.length, `${task}: never saw it running (${end.stderr})`).toBeGreaterThan(0);
      const atKill = snapshot(b);
      const list = cli(['runs', 'list', '--json', '-w', b]).done;
      // Within 1 s of the kill nothing is left on the workspace (checked as soon as it holds; the outputs are compared after).
      await gone(() => [...pids.filter(processAlive), ...processesOf(b)], 1000);
      const runs = (await list).json?.data?.runs as { status: string }[];
      expect(runs[0]!.status, task).toBe('abandoned');
      expect(pids.filter(processAlive), `${task}: task processes alive 1 s after the kill`).toEqual([]);
      expect(processesOf(b), `${task}: processes on the workspace`).toEqual([]);
      expect(snapshot(b), `${task}: outputs changed after the kill`).toEqual(atKill);
    }

    const resumed = await cli(['run', 'train', '--resume', '--json', '-w', b]).done;
    expect(resumed.json?.ok, resumed.stderr).toBe(true);
    expect(resumed.json?.data?.resumed).toBe(true);
    expect(existsSync(new Workspace(b).runLock)).toBe(false);
    const first = await baseline;
    expect(first.json?.ok, first.stderr).toBe(true);
    for (const t of ['prices', 'features'] as const) expect(await tableDigest(b, t), t).toBe(await tableDigest(a, t));
    const temps = (ws: string): string[] => ['tables', 'validation', 'models'].flatMap((d) => readdirSync(join(ws, d)).filter((n) => n.includes('.tmp-')));
    expect(temps(b)).toEqual([]);

    // Stale temps of dead writers go on the next run even when every task is cached; a live writer's stay.
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
    const planted = { dead: [`tables/.prices.parquet.tmp-${deadPid}-x1`, `tables/.features.report.json.tmp-${deadPid}-x1`, `models/m0.tmp-${deadPid}/model.json`], live: [`tables/.prices.parquet.tmp-${process.pid}-x1`] };
    for (const p of [...planted.dead, ...planted.live]) {
      await mkdir(join(a, p, '..'), { recursive: true });
      await writeFile(join(a, p), 'half');
    }
    const cached = await cli(['run', 'train', '--json', '-w', a]).done;
    expect(cached.json?.ok, cached.stderr).toBe(true);
    expect((cached.json?.data?.tasks as { status: string }[]).every((t) => t.status === 'cached')).toBe(true);
    expect(planted.dead.filter((p) => existsSync(join(a, p)))).toEqual([]);
    expect(planted.live.filter((p) => existsSync(join(a, p)))).toEqual(planted.live);
    expect(await readFile(join(a, planted.live[0]!), 'utf8')).toBe('half');
  }, 300_000);
});

describe.runIf(linux)('Ctrl-C and SIGTERM of the runner', () => {
  // fetch → features run once; each case runs on a copy from the task it signals (`--from`: the tasks before it are skipped;
  // `--force-task`: the task runs even when the seed's result is cached).
  let seed = '';
  beforeAll(async () => {
    seed = await tempWorkspace('sp-sig-seed-');
    workspaces.push(seed);
    const r = await cli(['run', 'train', '--to', 'features', '--json', '-w', seed]).done;
    expect(r.json?.ok, r.stderr).toBe(true);
  }, 120_000);

  // One case a line: the signal, and the task running when it comes → cancelled, exit 1, nothing left running.
  // times 2: a second SIGTERM 2 ms after the first, while it is handled (a double click on Cancel), is the same
  // cancellation; it killed the runner (the run ended abandoned). src/cli/cancel.test.ts checks the listener stays.
  it.each([
    { signal: 'SIGINT', task: 'features', times: 1 },
    { signal: 'SIGTERM', task: 'train', times: 1 },
    { signal: 'SIGTERM', task: 'train', times: 2 },
  ] as const)('$signal ×$times during $task: run cancelled (SP_ERR_RUN_CANCELLED, exit 1), its task process gone, no temps', async ({ signal, task, times }) => {
    const ws = await tempWorkspace('sp-sig-');
    workspaces.push(ws);
    await cp(seed, ws, { recursive: true });
    const victim = cli(['run', 'train', '--from', task, '--force-task', task, '--json', '-w', ws]); // runs it even if the seed's result is cached
    let pids: number[] = [];
    for (let n = 0; n < 6000 && victim.child.exitCode === null && pids.length === 0; n++) {
      const seen = observe(ws, task);
      if (seen.status === 'running' && seen.pids.length > 0) {
        pids = seen.pids;
        for (let k = 0; k < times; k++) {
          if (k > 0) await sleep(2);
          victim.child.kill(signal);
        }
      } else await sleep(20);
    }
    const end = await victim.done;
    expect(pids.length, `never saw ${task} running (${end.stderr})`).toBeGreaterThan(0);
    expect(end.code).toBe(1);
    expect(end.json?.error?.code).toBe('SP_ERR_RUN_CANCELLED');
    expect(pids.filter(processAlive)).toEqual([]);
    expect(processesOf(ws)).toEqual([]);
    const runs = (await cli(['runs', 'list', '--json', '-w', ws]).done).json?.data?.runs as { status: string }[];
    expect(runs[0]!.status).toBe('cancelled');
    expect(existsSync(new Workspace(ws).runLock)).toBe(false);
    expect(['tables', 'features', 'models'].flatMap((d) => (existsSync(join(ws, d)) ? readdirSync(join(ws, d)) : []).filter((x) => x.includes('.tmp-')))).toEqual([]);
  }, 120_000);
});

describe.runIf(linux)('a task process and its runner', () => {
  // One case a line: whose pid the task is told is its runner → how the task process ends.
  it.each([
    { runner: 'this test process (its parent, alive)', pid: (): number => process.pid, ends: 'exit 0' },
    { runner: 'a dead pid', pid: (): number => spawnSync(process.execPath, ['-e', '']).pid!, ends: 'SIGKILL' },
    { runner: 'a live process that is not its parent', pid: (): number => 1, ends: 'SIGKILL' },
  ])('runner = $runner → $ends', async ({ pid, ends }) => {
    const child = spawn(process.execPath, [join(DIST, 'cli', 'task-main.js'), '--version'], { env: { ...process.env, STOCKPIPE_TASK_CHILD: '1', STOCKPIPE_RUNNER_PID: String(pid()) }, stdio: 'ignore' });
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    expect(signal === null ? `exit ${code}` : signal).toBe(ends);
  });

  it('dies with its runner even while its main thread never yields (a watchdog thread, not the event loop)', async () => {
    // The runner starts a task whose main thread spins forever, reports the task's pid, then is SIGKILLed.
    const task = `import(${JSON.stringify(join(DIST, 'core', 'runner-watch.js'))}).then((m) => { m.watchRunner(process.ppid); process.send('ready'); for (;;) {} });`;
    const runnerSrc = `const c = require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(task)}], { stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
      c.on('message', () => process.stdout.write(String(c.pid) + '\\n'));`;
    const runner = spawn(process.execPath, ['-e', runnerSrc], { stdio: ['ignore', 'pipe', 'ignore'] });
    const taskPid = await new Promise<number>((r) => runner.stdout!.once('data', (b: Buffer) => r(Number(b.toString().trim()))));
    try {
      expect(processAlive(taskPid)).toBe(true);
      const exited = new Promise((r) => runner.on('exit', r));
      runner.kill('SIGKILL');
      await exited;
      await gone(() => (processAlive(taskPid) ? [taskPid] : []), 1000);
      expect(processAlive(taskPid)).toBe(false);
    } finally {
      if (processAlive(taskPid)) process.kill(taskPid, 'SIGKILL'); // never leave a spinning process behind
    }
  });
});
