import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { getLog } from '../core/log.js';
import { getPipelineRun } from '../registry/pipeline.js';
import { openRegistry, type Registry } from '../registry/store.js';
import { sliceNames, topoOrder } from './graph.js';
import { planPipeline } from './plan.js';
import { backoffMs, runPipeline, type RunOptions } from './runner.js';
import type { Pipeline, TaskSpec } from './types.js';
import { Workspace } from '../core/workspace.js';

let ws: string;
let reg: Registry;
let calls: string[];
const delays: number[] = [];
const noWait = async (ms: number): Promise<void> => { delays.push(ms); };

beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-runner-'));
  reg = openRegistry(ws);
  calls = [];
  delays.length = 0;
});
afterEach(async () => {
  vi.useRealTimers();
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

/** A promise and the function that resolves it. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((r) => { fire = r; });
  return { promise, fire };
}

/** A task that writes `out` from `in` (uppercased), counting its calls. */
function fileTask(name: string, deps: string[], input: string | null, out: string, extra: Partial<TaskSpec> = {}): TaskSpec {
  return {
    name, deps, version: '1', inputs: input ? [input] : [], outputs: [out], params: {},
    run: async () => {
      calls.push(name);
      const text = input ? await readFile(join(ws, input), 'utf8') : 'seed';
      await writeFile(join(ws, out), text.toUpperCase() + name);
      return { summary: { wrote: out }, rowsIn: 1, rowsOut: 1 };
    },
    ...extra,
  };
}

const chain = (over: Record<string, Partial<TaskSpec>> = {}): Pipeline => ({
  name: 'test',
  description: 'a → b → c',
  tasks: [
    fileTask('a', [], 'src.txt', 'a.txt', over.a),
    fileTask('b', ['a'], 'a.txt', 'b.txt', over.b),
    fileTask('c', ['b'], 'b.txt', 'c.txt', over.c),
  ],
});

const run = (pipeline: Pipeline, opts: Partial<RunOptions> = {}) => runPipeline({ ws: new Workspace(ws), pipeline, registry: reg, log: getLog('test'), sleep: noWait, ...opts });
const statuses = (r: { tasks: { name: string; status: string }[] }) => Object.fromEntries(r.tasks.map((t) => [t.name, t.status]));

describe('graph', () => {
  const t = (name: string, deps: string[] = []): TaskSpec => ({ name, deps, version: '1', run: async () => ({}) });
  it('orders a diamond topologically, keeping declaration order among ready tasks', () => {
    expect(topoOrder([t('d', ['b', 'c']), t('c', ['a']), t('b', ['a']), t('a')]).map((x) => x.name)).toEqual(['a', 'c', 'b', 'd']);
  });
  it('detects a cycle and names it (SP_ERR_PIPELINE_CYCLE)', () => {
    try {
      topoOrder([t('a', ['c']), t('b', ['a']), t('c', ['b']), t('x')]);
      expect.unreachable();
    } catch (err) {
      expect((err as StockpipeError).code).toBe('SP_ERR_PIPELINE_CYCLE');
      expect((err as StockpipeError).message).toMatch(/a → b → c → a|b → c → a → b|c → a → b → c/);
    }
  });
  it('rejects unknown deps and duplicate names; slices with --from/--to', () => {
    expect(() => topoOrder([t('a', ['zz'])])).toThrow(expect.objectContaining({ code: 'SP_ERR_PIPELINE_INVALID' }));
    expect(() => topoOrder([t('a'), t('a')])).toThrow(expect.objectContaining({ code: 'SP_ERR_PIPELINE_INVALID' }));
    const tasks = [t('a'), t('b', ['a']), t('c', ['b']), t('d', ['c'])];
    expect([...sliceNames(tasks, { from: 'b', to: 'c' })]).toEqual(['b', 'c']);
    expect([...sliceNames(tasks, { from: 'c' })]).toEqual(['c', 'd']);
    expect(() => sliceNames(tasks, { from: 'nope' })).toThrow(expect.objectContaining({ code: 'SP_ERR_PIPELINE_UNKNOWN' }));
    // Probed after issue 16: an unknown --force-task ran the pipeline as if not given; a reversed --from/--to ran nothing, "finished".
    expect(() => sliceNames(tasks, { forceTasks: ['b', 'bogus'] })).toThrow(expect.objectContaining({ code: 'SP_ERR_PIPELINE_UNKNOWN' }));
    expect(() => sliceNames(tasks, { from: 'c', to: 'b' })).toThrow(expect.objectContaining({ code: 'SP_ERR_USAGE' }));
  });
});

describe('runner', () => {
  beforeEach(async () => { await writeFile(join(ws, 'src.txt'), 'x'); });

  it('runs in order, records everything, then is all cached; a changed input re-runs only what depends on it', async () => {
    const r1 = await run(chain());
    expect(r1.status).toBe('finished');
    expect(calls).toEqual(['a', 'b', 'c']);
    expect(await readFile(join(ws, 'c.txt'), 'utf8')).toBe('XABc');
    const stored = getPipelineRun(reg, r1.run_id)!;
    expect(stored.status).toBe('finished');
    expect(stored.tasks.map((x) => [x.task, x.status, x.attempts, x.rows_in, x.rows_out])).toEqual([['a', 'succeeded', 1, 1, 1], ['b', 'succeeded', 1, 1, 1], ['c', 'succeeded', 1, 1, 1]]);
    expect(stored.tasks[0]!.outputs[0]!.sha256).toMatch(/^[0-9a-f]{64}$/);
    // A quick in-process task that succeeded gets no log file (its row says it all); a failed one does.
    // (One that ran past the 50 ms log delay, as on a loaded machine, gets its file: not "quick".)
    if (stored.tasks[0]!.seconds! < 0.04) expect(stored.tasks[0]!.log_path).toBeNull();

    calls = [];
    const r2 = await run(chain());
    expect(statuses(r2)).toEqual({ a: 'cached', b: 'cached', c: 'cached' });
    expect(calls).toEqual([]);

    await writeFile(join(ws, 'b.txt'), 'tampered'); // an output changed behind the runner's back
    calls = [];
    expect(statuses(await run(chain()))).toEqual({ a: 'cached', b: 'succeeded', c: 'cached' });
    expect(calls).toEqual(['b']); // b rewrote the same content, so c's input is unchanged

    await writeFile(join(ws, 'src.txt'), 'y');
    calls = [];
    expect(statuses(await run(chain()))).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
  });

  it('a changed param or code version is a cache miss; --force and --force-task override', async () => {
    await run(chain());
    calls = [];
    await run(chain({ b: { params: { window: 20 } } }));
    expect(calls).toEqual(['b']);
    calls = [];
    await run(chain({ b: { params: { window: 20 }, version: '2' } }));
    expect(calls).toEqual(['b']);
    calls = [];
    await run(chain({ b: { params: { window: 20 }, version: '2' } }), { forceTasks: ['c'] });
    expect(calls).toEqual(['c']);
    calls = [];
    await run(chain({ b: { params: { window: 20 }, version: '2' } }), { force: true });
    expect(calls).toEqual(['a', 'b', 'c']);
  });

  it('the workspace reached through a symlink (or with a trailing slash) is the same cache: nothing runs again', async () => {
    await run(chain());
    const link = `${ws}-link`;
    await symlink(ws, link);
    try {
      calls = [];
      for (const root of [link, `${link}/`, `${ws}/`]) expect(statuses(await run(chain(), { ws: new Workspace(root) }))).toEqual({ a: 'cached', b: 'cached', c: 'cached' });
      expect(calls).toEqual([]);
    } finally {
      await rm(link);
    }
  });

  it('a missing input is an error, never a cache hit', async () => {
    await run(chain());
    await rm(join(ws, 'src.txt'));
    const r = await run(chain());
    expect(r.status).toBe('failed');
    expect(r.tasks[0]!.error?.code).toBe('SP_ERR_PIPELINE_INPUT');
    expect(statuses(r)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped' });
  });

  it('retries with exponential backoff then succeeds', async () => {
    let n = 0;
    const flaky: Partial<TaskSpec> = { retries: 3, retryDelayMs: 1000, run: async () => { if (++n < 3) throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', 'down'); await writeFile(join(ws, 'b.txt'), 'ok'); return {}; } };
    const r = await run(chain({ b: flaky }));
    expect(r.status).toBe('finished');
    expect(r.tasks[1]).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeGreaterThanOrEqual(500);
    expect(delays[0]).toBeLessThanOrEqual(1000);
    expect(delays[1]).toBeGreaterThanOrEqual(1000);
    expect(delays[1]).toBeLessThanOrEqual(2000);
    expect(backoffMs(10, 1000, 60_000, 1)).toBe(60_000);
  });

  it('retries exhausted → failed, downstream skipped, run failed with the error code', async () => {
    const broken: Partial<TaskSpec> = { retries: 2, run: async () => { calls.push('b'); throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', 'still down', { hint: 'Try again after 18:00.' }); } };
    const r = await run(chain({ b: broken }));
    expect(r.status).toBe('failed');
    expect(statuses(r)).toEqual({ a: 'succeeded', b: 'failed', c: 'skipped' });
    expect(r.tasks[1]).toMatchObject({ attempts: 3, error: { code: 'SP_ERR_KAGGLE_UNAVAILABLE' } });
    // The task's hint is the run's (a task's command said what to do, and the run's error dropped it).
    expect(r.failed).toMatchObject({ task: 'b', code: 'SP_ERR_KAGGLE_UNAVAILABLE', hint: 'Try again after 18:00.' });
    expect(getPipelineRun(reg, r.run_id)!.status).toBe('failed');
    const log = await readFile(getPipelineRun(reg, r.run_id)!.tasks[1]!.log_path!, 'utf8');
    expect(log).toMatch(/attempt 1\/3 started[\s\S]*attempt 1 failed: SP_ERR_KAGGLE_UNAVAILABLE[\s\S]*retrying[\s\S]*failed SP_ERR_KAGGLE_UNAVAILABLE[^\n]*\n[^\n]*hint: Try again after 18:00\.\n/);
  });

  it('does not retry an error another attempt cannot fix', async () => {
    const bad: Partial<TaskSpec> = { retries: 5, run: async () => { calls.push('b'); throw new StockpipeError('SP_ERR_CONFIG_INVALID', 'bad'); } };
    await run(chain({ b: bad }));
    expect(calls.filter((c) => c === 'b')).toHaveLength(1);
  });

  it.each(['SP_ERR_PRICES_SCHEMA', 'SP_ERR_INPUT_HEADER', 'SP_ERR_MODEL_FORMAT', 'SP_ERR_KAGGLE_AUTH'] as const)('does not retry what another attempt reads the same way (%s)', async (code) => {
    const bad: Partial<TaskSpec> = { retries: 5, run: async () => { calls.push('b'); throw new StockpipeError(code, 'as it is'); } };
    await run(chain({ b: bad }));
    expect(calls.filter((c) => c === 'b')).toHaveLength(1);
  });

  it.each(['SP_ERR_QUEUE_JOB_LOST', 'SP_ERR_REDIS_UNREACHABLE'] as const)('does not retry a queued job it lost track of (%s): its execution may have committed', async (code) => {
    const lost: Partial<TaskSpec> = { retries: 5, run: async () => { calls.push('b'); throw new StockpipeError(code, 'lost'); } };
    await run(chain({ b: lost }));
    expect(calls.filter((c) => c === 'b')).toHaveLength(1);
  });

  it('stops an attempt past its timeout (SP_ERR_TASK_TIMEOUT) and aborts its signal (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    let aborted = false;
    const started = signal();
    const slow: Partial<TaskSpec> = {
      timeoutMs: 3_600_000,
      run: (ctx) => new Promise((_, reject) => { started.fire(); ctx.signal.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')); }); }),
    };
    const pending = run(chain({ b: slow }));
    await started.promise; // the runner sets the timeout in the same tick as it calls run()
    await vi.advanceTimersByTimeAsync(3_599_999);
    expect(aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(aborted).toBe(true);
    const r = await pending;
    expect(r.tasks[1]).toMatchObject({ status: 'failed', error: { code: 'SP_ERR_TASK_TIMEOUT' } });
    expect(statuses(r)).toEqual({ a: 'succeeded', b: 'failed', c: 'skipped' });
  });

  it('a task that ignores the abort is reported SP_ERR_TASK_TIMEOUT after the stop grace (fake timers)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const started = signal();
    let settled = false;
    const deaf: Partial<TaskSpec> = { timeoutMs: 1000, run: () => { started.fire(); return new Promise(() => {}); } };
    const pending = run(chain({ b: deaf })).finally(() => { settled = true; });
    await started.promise;
    await vi.advanceTimersByTimeAsync(1000 + 9_999); // timeout, then just short of the 10 s grace
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const r = await pending;
    expect(r.tasks[1]).toMatchObject({ status: 'failed', error: { code: 'SP_ERR_TASK_TIMEOUT' } });
  });

  it('resumes a failed run from the failed task without re-running succeeded ones', async () => {
    let fail = true;
    const b: Partial<TaskSpec> = { run: async () => { calls.push('b'); if (fail) throw new StockpipeError('SP_ERR_INTERNAL', 'boom'); await writeFile(join(ws, 'b.txt'), 'B'); return {}; } };
    const r1 = await run(chain({ b }));
    expect(r1.status).toBe('failed');
    // A dry run of the resume plans it so: a kept, the rest to run.
    const plan = await planPipeline({ ws: new Workspace(ws), pipeline: chain({ b }), registry: reg, resume: r1.run_id });
    expect(plan.map((t) => [t.name, t.action, t.reason])).toEqual([['a', 'cached', `kept from run ${r1.run_id} (succeeded)`], ['b', 'run', 'inputs, params or code version changed'], ['c', 'run', 'inputs come from b']]);
    fail = false;
    calls = [];
    const r2 = await run(chain({ b }), { resume: r1.run_id });
    expect(r2).toMatchObject({ run_id: r1.run_id, resumed: true, status: 'finished' });
    expect(calls).toEqual(['b', 'c']);
    expect(statuses(r2)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    await expect(run(chain(), { resume: 'nope' })).rejects.toMatchObject({ code: 'SP_ERR_RUN_NOT_FOUND' });
    // Finished: nothing to continue, for the run and its plan alike (the run's end is kept).
    await expect(run(chain(), { resume: r1.run_id })).rejects.toMatchObject({ code: 'SP_ERR_RUN_NOT_RESUMABLE' });
    await expect(planPipeline({ ws: new Workspace(ws), pipeline: chain(), registry: reg, resume: r1.run_id })).rejects.toMatchObject({ code: 'SP_ERR_RUN_NOT_RESUMABLE' });
  });

  it('a resumed run keeps its --from/--to slice: the tasks outside it stay skipped; another slice is refused', async () => {
    let fail = true;
    const a: Partial<TaskSpec> = { run: async () => { calls.push('a'); if (fail) throw new StockpipeError('SP_ERR_INTERNAL', 'boom'); await writeFile(join(ws, 'a.txt'), 'A'); return { summary: { a: 1 } }; } };
    // A fresh workspace: b and c have no result yet (nothing to keep), and lie outside `--to a`.
    const r1 = await run(chain({ a }), { to: 'a' });
    expect(statuses(r1)).toEqual({ a: 'failed', b: 'skipped', c: 'skipped' });
    const plan = await planPipeline({ ws: new Workspace(ws), pipeline: chain({ a }), registry: reg, resume: r1.run_id });
    expect(plan.map((t) => [t.name, t.action])).toEqual([['a', 'run'], ['b', 'skip'], ['c', 'skip']]);
    // Another slice given to the resume (it was ignored): refused, for the plan and the run, nothing run.
    await expect(planPipeline({ ws: new Workspace(ws), pipeline: chain({ a }), registry: reg, resume: r1.run_id, to: 'c' })).rejects.toMatchObject({ code: 'SP_ERR_USAGE' });
    await expect(run(chain({ a }), { resume: r1.run_id, from: 'b' })).rejects.toMatchObject({ code: 'SP_ERR_USAGE' });
    fail = false;
    calls = [];
    // The run's own --to again is what it was started with: accepted.
    const r2 = await run(chain({ a }), { resume: r1.run_id, to: 'a' });
    expect(calls).toEqual(['a']);
    expect(r2).toMatchObject({ run_id: r1.run_id, status: 'finished' });
    expect(statuses(r2)).toEqual({ a: 'succeeded', b: 'skipped', c: 'skipped' });
    expect(getPipelineRun(reg, r1.run_id)!.tasks.map((t) => t.status)).toEqual(['succeeded', 'skipped', 'skipped']);
  });

  it('cancellation aborts the running task, keeps finished ones, leaves the rest queued and resumable', async () => {
    const ac = new AbortController();
    // The run is cancelled while b runs: b listens, then the caller aborts (no clock involved).
    const b: Partial<TaskSpec> = { run: (ctx) => new Promise((_, reject) => { ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))); queueMicrotask(() => ac.abort()); }) };
    const r = await run(chain({ b }), { signal: ac.signal });
    expect(r.status).toBe('cancelled');
    expect(statuses(r)).toEqual({ a: 'succeeded', b: 'cancelled', c: 'queued' });
    expect(getPipelineRun(reg, r.run_id)!.status).toBe('cancelled');
    calls = [];
    const r2 = await run(chain(), { resume: r.run_id });
    expect(calls).toEqual(['b', 'c']);
    expect(r2.status).toBe('finished');
  });

  it('a resumed run keeps the --force it was started with: its remaining tasks run, not cached', async () => {
    await writeFile(join(ws, 'src.txt'), 'x');
    expect(statuses(await run(chain()))).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    // A forced run, cancelled while b runs.
    const ac = new AbortController();
    const b: Partial<TaskSpec> = { run: (ctx) => new Promise((_, reject) => { ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))); queueMicrotask(() => ac.abort()); }) };
    const forced = await run(chain({ b }), { signal: ac.signal, force: true });
    expect(statuses(forced)).toEqual({ a: 'succeeded', b: 'cancelled', c: 'queued' });
    calls = [];
    // Resumed without --force (the dashboard's Resume, `run --resume`): b and c run again, as a forced run's would.
    const resumed = await run(chain(), { resume: forced.run_id });
    expect(calls).toEqual(['b', 'c']);
    expect(statuses(resumed)).toEqual({ a: 'succeeded', b: 'succeeded', c: 'succeeded' });
    // The same with --force-task: the resumed run keeps it.
    const ac2 = new AbortController();
    const b2: Partial<TaskSpec> = { run: (ctx) => new Promise((_, reject) => { ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))); queueMicrotask(() => ac2.abort()); }) };
    const one = await run(chain({ b: b2 }), { signal: ac2.signal, forceTasks: ['b'] });
    expect(statuses(one)).toMatchObject({ a: 'cached', b: 'cancelled' });
    calls = [];
    expect(statuses(await run(chain(), { resume: one.run_id }))).toEqual({ a: 'cached', b: 'succeeded', c: 'cached' });
    expect(calls).toEqual(['b']);
  });

  it('runs independent tasks concurrently up to the bound', async () => {
    // Each task holds until `bound` tasks run at once (a gate, not a clock): a runner that starts
    // fewer never opens it and the test times out; one that starts more shows a higher peak.
    for (const bound of [2, 4]) {
      let now = 0;
      let peak = 0;
      const gate = signal();
      const par = (name: string): TaskSpec => ({ name, version: '1', cache: 'never', run: async () => { peak = Math.max(peak, ++now); if (now === bound) gate.fire(); await gate.promise; now--; return {}; } });
      const p: Pipeline = { name: 'par', description: '', tasks: ['w', 'x', 'y', 'z'].map(par) };
      const r = await run(p, { concurrency: bound });
      expect(r.status).toBe('finished');
      expect(peak, `concurrency ${bound}`).toBe(bound);
    }
  }, 10_000);

  it('--from/--to runs a slice; tasks outside it are skipped and feed it their last results', async () => {
    await run(chain());
    calls = [];
    const r = await run(chain(), { from: 'b', to: 'b', forceTasks: ['b'] });
    expect(calls).toEqual(['b']);
    expect(statuses(r)).toEqual({ a: 'skipped', b: 'succeeded', c: 'skipped' });
  });

  it('the run is committed to the store before the work of any task starts (a queued job can outlive its runner)', async () => {
    // What another process sees at the moment each task starts: `run --resume` finds a killed run by this row.
    const seen: Record<string, string | null> = {};
    const files: Record<string, [string, string]> = { a: ['src.txt', 'a.txt'], b: ['a.txt', 'b.txt'] };
    const probe = (name: string): Partial<TaskSpec> => ({
      run: async (ctx) => {
        const other = openRegistry(ws, { readonly: true });
        try {
          const r = getPipelineRun(other, ctx.runId);
          // The task's own state follows within STORE_DELAY_MS; its row is there from the start.
          seen[name] = r === null ? null : `${r.status}/${r.tasks.some((t) => t.task === name)}`;
        } finally {
          other.close();
        }
        const [from, to] = files[name]!;
        await writeFile(join(ws, to), (await readFile(join(ws, from), 'utf8')) + name);
        return { summary: {} };
      },
    });
    await run(chain({ a: probe('a'), b: probe('b') }));
    expect(seen).toEqual({ a: 'running/true', b: 'running/true' });
    // A slice whose first task is not the pipeline's first: the same.
    delete seen.b;
    await run(chain({ b: probe('b') }), { from: 'b', to: 'b', forceTasks: ['b'] });
    expect(seen.b).toBe('running/true');
  });

  // Probed on a full disk: the memo's failed save threw before the run's end was written, so a run whose
  // tasks were all done stayed `running` (abandoned) with tasks still queued or running in the store.
  it('a hash memo that cannot be saved does not keep the run from recording its end', async () => {
    const memo = new Workspace(ws).hashMemo;
    await mkdir(join(memo, 'x'), { recursive: true }); // a folder where the memo goes: its save fails
    const r = await run(chain());
    expect(r.status).toBe('finished');
    const stored = getPipelineRun(reg, r.run_id)!;
    expect([stored.status, ...stored.tasks.map((x) => x.status)]).toEqual(['finished', 'succeeded', 'succeeded', 'succeeded']);
  });

  // Probed: a memo holding `null` failed every task (and the dry run) with SP_ERR_INTERNAL until it was removed.
  it('a hash memo that holds no JSON object only costs a re-read of the files', async () => {
    await writeFile(join(ws, 'src.txt'), 'x');
    const first = await run(chain());
    const memo = new Workspace(ws).hashMemo;
    for (const text of ['null', '[1]', '7', '{"broken']) {
      await writeFile(memo, text);
      expect(statuses(await run(chain())), text).toEqual({ a: 'cached', b: 'cached', c: 'cached' });
      await writeFile(memo, text);
      expect((await planPipeline({ ws: new Workspace(ws), pipeline: chain(), registry: reg })).map((t) => t.action), text).toEqual(['cached', 'cached', 'cached']);
    }
    expect(first.status).toBe('finished');
  });

  it('a task may report itself cached or skipped; downstream of a decided skip still runs', async () => {
    const a: Partial<TaskSpec> = { cache: 'never', run: async () => { await writeFile(join(ws, 'a.txt'), 'A'); return { status: 'cached' }; } };
    const b: Partial<TaskSpec> = { cache: 'never', run: async () => ({ status: 'skipped', summary: { retrained: false } }) };
    const r = await run(chain({ a, b, c: { inputs: [], outputs: [], run: async () => ({}) } }));
    expect(statuses(r)).toEqual({ a: 'cached', b: 'skipped', c: 'succeeded' });
  });
});

describe('live view lines', () => {
  it('show state, elapsed time, a progress bar while running, attempts and the error', async () => {
    const { taskLine } = await import('./live-view.js');
    const base = { name: 'ingest', attempts: 1, seconds: null, startedAt: 1000, note: null, fraction: 0.5, error: null };
    expect(taskLine({ ...base, status: 'running' }, 3500)).toMatch(/^▶ ingest +running +2\.5 s \[######------\] 50%$/);
    expect(taskLine({ ...base, status: 'failed', seconds: 4, attempts: 3, fraction: null, error: { code: 'SP_ERR_INPUT_MALFORMED', message: 'bad' } }, 0)).toMatch(/✗ ingest +failed +4\.0 s \(attempt 3\) SP_ERR_INPUT_MALFORMED: bad$/);
  });
});
