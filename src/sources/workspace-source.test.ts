import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigSchema, explicitFetchKeys, type Config } from '../core/config.js';
import { fetchContext, silentLog, tempWorkspace } from '../../test/helpers/workspace.js';
import { silentProgress } from '../core/progress.js';
import type { StockpipeError } from '../core/errors.js';
import { ingestWorkspace } from '../etl/ingest-workspace.js';
import { dirSource } from './dir.js';
import { chooseSource, rememberSource, sourceOf, type CurrentSource, type SourceRecord } from './workspace-source.js';
import { Workspace } from '../core/workspace.js';
import { fetchWorkspace, type FetchData } from './workspace-fetch.js';
import { latestManifest } from './manifest.js';

type Fetch = Config['fetch'];
const DEFAULTS: Fetch = ConfigSchema.parse({}).fetch;
const DEF_ID = 'synthetic:seed=42,symbols=500,years=10,start=2010-01-04';
const cfg = (over: Partial<Fetch>): Fetch => ({ ...DEFAULTS, ...over });
const remembered = (spec: string, params: Record<string, unknown> = {}): CurrentSource => ({ ...sourceOf(cfg({ source: spec, ...params })), since: '2026-01-01T00:00:00.000Z' });
const workspaces: string[] = [];

async function workspaceWith(current: CurrentSource | null): Promise<string> {
  const ws = await tempWorkspace('sp-wsrc-');
  workspaces.push(ws);
  if (current !== null) await writeFile(join(ws, 'source.json'), JSON.stringify({ format: 1, current, history: [] } satisfies SourceRecord));
  return ws;
}

afterAll(async () => {
  for (const ws of workspaces) await rm(ws, { recursive: true, force: true });
});

describe('chooseSource', () => {
  // name, remembered source, config (explicit keys set in it), expected spec, identity, switching
  const cases: [string, CurrentSource | null, Partial<Fetch>, string[], string, string, boolean][] = [
    ['new workspace: the config defaults', null, {}, [], 'synthetic', DEF_ID, false],
    ['npm start twice: the remembered defaults, same identity', remembered('synthetic'), {}, [], 'synthetic', DEF_ID, false],
    ['dir: workspace, default source: the remembered dir (the bug)', remembered('dir:/data/real'), {}, [], 'dir:/data/real', 'dir:/data/real', false],
    ['dir: workspace, explicit synthetic: a switch', remembered('dir:/data/real'), { source: 'synthetic' }, ['source'], 'synthetic', DEF_ID, true],
    ['dir: workspace, explicit other folder: a switch', remembered('dir:/data/real'), { source: 'dir:/data/other' }, ['source'], 'dir:/data/other', 'dir:/data/other', true],
    ['dir: workspace, explicit same folder: no switch', remembered('dir:/data/real'), { source: 'dir:/data/real' }, ['source'], 'dir:/data/real', 'dir:/data/real', false],
    ['synthetic 12 remembered, nothing set: its parameters, not the defaults', remembered('synthetic', { symbols: 12, years: 2 }), {}, [], 'synthetic', 'synthetic:seed=42,symbols=12,years=2,start=2010-01-04', false],
    ['synthetic 12 remembered, --source synthetic only: no switch', remembered('synthetic', { symbols: 12 }), { source: 'synthetic' }, ['source'], 'synthetic', 'synthetic:seed=42,symbols=12,years=10,start=2010-01-04', false],
    ['synthetic 12 remembered, --symbols 500: a switch', remembered('synthetic', { symbols: 12 }), { symbols: 500 }, ['symbols'], 'synthetic', DEF_ID, true],
    ['synthetic remembered, --seed 7: a switch', remembered('synthetic'), { seed: 7 }, ['seed'], 'synthetic', 'synthetic:seed=7,symbols=500,years=10,start=2010-01-04', true],
    ['yahoo remembered, other tickers: no switch (tickers are not identity)', remembered('yahoo', { tickers: ['AAPL'], start: '2020-01-01' }), { source: 'yahoo', tickers: ['MSFT'] }, ['source', 'tickers'], 'yahoo', 'yahoo', false],
    ['kaggle remembered, default dataset spelled out', remembered('kaggle'), {}, [], 'kaggle:jacksoncrow/stock-market-dataset', 'kaggle:jacksoncrow/stock-market-dataset', false],
  ];
  it.each(cases)('%s', async (_name, rem, config, explicit, spec, identity, switching) => {
    const ws = await workspaceWith(rem);
    const c = await chooseSource(new Workspace(ws), cfg(config), new Set(explicit));
    expect({ spec: c.fetch.source, identity: c.identity, switching: c.switching }).toEqual({ spec, identity, switching });
  });

  it('remembers yahoo start from the workspace when only the tickers are given', async () => {
    const ws = await workspaceWith(remembered('yahoo', { tickers: ['AAPL'], start: '2020-01-01' }));
    const c = await chooseSource(new Workspace(ws), cfg({ source: 'yahoo', tickers: ['MSFT'] }), new Set(['source', 'tickers']));
    expect([c.fetch.tickers, c.fetch.start]).toEqual([['MSFT'], '2020-01-01']);
  });

  it('a workspace without source.json remembers its newest fetched manifest (workspaces made before it)', async () => {
    const ws = await workspaceWith(null);
    await mkdir(join(ws, 'raw', 'synthetic'), { recursive: true });
    await writeFile(join(ws, 'raw', 'synthetic', 'manifest.json'), JSON.stringify({ format: 1, source: 'synthetic', source_spec: 'synthetic:seed=7,symbols=20,years=1,start=2015-01-02', source_version: 'x', fetched_at: '2026-01-01T00:00:00Z', layout: 'dir', root: '/x', files: [], bytes: 0 }));
    const c = await chooseSource(new Workspace(ws), DEFAULTS, new Set());
    expect([c.identity, c.switching, c.fetch.symbols, c.fetch.start]).toEqual(['synthetic:seed=7,symbols=20,years=1,start=2015-01-02', false, 20, '2015-01-02']);
  });
});

describe('explicitFetchKeys', () => {
  it('names the fetch keys set by the file, a STOCKPIPE_* variable or a flag, not the defaults', () => {
    const keys = explicitFetchKeys({ file: { fetch: { seed: 3 } }, env: { STOCKPIPE_SYMBOLS: '12', STOCKPIPE_SOURCE: '' }, flags: { workspace: 'w', fetch: { source: undefined, years: 2 } } });
    expect([...keys].sort()).toEqual(['seed', 'symbols', 'years']);
  });
});

describe('rememberSource', () => {
  const at = (d: number): Date => new Date(Date.UTC(2026, 0, d));
  it('records the first source, nothing for the same one, then a switch with time, from and to', async () => {
    const ws = await workspaceWith(null);
    const read = async (): Promise<SourceRecord> => JSON.parse(await readFile(join(ws, 'source.json'), 'utf8')) as SourceRecord;
    const dir = sourceOf(cfg({ source: 'dir:/data/real' }));
    expect(await rememberSource(new Workspace(ws), null, dir, at(1), 'fetch')).toEqual({ at: at(1).toISOString(), from: null, to: 'dir:/data/real', by: 'fetch' });
    const first = (await read()).current;
    expect(await rememberSource(new Workspace(ws), first, dir, at(2), 'fetch')).toBeNull();
    expect((await read()).current.since).toBe(at(1).toISOString());
    const syn = sourceOf(DEFAULTS);
    expect(await rememberSource(new Workspace(ws), first, syn, at(3), 'fetch')).toMatchObject({ from: 'dir:/data/real', to: DEF_ID });
    const rec = await read();
    expect(rec.history.map((h) => [h.at, h.from, h.to])).toEqual([[at(1).toISOString(), null, 'dir:/data/real'], [at(3).toISOString(), 'dir:/data/real', DEF_ID]]);
    expect(rec.current).toMatchObject({ identity: DEF_ID, spec: 'synthetic', params: { seed: 42, symbols: 500, years: 10, start: '2010-01-04' }, since: at(3).toISOString() });
  });

  it('the same yahoo source with other tickers updates them without a switch', async () => {
    const ws = await workspaceWith(null);
    const before = { ...sourceOf(cfg({ source: 'yahoo', tickers: ['AAPL'] })), since: at(1).toISOString() };
    expect(await rememberSource(new Workspace(ws), before, sourceOf(cfg({ source: 'yahoo', tickers: ['MSFT'] })), at(2), 'fetch')).toBeNull();
    const rec = JSON.parse(await readFile(join(ws, 'source.json'), 'utf8')) as SourceRecord;
    expect([rec.current.params.tickers, rec.current.since, rec.history]).toEqual([['MSFT'], at(1).toISOString(), []]);
  });
});

describe('ingest of a source changed since its fetch', () => {
  const at = (d: number): Date => new Date(Date.UTC(2026, 0, d));
  // Probed: `ingest --from dir --switch-source` (back to a folder after trying synthetic) whose files
  // changed since their fetch was hinted "Run `stockpipe fetch` again", which fetched the workspace's
  // synthetic source: the ingest failed the same way again.
  it('names the fetch that takes the folder again: with --switch-source when it is not the workspace\'s source', async () => {
    const ws = await workspaceWith(null);
    const src = join(ws, '..', `${ws.split('/').at(-1)}-src`);
    workspaces.push(src);
    await mkdir(join(src, 'stocks'), { recursive: true });
    const bars = 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n';
    await writeFile(join(src, 'stocks', 'AA.csv'), bars);
    await dirSource(src).fetch(fetchContext(ws));
    await writeFile(join(src, 'stocks', 'AA.csv'), bars.slice(0, -20)); // shorter than fetched
    const ingestIt = (switchSource: boolean): Promise<unknown> => ingestWorkspace({ ws: new Workspace(ws), sourceId: 'dir', strict: false, force: false, switchSource, now: () => at(5), log: silentLog, progress: silentProgress }).then(() => null, (err: unknown) => err);
    // The workspace's own source: a plain fetch takes it again.
    await rememberSource(new Workspace(ws), null, sourceOf(cfg({ source: `dir:${src}` })), at(1), 'fetch');
    const own = await ingestIt(false);
    expect(own).toMatchObject({ code: 'SP_ERR_SOURCE_NOT_FOUND', hint: 'Run `stockpipe fetch` again: the source changed since it was fetched.' });
    // Switched to synthetic since: that fetch names the folder and the switch.
    await rememberSource(new Workspace(ws), remembered(`dir:${src}`), sourceOf(DEFAULTS), at(2), 'fetch');
    const other = (await ingestIt(true)) as StockpipeError;
    expect(other.code).toBe('SP_ERR_SOURCE_NOT_FOUND');
    expect(other.message).toContain('AA.csv');
    expect(other.hint).toContain(`Run \`stockpipe fetch --source dir:${src} --switch-source\` again`);
    expect(JSON.parse(await readFile(join(ws, 'source.json'), 'utf8')).current.identity).toBe(DEF_ID); // nothing switched
  });
});

describe('fetch of other synthetic settings than the workspace remembers', () => {
  // Probed: `fetch --symbols 6` on a workspace of 12 synthetic symbols was hinted
  // `stockpipe fetch --source synthetic --switch-source` (or `run --source synthetic`): both fetched
  // the remembered 12 again ("unchanged (cached)"), no switch made.
  it('hints the fetch with the settings that differ, which then switches', async () => {
    const ws = await workspaceWith(remembered('synthetic', { symbols: 12, years: 1 }));
    const fetchIt = (over: Partial<Fetch>, explicit: string[], switchSource: boolean): Promise<unknown> =>
      fetchWorkspace({ ...fetchContext(ws), fetch: cfg({ years: 1, ...over }), explicitFetch: new Set(explicit), switchSource }).then(
        (r) => r,
        (err: unknown) => err,
      );
    const refused = (await fetchIt({ symbols: 6, seed: 42 }, ['symbols', 'seed'], false)) as StockpipeError;
    expect(refused.code).toBe('SP_ERR_SOURCE_MISMATCH');
    expect(refused.hint).toContain('`stockpipe fetch --source synthetic --symbols 6 --switch-source`');
    expect(refused.hint).not.toContain('run --source');
    // What the hint says to run: --source synthetic, --symbols 6 and --switch-source set.
    const done = (await fetchIt({ source: 'synthetic', symbols: 6 }, ['source', 'symbols'], true)) as FetchData;
    expect(done.source_switch).toMatchObject({ to: 'synthetic:seed=42,symbols=6,years=1,start=2010-01-04' });
    // Another source kind keeps the run alternative (run --source switches it as well).
    const other = (await fetchIt({ source: 'dir:/nowhere' }, ['source'], false)) as StockpipeError;
    expect(other.hint).toContain('`stockpipe fetch --source dir:/nowhere --switch-source` (or `stockpipe run --source dir:/nowhere`)');
  });
});

describe('ingest --from a source that was never fetched', () => {
  // Probed: `ingest --from dir:./stock-market-dataset` (a --source spec, where --from takes the id `dir`)
  // on a workspace holding dir and zip was hinted "Run `stockpipe fetch` first (the default source is
  // synthetic)": a fetch of the remembered source, after which the same ingest failed the same way.
  it('names the fetched sources --from takes', async () => {
    const ws = await workspaceWith(null);
    for (const id of ['zip', 'dir']) {
      await mkdir(join(ws, 'raw', id), { recursive: true });
      await writeFile(join(ws, 'raw', id, 'manifest.json'), '{}');
    }
    await mkdir(join(ws, 'raw', 'kaggle')); // a download that never finished: no manifest
    const err = (await latestManifest(new Workspace(ws), 'dir:./stock-market-dataset').catch((e: unknown) => e)) as StockpipeError;
    expect(err.code).toBe('SP_ERR_NO_RAW_DATA');
    expect(err.hint).toBe('--from takes the id of a fetched source (its folder under raw/): dir, zip, e.g. `stockpipe ingest --from dir`; fetch another first (`stockpipe fetch --source S`).');
    const none = (await latestManifest(new Workspace(await workspaceWith(null)), 'dir').catch((e: unknown) => e)) as StockpipeError;
    expect([none.code, none.hint]).toEqual(['SP_ERR_NO_RAW_DATA', 'Run `stockpipe fetch` first (the default source is synthetic).']);
  });
});
