/** `stockpipe run` end to end through the CLI: a full train pipeline, a second run all cached,
 * a SIGKILLed run resumed to the same outputs, two runs at once on one workspace, a failure
 * alert received by a local webhook; the scheduler command on a fake clock. Polling loops below
 * only wait (bounded) for real child processes; nothing asserts on durations. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/core/config.js';
import { silentProgress } from '../src/core/progress.js';
import { Workspace } from '../src/core/workspace.js';
import { acquireRunLock } from '../src/pipeline/lock.js';
import { createPipelineRun, getPipelineRun, listPipelineRuns } from '../src/registry/pipeline.js';
import { openRegistry } from '../src/registry/store.js';
import { DIST, cliEnv, startCli, type CliResult } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';
import { tableDigest } from './helpers/store.js';

const SMALL = { STOCKPIPE_SYMBOLS: '12', STOCKPIPE_YEARS: '2', STOCKPIPE_THREADS: '2' };
const cli = (args: string[]) => startCli(args, { env: SMALL });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
type Out = CliResult;

type TaskRow = { name: string; status: string };
const statuses = (o: Out): Record<string, string> => Object.fromEntries(((o.jsonOrNull?.data?.tasks ?? []) as TaskRow[]).map((t) => [t.name, t.status]));

async function championModelJson(ws: string): Promise<string> {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return await readFile(join(reg.getModel('champion').path, 'model.json'), 'utf8');
  } finally {
    reg.close();
  }
}

// Every test has its own workspace: they run side by side.
describe.concurrent('stockpipe run train', () => {
  it('runs end to end, then is all cached; a SIGKILLed run resumes to the same outputs', async () => {
    const a = await tempWorkspace('run-a');
    const b = await tempWorkspace('run-b');
    // Workspace a (run, cached, summary, plan) and workspace b (killed, resumed) side by side.
    const [onA, onB] = await Promise.allSettled([runsOnA(a), killedAndResumed(b)]);
    for (const r of [onA, onB]) if (r.status === 'rejected') throw r.reason;
    for (const t of ['prices', 'features'] as const) expect(await tableDigest(b, t), t).toBe(await tableDigest(a, t));
    expect(await championModelJson(b)).toBe(await championModelJson(a));
  }, 240_000);

  async function runsOnA(a: string): Promise<void> {
    const first = await cli(['run', 'train', '--json', '-w', a]).done;
    expect(first.json.ok, first.stderr).toBe(true);
    expect(statuses(first)).toEqual({ fetch: 'succeeded', ingest: 'succeeded', validate: 'succeeded', features: 'succeeded', train: 'succeeded', evaluate: 'succeeded', register: 'succeeded' });
    // A task's log: the runner's lines in order, then the command line, the command's own lines, its result and its exit.
    const ingestLog = (await readFile(join(a, 'runs', String(first.json.data?.run_id), 'ingest.log'), 'utf8')).trim().split('\n');
    expect(ingestLog[0]).toMatch(/ \[runner\] attempt 1\/\d+ started$/);
    expect(ingestLog[1]).toMatch(/ \[runner\] \$ stockpipe ingest /);
    expect(ingestLog.at(-3)).toMatch(/ \[runner\] result: \{"output":.*"rows_kept":\d+/);
    expect(ingestLog.at(-2)).toMatch(/ \[runner\] exit 0$/);
    expect(ingestLog.at(-1)).toMatch(/ \[runner\] succeeded \(/);
    const stamps = ingestLog.map((l) => l.split(' ')[0]!).filter((t) => /^\d{4}-\d\d-\d\dT/.test(t));
    expect(stamps).toEqual([...stamps].sort());
    const second = await cli(['run', 'train', '--json', '-w', a]).done;
    expect(Object.values(statuses(second)).every((s) => s === 'cached'), JSON.stringify(statuses(second))).toBe(true);
    // The workspace reached through a symlink shares the cache (its synthetic fetch rewrote the manifest's root to the other
    // spelling: every task after it ran again, and register added the same model again), and so does the first spelling after it.
    const link = `${a}-link`;
    await symlink(a, link);
    try {
      for (const w of [link, a]) {
        const again = await cli(['run', 'train', '--json', '-w', w]).done;
        expect(Object.values(statuses(again)).every((s) => s === 'cached'), `${w}: ${JSON.stringify(statuses(again))}`).toBe(true);
      }
    } finally {
      await rm(link);
    }
    // The human summary ends with the champion, its backtest and its test scores next to the baselines'.
    const text = await cli(['run', 'train', '-w', a]).done;
    expect(text.stdout).toMatch(/^champion gbdt-\S+ \(gbdt\), backtest rmse_log \d\.\d{4} \(what promotion compares\)$/m);
    expect(text.stdout).toMatch(/^ {2}test \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d, \d+ rows: rmse_log \d\.\d{4}, R² log -?\d\.\d{4}; raw volume RMSE \S+ shares/m);
    expect(text.stdout).toMatch(/^ {2}baselines: polyreg rmse_log \d\.\d{4}, RMSE \S+; naive rmse_log \d\.\d{4}, RMSE \S+$/m);
    const plan = await cli(['run', 'train', '--dry-run', '--json', '-w', a]).done;
    expect((plan.json.data?.tasks as { name: string; action: string }[]).map((t) => t.action)).toEqual(['run', 'cached', 'cached', 'cached', 'cached', 'cached', 'cached']);
  }

  /** Kills the runner (SIGKILL, no cleanup) while a task is running, then resumes. */
  async function killedAndResumed(b: string): Promise<void> {
    const victim = cli(['run', 'train', '--json', '-w', b]);
    let killedAt: string | null = null;
    // Until a features or train task runs, or the run ends without one having been seen (its output then says why).
    // Bounded by time, not polls: on a loaded machine (the suite's other files) the run reached features after 60 s of polls once.
    const until = Date.now() + 180_000;
    while (killedAt === null && victim.child.exitCode === null && Date.now() < until) {
      await sleep(20);
      try {
        const reg = openRegistry(b, { readonly: true });
        try {
          const run = listPipelineRuns(reg, { limit: 1 })[0];
          const t = run ? getPipelineRun(reg, run.run_id)!.tasks.find((x) => x.status === 'running' && ['features', 'train'].includes(x.task)) : undefined;
          if (t) { victim.child.kill('SIGKILL'); killedAt = t.task; }
        } finally {
          reg.close();
        }
      } catch {
        // the store may not exist yet on the first polls
      }
    }
    const ended = await victim.done;
    expect(killedAt, `the run was not seen running features or train (exit ${ended.code}, signal ${ended.signal}); stdout: ${ended.stdout.slice(-1500)}; stderr: ${ended.stderr.slice(-1500)}`).not.toBeNull();
    const resumed = await cli(['run', 'train', '--resume', '--json', '-w', b]).done;
    expect(resumed.json.ok, resumed.stderr).toBe(true);
    expect(resumed.json.data?.resumed).toBe(true);
    const st = statuses(resumed);
    expect([st.fetch, st.ingest, st.validate]).toEqual(['succeeded', 'succeeded', 'succeeded']); // kept, not re-run
    const reg = openRegistry(b, { readonly: true });
    const run = getPipelineRun(reg, String(resumed.json.data?.run_id))!;
    reg.close();
    expect(run.tasks.find((t) => t.task === 'ingest')!.attempts).toBe(1);
  }

  it('a second run on a busy workspace refuses with SP_ERR_PIPELINE_LOCKED; nothing is corrupted', async () => {
    const ws = await tempWorkspace('run-lock');
    const one = cli(['run', 'train', '--json', '-w', ws]);
    // Until the first run holds the lock, bounded by time (500 polls, about 10 s, are little on a loaded machine).
    let held = false;
    for (const until = Date.now() + 120_000; !held && one.child.exitCode === null && Date.now() < until; ) {
      await sleep(20);
      held = (await readFile(join(ws, 'pipeline', 'run.lock'), 'utf8').catch(() => '')) !== '';
    }
    expect(held, 'the first run never took the lock').toBe(true);
    const two = await cli(['run', 'train', '--json', '-w', ws]).done;
    expect(two.code).toBe(1);
    expect(two.json.error?.code).toBe('SP_ERR_PIPELINE_LOCKED');
    const first = await one.done;
    expect(first.json.ok, first.stderr).toBe(true);
    const again = await cli(['run', 'train', '--json', '-w', ws]).done;
    expect(again.json.ok).toBe(true);
    expect(statuses(again).fetch).toBe('cached'); // the source says nothing changed
    // Forced, fetch ran as asked: shown as run, not as a cache hit (its summary still says nothing changed).
    const forced = await cli(['run', 'train', '--force-task', 'fetch', '--json', '-w', ws]).done;
    expect([forced.json.ok, statuses(forced).fetch, statuses(forced).ingest]).toEqual([true, 'succeeded', 'cached']);
  }, 240_000);

  it("run --resume fetches what the run was started with: its --source, not the workspace's default", async () => {
    const ws = await tempWorkspace('run-resume-source');
    const config = join(ws, 'stockpipe.config.json');
    await writeFile(config, JSON.stringify({ pipeline: { retries: 0 } }));
    const missing = `dir:${join(ws, 'no-such-folder')}`;
    const first = await cli(['run', 'train', '--source', missing, '--json', '-w', ws, '--config', config]).done;
    expect(first.json.error?.code).toBe('SP_ERR_RUN_FAILED');
    const resumed = await cli(['run', 'train', '--resume', '--json', '-w', ws, '--config', config]).done;
    // The same fetch fails again; before, the resume fetched the default synthetic source and trained on it.
    expect(resumed.json.error?.code, resumed.stdout).toBe('SP_ERR_RUN_FAILED');
    expect(resumed.json.error?.message).toMatch(/SP_ERR_SOURCE_NOT_FOUND/);
    const log = await readFile(join(ws, 'runs', String(first.json.error?.message).split(' ')[1]!, 'fetch.log'), 'utf8');
    expect(log.match(new RegExp(`\\$ stockpipe fetch --source ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --switch-source`, 'g'))).toHaveLength(2);
    // The resumed run's lines follow the first start's in the same log, marked.
    expect(log.match(/\[runner\] attempt 1\/1 started(?: \(run resumed\))?$/gm)).toEqual([expect.stringMatching(/started$/), expect.stringMatching(/started \(run resumed\)$/)]);
  }, 120_000);

  it('run --resume waiting for the lock resumes, with its source, the run that is the latest unfinished once the lock is its own', async () => {
    const ws = await tempWorkspace('run-resume-wait');
    const config = join(ws, 'stockpipe.config.json');
    await writeFile(config, JSON.stringify({ pipeline: { retries: 0 } }));
    const first = await cli(['run', 'train', '--source', `dir:${join(ws, 'missing-one')}`, '--json', '-w', ws, '--config', config]).done;
    expect(first.json.error?.code).toBe('SP_ERR_RUN_FAILED');
    const lock = await acquireRunLock(new Workspace(ws), 'train');
    let second = '';
    let waiting: ReturnType<typeof cli> | null = null;
    try {
      waiting = cli(['run', 'train', '--resume', '--wait', '120', '--json', '-w', ws, '--config', config]);
      await sleep(5000); // it has started and waits for the lock
      // Another run (killed: 'running' with no runner) becomes the latest unfinished one meanwhile.
      const reg = openRegistry(ws);
      const tasks = getPipelineRun(reg, String(first.json.error?.message).split(' ')[1]!)!.tasks.map((t) => t.task);
      second = createPipelineRun(reg, { pipeline: 'train', tasks, params: { pipeline: 'train', source: `dir:${join(ws, 'missing-two')}` } });
      reg.close();
    } finally {
      await lock.release();
    }
    const resumed = await waiting!.done;
    expect(resumed.json.error?.code, resumed.stdout).toBe('SP_ERR_RUN_FAILED');
    expect(resumed.json.error?.message).toContain(`run ${second} `);
    // Before, the source was read from the run that was the latest before the lock (missing-one).
    const log = await readFile(join(ws, 'runs', second, 'fetch.log'), 'utf8');
    expect(log).toContain(`$ stockpipe fetch --source dir:${join(ws, 'missing-two')} --switch-source`);
    expect(log).not.toContain('missing-one');
  }, 120_000);

  it('run --resume (and its --dry-run) of a finished run is refused (SP_ERR_RUN_NOT_RESUMABLE, as the API does); its end is kept', async () => {
    const ws = await tempWorkspace('run-resume-finished');
    const done = await cli(['run', 'train', '--json', '-w', ws]).done;
    expect(done.json.ok, done.stderr).toBe(true);
    const id = String(done.json.data?.run_id);
    const endOf = (): string | null => {
      const reg = openRegistry(ws, { readonly: true });
      try {
        return getPipelineRun(reg, id)!.ended_at;
      } finally {
        reg.close();
      }
    };
    const ended = endOf();
    const again = await cli(['run', 'train', '--resume', id, '--json', '-w', ws]).done;
    expect([again.code, again.json.error?.code]).toEqual([1, 'SP_ERR_RUN_NOT_RESUMABLE']);
    expect(endOf()).toBe(ended);
    // Its plan says the same; with nothing to resume, the plan is refused as the run is (it planned a new run).
    expect((await cli(['run', 'train', '--resume', id, '--dry-run', '--json', '-w', ws]).done).json.error?.code).toBe('SP_ERR_RUN_NOT_RESUMABLE');
    expect((await cli(['run', 'train', '--resume', '--dry-run', '--json', '-w', ws]).done).json.error?.code).toBe('SP_ERR_RUN_NOT_FOUND');
    // The plan of a dated run's resume is for that run's date (it planned for none).
    const day = '2024-07-03';
    const config = join(ws, 'stockpipe.config.json');
    await writeFile(config, JSON.stringify({ pipeline: { retries: 0 } }));
    const failed = await cli(['run', 'daily', '--date', day, '--source', `dir:${join(ws, 'missing')}`, '--json', '-w', ws, '--config', config]).done;
    expect(failed.json.error?.code).toBe('SP_ERR_RUN_FAILED');
    const plan = await cli(['run', 'daily', '--resume', '--dry-run', '--json', '-w', ws, '--config', config]).done;
    expect(plan.json.data, plan.stdout).toMatchObject({ logical_date: day, dry_run: true });
    // Given by id, the run needs no pipeline name: its own (it was SP_ERR_USAGE "is a 'daily' run, not 'train'"); a name that disagrees is refused.
    const dailyId = /^run (\w+) /.exec(failed.json.error?.message ?? '')![1]!;
    const byId = await cli(['run', '--resume', dailyId, '--dry-run', '--json', '-w', ws, '--config', config]).done;
    expect(byId.json.data, byId.stdout + byId.stderr).toMatchObject({ pipeline: 'daily', logical_date: day, dry_run: true });
    // `--resume` alone resumes a train run; none is unfinished: the unfinished daily run is named (the hint said to give a run id)
    const alone = await cli(['run', '--resume', '--dry-run', '--json', '-w', ws, '--config', config]).done;
    expect([alone.json.error?.code, alone.json.error?.hint]).toEqual(['SP_ERR_RUN_NOT_FOUND', `The latest 'daily' run, ${dailyId}, failed: \`stockpipe run --resume ${dailyId}\`.`]);
    const named = await cli(['run', 'train', '--resume', dailyId, '--dry-run', '--json', '-w', ws, '--config', config]).done;
    expect([named.json.error?.code, named.json.error?.message]).toEqual(['SP_ERR_USAGE', `run ${dailyId} is a 'daily' run, not 'train'`]);
  }, 240_000);

  it('a train task run again in its run after it had registered its model (the runner gone before it recorded that) registers no second model', async () => {
    const ws = await tempWorkspace('run-train-again');
    const done = await cli(['run', 'train', '--json', '-w', ws]).done;
    expect(done.json.ok, done.stderr).toBe(true);
    const id = String(done.json.data?.run_id);
    const modelIds = (): string[] => {
      const reg = openRegistry(ws, { readonly: true });
      try {
        return reg.all<{ model_id: string }>('t', 'SELECT model_id FROM model_versions ORDER BY model_id').map((r) => r.model_id);
      } finally {
        reg.close();
      }
    };
    const first = modelIds();
    expect(first).toHaveLength(1);
    // What the store holds when the runner died after train's process had committed its model:
    // the task never recorded as done (nor cached), the run left unfinished, later tasks not started.
    const reg = openRegistry(ws);
    try {
      reg.run('t', "UPDATE runs SET status = 'failed' WHERE run_id = ?", [id]);
      reg.run('t', "UPDATE task_runs SET status = 'failed', summary = NULL, outputs = NULL WHERE run_id = ? AND task = 'train'", [id]);
      reg.run('t', "UPDATE task_runs SET status = 'queued', summary = NULL, outputs = NULL WHERE run_id = ? AND task IN ('evaluate', 'register')", [id]);
      reg.run('t', "DELETE FROM task_cache WHERE run_id = ? AND task IN ('train', 'evaluate', 'register')", [id]);
    } finally {
      reg.close();
    }
    const resumed = await cli(['run', 'train', '--resume', id, '--json', '-w', ws]).done;
    expect(resumed.json.ok, resumed.stderr).toBe(true);
    expect(statuses(resumed)).toMatchObject({ train: 'succeeded', evaluate: 'succeeded', register: 'succeeded' });
    expect(modelIds()).toEqual(first);
    // The run's train task reports the model its first execution registered, which evaluate and register used.
    const summaryOf = (task: string): Record<string, unknown> => {
      const r = openRegistry(ws, { readonly: true });
      try {
        return JSON.parse(r.all<{ summary: string }>('t', 'SELECT summary FROM task_runs WHERE run_id = ? AND task = ?', [id, task])[0]!.summary) as Record<string, unknown>;
      } finally {
        r.close();
      }
    };
    expect(summaryOf('train').model_id).toBe(first[0]);
    expect(summaryOf('evaluate').model_id).toBe(first[0]);
    // A new run of the same data is new work: it registers a model of its own.
    const forced = await cli(['run', 'train', '--force-task', 'train', '--json', '-w', ws]).done;
    expect(forced.json.ok, forced.stderr).toBe(true);
    expect(modelIds()).toHaveLength(2);
  }, 240_000);

  it('a failed task sends a webhook alert with the task, error code and log tail; downstream is skipped', async () => {
    const got: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => { body += c.toString(); });
      req.on('end', () => { got.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const ws = await tempWorkspace('run-alert');
      const config = join(ws, 'stockpipe.config.json');
      const port = (server.address() as AddressInfo).port;
      await writeFile(config, JSON.stringify({ fetch: { source: `dir:${join(ws, 'no-such-folder')}` }, pipeline: { retries: 0 }, alerts: { webhook_url: `http://127.0.0.1:${port}/hook` } }));
      const out = await cli(['run', 'train', '--json', '-w', ws, '--config', config]).done;
      expect(out.code).toBe(1);
      expect(out.json.error?.code).toBe('SP_ERR_RUN_FAILED');
      expect(got).toHaveLength(1);
      const alert = (got[0] as { text: string; alert: { kind: string; details: Record<string, string> } }).alert;
      expect(alert.kind).toBe('task_failed');
      expect(alert.details.task).toBe('fetch');
      expect(alert.details.error_code).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect(alert.details.log_tail).toMatch(/SP_ERR_SOURCE_NOT_FOUND/);
      const list = await cli(['runs', 'list', '--json', '-w', ws]).done;
      const runId = (list.json.data.runs as { run_id: string }[])[0]!.run_id;
      const runs = await cli(['runs', 'show', runId, '--json', '-w', ws]).done;
      const tasks = runs.json.data?.tasks as { task: string; status: string }[];
      expect(tasks.map((t) => t.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped', 'skipped']);
      const logs = await cli(['runs', 'logs', String(runs.json.data?.run_id), 'fetch', '-w', ws]).done;
      expect(logs.stdout).toMatch(/SP_ERR_SOURCE_NOT_FOUND/);
    } finally {
      server.close();
    }
  }, 120_000);

  it('stockpipe scheduler runs a pipeline at each occurrence of a (6-field, every 2 s) cron on a fake clock, never overlapping, then stops', async () => {
    const ws = await tempWorkspace('run-sched');
    // dist's module, so that the runs it starts are dist/cli/main.js children.
    const { schedulerCommand } = (await import(pathToFileURL(join(DIST, 'cli', 'scheduler.js')).href)) as typeof import('../src/cli/scheduler.js');
    const config = loadConfig({ file: { schedules: [{ pipeline: 'train', cron: '*/2 * * * * *', trading_days_only: false }] }, env: {}, flags: {}, origin: 'test' });
    const events: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => { events.push((JSON.parse(line) as { msg: string }).msg); } });
    let now = new Date('2026-03-02T15:00:00.500Z');
    const ac = new AbortController();
    const sleeps: number[] = [];
    const count = (msg: string): number => events.filter((m) => m === msg).length;
    const result = await schedulerCommand(
      { config, ws: new Workspace(ws), log, progress: silentProgress, json: true, quiet: true, env: cliEnv(SMALL), homeDir: ws, now: () => now, explicitFetch: new Set<string>() },
      {
        globalArgs: ['--quiet'], configFile: null, version: 'test', until: ac.signal,
        // The fake sleep: let the real child run finish (bounded), then move the clock by `ms`.
        sleep: async (ms) => {
          sleeps.push(ms);
          for (let i = 0; i < 2400 && count('scheduled run ended') < count('starting scheduled run'); i++) await sleep(50);
          now = new Date(now.getTime() + ms);
          if (count('scheduled run ended') >= 2) ac.abort();
        },
      },
    );
    expect(result.data).toEqual({ stopped: true });
    expect(sleeps).toEqual([1505, 2000]); // each wait ends 5 ms past the next fire: 15:00:02.005, 15:00:04.005
    expect(count('starting scheduled run')).toBe(2);
    expect(events).not.toContain('previous run still going: this occurrence is skipped (runs of one pipeline never overlap)');
    const reg = openRegistry(ws, { readonly: true });
    const runs = listPipelineRuns(reg);
    reg.close();
    expect(runs.map((r) => r.status)).toEqual(['finished', 'finished']);
    const state = JSON.parse(await readFile(join(ws, 'pipeline', 'scheduler-state.json'), 'utf8')) as Record<string, string>;
    expect(Object.values(state)).toEqual(['2026-03-02T15:00:02.000Z']);
  }, 180_000);

  it('the scheduler CLI announces its schedules and exits 0 on SIGTERM', async () => {
    const ws = await tempWorkspace('run-sched-cli');
    const config = join(ws, 'stockpipe.config.json');
    await writeFile(config, JSON.stringify({ schedules: [{ pipeline: 'train', cron: '0 0 1 1 *', trading_days_only: false }] }));
    const sched = cli(['scheduler', '-w', ws, '--config', config]);
    for (let i = 0; i < 600 && !sched.stderr().includes('next run'); i++) await sleep(50);
    sched.child.kill('SIGTERM');
    const out = await sched.done;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(/scheduler: train at "0 0 1 1 \*" \S+; next run \d{4}-01-01T/);
    const reg = openRegistry(ws, { readonly: true });
    expect(listPipelineRuns(reg)).toEqual([]);
    reg.close();
  }, 60_000);

  it('a second scheduler on the workspace is refused (it would start every scheduled run twice); a killed one\'s place is taken over', async () => {
    const ws = await tempWorkspace('run-sched-two');
    const config = join(ws, 'stockpipe.config.json');
    await writeFile(config, JSON.stringify({ schedules: [{ pipeline: 'train', cron: '0 0 1 1 *', trading_days_only: false }] }));
    const started = async (): Promise<ReturnType<typeof cli>> => {
      const s = cli(['scheduler', '-w', ws, '--config', config]);
      for (let i = 0; i < 600 && !s.stderr().includes('next run'); i++) await sleep(50);
      expect(s.stderr()).toContain('next run');
      return s;
    };
    const first = await started();
    const second = await cli(['scheduler', '--json', '-w', ws, '--config', config]).done;
    expect(second.code).toBe(1);
    expect(second.json.error?.code).toBe('SP_ERR_PIPELINE_LOCKED');
    expect(second.json.error?.message).toContain(`pid ${first.child.pid}`);
    first.child.kill('SIGKILL'); // its lock stays behind, its process gone
    await first.done;
    const third = await started();
    third.child.kill('SIGTERM');
    expect((await third.done).code).toBe(0);
    await expect(readFile(new Workspace(ws).schedulerLock, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);
});
