/** The dashboard end to end in headless Chromium (Debian's /usr/bin/chromium, driven by
 * playwright-core): after real `run train` and `run daily` pipelines on small synthetic data and seeded
 * pipeline runs, every view renders without console errors, the symbol search draws a chart, the
 * predict form shows the API's answer, promoting from the page moves the alias, and a running run
 * updates live when it finishes. Screenshots go to test-output/dashboard/. Skips without Chromium. */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, ConsoleMessage, Page } from 'playwright-core';
import { writeForecasts } from '../src/registry/forecasts.js';
import { openRegistry } from '../src/registry/store.js';
import { runCli, startCli, waitForJsonLine } from './helpers/cli.js';
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
let runs: { finished: string; running: string };
let models: { gbdt: string; poly: string };
let validation: { status: string; anomalies: { code: string; severity: string }[] };
const problems: string[] = [];

/** Runs a CLI command on the workspace; a failure fails the setup with its stderr. */
function sp(...args: string[]): string {
  const r = runCli([...args, '-w', ws, '--quiet', '--json'], { env: { STOCKPIPE_SYMBOLS: '20', STOCKPIPE_YEARS: '2' } });
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.stdout;
}

beforeAll(async () => {
  if (!have) return;
  execFileSync(process.execPath, [join(root, 'tools', 'build-dashboard.mjs'), '--quiet']);
  ws = await tempDir('dash-e2e');
  // Real pipelines on small synthetic data: train (fetch → … → register, with a real validation
  // report) and daily (extended features, the forecast model, forecasts, monitor).
  sp('run', 'train');
  sp('run', 'daily');
  const gbdt = (JSON.parse(sp('models', 'show', 'champion')) as { data: { id: string } }).data.id;
  const poly = (JSON.parse(sp('train', '--kind', 'polyreg')) as { data: { model_id: string } }).data.model_id;
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
  sp('monitor');
  validation = JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8')) as { status: string; anomalies: { code: string; severity: string }[] };
  runs = await seedPipelineRuns(ws);

  const serving = startCli(['serve', '--port', '0', '--json', '--quiet', '--poll-ms', '200', '-w', ws]);
  server = serving.child;
  url = (await waitForJsonLine<{ data: { url: string } }>(serving)).data.url;
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  await mkdir(shots, { recursive: true });
}, 180_000);

afterAll(async () => {
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
    const phone = await openPage(390, 844);
    for (const [hash, shot] of [['#/runs', 'phone-runs'], [`#/symbols/${target}`, 'phone-symbol'], ['#/models', 'phone-models']] as const) {
      await phone.goto(`${url}/${hash}`);
      await phone.waitForSelector('#view > section[data-state="ready"]');
      await phone.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
      expect(await phone.evaluate(() => document.documentElement.scrollWidth), hash).toBeLessThanOrEqual(390);
    }
    await phone.close();
    expect(problems).toEqual([]);
  }, 120_000);
});

describe.skipIf(!have)('lineage', () => {
  it("follows a model's lineage from its page to its data snapshots and source files, and back", async () => {
    const page = await openPage();
    const ready = (sel: string) => page.waitForSelector(`#view > section[data-state="ready"] ${sel}`, { timeout: 15_000 });
    const model = `a.ln-model[data-model="${models.gbdt}"]`;
    await page.goto(`${url}/#/lineage/model/${encodeURIComponent(models.gbdt)}`);
    await ready('.ln-complete');
    expect(await page.locator('.ln-source tbody tr').count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(shots, 'lineage-model.png'), fullPage: true });

    // Model → its features snapshot, which names the prices snapshot it was built from and the model back.
    await page.click('.ln-features a.ln-snapshot');
    await ready(`.ln-models ${model}`);
    expect(await page.locator('.ln-from a.ln-snapshot').count()).toBe(1);
    await page.screenshot({ path: join(shots, 'lineage-snapshot-features.png'), fullPage: true });
    // → the prices snapshot: written by the ingest run, the source manifest, the same model through the features.
    await page.click('.ln-from a.ln-snapshot');
    await ready(`.ln-source .ln-run`);
    expect(await page.locator('.ln-derived a.ln-snapshot').count()).toBeGreaterThan(0);
    expect(await page.locator(`.ln-models ${model}`).count()).toBe(1);
    await page.screenshot({ path: join(shots, 'lineage-snapshot-prices.png'), fullPage: true });
    // → the ingest run (a pipeline task's child) and back up to its pipeline run.
    await page.click('.ln-writer a.ln-run');
    await ready('.ln-wrote a.ln-snapshot');
    expect(await page.locator('.ln-parent a.ln-run').count()).toBe(1);
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
    // The unknown model's 404 is the one console error the page may log.
    expect(problems.filter((p) => !p.includes('404'))).toEqual([]);
  }, 60_000);
});
