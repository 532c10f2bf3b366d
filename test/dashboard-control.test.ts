/** Run control over HTTP (dashboard/routes-control, routes-logs) on a tiny synthetic workspace:
 * the POSTs behind the API token (refused without it beyond loopback), their validation codes,
 * and the real thing — a run triggered over HTTP runs in its own CLI process and finishes, a second
 * one meanwhile gets the runner's lock error, a forced run is cancelled and resumed, a backfill
 * starts and is stopped by cancelling its run with `stockpipe runs cancel`; the schedules' next run; a task log searched and
 * downloaded. */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { isTradingDay } from '../src/core/calendar.js';
import { searchLog } from '../src/dashboard/routes-logs.js';
import { scheduleKey } from '../src/pipeline/schedule.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { CLI, cliEnv, ROOT, runCliAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { silentLog } from './helpers/workspace.js';

const TOKEN = 'control-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const SMALL = { STOCKPIPE_SYMBOLS: '6', STOCKPIPE_YEARS: '1', STOCKPIPE_THREADS: '1' };
const SCHEDULE = { pipeline: 'daily', cron: '30 18 * * 1-5', timezone: 'America/New_York', trading_days_only: true };

let ws = '';
let app: FastifyInstance;
let open: FastifyInstance;

async function build(opts: { apiToken?: string; host?: string }): Promise<FastifyInstance> {
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  const { app: a } = await buildApp({
    workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: ws, ...opts,
    control: { cliMain: CLI, env: cliEnv(SMALL), globalArgs: [], cwd: ROOT, schedules: [SCHEDULE] },
  });
  await a.ready();
  return a;
}

beforeAll(async () => {
  ws = await tempDir('control');
  app = await build({ apiToken: TOKEN, host: '0.0.0.0' });
  open = await build({ host: '0.0.0.0' });
});

afterAll(async () => {
  await app?.close();
  await open?.close();
});

type Json = Record<string, any>;
async function post(url: string, payload?: unknown, headers: Record<string, string> = AUTH): Promise<{ status: number; body: Json }> {
  const r = await app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload: payload as Json }) });
  return { status: r.statusCode, body: JSON.parse(r.body) as Json };
}
const get = async (url: string): Promise<Json> => JSON.parse((await app.inject(url)).body) as Json;

/** Polls GET /runs/:id until `done` holds (the runs started here end within the timeout). */
async function waitRun(id: string, done: (r: Json) => boolean, timeoutMs = 90_000): Promise<Json> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await get(`/runs/${id}`);
    if (done(r)) return r;
    if (Date.now() > until) throw new Error(`run ${id} still ${r.status}: ${JSON.stringify(r.tasks?.map((t: Json) => `${t.task}:${t.status}`))}`);
    await new Promise((res) => setTimeout(res, 200));
  }
}
const ended = (r: Json): boolean => ['finished', 'failed', 'cancelled', 'abandoned'].includes(r.status);

describe('run control routes', () => {
  it('need the token beyond loopback: 401 without it, 403 when the server has none', async () => {
    for (const [url, payload] of [['/runs', { pipeline: 'train' }], ['/runs/x/resume', {}], ['/runs/x/cancel', {}], ['/backfills', { pipeline: 'daily', from: '2024-07-01', to: '2024-07-02' }]] as const) {
      expect((await post(url, payload, {})).body.error.code, url).toBe('SP_ERR_UNAUTHORIZED');
      expect((await post(url, payload, { authorization: 'Bearer not-the-token-0123456789' })).status, url).toBe(401);
      const r = await open.inject({ method: 'POST', url, payload });
      expect([r.statusCode, (JSON.parse(r.body) as Json).error.code], url).toEqual([403, 'SP_ERR_FORBIDDEN']);
    }
    expect((await get('/runs')).total).toBe(0); // nothing was started
  });

  it('validate their input with stable codes before starting anything', async () => {
    const cases: [string, unknown, number, string][] = [
      ['/runs', { pipeline: 'nightly' }, 404, 'SP_ERR_PIPELINE_UNKNOWN'],
      ['/runs', {}, 400, 'SP_ERR_BAD_REQUEST'],
      ['/runs', { pipeline: 'daily', at: 'now' }, 400, 'SP_ERR_BAD_REQUEST'],
      ['/runs', { pipeline: 'daily', date: '2024-02-30' }, 400, 'SP_ERR_BAD_REQUEST'],
      ['/runs', { pipeline: 'daily', date: 'yesterday' }, 400, 'SP_ERR_BAD_REQUEST'],
      ['/runs', { pipeline: 'daily', date: '2024-07-04' }, 400, 'SP_ERR_NOT_TRADING_DAY'],
      ['/runs', { pipeline: 'daily', date: '2999-01-04' }, 400, 'SP_ERR_DATE_IN_FUTURE'],
      ['/runs', { pipeline: 'train', force: 'yes' }, 400, 'SP_ERR_BAD_REQUEST'],
      ['/runs/no-such-run/resume', undefined, 404, 'SP_ERR_RUN_NOT_FOUND'],
      ['/runs/no-such-run/cancel', {}, 404, 'SP_ERR_RUN_NOT_FOUND'],
      ['/runs/no-such-run/cancel', { now: true }, 400, 'SP_ERR_BAD_REQUEST'],
      ['/backfills', { pipeline: 'daily', from: '2024-07-04', to: '2024-07-04' }, 400, 'SP_ERR_NOT_TRADING_DAY'],
      ['/backfills', { pipeline: 'daily', from: '2024-07-05', to: '2024-07-01' }, 400, 'SP_ERR_BAD_REQUEST'],
      ['/backfills', { pipeline: 'weekly', from: '2024-07-01', to: '2024-07-02' }, 404, 'SP_ERR_PIPELINE_UNKNOWN'],
      ['/backfills', { pipeline: 'daily', from: '2024-07-01' }, 400, 'SP_ERR_BAD_REQUEST'],
    ];
    for (const [url, payload, status, code] of cases) {
      const r = await post(url, payload);
      expect([r.status, r.body.error?.code], `${url} ${JSON.stringify(payload)}`).toEqual([status, code]);
      expect(r.body.error.hint.length).toBeGreaterThan(5);
    }
    expect((await get('/runs')).total).toBe(0);
  });

  it('name a backfill range by the request\'s fields (the dashboard form\'s from and to), not by the CLI\'s flags', async () => {
    // The wording is what is tested here: the form shows the message and hint as they are.
    const cases = [[{ from: '2024-07-05', to: '2024-07-01' }, 'SP_ERR_BAD_REQUEST'], [{ from: '2024-02-30', to: '2024-07-01' }, 'SP_ERR_BAD_REQUEST'],
      [{ from: '2024-07-01', to: '2024-07-32' }, 'SP_ERR_BAD_REQUEST'], [{ from: '2024-07-01', to: '2999-01-04' }, 'SP_ERR_DATE_IN_FUTURE']] as const;
    for (const [range, code] of cases) {
      const { error } = (await post('/backfills', { pipeline: 'daily', ...range })).body;
      expect(error.code, JSON.stringify(range)).toBe(code);
      expect(`${error.message} ${error.hint}`, JSON.stringify(range)).not.toMatch(/--from|--to/);
      expect(error.message, JSON.stringify(range)).toMatch(/^"(from|to)" /);
    }
    // A reversed range keeps its own hint (which end is which), not the one about the dates' format.
    expect((await post('/backfills', { pipeline: 'daily', from: '2024-07-05', to: '2024-07-01' })).body.error).toMatchObject({ message: '"from" 2024-07-05 is after "to" 2024-07-01', hint: 'Give the first day with "from" and the last with "to".' });
    expect((await get('/runs')).total).toBe(0);
  });

  it('a triggered run runs in its own CLI process and finishes; a second one meanwhile gets the runner\'s lock error', async () => {
    const r = await post('/runs', { pipeline: 'train' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ pipeline: 'train', status: 'running' });
    expect(r.body.pid).not.toBe(process.pid);
    const second = await post('/runs', { pipeline: 'daily' });
    expect([second.status, second.body.error?.code]).toEqual([409, 'SP_ERR_PIPELINE_LOCKED']);
    // Hinted for a request: it has no --wait to pass (the CLI's hint said to).
    expect(second.body.error.hint).not.toContain('--wait');
    expect(second.body.error.hint).toMatch(/^Wait for that run to finish \(GET \/runs shows it\), or cancel it \(POST \/runs\/:id\/cancel\), then try again; .*run\.lock is taken over automatically/);
    expect((await post(`/runs/${r.body.run_id}/resume`)).body.error.code).toBe('SP_ERR_RUN_NOT_RESUMABLE'); // live
    const run = await waitRun(r.body.run_id, ended);
    expect(run.status).toBe('finished');
    expect(run.params.runner_pid).toBe(String(r.body.pid));
    expect(run.tasks.map((t: Json) => t.status)).toEqual(Array(7).fill('succeeded'));
    expect((await get('/runs')).total).toBe(1); // the refused one started nothing
    expect((await post(`/runs/${r.body.run_id}/resume`)).body.error.code).toBe('SP_ERR_RUN_NOT_RESUMABLE');
    expect((await post(`/runs/${r.body.run_id}/cancel`)).body.error.code).toBe('SP_ERR_RUN_NOT_RUNNING');

    // The whole log, searched on the server and downloaded.
    const file = join(ws, 'runs', run.run_id, 'train.log');
    const text = await readFile(file, 'utf8');
    const s = await get(`/runs/${run.run_id}/logs/train/search?q=ATTEMPT`);
    const want = text.split('\n').flatMap((l, i) => (l.toLowerCase().includes('attempt') ? [{ line: i + 1, text: l, cut: false }] : []));
    expect(want.length).toBeGreaterThan(0);
    expect(s).toMatchObject({ matches: want, more: false });
    const dl = await app.inject(`/runs/${run.run_id}/logs/train/download`);
    expect(dl.headers['content-disposition']).toBe(`attachment; filename="${run.run_id}-train.log"`);
    expect(dl.body).toBe(text);
    expect((await get(`/runs/${run.run_id}/logs/train/search?q=`)).error.code).toBe('SP_ERR_BAD_REQUEST');
    expect((await get(`/runs/${run.run_id}/logs/nope/search?q=x`)).error.code).toBe('SP_ERR_RUN_NOT_FOUND');
  }, 120_000);

  it('cancels a running run (marked cancelled, resumable) and resumes it in the same run id', async () => {
    const r = await post('/runs', { pipeline: 'train', force: true });
    expect(r.status).toBe(202);
    const c = await post(`/runs/${r.body.run_id}/cancel`);
    expect([c.status, c.body.status]).toEqual([202, 'cancelling']);
    const cancelled = await waitRun(r.body.run_id, ended);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.tasks.some((t: Json) => t.status === 'queued' || t.status === 'cancelled')).toBe(true);

    const again = await post(`/runs/${r.body.run_id}/resume`, {});
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ run_id: r.body.run_id, resumed: true });
    expect(again.body.pid).not.toBe(r.body.pid);
    const resumed = await waitRun(r.body.run_id, (x) => ended(x));
    expect(resumed.status).toBe('finished');
    expect(resumed.params.runner_pid).toBe(String(again.body.pid));
    expect((await get('/runs')).total).toBe(2);
  }, 120_000);

  it('starts a backfill (its id answered) and stops it by cancelling its run (`stockpipe runs cancel`)', async () => {
    const b = await post('/backfills', { pipeline: 'daily', from: '2025-06-02', to: '2025-06-06', force: true });
    expect(b.status).toBe(202);
    expect(b.body).toMatchObject({ pipeline: 'daily', days: 5 });
    const id = b.body.backfill_id as string;
    let run: Json | undefined;
    for (const until = Date.now() + 30_000; run === undefined && Date.now() < until; await new Promise((res) => setTimeout(res, 100))) {
      run = ((await get(`/runs?backfill=${id}&status=running`)).runs as Json[])[0];
    }
    expect(run?.backfill_id).toBe(id);
    // The CLI's cancel (the route's twin): it waits until the runner has marked the run.
    const c = await runCliAsync(['runs', 'cancel', run!.run_id, '-w', ws, '--json'], { env: SMALL });
    expect(c.json.data).toMatchObject({ run_id: run!.run_id, backfill_id: id, status: 'cancelled' });
    expect((await get(`/runs/${run!.run_id}`)).status).toBe('cancelled');
    let bf: Json = {};
    for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((res) => setTimeout(res, 100))) {
      bf = await get(`/backfills/${id}`);
      if (bf.status !== 'running') break;
    }
    expect(bf.status).toBe('cancelled');
  }, 120_000);

  it('answer SP_ERR_LAUNCH_FAILED when the CLI child ends without a result, or there is no CLI to start', async () => {
    const holder = new ChampionHolder(ws, silentLog);
    const broken = (await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: ws, control: { cliMain: join(ws, 'no-such-cli.js'), env: cliEnv(), globalArgs: [], cwd: ROOT, schedules: [] } })).app;
    const bare = (await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: ws })).app;
    try {
      const r = await broken.inject({ method: 'POST', url: '/runs', payload: { pipeline: 'train' } });
      expect([r.statusCode, (JSON.parse(r.body) as Json).error.code]).toEqual([500, 'SP_ERR_LAUNCH_FAILED']);
      const log = /its output is in (\S+)$/.exec((JSON.parse(r.body) as Json).error.message as string)?.[1];
      expect(log?.startsWith('<workspace>/pipeline/launches/')).toBe(true); // named in the workspace, not by the server's path
      expect(await readFile(log!.replace('<workspace>/', `${ws}/`), 'utf8')).toContain('no-such-cli.js'); // node's own "Cannot find module"
      const b = await bare.inject({ method: 'POST', url: '/runs', payload: { pipeline: 'train' } });
      expect((JSON.parse(b.body) as Json).error.code).toBe('SP_ERR_LAUNCH_FAILED');
    } finally {
      await broken.close();
      await bare.close();
    }
  });

  // Probed serving a workspace the server's user may not write: POST /runs answered SP_ERR_INTERNAL (mkdir EACCES).
  it('answer SP_ERR_WORKSPACE_UNWRITABLE when the workspace cannot take the launch log (not SP_ERR_INTERNAL)', async () => {
    const other = await tempDir('control-unwritable');
    await writeFile(join(other, 'pipeline'), 'a file where the folder goes');
    const holder = new ChampionHolder(other, silentLog);
    const a = (await buildApp({ workspace: other, holder, accessLog: null, version: 'test', dashboardDir: other, control: { cliMain: CLI, env: cliEnv(SMALL), globalArgs: [], cwd: ROOT, schedules: [] } })).app;
    try {
      for (const [url, payload] of [['/runs', { pipeline: 'train' }], ['/backfills', { pipeline: 'daily', from: '2020-01-02', to: '2020-01-03' }]] as const) {
        const r = await a.inject({ method: 'POST', url, payload });
        expect([r.statusCode, (JSON.parse(r.body) as Json).error.code], r.body).toEqual([500, 'SP_ERR_WORKSPACE_UNWRITABLE']);
      }
    } finally {
      await a.close();
    }
  });

  it('are documented in /openapi.json with the 202 they answer (not a 200)', async () => {
    const doc = await get('/openapi.json');
    for (const path of ['/runs', '/runs/{id}/resume', '/runs/{id}/cancel', '/backfills']) {
      const codes = Object.keys(doc.paths[path].post.responses);
      expect(codes, path).toContain('202');
      expect(codes, path).not.toContain('200');
    }
  });

  it('lists the schedules with their next run (croner, NYSE trading days)', async () => {
    const s = await get('/schedules');
    expect(s.schedules).toHaveLength(1);
    const x = s.schedules[0] as Json;
    expect(x).toMatchObject({ ...SCHEDULE, last_handled: null, error: null });
    const next = new Date(x.next_run as string);
    expect(next.getTime()).toBeGreaterThan(Date.parse(s.now as string));
    expect(next.getTime() - Date.parse(s.now as string)).toBeLessThan(5 * 86_400_000);
    expect(x.next_run_local).toMatch(/ 18:30$/);
    expect(isTradingDay((x.next_run_local as string).slice(0, 10))).toBe(true);
  });

  // Probed: a state file of `null` (or a folder there) answered 500 SP_ERR_INTERNAL, a FIFO never answered.
  it('shows a scheduler state the scheduler would refuse (null, a folder, a FIFO) as state_error, not a 500', async () => {
    const dir = join(ws, 'pipeline');
    const file = join(dir, 'scheduler-state.json');
    await mkdir(dir, { recursive: true });
    const cases: [string, () => Promise<void>, string][] = [
      ['null', () => writeFile(file, 'null'), 'it is no JSON object'],
      ['not JSON', () => writeFile(file, '{'), 'not valid JSON'],
      ['a value that is no time', () => writeFile(file, JSON.stringify({ [scheduleKey(SCHEDULE)]: 5 })), 'is no time (5)'],
      ['a folder', () => mkdir(file), 'not a regular file'],
      ['a FIFO', async () => void execFileSync('mkfifo', [file]), 'not a regular file'],
    ];
    for (const [name, make, error] of cases) {
      await rm(file, { recursive: true, force: true });
      await make();
      const r = await app.inject('/schedules');
      expect(r.statusCode, `${name}: ${r.body}`).toBe(200);
      const s = JSON.parse(r.body) as Json;
      expect(s.state_error, name).toContain(error);
      expect(s.state_error, name).toMatch(/^<workspace>\/pipeline\/scheduler-state\.json: /);
      expect((s.schedules[0] as Json).last_handled, name).toBeNull();
    }
    await rm(file, { recursive: true, force: true });
    await writeFile(file, JSON.stringify({ [scheduleKey(SCHEDULE)]: '2024-07-01T22:30:00.000Z' }));
    const ok = await get('/schedules');
    expect([ok.state_error, (ok.schedules[0] as Json).last_handled]).toEqual([null, '2024-07-01T22:30:00.000Z']);
    await rm(file);
  });
});

describe('searchLog', () => {
  it('matches a naive filter, stops at the limit and says when more follow', async () => {
    const dir = await tempDir('logsearch');
    const lines = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `line ${i} Needle here` : i % 11 === 0 ? `x${'y'.repeat(3000)}needle` : `line ${i} hay`));
    const file = join(dir, 'task.log');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, `${lines.join('\n')}\n`));
    const naive = lines.flatMap((l, i) => (l.toLowerCase().includes('needle') ? [{ line: i + 1, text: l.slice(0, 2000), cut: l.length > 2000 }] : []));
    const all = await searchLog(file, 'NEEDLE', 10_000);
    expect(all).toEqual({ matches: naive, more: false, lines_read: 5000 });
    const some = await searchLog(file, 'needle', 10);
    expect(some.matches).toEqual(naive.slice(0, 10));
    expect(some.more).toBe(true);
    expect(some.lines_read).toBeLessThan(5000);
    expect((await searchLog(file, 'absent', 10)).matches).toEqual([]);
  });
});
