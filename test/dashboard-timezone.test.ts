/** The dashboard's day charts in a browser east of UTC (Chromium with timezoneId Asia/Tokyo; found
 * by probing time zones): the x axis of a daily chart (monitoring's drift by day) labels each tick
 * with the day it stands on. uPlot put a time axis's ticks at the browser's local midnights while
 * the labels are UTC dates, so in Tokyo every day was labelled as the day before. The axis labels are
 * read from what the page draws on its canvases. Skips without Chromium. */
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { upsertMonitorPoints } from '../src/registry/monitoring.js';
import { openRegistry } from '../src/registry/store.js';
import { startCli, waitForJsonLine } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const CHROMIUM = '/usr/bin/chromium';
const root = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const have = existsSync(CHROMIUM);
if (!have) console.log(`skipping the dashboard time zone test: ${CHROMIUM} is not installed (apt-get install chromium)`);

const DAYS = ['2020-01-06', '2020-01-07', '2020-01-08', '2020-01-09', '2020-01-10'];
let server: ChildProcess | undefined;

afterAll(() => {
  server?.kill('SIGTERM');
});

describe.skipIf(!have)('day charts in a browser east of UTC', () => {
  it('label each day where its point is (monitoring: drift by day)', async () => {
    await promisify(execFile)(process.execPath, [join(root, 'tools', 'build-dashboard.mjs'), '--quiet']);
    const ws = await tempDir('dash-tz');
    const reg = openRegistry(ws);
    try {
      upsertMonitorPoints(reg, DAYS.map((date, i) => ({ model_id: '', date, symbol: '', metric: 'psi:log_volume', value: 0.01 * (i + 1), n: 100 })));
    } finally {
      reg.close();
    }
    const cli = startCli(['serve', '--port', '0', '-w', ws, '--json']);
    server = cli.child;
    const { url } = await waitForJsonLine<{ data: { url: string } }>(cli, (d) => typeof d.data?.url === 'string').then((d) => d.data);
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage({ timezoneId: 'Asia/Tokyo', viewport: { width: 1400, height: 900 } });
      // Every text the charts draw, with its x: the axis labels are canvas text, not DOM.
      await page.addInitScript(() => {
        const drawn: [string, number][] = [];
        (window as unknown as { drawn: typeof drawn }).drawn = drawn;
        const fill = CanvasRenderingContext2D.prototype.fillText;
        CanvasRenderingContext2D.prototype.fillText = function (this: CanvasRenderingContext2D, text: string, x: number, y: number, w?: number) {
          drawn.push([text, x]);
          return fill.call(this, text, x, y, w);
        };
      });
      await page.goto(`${url}/#/monitoring`);
      await page.waitForSelector('canvas');
      await page.waitForTimeout(300);
      const labels = (await page.evaluate(() => (window as unknown as { drawn: [string, number][] }).drawn)).map(([t]) => t).filter((t) => /^\d{4}-\d{2}-\d{2}$/.test(t));
      expect(labels.length).toBeGreaterThan(0);
      expect([...new Set(labels)].sort()).toEqual(DAYS);
    } finally {
      await browser.close();
    }
  }, 120_000);
});
