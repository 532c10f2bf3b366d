import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { commitSnapshot, nextSnapshotId, type StoreTable } from './catalog.js';
import { modelLineageDoc, parseSnapshotId, runLineageDoc, snapshotLineageDoc } from './lineage-docs.js';
import { closeRunScope, noteSnapshotRead, openRunScope } from './run-scope.js';
import { countRuns, getRunDetails, listRunSummaries } from './runs-query.js';
import { openRegistry, type Registry } from './store.js';

let ws: string;
let reg: Registry;
let t: number;
const now = (): Date => new Date((t += 1000));

/** The StockpipeError `fn` throws (any other error is rethrown; none fails). */
const errorOf = (fn: () => unknown): StockpipeError => {
  try {
    fn();
  } catch (err) {
    if (err instanceof StockpipeError) return err;
    throw err;
  }
  throw new Error('expected a StockpipeError');
};
const codeOf = (fn: () => unknown): string => errorOf(fn).code;
const messageOf = (fn: () => unknown): string => errorOf(fn).message;

/** A command run as cli/command-run records one: the scope open, the row, `work` inside it. */
function command<T>(id: string, kind: string, work: () => T, parent: string | null = null): T {
  const scope = openRunScope(id, kind, parent);
  try {
    reg.run('test', "INSERT INTO runs (run_id, kind, name, parent_run_id, status, started_at) VALUES (?, ?, ?, ?, 'running', ?)", [id, kind, kind, parent, reg.timestamp()]);
    const out = work();
    for (const s of scope.reads) reg.run('test', "INSERT OR IGNORE INTO run_snapshots VALUES (?, ?, 'read')", [id, s]);
    reg.run('test', "UPDATE runs SET status = 'finished', ended_at = ? WHERE run_id = ?", [reg.timestamp(), id]);
    return out;
  } finally {
    closeRunScope();
  }
}

const snapshot = (table: StoreTable, source: Record<string, unknown>): number => {
  const id = nextSnapshotId(reg);
  const base = reg.get<{ id: number }>('test', 'SELECT MAX(snapshot_id) AS id FROM table_snapshots WHERE table_name = ?', [table])?.id ?? null;
  return commitSnapshot(reg, { id, table, base, operation: 'overwrite', added: [], removed: [], rows: 10, source }).id;
};

async function trainedModel(id: string, features: number, prices: number): Promise<string> {
  const dir = join(ws, 'models', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), '{}');
  return command(`run-${id}`, 'train', () => {
    noteSnapshotRead(features);
    // The domain's own startRun takes the command's run (one row), a second one nests under it.
    const runId = reg.startRun({ kind: 'train', name: `train ${id}`, seed: 7 });
    expect(reg.startRun({ kind: 'evaluate' })).not.toBe(runId);
    reg.logParams(runId, { 'data.features_snapshot': features, 'data.prices_snapshot': prices });
    reg.registerModel({ model_id: id, kind: 'naive', path: dir, run_id: runId, metrics: {}, test_slice: null, data_hash: 'd'.repeat(64) });
    reg.endRun(runId, 'finished');
    return runId;
  });
}

beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-lineage-docs-'));
  t = Date.parse('2026-01-01T00:00:00Z');
  reg = openRegistry(ws, { now });
});

afterEach(async () => {
  closeRunScope();
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

describe('lineage documents', () => {
  it('resolves model → run → features → prices → manifest, and back from each snapshot and run', async () => {
    const manifest = 'a'.repeat(64);
    const prices = command('ingest-1', 'ingest', () => {
      const id = snapshot('prices', { source: 'synthetic', spec: 'synthetic:seed=1', root: '/data' });
      reg.recordDataVersion({ hash: manifest, kind: 'raw', path: 'raw/synthetic/manifest.json', rows: 30, details: { source: 'synthetic', fetched_at: '2026-01-01T00:00:00Z', bytes: 300, files: [{ path: 'stocks/A.csv', size: 100, sha256: 'b'.repeat(64), rows: 10 }, { path: 'stocks/B.csv', size: 200, sha256: null, rows: 20 }] } });
      reg.logParams('ingest-1', { 'data.source_manifest': manifest });
      return id;
    });
    const features = command('features-1', 'features', () => {
      noteSnapshotRead(prices);
      return snapshot('features', { prices_snapshot: prices });
    });
    const runId = await trainedModel('m1', features, prices);
    reg.setAlias('champion', 'm1', 'manual');
    expect(runId).toBe('run-m1');

    const m = modelLineageDoc(reg, 'champion', { files: 1 });
    expect(m.missing).toEqual([]);
    expect(m.model).toMatchObject({ id: 'm1', aliases: ['champion'], run_id: 'run-m1' });
    expect(m.run).toMatchObject({ run_id: 'run-m1', kind: 'train', name: 'train m1', status: 'finished', parent_run_id: null });
    expect(m.features_snapshot).toMatchObject({ id: features, written_by: { run_id: 'features-1' } });
    expect(m.prices_snapshot).toMatchObject({ id: prices, written_by: { run_id: 'ingest-1' } });
    expect(m.source).toMatchObject({ manifest_hash: manifest, source: 'synthetic', source_spec: 'synthetic:seed=1', files_total: 2, bytes: 300, rows: 30, ingest_run: { run_id: 'ingest-1' } });
    expect(m.source!.files).toEqual([{ path: 'stocks/A.csv', size: 100, sha256: 'b'.repeat(64), rows: 10 }]);

    const p = snapshotLineageDoc(reg, prices);
    expect(p.derived.map((s) => s.id)).toEqual([features]);
    expect(p.read_by.map((r) => r.run_id)).toEqual(['features-1']);
    expect(p.models).toEqual([expect.objectContaining({ id: 'm1', via: 'prices', features_snapshot: features })]);
    const f = snapshotLineageDoc(reg, features);
    expect(f.built_from?.id).toBe(prices);
    expect(f.source).toBeNull();
    expect(f.models).toEqual([expect.objectContaining({ id: 'm1', via: 'features' })]);
    expect(f.read_by.map((r) => r.run_id)).toEqual(['run-m1']);

    const r = runLineageDoc(reg, 'run-m1');
    expect(r.read.map((s) => s.id)).toEqual([features]);
    expect(r.wrote).toEqual([]);
    expect(r.models.map((x) => x.id)).toEqual(['m1']);
    expect(r.children).toEqual([expect.objectContaining({ kind: 'evaluate', parent_run_id: 'run-m1' })]);
    expect(runLineageDoc(reg, 'ingest-1').source?.manifest_hash).toBe(manifest);
    expect(getRunDetails(reg, 'run-m1')).toMatchObject({ kind: 'train', seed: 7, models: [{ id: 'm1' }], read: [{ id: features }] });
  });

  it("follows a compaction to its parent's source manifest", () => {
    const prices = command('ingest-2', 'ingest', () => {
      const id = snapshot('prices', { source: 'dir' });
      reg.recordDataVersion({ hash: 'e'.repeat(64), kind: 'raw', details: { source: 'dir', files: [] } });
      reg.logParams('ingest-2', { 'data.source_manifest': 'e'.repeat(64) });
      return id;
    });
    const compact = command('vacuum-1', 'vacuum', () => commitSnapshot(reg, { id: nextSnapshotId(reg), table: 'prices', base: prices, operation: 'compact', added: [], removed: [], rows: 10 }).id);
    const d = snapshotLineageDoc(reg, compact);
    expect(d.snapshot.written_by?.run_id).toBe('vacuum-1');
    expect(d.source).toMatchObject({ manifest_hash: 'e'.repeat(64), ingest_run: { run_id: 'ingest-2' } });
  });

  it('says which steps do not resolve for a model trained before runs recorded their snapshots', async () => {
    const prices = snapshot('prices', { source: 'dir' });
    const features = snapshot('features', { prices_snapshot: prices });
    await trainedModel('old', features, prices);
    const m = modelLineageDoc(reg, 'old');
    expect(m.prices_snapshot?.written_by).toBeNull();
    expect(m.source).toMatchObject({ manifest_hash: null, source: 'dir', files: [], ingest_run: null });
    expect(m.missing).toEqual(['source_manifest']);
  });

  it('answers unknown ids with SP_ERR_LINEAGE_NOT_FOUND and a bad snapshot id with SP_ERR_USAGE', () => {
    expect(codeOf(() => modelLineageDoc(reg, 'nope'))).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    expect(codeOf(() => runLineageDoc(reg, 'nope'))).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    expect(codeOf(() => snapshotLineageDoc(reg, 5))).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    for (const bad of ['0', '-1', '1.5', 'x', '']) expect(codeOf(() => parseSnapshotId(bad))).toBe('SP_ERR_USAGE');
    expect(parseSnapshotId('12')).toBe(12);
  });

  it('an empty champion or forecast_champion says the alias names no model yet and how to fill it (it said "no model version or alias" and hinted models list)', () => {
    expect(() => modelLineageDoc(reg, 'forecast_champion')).toThrow(expect.objectContaining({ code: 'SP_ERR_LINEAGE_NOT_FOUND', message: expect.stringMatching(/^the alias 'forecast_champion' names no model yet in /), hint: expect.stringContaining('`stockpipe train --task forecast`') }));
    expect(() => modelLineageDoc(reg, 'champion')).toThrow(expect.objectContaining({ code: 'SP_ERR_LINEAGE_NOT_FOUND', message: expect.stringMatching(/^the alias 'champion' names no model yet in /), hint: expect.stringContaining('`stockpipe train`') }));
  });

  it('quotes an unknown model id or a bad snapshot id of any length cut, with its length', () => {
    expect(messageOf(() => modelLineageDoc(reg, 'm'.repeat(5000)))).toContain(`'${'m'.repeat(100)}… (5000 characters)' in `);
    expect(messageOf(() => parseSnapshotId('9'.repeat(5000)))).toBe(`snapshot id '${'9'.repeat(100)}… (5000 characters)' is not a whole number ≥ 1`);
  });

  it('lists runs of any kind, by kind, status and parent, newest first', () => {
    command('p', 'pipeline', () => undefined);
    command('a', 'ingest', () => undefined, 'p');
    command('b', 'train', () => undefined, 'p');
    command('c', 'train', () => undefined);
    expect(listRunSummaries(reg).map((r) => r.run_id)).toEqual(['c', 'b', 'a', 'p']);
    expect(listRunSummaries(reg, { kind: 'train' }).map((r) => r.run_id)).toEqual(['c', 'b']);
    expect(listRunSummaries(reg, { parent: 'p' }).map((r) => r.run_id)).toEqual(['b', 'a']);
    expect(countRuns(reg, { kind: 'train', status: 'finished' })).toBe(2);
    expect(listRunSummaries(reg, { kind: 'train', limit: 1 })[0]!.seconds).toBe(1);
  });

  it('a command run left running by a process that is gone reads abandoned (list, count, status filter, details); a live one stays running', () => {
    for (const id of ['dead', 'alive']) {
      reg.run('test', "INSERT INTO runs (run_id, kind, name, status, started_at) VALUES (?, 'ingest', 'ingest', 'running', ?)", [id, reg.timestamp()]);
      reg.logParams(id, { runner_pid: id === 'dead' ? 101 : 202, runner_host: 'h', runner_start: 's' });
    }
    const gone = (r: { pid: number }): boolean => r.pid === 101;
    const status = (q: Parameters<typeof listRunSummaries>[1] = {}) => Object.fromEntries(listRunSummaries(reg, { ...q, kind: 'ingest', gone }).map((r) => [r.run_id, r.status]));
    expect(status()).toEqual({ dead: 'abandoned', alive: 'running' });
    expect(status({ status: 'abandoned' })).toEqual({ dead: 'abandoned' });
    expect(countRuns(reg, { status: 'running', gone })).toBe(1);
    expect(getRunDetails(reg, 'dead', gone)?.status).toBe('abandoned');
    expect(getRunDetails(reg, 'alive', gone)?.status).toBe('running');
    // `lineage run` (and GET /lineage/run/:id) reads it so too: the run, and as a child of its parent.
    expect([runLineageDoc(reg, 'dead', { gone }).run.status, runLineageDoc(reg, 'alive', { gone }).run.status]).toEqual(['abandoned', 'running']);
    reg.run('test', "INSERT INTO runs (run_id, kind, name, status, started_at, parent_run_id) VALUES ('child', 'train', 'train', 'running', ?, 'dead')", [reg.timestamp()]);
    reg.logParams('child', { runner_pid: 101, runner_host: 'h', runner_start: 's' });
    expect(runLineageDoc(reg, 'dead', { gone }).children.map((c) => c.status)).toEqual(['abandoned']);
    expect(runLineageDoc(reg, 'child', { gone }).parent?.status).toBe('abandoned');
    // A snapshot's writer and readers, and a model's training run, read so too.
    const snap = snapshot('prices', { source: 'synthetic' });
    reg.run('test', "INSERT INTO run_snapshots VALUES ('dead', ?, 'wrote'), ('alive', ?, 'read'), ('child', ?, 'read')", [snap, snap, snap]);
    const doc = snapshotLineageDoc(reg, snap, { gone });
    expect([doc.snapshot.written_by?.status, doc.read_by.map((x) => x.status)]).toEqual(['abandoned', ['running', 'abandoned']]);
    mkdirSync(join(ws, 'models', 'm-killed'), { recursive: true });
    writeFileSync(join(ws, 'models', 'm-killed', 'model.json'), '{}');
    reg.registerModel({ model_id: 'm-killed', kind: 'naive', path: join(ws, 'models', 'm-killed'), run_id: 'child', metrics: {}, test_slice: null });
    expect(modelLineageDoc(reg, 'm-killed', { gone }).run?.status).toBe('abandoned');
    // A process that ends its run between the look for it and the query (the reader paused): its stored status wins.
    const endsThenGone = (r: { pid: number }): boolean => {
      reg.endRun('dead', 'failed', 'x');
      return r.pid === 101;
    };
    expect(getRunDetails(reg, 'dead', endsThenGone)?.status).toBe('failed');
    reg.run('test', "UPDATE runs SET status = 'running', ended_at = NULL WHERE run_id = 'dead'");
    expect(listRunSummaries(reg, { kind: 'ingest', gone: endsThenGone }).find((r) => r.run_id === 'dead')?.status).toBe('failed');
    reg.run('test', "UPDATE runs SET status = 'running', ended_at = NULL WHERE run_id = 'dead'");
    // the stored row is not rewritten: a reader only judges it
    expect(reg.get<{ status: string }>('test', "SELECT status FROM runs WHERE run_id = 'dead'")?.status).toBe('running');
  });
});
