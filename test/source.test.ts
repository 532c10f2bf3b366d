/** A workspace remembers its source (docs/data.md) through the built CLI: a workspace filled from dir:
 * keeps using it in `run train`; another source is refused (SP_ERR_SOURCE_MISMATCH) unless switched
 * on purpose (`run --source`), which is recorded and starts a new validation reference; a table whose
 * symbols were replaced under the same source fails validate before anything is promoted; the
 * default path (`npm start` twice) stays fully cached. The dir: data is a Kaggle-layout folder made
 * by the synthetic generator (seed 5), replaced in place by another one (seed 6). */
import { existsSync } from 'node:fs';
import { cp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative, } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getPipelineRun } from '../src/registry/pipeline.js';
import { openRegistry } from '../src/registry/store.js';
import type { SourceRecord } from '../src/sources/workspace-source.js';
import type { ValidationReport } from '../src/validate/types.js';
import { runCliAsync } from './helpers/cli.js';
import { sql, tempWorkspace } from './helpers/workspace.js';
import { buildZip } from './helpers/zip-writer.js';
import { viewSource } from './helpers/store.js';
import { Workspace } from '../src/core/workspace.js';

/** No STOCKPIPE_SOURCE / SYMBOLS / YEARS: the source comes from the workspace or the defaults. */
const SMALL = { STOCKPIPE_SYMBOLS: '12', STOCKPIPE_YEARS: '2' };

interface Out { status: number; stderr: string; json: { ok: boolean; data?: Record<string, unknown>; error?: { code: string; message: string; hint: string } } }


/** Runs the CLI without blocking: the two generated folders are made side by side, and the default-path test runs beside the others. */
async function sp(args: string[], env: Record<string, string> = {}): Promise<Out> {
  const r = await runCliAsync([...args, '--json'], { env: { STOCKPIPE_THREADS: '2', ...env } });
  return { status: r.code ?? -1, stderr: r.stderr, json: (r.jsonOrNull ?? { ok: false }) as Out['json'] };
}

const statuses = (o: Out): Record<string, string> => Object.fromEntries(((o.json.data?.tasks ?? []) as { name: string; status: string }[]).map((t) => [t.name, t.status]));
const record = async (ws: string): Promise<SourceRecord> => JSON.parse(await readFile(join(ws, 'source.json'), 'utf8')) as SourceRecord;
const latest = async (ws: string): Promise<ValidationReport> => JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8')) as ValidationReport;
const symbolsOf = async (folder: string): Promise<string[]> => (await Promise.all(['stocks', 'etfs'].map((d) => readdir(join(folder, d)).catch(() => [] as string[])))).flat().map((f) => f.replace(/\.csv$/, '')).sort();

function champion(ws: string): { holder: string | null; moves: number } {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return { holder: reg.aliasTarget('champion'), moves: reg.aliasHistory('champion').length };
  } finally {
    reg.close();
  }
}

let root = '';
let real = '';
let other = '';
/** Filled from dir:${real} by fetch, then `run train` (beforeAll); tests change only copies of it. */
let filled = '';
let filledBy: { fetch: Out; run: Out; realSymbols: string[] };

async function copyOfFilled(): Promise<string> {
  const ws = await tempWorkspace('source-ws');
  await cp(filled, ws, { recursive: true });
  return ws;
}

/** A Kaggle-layout folder from the synthetic generator (12 symbols × 2 years, the given seed). */
async function kaggleFolder(seed: number, dest: string): Promise<void> {
  const gen = join(root, `gen-${seed}`);
  const f = await sp(['fetch', '--symbols', '12', '--years', '2', '--seed', String(seed), '-w', gen]);
  expect(f.status, f.stderr).toBe(0);
  await cp(join(gen, 'raw', 'synthetic', 'data'), dest, { recursive: true });
}

beforeAll(async () => {
  root = await tempWorkspace('source');
  real = join(root, 'real');
  other = join(root, 'other');
  await Promise.all([kaggleFolder(5, real), kaggleFolder(6, other)]);
  filled = join(root, 'ws');
  const fetch = await sp(['fetch', '--source', `dir:${real}`, '-w', filled]);
  const run = await sp(['run', 'train', '-w', filled]);
  filledBy = { fetch, run, realSymbols: await symbolsOf(real) };
}, 360_000);

// The two blocks run side by side (the default path has its own workspace and source); the tests of
// the first one run one at a time (one of them replaces the dir: folder the others read).
describe.concurrent('a workspace remembers its source', () => {
  it.sequential('filled from dir:, a plain `run train` uses dir: (not the synthetic default)', async () => {
    const ws = filled; // read only
    const { fetch: f, run: r } = filledBy;
    expect(f.status, f.stderr).toBe(0);
    expect(f.json.data!.source_switch).toMatchObject({ from: null, to: `dir:${real}`, by: 'fetch' });
    expect(r.json.ok, r.stderr).toBe(true);
    expect(existsSync(join(ws, 'raw', 'synthetic'))).toBe(false);
    expect((await record(ws)).current.identity).toBe(`dir:${real}`);
    const inTable = (await sql(`SELECT DISTINCT "Symbol" AS s FROM ${viewSource(ws, 'prices')} ORDER BY s`)).map((x) => x.s);
    const folder = filledBy.realSymbols;
    expect(inTable.filter((x) => !folder.includes(x as string))).toEqual([]); // (a header-only file adds no symbol)
    expect(inTable.length).toBeGreaterThan(folder.length - 3);
    expect(champion(ws).holder).not.toBeNull();
  });

  it.sequential('another source without an explicit switch is refused with SP_ERR_SOURCE_MISMATCH; nothing changes', async () => {
    const ws = await copyOfFilled();
    const before = await readFile(join(ws, 'source.json'), 'utf8');
    const prices = await readFile(new Workspace(ws).tableHead('prices'));
    const config = join(root, 'synthetic.config.json');
    await writeFile(config, JSON.stringify({ fetch: { source: 'synthetic' } }));
    const sameZip = join(root, 'real.zip'); // the same data as zip: another source all the same
    const files = (await readdir(real, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    await writeFile(sameZip, buildZip(await Promise.all(files.map(async (e) => ({ name: relative(real, join(e.parentPath, e.name)), data: await readFile(join(e.parentPath, e.name)) })))));
    // name, args, env, a word the hint must name
    const cases: [string, string[], Record<string, string>, string][] = [
      ['fetch --source synthetic', ['fetch', '--source', 'synthetic'], {}, '--switch-source'],
      ['fetch --source dir:<another folder>', ['fetch', '--source', `dir:${other}`], {}, '--switch-source'],
      ['fetch --source zip:<the same data, zipped>', ['fetch', '--source', `zip:${sameZip}`], {}, '--switch-source'],
      ['fetch with STOCKPIPE_SOURCE=synthetic', ['fetch'], { STOCKPIPE_SOURCE: 'synthetic' }, '--switch-source'],
      ['run train with STOCKPIPE_SOURCE=synthetic', ['run', 'train'], { STOCKPIPE_SOURCE: 'synthetic' }, 'run train --source synthetic'],
      ['run train --dry-run with fetch.source in the config file', ['run', 'train', '--dry-run', '--config', config], {}, 'run train --source synthetic'],
    ];
    for (const [name, args, env, hint] of cases) {
      const r = await sp([...args, '-w', ws], env);
      expect([r.status, r.json.error?.code], name).toEqual([2, 'SP_ERR_SOURCE_MISMATCH']);
      expect(r.json.error!.hint, name).toContain(hint);
    }
    // A fetched synthetic source beside the dir: one (e.g. from an older stockpipe): ingest refuses it.
    // Fetched after the dir: one, so a plain ingest would pick it (the newest fetched source).
    await cp(join(root, 'gen-5', 'raw', 'synthetic'), join(ws, 'raw', 'synthetic'), { recursive: true });
    const manifest = join(ws, 'raw', 'synthetic', 'manifest.json');
    await writeFile(manifest, JSON.stringify({ ...JSON.parse(await readFile(manifest, 'utf8')), fetched_at: new Date(Date.now() + 60_000).toISOString() }));
    try {
      for (const args of [['ingest'], ['ingest', '--from', 'synthetic']]) {
        const r = await sp([...args, '-w', ws]);
        expect([r.status, r.json.error?.code], args.join(' ')).toEqual([2, 'SP_ERR_SOURCE_MISMATCH']);
      }
    } finally {
      await rm(join(ws, 'raw', 'synthetic'), { recursive: true, force: true });
    }
    expect(await readFile(join(ws, 'source.json'), 'utf8')).toBe(before);
    expect((await readFile(new Workspace(ws).tableHead('prices'))).equals(prices)).toBe(true); // no new snapshot
  }, 120_000);

  // Probed: a run with `--source bogus` started, failed at its fetch task (SP_ERR_RUN_FAILED, exit 1), was recorded, and its hint said to resume.
  it.sequential('run --source with a source nothing fetches is SP_ERR_SOURCE_UNKNOWN (exit 2) before anything runs, as fetch refuses it; no run recorded', async () => {
    const ws = await copyOfFilled();
    const runsBefore = (await sp(['runs', 'list', '-w', ws])).json.data!.total;
    for (const args of [['run', 'train', '--source', 'bogus'], ['run', 'train', '--source', 'bogus', '--dry-run'], ['run', 'train', '--source', 'dir:'], ['fetch', '--source', 'bogus']]) {
      const r = await sp([...args, '-w', ws]);
      expect([r.status, r.json.error?.code], args.join(' ')).toEqual([2, 'SP_ERR_SOURCE_UNKNOWN']);
    }
    expect((await sp(['runs', 'list', '-w', ws])).json.data!.total).toBe(runsBefore);
  }, 60_000);

  it.sequential('the same dir: with its symbols replaced fails validate (identity_changed); the champion stays', async () => {
    const ws = await copyOfFilled();
    const held = champion(ws);
    await rm(real, { recursive: true });
    await cp(other, real, { recursive: true });
    let r: Out;
    try {
      r = await sp(['run', 'train', '-w', ws]);
    } finally {
      // put dir:${real} back as the other tests know it
      await rm(real, { recursive: true });
      await cp(join(root, 'gen-5', 'raw', 'synthetic', 'data'), real, { recursive: true });
    }
    expect([r.status, r.json.error?.code]).toEqual([1, 'SP_ERR_RUN_FAILED']);
    const reg = openRegistry(ws, { readonly: true });
    const run = getPipelineRun(reg, /run (\w+)/.exec(r.json.error!.message)![1]!)!;
    reg.close();
    expect(run.tasks.map((t) => [t.task, t.status])).toEqual([['fetch', 'succeeded'], ['ingest', 'succeeded'], ['validate', 'failed'], ['features', 'skipped'], ['train', 'skipped'], ['evaluate', 'skipped'], ['register', 'skipped']]);
    const rep = await latest(ws);
    expect(rep.anomalies.find((a) => a.code === 'identity_changed')).toMatchObject({ severity: 'error', values: { absent_share: 1 } });
    expect(champion(ws)).toEqual(held);
  }, 240_000);

  it.sequential('`run train --source synthetic` switches: recorded, a new reference; a plain run then stays on it, all cached', async () => {
    const ws = await copyOfFilled();
    const r = await sp(['run', 'train', '--source', 'synthetic', '-w', ws], SMALL);
    expect(r.json.ok, r.stderr).toBe(true);
    const rec = await record(ws);
    const to = 'synthetic:seed=42,symbols=12,years=2,start=2010-01-04';
    expect(rec.current).toMatchObject({ identity: to, spec: 'synthetic', params: { seed: 42, symbols: 12, years: 2 } });
    expect(rec.history.map((h) => [h.from, h.to, h.by])).toEqual([[null, `dir:${real}`, 'fetch'], [`dir:${real}`, to, 'fetch']]);
    expect(Date.parse(rec.history[1]!.at)).toBeGreaterThan(Date.parse(rec.history[0]!.at));
    const rep = await latest(ws);
    expect([rep.reference_version, rep.reference_created, rep.summary.error]).toEqual([2, true, 0]);
    expect(rep.anomalies.find((a) => a.code === 'source_changed')).toMatchObject({ severity: 'info' });
    // No env now: the remembered 12 × 2 synthetic source, not the 500 × 10 default.
    const again = await sp(['run', 'train', '-w', ws]);
    expect(again.json.ok, again.stderr).toBe(true);
    expect(Object.values(statuses(again)).every((s) => s === 'cached'), JSON.stringify(statuses(again))).toBe(true);
  }, 240_000);
});

describe.concurrent('the default path', () => {
  // Up to fetch: what the remembered default source decides (its identity, the fetch cache key). That a
  // plain run with no source settings keeps every later task cached is the switch test's last run.
  it.sequential('`npm start` twice (run train, no source settings): the default source is remembered and the second run is cached', async () => {
    const fresh = await tempWorkspace('source-default');
    const first = await sp(['run', 'train', '--to', 'fetch', '-w', fresh]);
    expect(first.json.ok, first.stderr).toBe(true);
    expect(statuses(first)).toMatchObject({ fetch: 'succeeded' });
    expect((await record(fresh)).current.identity).toBe('synthetic:seed=42,symbols=500,years=10,start=2010-01-04');
    const second = await sp(['run', 'train', '--to', 'fetch', '-w', fresh]);
    expect(second.json.ok, second.stderr).toBe(true);
    expect(statuses(second)).toMatchObject({ fetch: 'cached' });
    expect(Object.values(statuses(second)).every((s) => s === 'cached' || s === 'skipped'), JSON.stringify(statuses(second))).toBe(true);
  }, 120_000);
});
