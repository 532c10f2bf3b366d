/** The dashboard end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core): after real `run train` and `run daily` pipelines on small synthetic data and seeded
 * pipeline runs, every view renders without console errors, the symbol search draws a chart, the
 * predict form shows the API's answer, promoting from the page moves the alias, and a running run
 * updates live when it finishes. Screenshots go to test-output/dashboard/. Skips without Chromium. */
import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { writeForecasts } from '../src/registry/forecasts.js';
import { createPipelineRun, updateTaskRun } from '../src/registry/pipeline.js';
import { openRegistry } from '../src/registry/store.js';
import { tagsOf } from '../src/registry/tags.js';
import { runCli, runCliAsync, startCli, waitForJsonLine } from './helpers/cli.js';
import { finishRun, seedPipelineRuns } from './helpers/pipeline-runs.js';
import { tempDir } from './helpers/temp.js';

const CHROMIUM = '/usr/bin/chromium';
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const shots = join(root, 'test-output', 'dashboard');
const have = existsSync(CHROMIUM);
if (!have) console.log(`skipping the dashboard browser test: ${CHROMIUM} is not installed (apt-get install chromium)`);

let ws = '';
let url = '';
let server: ChildProcess | undefined;
let browser: Browser | undefined;
/** Chromium starting (beforeAll starts it first and takes it last; afterAll closes it even when the setup failed). */
let launching: Promise<Browser> | undefined;
let runs: { finished: string; running: string };
let models: { gbdt: string; poly: string };
let validation: { status: string; anomalies: { code: string; severity: string }[] };
const problems: string[] = [];

const SMALL = { STOCKPIPE_SYMBOLS: '20', STOCKPIPE_YEARS: '2' };

/** Runs a CLI command on the workspace; a failure fails the setup with its stderr. */
function sp(...args: string[]): string {
  const r = runCli([...args, '-w', ws, '--quiet', '--json'], { env: SMALL });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

/** `sp` without blocking (the setup builds the client, starts Chromium and runs the pipelines side by side). */
async function spAsync(...args: string[]): Promise<string> {
  const r = await runCliAsync([...args, '-w', ws, '--quiet', '--json'], { env: SMALL });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  if (!have) return;
  const built = promisify(execFile)(process.execPath, [join(root, 'tools', 'build-dashboard.mjs'), '--quiet']);
  built.catch(() => undefined); // awaited (and reported) below
  const { chromium } = await import('playwright-core');
  launching = chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  launching.catch(() => undefined); // awaited (and reported) below
  ws = await tempDir('dash-e2e');
  // Real pipelines on small synthetic data: train (fetch → … → register, with a real validation
  // report) and daily (extended features, the forecast model, forecasts, monitor). The daily run
  // does not retrain (nothing here shows a retrained model; test/monitor.test.ts covers it).
  await spAsync('run', 'train');
  const noRetrain = join(ws, 'no-retrain.config.json');
  await writeFile(noRetrain, JSON.stringify({ monitor: { retrain_on_alert: false } }));
  await spAsync('run', 'daily', '--config', noRetrain);
  const [shown, trained] = await Promise.all([spAsync('models', 'show', 'champion'), spAsync('train', '--kind', 'polyreg')]);
  const gbdt = (JSON.parse(shown) as { data: { id: string } }).data.id;
  const poly = (JSON.parse(trained) as { data: { model_id: string } }).data.model_id;
  models = { gbdt, poly };
  // Matured forecasts for the monitoring view: the forecast model's predictions re-stated as made the
  // day before each symbol's last bar (the synthetic source has no new day to wait for), then monitor.
  const reg = openRegistry(ws);
  try {
    const stored = reg.all<{ model_id: string; symbol: string; asof_date: string; adj_close: number; volume: number; last_adj_close: number; last_volume: number }>('test', 'SELECT * FROM forecasts');
    const prev = (d: string): string => { const t = new Date(`${d}T00:00:00Z`); do t.setUTCDate(t.getUTCDate() - 1); while ([0, 6].includes(t.getUTCDay())); return t.toISOString().slice(0, 10); };
    writeForecasts(reg, stored.map((f) => ({ ...f, asof_date: prev(f.asof_date), target_date: f.asof_date, run_id: null })));
  } finally {
    reg.close();
  }
  await spAsync('monitor');
  validation = JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8')) as { status: string; anomalies: { code: string; severity: string }[] };
  runs = await seedPipelineRuns(ws);

  await built;
  const serving = startCli(['serve', '--port', '0', '--json', '--quiet', '--poll-ms', '200', '-w', ws]);
  server = serving.child;
  url = (await waitForJsonLine<{ data: { url: string } }>(serving)).data.url;
  browser = await launching;
  await mkdir(shots, { recursive: true });
}, 180_000);

afterAll(async () => {
  browser ??= await launching?.catch(() => undefined);
  await browser?.close();
  if (server && server.exitCode === null) {
    const exit = new Promise((res) => server!.once('exit', res));
    server.kill('SIGTERM');
    await exit;
  }
});

/** A page that records console errors and page errors. */
async function openPage(width = 1280, height = 860): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width, height } });
  page.on('console', (m: ConsoleMessage) => {
    if (m.type() !== 'error') return;
    problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return page;
}

async function show(page: Page, hash: string, shot: string): Promise<void> {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.waitForSelector('#view > section[data-state="ready"]', { timeout: 15_000 });
  await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
}

describe.skipIf(!have)('dashboard in headless Chromium', () => {
  it('renders every view, searches and charts a symbol, predicts, promotes, and updates a run live', async () => {
    const page = await openPage();
    await page.goto(`${url}/#/runs`);
    await page.waitForSelector('#view > section[data-state="ready"]');
    const t = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
      return { firstView: (window as unknown as { __spFirstView: number }).__spFirstView, domContentLoaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd };
    });
    console.log(`dashboard load (navigation start → first view with data): ${t.firstView.toFixed(0)} ms (DOMContentLoaded ${t.domContentLoaded.toFixed(0)} ms)`);
    await page.screenshot({ path: join(shots, 'runs.png'), fullPage: true });

    // Runs: the newest (running) run's graph: 7 boxes, 6 edges from params.edges.
    expect(await page.locator('.dag .dag-node').count()).toBe(7);
    expect(await page.locator('.dag .dag-edge').count()).toBe(6);
    expect(await page.locator('.dag .dag-node.s-running').count()).toBe(1);
    // every run (the real train and daily runs and the two seeded ones) with one cell per task
    const listed = (await (await fetch(`${url}/runs`)).json()) as { runs: { tasks: { status: string }[] }[] };
    expect(listed.runs.length).toBe(4);
    expect(await page.locator('tbody tr').count()).toBe(listed.runs.length);
    expect(await page.locator('tbody tr .strip .cell').count()).toBe(listed.runs.reduce((n, r) => n + r.tasks.length, 0));
    expect(await page.locator('tbody tr .strip .cell.s-cached').count()).toBe(listed.runs.reduce((n, r) => n + r.tasks.filter((t) => t.status === 'cached').length, 0));

    // A finished run: cached and retried tasks, and a log on click.
    await show(page, `#/runs/${runs.finished}`, 'run-details');
    expect(await page.locator('.dag-node.s-cached').getAttribute('data-task')).toBe('fetch');
    expect(await page.locator('.dag-node[data-task="features"] .dag-meta').textContent()).toContain('↻2');
    await page.locator('.dag-node[data-task="features"]').click();
    await page.waitForSelector('pre.logtext');
    expect(await page.locator('pre.logtext').textContent()).toContain('retrying');
    expect(page.url()).toContain('task=features');
    await page.screenshot({ path: join(shots, 'run-log.png'), fullPage: true });
    // By keyboard: Space on a focused node opens its log, and focus stays on that node after the redraw.
    await page.locator('.dag-node[data-task="fetch"]').focus();
    await page.keyboard.press('Space');
    await page.waitForFunction(() => location.hash.includes('task=fetch'));
    await page.waitForFunction(() => document.activeElement?.getAttribute('data-task') === 'fetch');

    // Live update: the running run finishes while its page is open.
    await show(page, `#/runs/${runs.running}`, 'run-running');
    expect(await page.locator('h1 .badge').textContent()).toBe('running');
    finishRun(ws, runs.running);
    await page.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'finished', null, { timeout: 10_000 });
    expect(await page.locator('.dag-node.s-succeeded').count()).toBe(6);

    // Symbols: search by prefix, pick with Enter, both charts drawn.
    const syms = (await (await fetch(`${url}/symbols`)).json()) as { symbols: { symbol: string }[] };
    const target = syms.symbols[3]!.symbol;
    await show(page, '#/symbols', 'symbols-search');
    await page.locator('#symbol-search').fill(target);
    await page.waitForSelector(`#symbol-options li[data-symbol="${target}"]`);
    await page.screenshot({ path: join(shots, 'symbols-listbox.png') });
    await page.locator('#symbol-search').press('Enter');
    await page.waitForFunction((s) => location.hash === `#/symbols/${s}`, target);
    await page.waitForSelector('#view > section[data-state="ready"] .chart[data-chart="volume"] canvas');
    const inked = await page.evaluate(() => [...document.querySelectorAll<HTMLCanvasElement>('.chart canvas')].map((c) => {
      const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
      return n;
    }));
    expect(inked.length).toBe(2);
    for (const n of inked) expect(n).toBeGreaterThan(500);
    expect(await page.locator('.meta').first().textContent()).toContain(`predictions by ${models.gbdt}`);
    await page.screenshot({ path: join(shots, 'symbol-chart.png'), fullPage: true });

    // Data and monitoring.
    await show(page, '#/data', 'data');
    // the real report of the train pipeline's validate task, every anomaly code shown
    expect(validation.anomalies.length).toBeGreaterThan(0);
    expect(await page.locator('table code').allTextContents()).toEqual(expect.arrayContaining([...new Set(validation.anomalies.map((a) => a.code))]));
    await show(page, '#/monitoring', 'monitoring');
    expect(await page.locator('.chart canvas').count()).toBeGreaterThan(0); // error over time of the forecast model
    expect(await page.locator('text=Drift (PSI').count()).toBe(1);

    // Try it: the form shows what the API answers.
    await show(page, '#/try', 'try-empty');
    await page.locator('input[name="vol_moving_avg"]').fill('250000');
    await page.locator('input[name="adj_close_rolling_med"]').fill('42.5');
    await page.locator('form button[type="submit"]').click();
    await page.waitForSelector('.answer .big');
    const api = await fetch(`${url}/predict?vol_moving_avg=250000&adj_close_rolling_med=42.5`);
    expect(await page.locator('.answer .big').getAttribute('data-volume')).toBe(String(await api.json()));
    expect(await page.locator('.answer .meta').textContent()).toContain(api.headers.get('x-model-id')!);
    await page.screenshot({ path: join(shots, 'try.png'), fullPage: true });

    // Models: promote the polyreg (forced, with confirmation) and see the alias move.
    await show(page, '#/models', 'models');
    expect(await page.locator(`tr[data-model="${models.gbdt}"] .star`).count()).toBe(1);
    expect(await page.locator('.card table tbody tr').count()).toBeGreaterThan(0);
    await page.locator(`button[data-promote="${models.poly}"]`).click();
    await page.waitForSelector('dialog[open]');
    await page.screenshot({ path: join(shots, 'models-confirm.png') });
    await page.locator('dialog input[name="force"]').check();
    await page.locator('dialog [data-action="confirm-promote"]').click();
    await page.waitForSelector(`tr[data-model="${models.poly}"] .star`);
    await page.waitForSelector('dialog:not([open])', { state: 'attached' });
    const reg = openRegistry(ws, { readonly: true });
    expect(reg.aliasTarget('champion')).toBe(models.poly);
    expect(reg.aliasHistory('champion').at(-1)?.actor).toBe('dashboard');
    reg.close();
    await page.screenshot({ path: join(shots, 'models-promoted.png'), fullPage: true });
    await page.close();

    // A phone-sized screen: no sideways scrolling of the page itself.
    const phone = await openPage(375, 812);
    for (const [hash, shot] of [['#/runs', 'phone-runs'], [`#/symbols/${target}`, 'phone-symbol'], ['#/models', 'phone-models']] as const) {
      await phone.goto(`${url}/${hash}`);
      await phone.waitForSelector('#view > section[data-state="ready"]');
      await phone.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth), hash).toBeLessThanOrEqual(375);
    }
    await phone.close();
    expect(problems).toEqual([]);
  }, 120_000);
});

describe.skipIf(!have)('models', () => {
  /** Painted pixels of each canvas under `selector` (a drawn chart has hundreds). */
  const inked = (page: Page, selector: string): Promise<number[]> => page.evaluate((sel) => [...document.querySelectorAll<HTMLCanvasElement>(sel)].map((c) => {
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n;
  }), selector);

  it('shows a model page (raw and log scores with units, the baseline note, loss curves, residuals, importance), a forecast model\'s skill, the champion compare table, search by tag, and the monitoring charts', async () => {
    sp('models', 'tag', models.gbdt, 'stage=production');
    type Listed = { id: string; summary: { task: string; wins?: { metric: string }[]; skill_volume?: number } };
    const listed = (await (await fetch(`${url}/models`)).json()) as { models: Listed[] };
    const gbdt = listed.models.find((m) => m.id === models.gbdt)!;
    const forecast = listed.models.find((m) => m.summary.task === 'forecast')!;
    const page = await openPage();
    await page.goto(`${url}/#/models/${models.gbdt}`);
    await page.waitForSelector('#view > section[data-state="ready"]');
    await page.screenshot({ path: join(shots, 'model-page.png'), fullPage: true });
    const heads = (await page.locator('[data-section="scores"] thead').textContent())!;
    for (const want of ['raw Volume — shares', 'log1p(Volume) — log1p(shares)', 'RMSE (shares)', 'RMSE (log1p(shares))']) expect(heads).toContain(want);
    expect(await page.locator('[data-section="scores"] tbody tr').count()).toBe(3); // gbdt, naive, polyreg
    const wins = gbdt.summary.wins ?? [];
    expect(await page.locator('[data-section="scores"] .baseline-note.warn').count()).toBe(wins.length);
    if (wins.length === 0) expect(await page.locator('[data-section="scores"] .baseline-note.ok').count()).toBe(1);
    for (const n of await inked(page, '.chart[data-chart="loss"] canvas')) expect(n).toBeGreaterThan(300);
    expect((await inked(page, '.chart[data-chart="loss"] canvas')).length).toBeGreaterThanOrEqual(2); // CV folds, refit
    for (const n of await inked(page, '.chart[data-chart="residuals"] canvas, .chart[data-chart="scatter"] canvas')) expect(n).toBeGreaterThan(300);
    expect(await page.locator('[data-section="importance"] .hbar').count()).toBe(2);
    expect(await page.locator('a[data-link="lineage"]').getAttribute('href')).toBe(`#/lineage/model/${models.gbdt}`);
    expect(await page.locator('.chip.tag').first().textContent()).toBe('stage=production');

    await show(page, `#/models/${forecast.id}`, 'model-forecast');
    expect(await page.locator('[data-section="scores"] [data-skill="volume"]').textContent()).toBe(`volume ${(forecast.summary.skill_volume! * 100).toFixed(1)}%`);
    expect(await page.locator('[data-section="importance"] .hbars').count()).toBe(2);

    await show(page, '#/models', 'models-overview');
    await page.waitForSelector('[data-section="champion-compare"] table');
    await page.waitForSelector('.chart[data-chart="history"] canvas');
    expect(await page.locator('[data-section="champion-compare"] thead th').nth(1).textContent()).toContain('(serving)');
    expect(await page.locator('[data-section="champion-compare"] tbody tr').count()).toBeGreaterThan(8);
    expect(await page.locator('[data-table="forecast"] [data-skill="volume"]').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'models-overview.png'), fullPage: true });
    await page.locator('input[name="tag"]').fill('stage=production');
    await page.waitForFunction(() => document.querySelectorAll('[data-table="volume"] tbody tr').length === 1);
    expect(await page.locator('[data-table="volume"] tbody tr').getAttribute('data-model')).toBe(models.gbdt);
    expect(page.url()).toContain('tag=stage%3Dproduction');
    await page.screenshot({ path: join(shots, 'models-search.png'), fullPage: true });
    // At 1440 px both lists fit: Promote… is in sight without scrolling sideways; a tag cut short has the whole of it as its tooltip.
    const wide = await openPage(1440, 900);
    await wide.goto(`${url}/#/models`);
    await wide.waitForSelector('#view > section[data-state="ready"] [data-table="forecast"] tbody tr');
    expect(await wide.locator('[data-table="volume"] .table-wrap, [data-table="forecast"] .table-wrap').evaluateAll((ws) => ws.map((w) => w.scrollWidth - w.clientWidth))).toEqual([0, 0]);
    const promote = await wide.locator('[data-table="volume"] button[data-promote]').evaluateAll((bs) => bs.map((b) => ({ right: b.getBoundingClientRect().right, edge: b.closest('.table-wrap')!.getBoundingClientRect().right })));
    expect(promote.length).toBeGreaterThan(0);
    for (const p of promote) expect(p.right).toBeLessThanOrEqual(Math.min(p.edge, 1440));
    expect(await wide.locator('[data-table="volume"] .chip.tag').first().getAttribute('title')).toBe('stage=production');
    await wide.screenshot({ path: join(shots, 'models-1440.png'), fullPage: true });
    await wide.close();
    // Compare: unknown ids in the URL are said so; a volume and a day-ahead model are not set side by side.
    await show(page, '#/models?a=nope&b=nope2', 'models-compare-unknown');
    await page.waitForFunction(() => document.querySelector('#view')?.textContent?.includes('No model nope or nope2 in this list'));
    await show(page, `#/models?a=${models.gbdt}&b=${forecast.id}`, 'models-compare-families');
    await page.waitForFunction(() => document.querySelector('#view')?.textContent?.includes('share no metric'));

    await show(page, '#/monitoring', 'monitoring-charts');
    for (const chart of ['error-volume', 'error-adj-close', 'drift']) {
      const n = await inked(page, `.chart[data-chart="${chart}"] canvas`);
      expect(n.length, chart).toBeGreaterThan(0);
    }
    // units in the legend (the axis labels are drawn on the canvas: see the screenshot)
    const labels = await page.locator('.chart[data-chart="error-volume"] .u-label').allTextContents();
    expect(labels).toEqual(expect.arrayContaining(['target day', 'MAE volume (shares)', 'MAE persistence (shares)', 'MAPE volume (%)']));
    expect(await page.locator('.chart[data-chart="drift"] .u-title').textContent()).toContain('Population stability index');
    await page.close();
    expect(problems).toEqual([]);
  }, 60_000);
});

describe.skipIf(!have)('runsui', () => {
  it('starts a run from the page and sees it finish live, cancels a running one, shows its timeline and searches a log', async () => {
    const page = await openPage();
    page.on('dialog', (d) => void d.accept()); // the cancel confirmation
    await page.goto(`${url}/#/runs`);
    await page.waitForSelector('#view > section[data-state="ready"]');
    await page.waitForSelector('.control .schedules > *'); // filled by its own request, after the view is ready
    expect(await page.locator('.control .schedules').textContent()).toContain('No schedules'); // the test server's config has none

    // Start: the run's link appears, then its row reaches finished without a reload.
    await page.locator('form[data-form="run"] select[name="pipeline"]').selectOption('train');
    await page.locator('[data-action="start-run"]').click();
    const started = await page.waitForSelector('.control-out a[data-run]', { timeout: 30_000 });
    const id = (await started.getAttribute('data-run'))!;
    await page.waitForSelector(`tbody a[href="#/runs/${id}"]`, { timeout: 10_000 });
    await page.screenshot({ path: join(shots, 'runs-control.png'), fullPage: true });
    await page.waitForFunction((rid) => [...document.querySelectorAll('tbody tr')].some((tr) => tr.querySelector(`a[href="#/runs/${rid}"]`) && tr.querySelector('.badge')?.textContent === 'finished'), id, { timeout: 90_000 });
    const navigations = await page.evaluate(() => performance.getEntriesByType('navigation').length);
    expect(navigations).toBe(1);
    const run = (await (await fetch(`${url}/runs/${id}`)).json()) as { status: string; params: Record<string, string>; tasks: { task: string; status: string; log_path: string | null; started_at: string | null }[] };
    expect(run.status).toBe('finished');
    expect(Number(run.params.runner_pid)).not.toBe(server!.pid); // a CLI child ran it, not the server

    // Cancel: a forced run, cancelled from its page; the page follows it to cancelled.
    await page.locator('form[data-form="run"] input[name="force"]').check();
    await page.locator('[data-action="start-run"]').click();
    await page.waitForFunction((rid) => { const a = document.querySelector('.control-out a[data-run]'); return a !== null && a.getAttribute('data-run') !== rid; }, id, { timeout: 30_000 });
    const forced = (await page.locator('.control-out a[data-run]').getAttribute('data-run'))!;
    await page.locator('.control-out a[data-run]').click();
    await page.waitForSelector('#view > section[data-state="ready"] [data-action="cancel-run"]', { timeout: 15_000 });
    await page.locator('[data-action="cancel-run"]').click();
    await page.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'cancelled', null, { timeout: 30_000 });
    expect(await page.locator('[data-action="resume-run"]').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'run-cancelled.png'), fullPage: true });
    expect(((await (await fetch(`${url}/runs/${forced}`)).json()) as { status: string }).status).toBe('cancelled');

    // Timeline of the finished run: a row per task, a bar per task that ran.
    await show(page, `#/runs/${id}`, 'run-graph');
    await page.locator('button[data-mode="gantt"]').click();
    await page.waitForSelector('svg.gantt');
    expect(page.url()).toContain('view=gantt');
    expect(await page.locator('.gantt-row').count()).toBe(run.tasks.length);
    expect(await page.locator('.gantt-row .gantt-bar').count()).toBe(run.tasks.filter((t) => t.started_at !== null).length);
    expect(await page.locator('.gantt-row.s-succeeded .gantt-bar, .gantt-row.s-cached .gantt-bar').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'run-gantt.png'), fullPage: true });

    // Log search on the server, and the download link.
    const logged = run.tasks.find((t) => t.log_path !== null)!;
    await page.locator(`.gantt-row[data-task="${logged.task}"]`).click();
    await page.waitForSelector('form.log-tools');
    await page.locator('input[name="log-q"]').fill('ATTEMPT');
    await page.locator('[data-action="search-log"]').click();
    await page.waitForSelector('[data-matches]');
    // The API writes the workspace folder as <workspace> (run records, as error bodies).
    const logPath = logged.log_path!.replace(/^<workspace>\//, '');
    const text = await readFile(logPath.startsWith('/') ? logPath : join(ws, logPath), 'utf8');
    const want = text.split('\n').filter((l) => l.toLowerCase().includes('attempt')).length;
    expect(want).toBeGreaterThan(0);
    expect(await page.locator('[data-matches]').getAttribute('data-matches')).toBe(String(want));
    expect(await page.locator('.log-matches mark').count()).toBeGreaterThanOrEqual(want);
    const href = (await page.locator('[data-action="download-log"]').getAttribute('href'))!;
    expect(await (await fetch(`${url}${href}`)).text()).toBe(text);
    await page.screenshot({ path: join(shots, 'run-log-search.png'), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  }, 180_000);

  it('draws a task\'s queue partitions under its bar in the timeline', async () => {
    // A stored run as the bullmq executor leaves it: features ran as three partition jobs on two workers, after a retry.
    const reg = openRegistry(ws);
    let id: string;
    try {
      const t0 = Date.now() - 12_000; // the run ends (endRun: now) as its last task does
      id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch', 'features'], params: { edges: [['fetch', 'features']] }, started_at: new Date(t0).toISOString() });
      const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
      updateTaskRun(reg, id, 'fetch', { status: 'succeeded', attempts: 1, started_at: at(0), ended_at: at(2), seconds: 2 });
      updateTaskRun(reg, id, 'features', { status: 'succeeded', attempts: 2, started_at: at(2), ended_at: at(12), seconds: 10, workers: [
        { partition: '00-05', worker: 'w1', host: 'h1', pid: 11, seconds: 8 }, { partition: '06-10', worker: 'w2', host: 'h2', pid: 12, seconds: 4 }, { partition: '11-15', worker: 'w1', host: 'h1', pid: 11, seconds: 2 },
      ] });
      reg.endRun(id, 'finished');
    } finally {
      reg.close();
    }
    const page = await openPage();
    await page.goto(`${url}/#/runs/${id}?view=gantt`);
    await page.waitForSelector('#view > section[data-state="ready"] svg.gantt');
    const row = page.locator('.gantt-row[data-task="features"]');
    expect(await row.locator('.gantt-name').textContent()).toBe('features ↻2');
    expect(await row.locator('.gantt-sub').allTextContents()).toEqual(['00-05 · w1', '06-10 · w2', '11-15 · w1']);
    const widths = await row.locator('.gantt-subbar').evaluateAll((els) => els.map((e) => Number(e.getAttribute('width'))));
    const bar = Number(await row.locator('.gantt-bar').getAttribute('width'));
    expect(widths.map((w) => Math.round((w / bar) * 10))).toEqual([8, 4, 2]); // seconds / the task's 10 s
    await page.screenshot({ path: join(shots, 'run-gantt-workers.png'), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  });

  it('says what is wrong with a backfill range in the form\'s words (its from and to), not the CLI\'s --from and --to', async () => {
    const before = problems.length;
    const page = await openPage();
    await page.goto(`${url}/#/runs`);
    await page.waitForSelector('#view > section[data-state="ready"] form[data-form="backfill"]');
    await page.locator('form[data-form="backfill"] input[name="from"]').fill('2024-07-05');
    await page.locator('form[data-form="backfill"] input[name="to"]').fill('2024-07-01');
    await page.locator('[data-action="start-backfill"]').click();
    await page.waitForSelector('.control-out .error code');
    expect(await page.locator('.control-out .error code').textContent()).toBe('SP_ERR_BAD_REQUEST');
    const said = (await page.locator('.control-out .error').textContent())!;
    expect(said).toContain('"from" 2024-07-05 is after "to" 2024-07-01');
    expect(said).not.toMatch(/--from|--to/);
    await page.locator('.control').screenshot({ path: join(shots, 'runs-backfill-refused.png') });
    await page.close();
    // The refused request's 400 is the one console error the page may log (and it is this test's own).
    expect(problems.slice(before).filter((p) => !p.includes('400'))).toEqual([]);
    problems.length = before;
  });

  it('lists the config\'s schedules with their next run', async () => {
    // A second server on the same workspace with a config that has schedules (no pipeline runs).
    const cfg = join(ws, 'schedules.config.json');
    await writeFile(cfg, JSON.stringify({ schedules: [{ pipeline: 'daily', cron: '30 18 * * 1-5' }, { pipeline: 'train', cron: '0 6 * * 6', trading_days_only: false, timezone: 'UTC' }] }));
    const other = startCli(['serve', '--port', '0', '--json', '--quiet', '--config', cfg, '-w', ws]);
    try {
      const at = (await waitForJsonLine<{ data: { url: string } }>(other)).data.url;
      const page = await openPage();
      await page.goto(`${at}/#/runs`);
      await page.waitForSelector('#view > section[data-state="ready"] table.sched');
      const api = (await (await fetch(`${at}/schedules`)).json()) as { schedules: { pipeline: string; next_run_local: string }[] };
      expect(await page.locator('table.sched tbody tr').count()).toBe(2);
      for (const s of api.schedules) expect(await page.locator(`tr[data-schedule="${s.pipeline}"]`).textContent()).toContain(s.next_run_local);
      expect(api.schedules.find((s) => s.pipeline === 'train')?.next_run_local).toMatch(/ 06:00$/);
      await page.locator('.control').screenshot({ path: join(shots, 'runs-schedules.png') });
      await page.close();
    } finally {
      const exit = new Promise((res) => other.child.once('exit', res));
      other.child.kill('SIGTERM');
      await exit;
    }
    expect(problems).toEqual([]);
  }, 60_000);
});

describe.skipIf(!have)('axis labels', () => {
  /** Records the text each canvas draws since it was last cleared, as boxes in CSS px (rotated text, the y axes'
   * titles, left out); run before the page's own scripts. */
  const recordCanvasText = (page: Page): Promise<unknown> => page.addInitScript(() => {
    type Box = { t: string; x0: number; x1: number; y0: number; y1: number };
    const drawn = new Map<HTMLCanvasElement, Box[]>();
    (window as unknown as { __spText: typeof drawn }).__spText = drawn;
    const proto = CanvasRenderingContext2D.prototype;
    const clear = proto.clearRect;
    proto.clearRect = function (x, y, w, h) {
      if (w >= this.canvas.width && h >= this.canvas.height) drawn.set(this.canvas, []);
      clear.call(this, x, y, w, h);
    };
    const fill = proto.fillText;
    proto.fillText = function (text, x, y, maxWidth) {
      const m = this.getTransform();
      const r = devicePixelRatio;
      if (m.b === 0 && m.c === 0 && text !== '') {
        const w = this.measureText(text).width;
        const size = parseFloat(/(\d+(?:\.\d+)?)px/.exec(this.font)?.[1] ?? '12');
        const left = this.textAlign === 'center' ? x - w / 2 : this.textAlign === 'right' || this.textAlign === 'end' ? x - w : x;
        const top = this.textBaseline === 'top' ? y : this.textBaseline === 'middle' ? y - size / 2 : y - size;
        const list = drawn.get(this.canvas) ?? [];
        list.push({ t: text, x0: (m.a * left + m.e) / r, x1: (m.a * (left + w) + m.e) / r, y0: (m.d * top + m.f) / r, y1: (m.d * (top + size) + m.f) / r });
        drawn.set(this.canvas, list);
      }
      fill.call(this, text, x, y, maxWidth);
    };
  });
  /** How many labels the page's chart canvases and run timeline axis show, and every pair drawn on top of each other. */
  const overlaps = (page: Page): Promise<{ labels: number; found: string[] }> => page.evaluate(() => {
    type Box = { t: string; x0: number; x1: number; y0: number; y1: number };
    const drawn = (window as unknown as { __spText: Map<HTMLCanvasElement, Box[]> }).__spText;
    const clash = (a: Box, b: Box): boolean => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
    const found: string[] = [];
    let labels = 0;
    const check = (where: string, boxes: Box[]): void => {
      labels += boxes.length;
      for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) if (clash(boxes[i]!, boxes[j]!)) found.push(`${where}: "${boxes[i]!.t}" on "${boxes[j]!.t}"`);
    };
    for (const [canvas, boxes] of drawn) if (canvas.isConnected) check(canvas.closest('.chart')?.getAttribute('data-chart') ?? 'chart', boxes);
    check('timeline', [...document.querySelectorAll<SVGTextElement>('svg.gantt .gantt-tick')].map((t) => {
      const b = t.getBBox();
      return { t: t.textContent ?? '', x0: b.x, x1: b.x + b.width, y0: b.y, y1: b.y + b.height };
    }));
    return { labels, found };
  });

  it('never draws two axis labels on top of each other, on a phone (375 px) or a desktop (1440 px): the uPlot charts and a run\'s timeline', async () => {
    const before = problems.length;
    // Stored runs of 95 s and 2.5 h: their timelines' ticks (1 min 20 s, 1 h 30 min…) are the long labels.
    const reg = openRegistry(ws);
    const long: string[] = [];
    try {
      for (const total of [95, 9_000]) {
        const t0 = Date.now() - total * 1000;
        const at = (s: number): string => new Date(t0 + s * 1000).toISOString();
        const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch', 'train'], params: { edges: [['fetch', 'train']] }, started_at: at(0) });
        updateTaskRun(reg, id, 'fetch', { status: 'succeeded', attempts: 1, started_at: at(0), ended_at: at(total / 4), seconds: total / 4 });
        updateTaskRun(reg, id, 'train', { status: 'succeeded', attempts: 1, started_at: at(total / 4), ended_at: at(total), seconds: (total * 3) / 4 });
        reg.endRun(id, 'finished');
        long.push(id);
      }
    } finally {
      reg.close();
    }
    const symbol = ((await (await fetch(`${url}/symbols`)).json()) as { symbols: { symbol: string }[] }).symbols[0]!.symbol;
    const views = [...long.map((id) => `#/runs/${id}?view=gantt`), `#/symbols/${symbol}`, `#/symbols/${symbol}?range=3M&log=1`, '#/models', `#/models/${models.gbdt}`, '#/monitoring'];
    for (const width of [375, 1440]) {
      const page = await openPage(width, 900);
      await recordCanvasText(page);
      for (const hash of views) {
        await page.goto('about:blank');
        await page.goto(`${url}/${hash}`);
        await page.waitForSelector('#view > section[data-state="ready"]', { timeout: 15_000 });
        await page.waitForSelector(hash.includes('gantt') ? 'svg.gantt' : '.chart canvas', { timeout: 15_000 });
        await page.waitForTimeout(300); // charts drawn in the view's own requests settle (a redraw clears its canvas's record)
        const drawn = await overlaps(page);
        expect(drawn.labels, `${hash} at ${width} px`).toBeGreaterThan(1);
        expect(drawn.found, `${hash} at ${width} px`).toEqual([]);
      }
      await page.goto(`${url}/#/runs/${long[0]}?view=gantt`);
      await page.waitForSelector('svg.gantt');
      await page.locator('svg.gantt').screenshot({ path: join(shots, `run-gantt-axis-${width}.png`) });
      await page.close();
    }
    expect(problems.slice(before)).toEqual([]);
  }, 60_000);
});

describe.skipIf(!have)('charts', () => {
  it('picks a range, toggles log scale, overlays two symbols (state in the URL), previews a table and its schema, downloads a CSV equal to its CLI command', async () => {
    const before = problems.length;
    const page = await openPage();
    const list = ((await (await fetch(`${url}/symbols`)).json()) as { symbols: { symbol: string; rows: number; date_max: string }[] }).symbols.filter((s) => s.rows > 300);
    const [a, b] = [list[0]!, list[1]!];
    const drawn = async (n: number): Promise<void> => { await page.waitForFunction((k) => document.querySelector<HTMLElement>('.charts')?.dataset.drawn === String(k), n, { timeout: 15_000 }); };
    await page.goto(`${url}/#/symbols/${a.symbol}`);
    await page.waitForSelector('#view > section[data-state="ready"] .chart[data-chart="price"] canvas');
    // every axis says its unit
    expect(await page.locator('.chart[data-chart="price"]').getAttribute('aria-label')).toBe('Adj Close (USD, split- and dividend-adjusted). y axis: Adj Close (USD, adjusted); x axis: Date (trading day)');
    expect(await page.locator('.chart[data-chart="volume"]').getAttribute('aria-label')).toContain('y axis: Volume (shares); x axis: Date (trading day)');

    // 1Y: the server is asked for the last year only and downsamples that range
    await page.locator('button[data-range="1Y"]').click();
    await drawn(2);
    const from = `${Number(a.date_max.slice(0, 4)) - 1}${a.date_max.slice(4)}`;
    const ranged = (await (await fetch(`${url}/symbols/${a.symbol}/series?from=${from}&to=${a.date_max}`)).json()) as { rows: number; dates: string[] };
    expect(page.url()).toContain('range=1Y');
    expect(await page.locator('.meta').first().textContent()).toContain(`showing ${from} … ${a.date_max}: ${ranged.rows.toLocaleString('en-US')} rows`);
    expect(ranged.dates[0]! >= from).toBe(true);

    // log scale, then a second symbol overlaid, normalised, then absolute
    await page.locator('input[name="log"]').check();
    await drawn(3);
    expect(await page.locator('.chart[data-chart="price"]').getAttribute('data-log')).toBe('1');
    await page.locator('input[name="overlay"]').fill(b.symbol.toLowerCase());
    await page.locator('input[name="overlay"]').press('Enter');
    await drawn(4);
    expect(await page.locator('.chart[data-chart="price"]').getAttribute('data-overlay')).toBe('normalised');
    expect(await page.locator('.chart[data-chart="price"] .u-legend').textContent()).toContain(b.symbol);
    expect(await page.locator('.chart[data-chart="price"]').getAttribute('aria-label')).toContain('y axis: Adj Close (index, first = 100)');
    await page.screenshot({ path: join(shots, 'chart-overlay-log.png'), fullPage: true });
    await page.locator('select[name="norm"]').selectOption('abs');
    await drawn(5);
    expect(await page.locator('.chart[data-chart="price"]').getAttribute('data-overlay')).toBe('absolute');
    const state = new URL(page.url()).hash;
    for (const part of ['range=1Y', 'log=1', `vs=${b.symbol}`, 'norm=abs']) expect(state).toContain(part);

    // the URL alone restores the view
    const again = await openPage();
    await again.goto(`${url}/${state}`);
    await again.waitForSelector('#view > section[data-state="ready"] .chart[data-chart="price"] canvas');
    expect(await again.locator('button[data-range="1Y"]').getAttribute('aria-pressed')).toBe('true');
    expect(await again.locator('input[name="log"]').isChecked()).toBe(true);
    expect(await again.locator(`.chip.overlay[data-overlay="${b.symbol}"]`).count()).toBe(1);
    expect(await again.locator('.chart[data-chart="price"]').getAttribute('data-overlay')).toBe('absolute');
    await again.close();

    // the charted rows as CSV: the file equals what the command shown next to the button writes
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-export="csv"]').click()]);
    const csv = await readFile((await download.path())!, 'utf8');
    const command = (await page.locator('code[data-cli="csv"]').textContent())!;
    expect(command).toBe(`stockpipe export features --symbols ${a.symbol},${b.symbol} --from ${from} --to ${a.date_max} --format csv --out ${download.suggestedFilename()}`);
    const out = join(await tempDir('dash-charts-cli'), download.suggestedFilename());
    const words = command.split(' ').slice(1);
    words[words.indexOf('--out') + 1] = out;
    const r = runCli([...words, '-w', ws, '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(csv);
    expect(csv.split('\n')[0]).toContain('Symbol');
    await page.screenshot({ path: join(shots, 'chart-absolute.png'), fullPage: true });

    // Data: every table's schema with types, a paged preview, the snapshots; statistics fit the page
    await show(page, '#/data', 'data-tables');
    expect(await page.locator('.table-card[data-table]').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-table')))).toEqual(['prices', 'features', 'forecasts']);
    await page.locator('details[data-schema="features"] summary').click();
    const schema = await page.locator('details[data-schema="features"] tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].slice(1).map((c) => c.textContent)));
    expect(schema).toEqual(expect.arrayContaining([['Symbol', 'VARCHAR'], ['Volume', 'BIGINT'], ['vol_moving_avg', 'DOUBLE'], ['_snapshot_id', 'INTEGER']]));
    await page.locator('button[data-action="preview"][data-table="prices"]').click();
    await page.waitForSelector('.preview[data-preview="prices"] table');
    await page.locator('.preview[data-preview="prices"] button[data-action="next"]').click();
    await page.waitForSelector('.preview[data-preview="prices"][data-offset="25"] table');
    expect(page.url()).toContain('preview=prices');
    const api = (await (await fetch(`${url}/tables/prices/rows?offset=25&limit=25`)).json()) as { rows: unknown[][] };
    const shown = await page.locator('.preview[data-preview="prices"] tbody tr').evaluateAll((rows) => rows.map((r) => r.querySelector('td')!.textContent + ' ' + r.querySelectorAll('td')[2]!.textContent));
    expect(shown).toEqual(api.rows.map((r) => `${r[0]} ${r[2]}`));
    // A filter that matches nothing: no download buttons (they answered a 404 the browser did not show), a word why
    await page.locator('.preview[data-preview="prices"] input[name="symbols"]').fill('NOSUCHSYMBOL');
    await page.locator('.preview[data-preview="prices"] button[data-action="filter"]').click();
    await page.waitForSelector('.preview[data-preview="prices"] [data-export-none]');
    expect(await page.locator('.preview[data-preview="prices"] a[data-export]').count()).toBe(0);
    expect(await page.locator('.preview[data-preview="prices"] [data-export-none]').textContent()).toBe('Nothing to download: no rows match this filter.');
    // the report's distinct counts are estimates (≈); the exact symbol count of the same data is beside them
    const exact = (validation as unknown as { symbols: { count: number } }).symbols.count;
    expect(await page.locator('[data-distinct="Symbol"]').first().textContent()).toMatch(new RegExp(`^≈[\\d,]+ · exact ${exact}$`));
    const overflow = await page.locator('.table-wrap:has(th:has-text("Quantiles"))').first().evaluate((el) => el.scrollWidth - el.clientWidth);
    expect(overflow).toBe(0);
    await page.screenshot({ path: join(shots, 'data-preview.png'), fullPage: true });
    await page.close();
    expect(problems.slice(before)).toEqual([]);
  }, 120_000);
});
describe.skipIf(!have)('lineage', () => {
  it("follows a model's lineage from its page to its data snapshots and source files, and back", async () => {
    const page = await openPage();
    const ready = (sel: string) => page.waitForSelector(`#view > section[data-state="ready"] ${sel}`, { timeout: 15_000 });
    const model = `a.ln-model[data-model="${models.gbdt}"]`;
    const visited: string[] = []; // each lineage page, for the phone's width below
    const here = (): void => { visited.push(new URL(page.url()).hash); };
    await page.goto(`${url}/#/lineage/model/${encodeURIComponent(models.gbdt)}`);
    await ready('.ln-complete');
    here();
    expect(await page.locator('.ln-source tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'lineage-model.png'), fullPage: true });

    // Model → its features snapshot, which names the prices snapshot it was built from and the model back.
    await page.click('.ln-features a.ln-snapshot');
    await ready(`.ln-models ${model}`);
    here();
    expect(await page.locator('.ln-from a.ln-snapshot').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'lineage-snapshot-features.png'), fullPage: true });
    // → the prices snapshot: written by the ingest run, the source manifest, the same model through the features.
    await page.click('.ln-from a.ln-snapshot');
    await ready(`.ln-source .ln-run`);
    here();
    expect(await page.locator('.ln-derived a.ln-snapshot').count()).toBeGreaterThan(0);
    expect(await page.locator(`.ln-models ${model}`).count()).toBe(1);
    await page.screenshot({ path: join(shots, 'lineage-snapshot-prices.png'), fullPage: true });
    // → the ingest run (a pipeline task's child) and back up to its pipeline run.
    await page.click('.ln-writer a.ln-run');
    await ready('.ln-wrote a.ln-snapshot');
    expect(await page.locator('.ln-parent a.ln-run').count()).toBe(1);
    visited.push('#/lineage', (await page.getAttribute('.ln-parent a.ln-run', 'href'))!);
    here(); // last: the phone's screenshot below is this page (a source manifest, its files, the params)
    await page.screenshot({ path: join(shots, 'lineage-run.png'), fullPage: true });
    // And back to the model from the prices snapshot's page.
    await page.goBack();
    await ready(`.ln-models ${model}`);
    await page.click(`.ln-models ${model}`);
    await ready('.ln-complete');

    // The pipeline run page links here; an unknown model shows the API's error code.
    await show(page, `#/runs/${runs.finished}`, 'lineage-run-link');
    expect(await page.getAttribute('a.lineage-link', 'href')).toBe(`#/lineage/run/${runs.finished}`);
    await page.evaluate(() => { location.hash = '#/lineage/model/nope'; });
    await page.waitForSelector('#view > section[data-state="error"] code', { timeout: 15_000 });
    expect(await page.textContent('#view .error code')).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    await page.close();

    // A phone's width: every page fits (long ids, hashes and paths wrap), with no sideways scrolling of the page
    // nor of a table in it.
    const phone = await openPage(375, 812);
    for (const hash of visited) {
      await phone.goto('about:blank'); // a whole load: the previous page's ready view cannot answer for this one
      await phone.goto(`${url}/${hash}`);
      await phone.waitForSelector('#view > section[data-state="ready"]', { timeout: 15_000 });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth), hash).toBeLessThanOrEqual(375);
      expect(await phone.locator('#view .table-wrap').evaluateAll((ws) => ws.map((w) => w.scrollWidth - w.clientWidth).filter((d) => d > 0)), hash).toEqual([]);
    }
    await phone.screenshot({ path: join(shots, 'phone-lineage.png'), fullPage: true });
    await phone.close();
    // The unknown model's 404 is the one console error the page may log.
    expect(problems.filter((p) => !p.includes('404'))).toEqual([]);
  }, 60_000);
});

describe.skipIf(!have)('a server that does not answer', () => {
  it('is said so in a banner, and the view loads by itself once the server answers again', async () => {
    const before = problems.length;
    const page = await openPage();
    // The models list's requests fail as with the server gone (connection refused).
    const down = (u: URL): boolean => u.pathname === '/models';
    await page.route(down, (r) => r.abort('connectionrefused'));
    await page.goto(`${url}/#/models`);
    await page.waitForSelector('.offline:not([hidden])');
    expect(await page.locator('#view .error').textContent()).toContain('The server did not answer');
    await page.unroute(down);
    await page.waitForSelector('#view > section[data-state="ready"]', { timeout: 15_000 });
    await page.waitForSelector('.offline[hidden]', { state: 'attached' });
    await page.close();
    problems.length = before; // the refused requests' console lines are this test's own
  });
});

describe.skipIf(!have)('tags, resume, predictions export', () => {
  it('adds and removes a tag from the model page and finds the model by it in the Models list', async () => {
    const before = problems.length;
    const page = await openPage();
    await page.goto(`${url}/#/models/${models.poly}`);
    await page.waitForSelector('#view > section[data-state="ready"] [data-section="tags"] form.tag-form');
    // A malformed tag: the server's code and hint, nothing stored.
    await page.locator('input[name="tag-add"]').fill('bad key=x');
    await page.locator('[data-action="add-tag"]').click();
    await page.waitForSelector('[data-section="tags"] .tag-out .error code');
    expect(await page.locator('[data-section="tags"] .tag-out .error code').textContent()).toBe('SP_ERR_TAG_INVALID');
    // The API's hint (what to do) is shown under its message.
    expect(await page.locator('[data-section="tags"] .tag-out .error .hint').textContent()).toMatch(/key=value/);
    await page.locator('input[name="tag-add"]').fill('team=forecasting');
    await page.locator('[data-action="add-tag"]').click();
    await page.waitForSelector('[data-section="tags"] li[data-tag="team"]');
    expect(await page.locator('[data-section="tags"] li[data-tag="team"] code').textContent()).toBe('team=forecasting');
    expect(await page.locator('p.meta [data-tags] .chip.tag').allTextContents()).toContain('team=forecasting');
    expect(await page.locator('input[name="tag-add"]').inputValue()).toBe('');
    await page.locator('[data-section="tags"]').screenshot({ path: join(shots, 'model-tags.png') });
    // in the store, and recorded as a tag run of the dashboard
    const tagsNow = (): Record<string, string> => {
      const r = openRegistry(ws, { readonly: true });
      try {
        return tagsOf(r, [models.poly]).get(models.poly) ?? {};
      } finally {
        r.close();
      }
    };
    expect(tagsNow().team).toBe('forecasting');
    const reg = openRegistry(ws, { readonly: true });
    expect(reg.get<{ n: number }>('test', "SELECT COUNT(*) AS n FROM runs r JOIN params p ON p.run_id = r.run_id AND p.key = 'actor' AND p.value = 'dashboard' WHERE r.kind = 'tag' AND r.status = 'finished'")?.n).toBe(1);
    reg.close();

    // The Models list's tag search finds it, and only it.
    await show(page, '#/models', 'models-tag-search');
    await page.locator('input[name="tag"]').fill('team=forecasting');
    await page.waitForFunction(() => document.querySelectorAll('[data-table="volume"] tbody tr').length === 1);
    expect(await page.locator('[data-table="volume"] tbody tr').getAttribute('data-model')).toBe(models.poly);
    await page.screenshot({ path: join(shots, 'models-tag-search.png'), fullPage: true });

    // Remove it from the page again.
    await show(page, `#/models/${models.poly}`, 'model-tags-page');
    // By keyboard: Enter on its remove button; focus then stays in the tag editor (the next tag's button, or the field).
    await page.locator('[data-section="tags"] button[data-remove-tag="team"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-section="tags"] li[data-tag="team"]', { state: 'detached' });
    expect(tagsNow().team).toBeUndefined();
    await page.waitForFunction(() => document.activeElement?.closest('.tag-editor') !== null && document.activeElement?.closest('.tag-editor') !== undefined);
    await page.close();
    // The refused tag's 400 is the one console error the page may log.
    expect(problems.slice(before).filter((p) => !p.includes('400'))).toEqual([]);
  }, 60_000);

  it('resumes a failed run from its page: the same run id finishes, its failed task run again', async () => {
    const before = problems.length;
    // A train run that fails at fetch (a task that always runs): a 50 ms timeout, no retries.
    const cfg = join(ws, 'fetch-timeout.config.json');
    await writeFile(cfg, JSON.stringify({ pipeline: { tasks: { fetch: { timeout_s: 0.05, retries: 0 } } } }));
    const failed = runCli(['run', 'train', '--config', cfg, '-w', ws, '--quiet', '--json'], { env: { STOCKPIPE_SYMBOLS: '20', STOCKPIPE_YEARS: '2' } });
    expect(failed.code, `${failed.stdout} ${failed.stderr}`).toBe(1);
    const id = (((await (await fetch(`${url}/runs?status=failed&limit=1`)).json()) as { runs: { run_id: string }[] }).runs[0]!).run_id;
    const stored = (await (await fetch(`${url}/runs/${id}`)).json()) as { status: string; params: Record<string, string>; tasks: { task: string; status: string }[] };
    expect(stored.status).toBe('failed');
    expect(stored.tasks.find((t) => t.task === 'fetch')?.status).toBe('failed');

    const page = await openPage();
    await page.goto(`${url}/#/runs/${id}`);
    await page.waitForSelector('#view > section[data-state="ready"] [data-action="resume-run"]');
    expect(await page.locator('h1 .badge').textContent()).toBe('failed');
    await page.screenshot({ path: join(shots, 'run-failed.png'), fullPage: true });
    await page.locator('[data-action="resume-run"]').click();
    await page.waitForFunction(() => document.querySelector('h1 .badge')?.textContent === 'finished', null, { timeout: 120_000 });
    expect(await page.locator('[data-action="resume-run"]').count()).toBe(0);
    await page.screenshot({ path: join(shots, 'run-resumed.png'), fullPage: true });
    const after = (await (await fetch(`${url}/runs/${id}`)).json()) as { status: string; params: Record<string, string>; tasks: { task: string; status: string; attempts: number }[] };
    expect(after.status).toBe('finished');
    expect(after.params.runner_pid).not.toBe(stored.params.runner_pid); // a new runner (the server's CLI child) in the same run id
    expect(Number(after.params.runner_pid)).not.toBe(server!.pid);
    expect(['succeeded', 'cached']).toContain(after.tasks.find((t) => t.task === 'fetch')?.status);
    for (const t of after.tasks) expect(['succeeded', 'cached', 'skipped'], t.task).toContain(t.status);
    await page.close();
    expect(problems.slice(before)).toEqual([]);
  }, 180_000);

  it('downloads the symbol chart\'s predicted volume as CSV, equal to the command shown and to GET /predict', async () => {
    const before = problems.length;
    const page = await openPage();
    const list = ((await (await fetch(`${url}/symbols`)).json()) as { symbols: { symbol: string; rows: number }[] }).symbols.filter((s) => s.rows > 300);
    const sym = list[2]!.symbol;
    await page.goto(`${url}/#/symbols/${sym}?range=1Y`);
    await page.waitForSelector('#view > section[data-state="ready"] [data-box="predictions"] a[data-export-predictions="csv"]');
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a[data-export-predictions="csv"]').click()]);
    const csv = await readFile((await download.path())!, 'utf8');
    const command = (await page.locator('code[data-cli-predictions="csv"]').textContent())!;
    const serving = ((await (await fetch(`${url}/models`)).json()) as { serving: string }).serving;
    expect(command).toMatch(new RegExp(`^stockpipe export predictions --model ${serving} --symbols ${sym} --from \\d{4}-\\d{2}-\\d{2} --to \\d{4}-\\d{2}-\\d{2} --format csv --out ${download.suggestedFilename()}$`));
    const out = join(await tempDir('dash-predictions-cli'), download.suggestedFilename());
    const words = command.split(' ').slice(1);
    words[words.indexOf('--out') + 1] = out;
    const r = runCli([...words, '-w', ws, '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(out, 'utf8')).toBe(csv);
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('Symbol,Date,Volume,vol_moving_avg,adj_close_rolling_med,predicted_volume,model_id');
    const row = lines.slice(1).map((l) => l.split(',')).find((x) => x[3] !== '' && x[4] !== '')!;
    expect(row[5]).toBe(await (await fetch(`${url}/predict?vol_moving_avg=${row[3]}&adj_close_rolling_med=${row[4]}`)).text());
    await page.locator('[data-box="predictions"]').screenshot({ path: join(shots, 'symbol-predictions-export.png') });
    await page.close();
    expect(problems.slice(before)).toEqual([]);
  }, 60_000);
  it('shows each feature\'s share of the split gain next to its split count', async () => {
    const before = problems.length;
    const imp = (await (await fetch(`${url}/models/${models.gbdt}/importance`)).json()) as { measure: string; boosters: { features: { feature: string; splits: number; share: number; gain_share: number }[] }[] };
    expect(imp.measure).toBe('splits+gain');
    const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
    const page = await openPage();
    await page.goto(`${url}/#/models/${models.gbdt}`);
    await page.waitForSelector('#view > section[data-state="ready"] [data-section="importance"] .hbar');
    expect(await page.locator('[data-section="importance"] .hbar-text').allTextContents()).toEqual(imp.boosters[0]!.features.map((f) => `${f.splits} (${pct(f.share)}) · gain ${pct(f.gain_share)}`));
    await page.locator('[data-section="importance"]').screenshot({ path: join(shots, 'model-importance-gain.png') });
    await page.close();
    expect(problems.slice(before)).toEqual([]);
  });
});
