import { spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { assertStoreTable, parseAsOf } from './catalog.js';
import { MIGRATIONS, SCHEMA_VERSION } from './schema.js';
import { openRegistry, parseTime, registryPath, type ModelKind, type Registry, type TestSlice } from './store.js';

let ws: string;
let t: number;
const now = (): Date => new Date((t += 1000)); // each timestamp one second after the last
const open = (opts: { readonly?: boolean } = {}): Registry => openRegistry(ws, { ...opts, now });
const raw = (): Database.Database => new Database(registryPath(ws));
const SLICE: TestSlice = { date_min: '2020-05-27', date_max: '2020-12-31', rows: 1000, data_hash: 'f'.repeat(64) };

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof StockpipeError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a StockpipeError');
}

async function register(reg: Registry, id: string, kind: ModelKind, rmseLog: number, slice: TestSlice | null = SLICE) {
  const dir = join(ws, 'models', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), '{}');
  const own = { mae: 10, rmse: 20, r2: 0.5, mae_log: rmseLog * 0.8, rmse_log: rmseLog, r2_log: 1 - rmseLog };
  // The backtest score promotion compares (on folds tied to the slice's data), equal to the test score here.
  const selection = slice === null ? undefined : { kind: 'cv' as const, data_hash: slice.data_hash, windows: [{ from: '2019-06-03', to: slice.date_min, rows: 500 }], metrics: { rmse_log: rmseLog, r2_log: 1 - rmseLog } };
  return reg.registerModel({ model_id: id, kind, path: dir, metrics: { [kind]: own, naive: { ...own, rmse_log: 0.9 } }, test_slice: slice === null ? null : { ...slice, selection }, data_hash: slice?.data_hash });
}

beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-registry-'));
  t = Date.parse('2024-01-01T00:00:00.000Z');
});
afterEach(async () => {
  await rm(ws, { recursive: true, force: true });
});

describe('registry schema', () => {
  it('migrates an empty store in WAL mode and re-opens without re-applying', () => {
    open().close();
    const db = raw();
    expect(db.prepare('SELECT version FROM schema_migrations ORDER BY version').all()).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
    const reg = open();
    reg.startRun({ kind: 'train', run_id: 'r1' });
    reg.close();
    const again = open();
    expect(again.getRun('r1')?.status).toBe('running');
    again.close();
    const db2 = raw();
    expect(db2.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get()).toEqual({ n: SCHEMA_VERSION });
    db2.close();
  });

  it('refuses a store written by a newer stockpipe (SP_ERR_REGISTRY)', () => {
    open().close();
    const db = raw();
    db.prepare("INSERT INTO schema_migrations VALUES (999, 'future', '2030-01-01T00:00:00.000Z')").run();
    db.close();
    expect(codeOf(() => open())).toMatch(/^SP_ERR_REGISTRY: .*999/);
    expect(codeOf(() => open({ readonly: true }))).toMatch(/^SP_ERR_REGISTRY/);
  });

  it('a corrupt file gives SP_ERR_REGISTRY naming the path', async () => {
    await writeFile(registryPath(ws), Buffer.from('this is not a sqlite database, just garbage bytes '.repeat(100)));
    for (const readonly of [false, true]) {
      const msg = codeOf(() => open({ readonly }));
      expect(msg).toMatch(/^SP_ERR_REGISTRY/);
      expect(msg).toContain(registryPath(ws));
    }
  });

  it('read-only on a missing store reads as empty, creates nothing and refuses writes', () => {
    const reg = open({ readonly: true });
    expect(reg.listModels()).toEqual([]);
    expect(reg.aliasAt('champion', new Date())).toBeNull();
    expect(codeOf(() => reg.startRun({ kind: 'train' }))).toMatch(/^SP_ERR_REGISTRY/);
    reg.close();
    expect(existsSync(registryPath(ws))).toBe(false);
  });

  it('a version-1 store with a model and an alias migrates to the current schema, keeping both', async () => {
    const db = raw();
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    db.exec(MIGRATIONS[0]!.sql);
    db.prepare("INSERT INTO schema_migrations VALUES (1, 'v1', '2024-01-01T00:00:00.000Z')").run();
    db.prepare("INSERT INTO model_versions (model_id, kind, created_at, path, metrics) VALUES ('gbdt-1', 'gbdt', '2024-01-01T00:00:00.000Z', 'models/gbdt-1', '{}')").run();
    db.prepare("INSERT INTO aliases VALUES ('champion', 'gbdt-1', '2024-01-01T00:00:00.000Z')").run();
    db.prepare("INSERT INTO alias_history (alias, model_id, at, reason) VALUES ('champion', 'gbdt-1', '2024-01-01T00:00:00.000Z', 'manual')").run();
    expect(() => db.prepare("INSERT INTO model_versions (model_id, kind, created_at, path, metrics) VALUES ('f', 'forecast', 'x', 'p', '{}')").run()).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_CHECK' }));
    db.close();
    const reg = open();
    expect(reg.aliasTarget('champion')).toBe('gbdt-1');
    expect(reg.aliasHistory('champion')).toHaveLength(1);
    reg.close();
    const after = raw();
    expect(after.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: SCHEMA_VERSION });
    expect(after.pragma('foreign_key_check')).toEqual([]);
    after.prepare("INSERT INTO model_versions (model_id, kind, created_at, path, metrics) VALUES ('f', 'forecast', 'x', 'p', '{}')").run();
    expect(() => after.prepare("INSERT INTO aliases VALUES ('x', 'nope', 'x')").run()).toThrow(expect.objectContaining({ code: 'SQLITE_CONSTRAINT_FOREIGNKEY' }));
    after.close();
  });

  // Probed: a registry truncated to 0 bytes (a full disk, `> stockpipe.db`) opened as a new empty one without a word: monitor
  // then hinted fetch and ingest beside a store of data, and the store's files read as nobody's.
  it('refuses a 0-byte store beside store/ or models/ files (SP_ERR_REGISTRY), writing nothing to it', async () => {
    for (const dir of ['store', 'models']) {
      await rm(join(ws, 'store'), { recursive: true, force: true });
      await rm(join(ws, 'models'), { recursive: true, force: true });
      await mkdir(join(ws, dir, 'x'), { recursive: true });
      await writeFile(registryPath(ws), '');
      for (const readonly of [false, true]) {
        const msg = codeOf(() => open({ readonly }));
        expect(msg).toMatch(new RegExp(`^SP_ERR_REGISTRY: registry .*stockpipe\\.db is empty \\(0 bytes\\) while the workspace's ${dir}/ hold files`));
        expect(statSync(registryPath(ws)).size).toBe(0);
      }
    }
  });

  it('read-only on an older (here: empty) store migrates it once, then reads', async () => {
    await writeFile(registryPath(ws), '');
    const reg = open({ readonly: true });
    expect(reg.listModels()).toEqual([]);
    reg.close();
    const db = raw();
    expect(db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get()).toEqual({ v: SCHEMA_VERSION });
    db.close();
  });
});

describe('runs and tracking', () => {
  it('round-trips a run with params, metrics, artifacts and data versions', () => {
    const reg = open();
    const id = reg.startRun({ kind: 'train', name: 'volume', git_sha: 'abc123', config_hash: 'cfg', seed: 42 });
    reg.logParams(id, { learning_rate: 0.1, objective: 'l2', bins: [1, 2], none: null });
    reg.logParams(id, { learning_rate: 0.05 });
    reg.logMetrics(id, { rmse_log: 0.5, mae_log: 0.4 }, { slice: 'test' });
    reg.logMetrics(id, [{ key: 'loss', value: 1.5, step: 1, slice: 'valid' }, { key: 'loss', value: Number.NaN, step: 2 }]);
    reg.logArtifact(id, { path: 'models/m1/model.json', kind: 'model', sha256: 'd'.repeat(64), bytes: 123 });
    reg.endRun(id, 'finished');
    const run = reg.getRun(id);
    expect(run).toMatchObject({ run_id: id, kind: 'train', name: 'volume', status: 'finished', git_sha: 'abc123', config_hash: 'cfg', seed: 42, error: null });
    expect(run?.started_at).toMatch(/^2024-01-01T00:00:\d\d\.000Z$/);
    expect(run?.ended_at ?? '').toMatch(/^2024-01-01T00:00:\d\d\.000Z$/);
    expect((run?.ended_at ?? '') > (run?.started_at ?? '')).toBe(true);
    expect(run?.params).toEqual({ bins: '[1,2]', learning_rate: '0.05', none: null, objective: 'l2' });
    expect(run?.metrics.map((m) => [m.key, m.value, m.step, m.slice])).toEqual([
      ['rmse_log', 0.5, 0, 'test'], ['mae_log', 0.4, 0, 'test'], ['loss', 1.5, 1, 'valid'], ['loss', Number.NaN, 2, ''],
    ]);
    expect(run?.artifacts).toEqual([{ path: 'models/m1/model.json', kind: 'model', sha256: 'd'.repeat(64), bytes: 123 }]);
    const failed = reg.startRun({ kind: 'evaluate', parent_run_id: id });
    reg.endRun(failed, 'failed', 'boom');
    expect(reg.listRuns().map((r) => [r.run_id, r.status, r.error])).toEqual([[failed, 'failed', 'boom'], [id, 'finished', null]]);
    expect(reg.listRuns({ kind: 'train' })).toHaveLength(1);
    expect(codeOf(() => reg.endRun('nope', 'finished'))).toMatch(/^SP_ERR_REGISTRY/);
    const dv = reg.recordDataVersion({ hash: 'h1', kind: 'features', path: 'features/features.parquet', rows: 10, details: { window: 30 } });
    expect(reg.recordDataVersion({ hash: 'h1', kind: 'features', rows: 99 })).toEqual(dv);
    expect(dv).toMatchObject({ hash: 'h1', rows: 10, details: { window: 30 } });
    reg.close();
  });
});

describe('model versions and aliases', () => {
  it('registers, lists newest first, shows by id and by alias', async () => {
    const reg = open();
    await register(reg, 'm1', 'gbdt', 0.5);
    await register(reg, 'm2', 'rf', 0.6);
    reg.setAlias('champion', 'm1', 'manual', { note: 'first' });
    reg.setAlias('challenger', 'm2', 'auto');
    expect(reg.listModels().map((m) => [m.id, m.kind, m.aliases])).toEqual([['m2', 'rf', ['challenger']], ['m1', 'gbdt', ['champion']]]);
    const champ = reg.getModel('champion');
    expect(champ).toMatchObject({ id: 'm1', kind: 'gbdt', path: join(ws, 'models', 'm1'), test_slice: SLICE, data_hash: SLICE.data_hash });
    expect(champ.metrics.gbdt?.rmse_log).toBe(0.5);
    expect(reg.getModel('m2').aliases).toEqual(['challenger']);
    expect(codeOf(() => reg.getModel('nope'))).toMatch(/^SP_ERR_MODEL_NOT_FOUND/);
    // An id of any length (`forecast --model`, `models show`) is quoted cut, with its length (it was quoted whole).
    const long = codeOf(() => reg.getModel('x'.repeat(5000)));
    expect([long.length < 400, long.includes(`'${'x'.repeat(100)}… (5000 characters)'`)]).toEqual([true, true]);
    expect(codeOf(() => parseAsOf('y'.repeat(5000)))).toBe(`SP_ERR_USAGE: --as-of '${'y'.repeat(100)}… (5000 characters)' is neither a snapshot id nor a time`);
    expect(codeOf(() => parseTime('2'.repeat(5000)))).toBe(`SP_ERR_USAGE: invalid time '${'2'.repeat(100)}… (5000 characters)'`);
    expect(codeOf(() => assertStoreTable('t'.repeat(5000)))).toBe(`SP_ERR_USAGE: unknown table '${'t'.repeat(100)}… (5000 characters)'`);
    expect(codeOf(() => reg.setAlias('champion', 'nope', 'manual'))).toMatch(/^SP_ERR_MODEL_NOT_FOUND/);
    expect(codeOf(() => reg.setAlias('bad alias!', 'm1', 'manual'))).toMatch(/^SP_ERR_USAGE/);
    expect(reg.setAlias('champion', 'm1', 'manual')).toBeNull(); // not a move: no history row
    reg.close();
    const db = raw();
    expect(db.prepare("SELECT path FROM model_versions WHERE model_id = 'm1'").get()).toEqual({ path: 'models/m1' });
    db.close();
  });

  it('alias history is append-only and answers which version held an alias at a past time', async () => {
    const reg = open();
    await register(reg, 'm1', 'gbdt', 0.5);
    await register(reg, 'm2', 'gbdt', 0.4);
    const first = reg.setAlias('champion', 'm1', 'auto');
    const second = reg.setAlias('champion', 'm2', 'manual', { actor: 'ana', note: 'better' });
    expect(second).toMatchObject({ previous_model_id: 'm1', reason: 'manual', actor: 'ana', note: 'better' });
    expect(reg.aliasHistory('champion').map((m) => [m.model_id, m.previous_model_id])).toEqual([['m1', null], ['m2', 'm1']]);
    const before = new Date(Date.parse(first?.at ?? '') - 1);
    expect(reg.aliasAt('champion', before)).toBeNull();
    expect(reg.aliasAt('champion', first?.at ?? '')).toBe('m1');
    expect(reg.aliasAt('champion', new Date(Date.parse(second?.at ?? '') - 1))).toBe('m1');
    expect(reg.aliasAt('champion', second?.at ?? '')).toBe('m2');
    expect(reg.aliasAt('champion', '2030-01-01')).toBe('m2');
    expect(reg.aliasAt('challenger', '2030-01-01')).toBeNull();
    expect(codeOf(() => reg.aliasAt('champion', 'yesterday'))).toMatch(/^SP_ERR_USAGE/);
    reg.close();
    const db = raw();
    expect(() => db.prepare("UPDATE alias_history SET model_id = 'm1'").run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM alias_history').run()).toThrow(/append-only/);
    expect(db.prepare('SELECT COUNT(*) AS n FROM alias_history').get()).toEqual({ n: 2 });
    db.close();
  });

  it('promoteIfBetter: first, better, worse, different slice, forced; compareModels', async () => {
    const reg = open();
    await register(reg, 'm1', 'gbdt', 0.5);
    expect(reg.promoteIfBetter('m1')).toMatchObject({ promoted: true, champion_before: null, move: { reason: 'auto' } });
    expect(reg.promoteIfBetter('m1')).toMatchObject({ promoted: false, champion_before: 'm1' });

    await register(reg, 'm2', 'rf', 0.4);
    const better = reg.promoteIfBetter('m2', 'champion', { trigger: 'manual' });
    expect(better).toMatchObject({ promoted: true, champion_before: 'm1', metric: 'rmse_log', candidate_value: 0.4, champion_value: 0.5, same_test_slice: true });
    expect(reg.aliasTarget('champion')).toBe('m2');

    await register(reg, 'm3', 'gbdt', 0.45);
    expect(reg.promoteIfBetter('m3')).toMatchObject({ promoted: false, champion_before: 'm2', candidate_value: 0.45, champion_value: 0.4 });
    expect(reg.aliasTarget('champion')).toBe('m2');
    // higher is better for r2_log: 1 - 0.45 < 1 - 0.4, still not better
    expect(reg.promoteIfBetter('m3', 'champion', { metric: 'r2_log' }).promoted).toBe(false);
    expect(codeOf(() => reg.promoteIfBetter('m3', 'champion', { metric: 'rows' }))).toMatch(/^SP_ERR_USAGE/);

    await register(reg, 'm4', 'gbdt', 0.1, { ...SLICE, date_min: '2021-01-01', data_hash: 'e'.repeat(64) });
    expect(codeOf(() => reg.promoteIfBetter('m4'))).toMatch(/^SP_ERR_PROMOTE_REFUSED: .*not scored on the same rows/);
    expect(reg.aliasTarget('champion')).toBe('m2');
    // the holder re-scored on m4's folds: compared there (worse than m4's 0.1 → promoted; better → kept)
    const on = { candidate_value: null, on: "m4's folds" };
    expect(reg.promoteIfBetter('m4', 'champion', { holderOnCandidateSlice: { model_id: 'm2', value: 0.05, ...on } })).toMatchObject({ promoted: false, champion_value: 0.05, same_test_slice: false, holder_rescored: true });
    expect(codeOf(() => reg.promoteIfBetter('m4', 'champion', { holderOnCandidateSlice: { model_id: 'm1', value: 9, ...on } }))).toMatch(/^SP_ERR_PROMOTE_REFUSED/); // not the holder's score
    const rescored = reg.promoteIfBetter('m4', 'champion', { holderOnCandidateSlice: { model_id: 'm2', value: 0.3, ...on } });
    expect(rescored).toMatchObject({ promoted: true, champion_before: 'm2', champion_value: 0.3, holder_rescored: true });
    expect(rescored.reason).toMatch(/rmse_log on m4's folds: .*re-scored there/);
    reg.setAlias('champion', 'm2', 'manual');

    const forced = reg.promoteIfBetter('m3', 'champion', { force: true, actor: 'ana' });
    expect(forced).toMatchObject({ promoted: true, champion_before: 'm2', move: { reason: 'forced', actor: 'ana' } });
    expect(reg.aliasHistory('champion').map((m) => [m.model_id, m.reason])).toEqual([['m1', 'auto'], ['m2', 'manual'], ['m4', 'auto'], ['m2', 'manual'], ['m3', 'forced']]);
    expect(reg.aliasHistory('champion')[4]?.note).toMatch(/^forced: not better/);

    const c = reg.compareModels('m1', 'champion');
    expect(c).toMatchObject({ a: { id: 'm1', kind: 'gbdt' }, b: { id: 'm3', kind: 'gbdt' }, same_test_slice: true });
    expect(c.differences.find((d) => d.metric === 'rmse_log')).toEqual({ metric: 'rmse_log', a: 0.5, b: 0.45, diff: expect.closeTo(-0.05, 12) as number, better: 'b' });
    expect(c.differences.find((d) => d.metric === 'mae')?.better).toBe('tie');
    expect(reg.compareModels('m1', 'm4').same_test_slice).toBe(false);
    reg.close();
  });

  it('a registered model whose folder is gone → SP_ERR_MODEL_MISSING with the path', async () => {
    const reg = open();
    await register(reg, 'm1', 'gbdt', 0.5);
    reg.setAlias('champion', 'm1', 'auto');
    await rm(join(ws, 'models', 'm1'), { recursive: true });
    const file = join(ws, 'models', 'm1', 'model.json');
    for (const fn of [() => reg.getModel('m1'), () => reg.getModel('champion'), () => reg.promoteIfBetter('m1', 'challenger')]) {
      const msg = codeOf(fn);
      expect(msg).toMatch(/^SP_ERR_MODEL_MISSING/);
      expect(msg).toContain(file);
    }
    expect(reg.listModels()).toHaveLength(1);
    expect(codeOf(() => reg.registerModel({ model_id: 'm9', kind: 'naive', path: join(ws, 'models', 'm9'), metrics: {}, test_slice: null }))).toMatch(/^SP_ERR_MODEL_MISSING/);
    reg.close();
  });
});

describe('concurrent access', () => {
  it('another process reads throughout while this one writes 500 metrics in transactions', async () => {
    const reg = open();
    const run = reg.startRun({ kind: 'train' });
    const script = `
      const Database = require(process.argv[1]);
      const db = new Database(process.argv[2], { readonly: true });
      db.pragma('busy_timeout = 10000');
      const st = db.prepare('SELECT COUNT(*) AS n FROM metrics');
      let reads = 0, max = 0; const errors = []; const seen = new Set();
      process.stdout.write('ready\\n');
      const t0 = Date.now();
      while (Date.now() - t0 < 1000) {
        try { const n = st.get().n; seen.add(n); max = Math.max(max, n); reads++; } catch (e) { errors.push(String(e.code || e)); }
      }
      db.close();
      process.stdout.write(JSON.stringify({ reads, max, distinct: seen.size, errors: errors.slice(0, 5) }) + '\\n');`;
    const modulePath = createRequire(import.meta.url).resolve('better-sqlite3');
    const child = spawn(process.execPath, ['-e', script, modulePath, registryPath(ws)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const killer = setTimeout(() => child.kill(), 20_000);
    await new Promise<void>((resolve) => child.stdout.on('data', (b: Buffer) => { out += b.toString(); if (out.includes('ready')) resolve(); }));
    for (let i = 0; i < 100; i++) {
      reg.logMetrics(run, Array.from({ length: 5 }, (_, j) => ({ key: 'loss', value: i * 5 + j, step: i * 5 + j })));
      await new Promise((r) => setTimeout(r, 2)); // spread the writes over the reader's loop
    }
    const code = await exited;
    clearTimeout(killer);
    expect(err).toBe('');
    expect(code).toBe(0);
    const report = JSON.parse(out.split('\n').filter(Boolean).pop() ?? '{}') as { reads: number; max: number; errors: string[] };
    expect(report.errors).toEqual([]);
    expect(report.reads).toBeGreaterThan(0);
    expect(report.max).toBeLessThanOrEqual(500);
    expect(reg.getRun(run)?.metrics).toHaveLength(500);
    reg.close();
  });
});
