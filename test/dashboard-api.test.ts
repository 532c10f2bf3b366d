/** The dashboard's JSON routes and static page through Fastify's inject (README.md (Dashboard)), on a real small
 * synthetic features table built by the CLI. */
import { execFileSync } from 'node:child_process';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackfill, recordBackfillDays, reopenBackfill } from '../src/registry/backfills.js';
import { createPipelineRun, updateTaskRun } from '../src/registry/pipeline.js';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { scorerFromJSON } from '../src/ml/volume-model.js';
import { polyJson, registerModel } from './helpers/models.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { silentLog } from './helpers/workspace.js';

let ws = '';

beforeAll(async () => {
  ws = await tempDir('dash');
  for (const args of [['fetch', '--symbols', '6', '--years', '2'], ['ingest'], ['features']]) {
    const r = runCli([...args, '-w', ws, '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
  }
  await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion', rmseLog: 0.5 });
  await registerModel(ws, 'poly-2', polyJson(2), { rmseLog: 0.4 });
  await registerModel(ws, 'poly-3', polyJson(3), { rmseLog: 0.9 });
});

async function start(assetsDir?: string, workspace = ws) {
  const holder = new ChampionHolder(workspace, silentLog);
  await holder.refresh();
  const { app } = await buildApp({ workspace, holder, accessLog: null, version: 'test', dashboardDir: assetsDir ?? join(workspace, 'no-dashboard') });
  return { app, holder };
}
/** The app over another workspace (no dashboard page). */
const appOn = async (workspace: string) => (await start(undefined, workspace)).app;
const json = <T>(body: string): T => JSON.parse(body) as T;

describe('runs', () => {
  it('GET /runs shows logical dates and backfills and filters by backfill; GET /backfills(/:id) lists them with their days', async () => {
    const own = await tempDir('dash-backfill');
    const reg = openRegistry(own);
    try {
      // Its process is gone (this pid, another start time: a pid reused after the backfill was killed).
      createBackfill(reg, { backfill_id: 'b1', pipeline: 'daily', from: '2024-07-01', to: '2024-07-03', days: ['2024-07-01', '2024-07-02', '2024-07-03'], runner: { pid: process.pid, host: hostname(), start: 'gone' } });
      const r1 = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-01', backfill_id: 'b1' });
      const r2 = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-02', backfill_id: 'b1' });
      createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'] });
      recordBackfillDays(reg, 'b1', [{ date: '2024-07-01', run_id: r1, status: 'succeeded', seconds: 1 }, { date: '2024-07-02', run_id: r2, status: 'failed', seconds: 2 }], { succeeded: 1, failed: 1, skipped: 0 });
      reg.startRun({ kind: 'fetch', run_id: 'cmd-1', name: 'fetch', parent_run_id: r1 });
      reg.logParams('cmd-1', { 'pipeline.task': 'fetch' });
      reg.startRun({ kind: 'ingest', run_id: 'cmd-2', name: 'ingest' });
    } finally {
      reg.close();
    }
    const app = await appOn(own);
    try {
      const all = json<{ runs: { logical_date: string | null; backfill_id: string | null }[]; total: number }>((await app.inject('/runs')).body);
      expect(all.runs.map((r) => [r.logical_date, r.backfill_id])).toEqual([[null, null], ['2024-07-02', 'b1'], ['2024-07-01', 'b1']]);
      expect(json<{ total: number }>((await app.inject('/runs?backfill=b1')).body).total).toBe(2);
      expect(json<{ total: number }>((await app.inject('/runs?backfill=b')).body).total).toBe(2); // the start of its id, as runs list shows it
      // A backfill no backfill has (or the start of none): 404 naming the newest, as `runs list --backfill` (it was an empty page).
      const noSuch = await app.inject('/runs?backfill=b9');
      expect([noSuch.statusCode, json<{ error: { code: string; hint: string } }>(noSuch.body).error.code]).toEqual([404, 'SP_ERR_RUN_NOT_FOUND']);
      expect(json<{ error: { hint: string } }>(noSuch.body).error.hint).toBe('GET /backfills lists them; the newest: b1 (daily 2024-07-01..2024-07-03).');
      const list = json<{ backfills: { backfill_id: string; days_total: number; days_failed: number; status: string }[] }>((await app.inject('/backfills')).body);
      expect(list.backfills.map((b) => [b.backfill_id, b.days_total, b.days_failed])).toEqual([['b1', 3, 1]]);
      const one = json<{ status: string; days: { date: string; status: string }[] }>((await app.inject('/backfills/b1')).body);
      expect(one.days.map((d) => `${d.date}:${d.status}`)).toEqual(['2024-07-01:succeeded', '2024-07-02:failed', '2024-07-03:queued']);
      // Stored 'running' and its process gone (its backfill was killed): abandoned, not running for good.
      expect([list.backfills[0]!.status, one.status]).toEqual(['abandoned', 'abandoned']);
      // Another run holds the run lock now (this process): the killed backfill is still abandoned (it read 'running' until that run ended).
      await mkdir(join(own, 'pipeline'), { recursive: true });
      await writeFile(join(own, 'pipeline', 'run.lock'), JSON.stringify({ pid: process.pid, host: hostname(), pipeline: 'daily', started_at: new Date().toISOString() }));
      const statuses = async () => [json<{ backfills: { status: string }[] }>((await app.inject('/backfills')).body).backfills[0]!.status, json<{ status: string }>((await app.inject('/backfills/b1')).body).status];
      expect(await statuses()).toEqual(['abandoned', 'abandoned']);
      // Its process alive (this one): running, with or without the lock file.
      const reg2 = openRegistry(own);
      try {
        reopenBackfill(reg2, 'b1');
        expect(await statuses()).toEqual(['running', 'running']);
        await rm(join(own, 'pipeline', 'run.lock'));
        expect(await statuses()).toEqual(['running', 'running']);
        // One started before backfills recorded their process: judged by the run lock's holder.
        reg2.run('forget the process', 'UPDATE backfills SET runner_pid = NULL, runner_host = NULL, runner_start = NULL');
        expect(await statuses()).toEqual(['abandoned', 'abandoned']);
        await writeFile(join(own, 'pipeline', 'run.lock'), JSON.stringify({ pid: process.pid, host: hostname(), pipeline: 'daily', started_at: new Date().toISOString() }));
        expect(await statuses()).toEqual(['running', 'running']);
      } finally {
        reg2.close();
      }
      // Probed: a command run's id or a backfill's given to a pipeline-run route was a bare "no pipeline run" 404 without a
      // hint (the CLI's runs and run --resume say what the id is): it says so, and where the API reads it.
      const r1 = json<{ runs: { run_id: string; logical_date: string }[] }>((await app.inject('/runs?backfill=b1')).body).runs.find((r) => r.logical_date === '2024-07-01')!.run_id;
      for (const [method, url] of [['GET', '/runs/cmd-1'], ['GET', '/runs/cmd-1/logs/fetch'], ['POST', '/runs/cmd-1/resume'], ['POST', '/runs/cmd-1/cancel']] as const) {
        const r = await app.inject({ method, url });
        expect([url, r.statusCode, json<{ error: { code: string; message: string; hint: string } }>(r.body).error]).toEqual([url, 404, {
          code: 'SP_ERR_RUN_NOT_FOUND', message: "no pipeline run 'cmd-1' in <workspace>: it is a fetch command run",
          hint: `It ran as task fetch of pipeline run ${r1}: GET /runs/${r1} reads that run (its task's log: GET /runs/${r1}/logs/fetch).`,
        }]);
      }
      expect(json<{ error: { hint: string } }>((await app.inject('/runs/cmd-2')).body).error.hint).toBe('GET /lineage/run/cmd-2 reads a command run.');
      expect(json<{ error: { message: string; hint: string } }>((await app.inject({ method: 'POST', url: '/runs/b1/cancel' })).body).error).toEqual(expect.objectContaining({
        message: "no pipeline run 'b1' in <workspace>: it is the id of a backfill", hint: 'GET /backfills/b1 reads the backfill; GET /runs?backfill=b1 lists its runs, one per day.',
      }));
      // Probed: an id of nothing hinted only "GET /runs lists the pipeline runs"; POST /runs/:id/resume as GET /runs/:id, the newest named.
      const nothing = await Promise.all([app.inject('/runs/nope'), app.inject({ method: 'POST', url: '/runs/nope/resume' })]);
      const hints = nothing.map((r) => [r.statusCode, json<{ error: { code: string; hint: string } }>(r.body).error]);
      expect(hints[0]).toEqual([404, { code: 'SP_ERR_RUN_NOT_FOUND', message: "no pipeline run 'nope' in <workspace>", hint: expect.stringMatching(/^GET \/runs lists the pipeline runs; the newest: \S+ \(pipeline daily, \w+, started [^)]+\); /) }]);
      expect(hints[1]).toEqual(hints[0]);
      const missing = await app.inject('/backfills/nope');
      expect([missing.statusCode, json<{ error: { code: string } }>(missing.body).error.code]).toEqual([404, 'SP_ERR_RUN_NOT_FOUND']);
      // Its hint names what lists backfills and the newest (it named `runs list`, which lists runs).
      expect(json<{ error: { hint: string } }>(missing.body).error.hint).toBe('GET /backfills lists them; the newest: b1 (daily 2024-07-01..2024-07-03).');
    } finally {
      await app.close();
    }
  });

  it('pages runs newest first with a total, filters by status, shows tasks and serves task logs', async () => {
    const reg = openRegistry(ws);
    const ids: string[] = [];
    try {
      for (let i = 0; i < 3; i++) ids.push(createPipelineRun(reg, { pipeline: i === 1 ? 'other' : 'train', tasks: ['fetch', 'ingest', 'train'], params: { edges: [['fetch', 'ingest'], ['ingest', 'train']] } }));
      await mkdir(join(ws, 'logs'), { recursive: true });
      await writeFile(join(ws, 'logs', 'ingest.log'), 'line one\nline two\n');
      updateTaskRun(reg, ids[0]!, 'ingest', { status: 'succeeded', attempts: 2, seconds: 1.5, log_path: 'logs/ingest.log' });
      updateTaskRun(reg, ids[0]!, 'train', { status: 'failed', log_path: 'logs/gone.log' });
      reg.endRun(ids[0]!, 'failed', 'train failed');
    } finally {
      reg.close();
    }
    const { app } = await start();
    const page = json<{ runs: { run_id: string; status: string }[]; total: number }>((await app.inject('/runs?limit=2&offset=0')).body);
    expect(page.total).toBe(3);
    expect(page.runs.map((r) => r.run_id)).toEqual([ids[2], ids[1]]);
    const failed = json<{ runs: { run_id: string; tasks: { task: string; status: string; attempts: number }[] }[]; total: number }>((await app.inject('/runs?status=failed')).body);
    expect(failed.runs.map((r) => r.run_id)).toEqual([ids[0]]);
    expect(failed.runs[0]!.tasks.map((t) => `${t.task}:${t.status}:${t.attempts}`)).toEqual(['fetch:queued:0', 'ingest:succeeded:2', 'train:failed:0']);
    expect(json<{ total: number }>((await app.inject('/runs?pipeline=other')).body).total).toBe(1);
    // A pipeline with runs but none in that state: an empty page. A name no pipeline and no run has: a 404 naming the pipelines.
    expect(json<{ total: number }>((await app.inject('/runs?pipeline=other&status=failed')).body).total).toBe(0);
    expect(json<{ total: number }>((await app.inject('/runs?pipeline=daily')).body).total).toBe(0);
    for (const url of ['/runs?pipeline=nope', '/backfills?pipeline=nope']) {
      const unknown = await app.inject(url);
      expect([url, unknown.statusCode, json<{ error: { code: string; message: string; hint: string } }>(unknown.body).error]).toEqual([url, 404, expect.objectContaining({ code: 'SP_ERR_PIPELINE_UNKNOWN', message: "pipeline: no pipeline 'nope'", hint: 'Pipelines: train, daily.' })]);
    }
    expect(json<{ backfills: unknown[] }>((await app.inject('/backfills?pipeline=daily')).body).backfills).toEqual([]);
    expect((await app.inject('/runs?status=nope')).statusCode).toBe(400);

    const d = json<{ tasks: { task: string; attempts: number }[]; params: { edges: string } }>((await app.inject(`/runs/${ids[0]}`)).body);
    expect(d.tasks.map((t) => t.task)).toEqual(['fetch', 'ingest', 'train']);
    expect(JSON.parse(d.params.edges)).toEqual([['fetch', 'ingest'], ['ingest', 'train']]);
    const log = await app.inject(`/runs/${ids[0]}/logs/ingest`);
    expect(log.statusCode).toBe(200);
    expect(log.headers['content-type']).toMatch(/text\/plain/);
    expect(log.body).toBe('line one\nline two\n');
    for (const url of [`/runs/${ids[0]}/logs/train`, `/runs/${ids[0]}/logs/fetch`, `/runs/${ids[0]}/logs/nope`, '/runs/nope', '/runs/nope/logs/x']) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(404);
      expect(json<{ error: { code: string } }>(r.body).error.code, url).toBe('SP_ERR_RUN_NOT_FOUND');
    }
    // A task without a log says why, and where its state is; an unknown run's hint is about runs, not logs.
    const never = json<{ error: { message: string; hint: string } }>((await app.inject(`/runs/${ids[0]}/logs/fetch`)).body).error;
    expect(never).toEqual(expect.objectContaining({ message: `task 'fetch' of run '${ids[0]}' has no log: it never started (status queued)`, hint: `Its state, rows and summary: GET /runs/${ids[0]}.` }));
    expect(json<{ error: { hint: string } }>((await app.inject('/runs/nope')).body).error.hint).not.toMatch(/log/);
    const post = await app.inject({ method: 'POST', url: `/runs/${ids[0]}` });
    expect(post.statusCode).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    await app.close();
  });
});

describe('run records read through the API', () => {
  it('write the workspace folder as <workspace> in stored errors (runs, lineage), as error bodies do', async () => {
    const own = await tempDir('dash-paths');
    // A command run recorded by the CLI: its error names the features folder by its absolute path.
    const failed = runCli(['train', '-w', own, '--json']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain(`${own}/tables/features`);
    const reg = openRegistry(own);
    let pipelineRun = '';
    let trainRun = '';
    try {
      pipelineRun = createPipelineRun(reg, { pipeline: 'daily', tasks: ['features'] });
      updateTaskRun(reg, pipelineRun, 'features', { status: 'failed', error_code: 'SP_ERR_PRICES_MISSING', error: `no prices at ${own}/tables/prices` });
      trainRun = reg.all<{ run_id: string }>('find', "SELECT run_id FROM runs WHERE kind = 'train'")[0]!.run_id;
    } finally {
      reg.close();
    }
    const app = await appOn(own);
    try {
      const lineage = await app.inject(`/lineage/run/${trainRun}`);
      expect(lineage.statusCode).toBe(200);
      expect(lineage.body).toContain('<workspace>/tables/features');
      const task = await app.inject(`/runs/${pipelineRun}`);
      expect(task.body).toContain('no prices at <workspace>/tables/prices');
      for (const r of [lineage, task, await app.inject('/runs')]) expect(r.body).not.toContain(own);
    } finally {
      await app.close();
    }
  });

  /** A workspace with prices, a validation report and a champion, served from `served(own)`: its file-naming answers hold `<workspace>/`, never `own`. */
  async function expectFilesMasked(name: string, served: (own: string) => Promise<string>): Promise<void> {
    const own = await tempDir(name);
    for (const args of [['fetch', '--symbols', '3', '--years', '1'], ['ingest'], ['validate']]) expect(runCli([...args, '-w', own, '--quiet', '--json']).code).toBe(0);
    await registerModel(own, 'poly-1', polyJson(), { alias: 'champion', rmseLog: 0.5 });
    const app = await appOn(await served(own));
    try {
      for (const url of ['/models', '/snapshots', '/validation']) {
        const r = await app.inject(url);
        expect(r.statusCode, url).toBe(200);
        expect(r.body, url).toContain('<workspace>/');
        expect(r.body, url).not.toContain(own);
      }
    } finally {
      await app.close();
    }
  }

  it('write the workspace folder as <workspace> where an answer names its files (models, snapshots, validation)', async () => {
    await expectFilesMasked('dash-files', async (own) => own);
  });

  it('write the folder as <workspace> also when the server is given a symlink to the folder the records name', async () => {
    await expectFilesMasked('dash-real', async (own) => {
      const link = join(await tempDir('dash-link'), 'stocks');
      await symlink(own, link);
      return link;
    });
  });
});

describe('models', () => {
  it('promotes only a better model unless forced, swaps the served model, and compares two versions', async () => {
    const { app, holder } = await start();
    expect(holder.current?.id).toBe('poly-1');
    const worse = await app.inject({ method: 'POST', url: '/models/poly-3/promote', payload: {} });
    expect(worse.statusCode).toBe(409);
    expect(json<{ error: { code: string } }>(worse.body).error.code).toBe('SP_ERR_PROMOTE_REFUSED');
    const better = await app.inject({ method: 'POST', url: '/models/poly-2/promote', payload: { note: 'from a test' } });
    expect(better.statusCode).toBe(200);
    expect(json<{ promoted: boolean; champion_before: string }>(better.body)).toMatchObject({ promoted: true, champion_before: 'poly-1' });
    expect(holder.current?.id).toBe('poly-2');
    const forced = await app.inject({ method: 'POST', url: '/models/poly-3/promote', payload: { force: true } });
    expect(json<{ move: { reason: string } }>(forced.body).move.reason).toBe('forced');
    const reg = openRegistry(ws, { readonly: true });
    expect(reg.aliasTarget('champion')).toBe('poly-3');
    reg.close();
    expect((await app.inject({ method: 'POST', url: '/models/nope/promote', payload: {} })).statusCode).toBe(404);
    // a note is printed by `models history` to a terminal: an escape sequence (or a newline) in it is refused, nothing moved
    for (const note of ['\u001b[2J\u001b]0;pwned\u0007', 'two\nlines']) {
      const bad = await app.inject({ method: 'POST', url: '/models/poly-2/promote', payload: { force: true, note } });
      expect([bad.statusCode, json<{ error: { code: string; message: string } }>(bad.body).error.code]).toEqual([400, 'SP_ERR_BAD_REQUEST']);
    }
    expect((await app.inject({ method: 'GET', url: '/models/poly-2/promote' })).statusCode).toBe(405);
    // each promotion the page asked for is a recorded run, as the CLI's: refused and unknown ones failed with their code
    const r2 = openRegistry(ws, { readonly: true });
    const runs = r2.all<{ status: string; error: string | null; id: string }>('test', "SELECT r.status, r.error, p.value AS id FROM runs r JOIN params p ON p.run_id = r.run_id AND p.key = 'arg.id' WHERE r.kind = 'promote' ORDER BY r.started_at, r.rowid");
    r2.close();
    expect(runs.map((r) => [r.id, r.status, r.error?.split(':')[0] ?? null])).toEqual([
      ['poly-3', 'failed', 'SP_ERR_PROMOTE_REFUSED'], ['poly-2', 'finished', null], ['poly-3', 'finished', null], ['nope', 'failed', 'SP_ERR_MODEL_NOT_FOUND'],
    ]);

    const c = json<{ a: { id: string }; b: { id: string }; differences: { metric: string; better: string }[] }>((await app.inject('/models/compare?a=poly-2&b=poly-3')).body);
    expect([c.a.id, c.b.id]).toEqual(['poly-2', 'poly-3']);
    expect(c.differences.find((x) => x.metric === 'rmse_log')?.better).toBe('a');
    expect((await app.inject('/models/compare?a=poly-2')).statusCode).toBe(400);
    // The same document as `models compare --json`, its study block included (no study here).
    expect(json<{ study: unknown }>((await app.inject('/models/compare?a=poly-2&b=poly-3')).body).study).toEqual({ a: null, b: null });
    // Back to poly-1 for the other tests.
    await app.inject({ method: 'POST', url: '/models/poly-1/promote', payload: { force: true } });
    await app.close();
  });
});

describe('symbols and series', () => {
  it('lists and searches symbols, and serves a downsampled series with predictions and forecasts', async () => {
    const { app, holder } = await start();
    const all = json<{ symbols: { symbol: string; rows: number; date_min: string }[]; total: number }>((await app.inject('/symbols')).body);
    expect(all.total).toBeGreaterThan(3);
    const sym = all.symbols[0]!;
    const found = json<{ symbols: { symbol: string }[] }>((await app.inject(`/symbols?q=${sym.symbol.slice(0, 2).toLowerCase()}`)).body);
    expect(found.symbols[0]!.symbol.startsWith(sym.symbol.slice(0, 2))).toBe(true);

    type Series = { rows: number; points: number; downsampled: boolean; dates: string[]; adj_close: (number | null)[]; volume: number[]; vol_moving_avg: (number | null)[]; adj_close_rolling_med: (number | null)[]; predicted_volume: (number | null)[]; forecasts: { target_date: string; volume: number }[] };
    const full = json<Series>((await app.inject(`/symbols/${sym.symbol}/series`)).body);
    expect(full.rows).toBe(sym.rows);
    expect(full.downsampled).toBe(false);
    expect(full.dates.length).toBe(sym.rows);
    expect([...full.dates].sort()).toEqual(full.dates);
    expect(full.vol_moving_avg.slice(0, 29).every((v) => v === null)).toBe(true);
    const offline = scorerFromJSON(polyJson(), 'poly');
    const k = 100;
    expect(holder.current?.id).toBe('poly-1');
    expect(full.predicted_volume[k]).toBe(Math.max(0, Math.round(offline.predict(full.vol_moving_avg[k]!, full.adj_close_rolling_med[k]!))));

    const small = json<Series>((await app.inject(`/symbols/${sym.symbol}/series?points=40`)).body);
    expect(small.downsampled).toBe(true);
    expect(small.points).toBeLessThanOrEqual(40);
    expect(Math.max(...small.volume)).toBe(Math.max(...full.volume));
    const window = json<Series>((await app.inject(`/symbols/${sym.symbol}/series?from=${full.dates[10]}&to=${full.dates[19]}`)).body);
    expect(window.dates).toEqual(full.dates.slice(10, 20));

    const reg = openRegistry(ws);
    reg.run('test forecast', 'INSERT INTO forecasts (model_id, symbol, asof_date, target_date, adj_close, volume, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ['fc-1', sym.symbol, sym.date_min, full.dates[1]!, 10, 1234, reg.timestamp()]);
    reg.close();
    const withFc = json<Series>((await app.inject(`/symbols/${sym.symbol}/series`)).body);
    expect(withFc.forecasts).toEqual([{ target_date: full.dates[1], asof_date: sym.date_min, adj_close: 10, volume: 1234 }]);

    for (const url of ['/symbols/NOPE/series', `/symbols/${sym.symbol}/series?from=2020-1-1`, `/symbols/${sym.symbol}/series?points=5`]) {
      const r = await app.inject(url);
      expect(r.statusCode, url).toBe(url.includes('NOPE') ? 404 : 400);
      if (url.includes('NOPE')) expect(json<{ error: { code: string } }>(r.body).error.code).toBe('SP_ERR_SYMBOL_NOT_FOUND');
    }
    await app.close();
  });
});

describe('validation and the page', () => {
  it('answers null reports when absent and the files when present', async () => {
    const { app } = await start();
    expect(json<{ report: unknown; reference: unknown }>((await app.inject('/validation')).body)).toMatchObject({ report: null, reference: null });
    await mkdir(join(ws, 'validation'), { recursive: true });
    const report = { status: 'warn', anomalies: [{ code: 'x', severity: 'warning', column: 'Volume', detail: 'd' }] };
    await writeFile(join(ws, 'validation', 'latest.json'), JSON.stringify(report));
    expect(json<{ report: unknown }>((await app.inject('/validation')).body).report).toEqual(report);
    await app.close();
  });

  // Probed: validation/latest.json as a folder answered 500 SP_ERR_INTERNAL, and as a FIFO never answered.
  it('lists a report or reference that is no regular file (a folder, a FIFO) in errors, with the other still served', async () => {
    const { app } = await start();
    const dir = join(ws, 'validation');
    await mkdir(dir, { recursive: true });
    const reference = { format: 'stockpipe-validation-reference', version: 1 };
    await writeFile(join(dir, 'reference.json'), JSON.stringify(reference));
    await rm(join(dir, 'latest.json'), { force: true });
    await mkdir(join(dir, 'latest.json'));
    const folder = await app.inject('/validation');
    expect(folder.statusCode, folder.body).toBe(200);
    expect(json<{ report: unknown; reference: unknown; errors: string[] }>(folder.body)).toEqual({ report: null, reference, errors: ['<workspace>/validation/latest.json: not a regular file'] });
    await rm(join(dir, 'latest.json'), { recursive: true });
    execFileSync('mkfifo', [join(dir, 'latest.json')]);
    const fifo = await app.inject('/validation');
    expect(fifo.statusCode, fifo.body).toBe(200);
    expect(json<{ errors: string[] }>(fifo.body).errors).toEqual(['<workspace>/validation/latest.json: not a regular file']);
    await rm(join(dir, 'latest.json'));
    await app.close();
  });

  it('serves index.html with versioned asset URLs, assets with an ETag (304), and a 503 page when not built', async () => {
    const dir = join(ws, 'page');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.html'), '<script src="/assets/app.js"></script>');
    await writeFile(join(dir, 'app.js'), 'console.log(1)');
    const { app } = await start(dir);
    const page = await app.inject('/');
    expect(page.body).toMatch(/\/assets\/app\.js\?v=[0-9a-f]{16}/);
    const v = /\?v=([0-9a-f]+)/.exec(page.body)![1];
    const a = await app.inject(`/assets/app.js?v=${v}`);
    expect(a.headers['cache-control']).toMatch(/immutable/);
    expect(a.headers['content-type']).toMatch(/javascript/);
    expect((await app.inject({ url: '/assets/app.js', headers: { 'if-none-match': String(a.headers.etag) } })).statusCode).toBe(304);
    expect((await app.inject('/assets/..%2Fsecret.js')).statusCode).toBe(404);
    // The build writes the server's modules beside the page's assets: a file the page does not link is not served.
    await writeFile(join(dir, 'routes.js'), 'export const secret = 1;');
    expect((await app.inject('/assets/routes.js')).statusCode).toBe(404);
    await app.close();
    const bare = await start();
    expect((await bare.app.inject('/')).statusCode).toBe(503);
    await bare.app.close();
  });
});
