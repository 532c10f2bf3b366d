/** `stockpipe validate` through the built CLI (exit codes, --json document, artifacts), and on the
 * real Kaggle sample (../shared/data; skipped with the reason printed when absent). */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../src/core/config.js';
import { silentProgress } from '../src/core/progress.js';
import { ingest } from '../src/etl/ingest.js';
import { dirSource } from '../src/sources/dir.js';
import type { Anomaly, Reference } from '../src/validate/types.js';
import { validateTable } from '../src/validate/validate.js';
import { cleanBars, writePrices } from './helpers/bars.js';
import { ROOT, runCli } from './helpers/cli.js';
import { fetchContext, silentLog, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';

// ../shared beside the repo (as in test/golden.test.ts); from a worktree in /work/wt/<name>, one level up.
const SAMPLE = [resolve(ROOT, '..', 'shared'), resolve(ROOT, '..', '..', 'shared')].map((d) => join(d, 'data', 'kaggle-sample')).find((d) => existsSync(d)) ?? resolve(ROOT, '..', 'shared', 'data', 'kaggle-sample');

interface Doc {
  ok: boolean;
  data?: { status: string; anomalies: Anomaly[]; report: string; latest: string; reference: { path: string; version: number; created: boolean }; summary: Record<string, number>; rows_in: number };
  error?: { code: string; message: string; hint: string };
}

const sp = (args: string[]) => runCli<NonNullable<Doc['data']>>(args);

describe('stockpipe validate (CLI)', () => {
  it('clean table: exit 0, status ok, reference v1 then validated against it; --help has examples', async () => {
    expect(sp(['validate', '--help']).stdout).toMatch(/Examples:/);
    const ws = await tempWorkspace('sp-vcli-');
    await writePrices(ws, cleanBars({ symbols: 4, days: 120 }));
    const a = sp(['validate', '--json', '-w', ws]);
    expect(a.code).toBe(0);
    expect(a.json.data).toMatchObject({ status: 'ok', anomalies: [], rows_in: 480, reference: { path: join(ws, 'validation', 'reference-v1.json'), version: 1, created: true }, latest: join(ws, 'validation', 'latest.json') });
    expect(a.json.data!.report).toMatch(/validation\/report-\d{8}T\d{9}Z\.json$/);
    const b = sp(['validate', '--json', '-w', ws]);
    expect(b.code).toBe(0);
    expect(b.json.data).toMatchObject({ status: 'ok', reference: { path: join(ws, 'validation', 'reference.json'), version: 1, created: false } });
    const human = sp(['validate', '-w', ws]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/^OK: prices/);
  });

  it('erroring table: the report is written, then exit 1 with SP_ERR_VALIDATION_FAILED; --fail-on never passes', async () => {
    const ws = await tempWorkspace('sp-vcli-');
    const bars = cleanBars({ symbols: 3, days: 60 });
    await writePrices(ws, bars);
    expect(sp(['validate', '--json', '-w', ws]).code).toBe(0);
    await writePrices(ws, bars, 'SELECT * EXCLUDE ("Asset") FROM t');
    const r = sp(['validate', '--json', '-w', ws]);
    expect(r.code).toBe(1);
    expect(r.json.ok).toBe(false);
    expect(r.json.error!.code).toBe('SP_ERR_VALIDATION_FAILED');
    const latest = JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8')) as { status: string; anomalies: Anomaly[]; summary: { error: number } };
    expect(latest.status).toBe('error');
    expect(latest.anomalies.find((a) => a.code === 'missing_column')).toMatchObject({ severity: 'error', column: 'Asset' });
    expect(r.json.error!.message).toContain(join(ws, 'validation', 'report-'));
    const n = sp(['validate', '--json', '--fail-on', 'never', '-w', ws]);
    expect(n.code).toBe(0);
    expect(n.json.data!.status).toBe('error');
  });

  it('bad reference file and missing table have their own codes', async () => {
    const ws = await tempWorkspace('sp-vcli-');
    expect(sp(['validate', '--json', '-w', ws]).json.error!.code).toBe('SP_ERR_VALIDATE_INPUT');
    await writePrices(ws, cleanBars({ symbols: 2, days: 40 }));
    const bad = join(ws, 'bad.json');
    await writeFile(bad, '{"format": "something else"}');
    const r = sp(['validate', '--json', '--reference', bad, '-w', ws]);
    expect(r.code).toBe(1);
    expect(r.json.error!.code).toBe('SP_ERR_REFERENCE_INVALID');
    const cfg = join(ws, 'stockpipe.config.json');
    await writeFile(cfg, JSON.stringify({ validate: { stale_after_day: 3 } }));
    const c = sp(['validate', '--json', '-c', cfg, '-w', ws]);
    expect([c.code, c.json.error!.code]).toEqual([2, 'SP_ERR_CONFIG_INVALID']);
    await writeFile(cfg, JSON.stringify({ validate: { severity: { zero_volumes: 'off' } } }));
    expect(sp(['validate', '--json', '-c', cfg, '-w', ws]).json.error!.code).toBe('SP_ERR_CONFIG_INVALID');
  });
});

const present = existsSync(SAMPLE);
if (!present) console.log(`SKIP validate on the real Kaggle sample: ${SAMPLE} is absent (it sits beside the repo in CI, not in a fresh clone)`);

describe.skipIf(!present)('validate on the real Kaggle sample', () => {
  it('reports the real quirks as warnings and info, no errors, and no drift against itself', async () => {
    const ws = await tempWorkspace('sp-vreal-');
    const { manifest } = await dirSource(SAMPLE).fetch(fetchContext(ws));
    await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    const run = () => validateTable({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), table: 'prices', setReference: false, settings: ConfigSchema.parse({}).validate, now: () => new Date('2026-01-02T03:04:05Z'), log: silentLog });
    const first = await run();
    const second = await run();
    for (const r of [first, second]) {
      const as = r.report.anomalies;
      const sev = (code: string, column?: string) => as.filter((a) => a.code === code && (column === undefined || a.column === column)).map((a) => a.severity);
      expect(r.report.status).toBe('warn');
      expect(r.report.summary.error).toBe(0);
      expect(sev('nonpositive_price', 'Open')).toEqual(['warning']);
      expect(as.find((a) => a.code === 'nonpositive_price' && a.column === 'Open')!.count).toBeGreaterThan(1000);
      expect(sev('zero_volume')).toEqual(['info']);
      expect(sev('large_volume')).toEqual(['info']);
      expect(as.find((a) => a.code === 'large_volume')!.examples![0]).toMatch(/^AAPL /);
      expect(sev('short_history')).toEqual(['info']);
      expect(as.find((a) => a.code === 'short_history')!.examples).toEqual(expect.arrayContaining(['ACABW (1)', 'ACAXR (1)', 'BCV-A (1)']));
      expect(as.find((a) => a.code === 'missing_metadata')).toMatchObject({ severity: 'info', count: 6 });
      expect(sev('calendar_gap')).toEqual(['info']);
      expect(as.find((a) => a.code === 'stale_symbol')).toMatchObject({ severity: 'warning', examples: [expect.stringMatching(/^BCV-A /)] });
      expect(sev('drift')).toEqual([]);
      for (const d of Object.values(r.report.drift)) expect(d.psi).toBe(0);
    }
    const ref = JSON.parse(await readFile(first.reference_path, 'utf8')) as Reference;
    expect(ref).toMatchObject({ version: 1, table: 'prices', rows: 163406, dates: { min: '1962-01-02', max: '2023-04-17' } });
    expect(ref.symbols!.count).toBe(27);
    expect(Object.keys(ref.drift.columns)).toHaveLength(6);
  });
});
