/** Vacuum never removes a file a kept snapshot or a model lineage needs: planVacuum on random
 * histories against a naive twin (many seeds), then real vacuums of random snapshot sequences with
 * random keep settings, after which every kept snapshot still reads its full row count. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, utimes, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchName } from '../core/fs.js';
import { createRng, type Rng } from '../core/rng.js';
import { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows } from '../db/duckdb.js';
import { allFiles, currentSnapshot, type DataFileRecord, listSnapshots, type SnapshotRecord, type StoreTable } from '../registry/catalog.js';
import { openRegistry } from '../registry/store.js';
import { commitQuery, featureRowsQuery, priceRowsQuery } from '../../test/helpers/store.js';
import { tempDir } from '../../test/helpers/temp.js';
import { readTable, sourceOf } from './read.js';
import { planVacuum, vacuumStore } from './vacuum.js';

/** A random history: snapshots alternating tables at random, each removing some live files and adding some. */
function history(rng: Rng): { snaps: SnapshotRecord[]; files: DataFileRecord[] } {
  const snaps: SnapshotRecord[] = [];
  const files: DataFileRecord[] = [];
  const n = 1 + rng.int(14);
  let fileId = 0;
  for (let id = 1; id <= n; id++) {
    const table: StoreTable = rng.int(2) === 0 ? 'prices' : 'features';
    const parent = snaps.filter((s) => s.table === table).at(-1)?.id ?? null;
    for (const f of files) if (f.table === table && f.removed_snapshot === null && rng.int(3) === 0) f.removed_snapshot = id;
    for (let k = 1 + rng.int(3); k > 0; k--) {
      files.push({ file_id: ++fileId, table, path: `store/${table}/bucket=00/f${fileId}.parquet`, partition: 'bucket=00', rows: 1, bytes: 1, symbol_min: null, symbol_max: null, date_min: null, date_max: null, added_snapshot: id, removed_snapshot: null, deleted_at: null });
    }
    const day = String(1 + id).padStart(2, '0');
    snaps.push({ id, table, parent_id: parent, created_at: `2026-01-${day}T00:00:00.000Z`, operation: rng.int(4) === 0 ? 'compact' : 'append', rows: 1, files: 1, source: null, summary: null });
  }
  return { snaps, files };
}

const liveIn = (f: DataFileRecord, s: SnapshotRecord): boolean => f.table === s.table && f.added_snapshot <= s.id && (f.removed_snapshot === null || f.removed_snapshot > s.id);

describe('planVacuum', () => {
  it('keeps every file a kept snapshot lists and removes exactly the others, over 500 random histories', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rng = createRng(seed);
      const { snaps, files } = history(rng);
      const lineage = new Set(snaps.filter(() => rng.int(5) === 0).map((s) => s.id));
      const byTime = rng.int(2) === 0;
      const keep = byTime ? { olderThan: new Date(`2026-01-${String(1 + rng.int(16)).padStart(2, '0')}T12:00:00.000Z`) } : { snapshots: 1 + rng.int(4) };
      const plan = planVacuum(snaps, files, lineage, keep);
      // The naive twin: the kept set from the rule's words (the newest N snapshots, compaction
      // snapshots not counted, and those among them).
      const kept = new Set<number>();
      for (const t of ['prices', 'features'] as const) {
        const own = snaps.filter((s) => s.table === t).sort((a, b) => b.id - a.id);
        own.forEach((s, i) => {
          const newerData = own.slice(0, i).filter((x) => x.operation !== 'compact').length;
          if (i === 0 || lineage.has(s.id) || ('olderThan' in keep ? new Date(s.created_at) >= keep.olderThan! : newerData < keep.snapshots!)) kept.add(s.id);
        });
      }
      expect(plan.kept, `seed ${seed}`).toEqual([...kept].sort((a, b) => a - b));
      const removed = new Set(plan.remove.map((f) => f.file_id));
      for (const f of files) {
        const needed = snaps.some((s) => kept.has(s.id) && liveIn(f, s));
        expect(removed.has(f.file_id), `seed ${seed} file ${f.file_id}`).toBe(!needed);
      }
    }
  });
});

describe('planVacuum after an earlier vacuum', () => {
  it('never lists a snapshot the earlier vacuum dropped as kept (it is no longer readable), over 500 random histories', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const rng = createRng(seed);
      const { snaps, files } = history(rng);
      const first = planVacuum(snaps, files, new Set(), { snapshots: 1 });
      for (const f of first.remove) f.deleted_at = '2026-02-01T00:00:00.000Z';
      const dropped = new Set(snaps.filter((s) => files.some((f) => f.deleted_at !== null && liveIn(f, s))).map((s) => s.id));
      // --older-than with a day before every snapshot: all of them by time, but the dropped ones cannot be kept.
      const plan = planVacuum(snaps, files, new Set(), { olderThan: new Date('2025-12-01T00:00:00.000Z') });
      expect(plan.kept, `seed ${seed}`).toEqual(snaps.map((s) => s.id).filter((id) => !dropped.has(id)));
      expect(plan.remove.filter((f) => f.deleted_at !== null), `seed ${seed}`).toEqual([]);
    }
  });
});

describe('vacuumStore', () => {
  it('after random snapshot sequences and random keep settings, every kept and lineage snapshot still reads in full', async () => {
    const symbols = ['AA', 'BB', 'CC', 'DD', 'EE'];
    for (let seed = 1; seed <= 4; seed++) {
      const rng = createRng(seed * 7919);
      const dir = await tempDir('vacuum');
      const ws = new Workspace(dir);
      await commitQuery(dir, 'prices', priceRowsQuery(symbols, 30), { split: 2 });
      await commitQuery(dir, 'features', featureRowsQuery(symbols, 30), { split: 2 });
      for (let k = rng.int(4); k >= 0; k--) {
        const table: StoreTable = rng.int(2) === 0 ? 'prices' : 'features';
        const sym = symbols[rng.int(symbols.length)]!;
        const q = table === 'prices' ? priceRowsQuery(symbols, 30, k + 1) : featureRowsQuery(symbols, 30, k + 1);
        await commitQuery(dir, table, q, rng.int(2) === 0 ? { restate: new Map([[sym, '2018-01-10']]) } : { split: 1 + rng.int(2) });
      }
      // A model's lineage names a random snapshot.
      await mkdir(join(dir, 'models', 'm'), { recursive: true });
      await writeFile(join(dir, 'models', 'm', 'model.json'), '{}');
      const reg = openRegistry(ws);
      const all = listSnapshots(reg);
      const model = all[rng.int(all.length)]!;
      const runId = reg.startRun({ kind: 'train', name: 'train', seed: 1 });
      reg.logParams(runId, { 'data.features_snapshot': model.id, 'data.prices_snapshot': null });
      reg.registerModel({ model_id: `m-${seed}`, kind: 'naive', path: join(dir, 'models', 'm'), metrics: {}, test_slice: null, run_id: runId });
      reg.endRun(runId, 'finished');
      reg.close();
      // An old orphan (a crashed write) and a fresh one (a write in progress).
      await mkdir(join(ws.storeTableDir('prices'), 'bucket=03'), { recursive: true });
      const oldOrphan = join(ws.storeTableDir('prices'), 'bucket=03', 'crashed.parquet');
      const newOrphan = join(ws.storeTableDir('prices'), 'bucket=03', 'writing.parquet');
      await writeFile(oldOrphan, 'x');
      await writeFile(newOrphan, 'y');
      const now = new Date();
      await utimes(oldOrphan, new Date(now.getTime() - 2 * 3600_000), new Date(now.getTime() - 2 * 3600_000));
      const keep = rng.int(2) === 0 ? { keepSnapshots: 1 + rng.int(3) } : { olderThanDays: 0 };
      const out = await vacuumStore(ws, { ...keep, dryRun: false, now: () => now });
      expect(out.kept_snapshots).toContain(model.id);
      expect(out.orphans.paths).toEqual([ws.relative(oldOrphan)]);
      const reg2 = openRegistry(ws, { readonly: true });
      const db = await openDuckDB(ws.duckdbSettings());
      try {
        const snaps = listSnapshots(reg2);
        for (const id of out.kept_snapshots) {
          const s = snaps.find((x) => x.id === id)!;
          const t = readTable(ws, s.table, String(id));
          expect(t.snapshot.id).toBe(id);
          const [r] = await queryRows(db.connection, `SELECT count(*)::BIGINT AS n FROM ${sourceOf(t)}`);
          expect(Number(r!.n), `seed ${seed} snapshot ${id}`).toBe(s.rows);
        }
        // Removed files are marked deleted, and none of them is listed by a kept snapshot.
        const gone = allFiles(reg2).filter((f) => f.deleted_at !== null);
        expect(gone.length).toBe(out.removed.files);
        for (const f of gone) for (const id of out.kept_snapshots) expect(liveIn(f, snaps.find((x) => x.id === id)!)).toBe(false);
      } finally {
        db.close();
        reg2.close();
      }
    }
  });

  it('keeps the snapshots its dry run lists (the compaction snapshot it writes takes none of the N places) and carries the table figures over', async () => {
    const dir = await tempDir('vacuum-compact');
    const ws = new Workspace(dir);
    // Enough symbols that buckets hold several, split in two small files each: compaction merges them.
    const many = Array.from({ length: 60 }, (_, i) => `S${String(i).padStart(2, '0')}`);
    for (let k = 0; k <= 2; k++) await commitQuery(dir, 'prices', priceRowsQuery(many, 10, k), { split: 2 });
    const reg = openRegistry(ws);
    const head = currentSnapshot(reg, 'prices')!;
    reg.run('t', 'UPDATE table_snapshots SET summary = ? WHERE snapshot_id = ?', [JSON.stringify({ symbols: 2, symbols_without_metadata: 0, date_min: '2018-01-01', date_max: '2018-01-10', mode: 'incremental' }), head.id]);
    reg.close();
    const dry = await vacuumStore(ws, { keepSnapshots: 1, dryRun: true, now: () => new Date() });
    expect(dry.compacted.map((c) => c.table)).toEqual(['prices']);
    const real = await vacuumStore(ws, { keepSnapshots: 1, dryRun: false, now: () => new Date() });
    const compact = real.compacted[0]!.snapshot_id!;
    expect(real.kept_snapshots).toEqual([...dry.kept_snapshots, compact]);
    const reg2 = openRegistry(ws, { readonly: true });
    try {
      expect(currentSnapshot(reg2, 'prices')!.summary).toMatchObject({ symbols: 2, symbols_without_metadata: 0, date_min: '2018-01-01', date_max: '2018-01-10' });
      expect(currentSnapshot(reg2, 'prices')!.summary).not.toHaveProperty('mode');
    } finally {
      reg2.close();
    }
    expect(readTable(ws, 'prices', String(head.id)).snapshot.id).toBe(head.id);
  });

  it('a dry run changes nothing; --keep-snapshots and --older-than together are a usage error', async () => {
    const dir = await tempDir('vacuum-dry');
    const ws = new Workspace(dir);
    await commitQuery(dir, 'prices', priceRowsQuery(['AA', 'BB'], 10), { split: 2 });
    await commitQuery(dir, 'prices', priceRowsQuery(['AA', 'BB'], 10, 1));
    const reg0 = openRegistry(ws, { readonly: true });
    const before = listSnapshots(reg0);
    reg0.close();
    const out = await vacuumStore(ws, { keepSnapshots: 1, dryRun: true, now: () => new Date() });
    expect(out.removed.files).toBeGreaterThan(0);
    const reg = openRegistry(ws, { readonly: true });
    expect(listSnapshots(reg)).toEqual(before);
    expect(allFiles(reg).every((f) => f.deleted_at === null)).toBe(true);
    reg.close();
    await expect(vacuumStore(ws, { keepSnapshots: 1, olderThanDays: 3, dryRun: true, now: () => new Date() })).rejects.toMatchObject({ code: 'SP_ERR_USAGE' });
  });

  it("a catalog whose current snapshot lists a file the disk lacks (stockpipe.db copied from another workspace) fails naming it, and deletes none of the workspace's own files as orphans", async () => {
    const other = await tempDir('vacuum-other');
    await commitQuery(other, 'prices', priceRowsQuery(['AA', 'BB'], 10));
    const dir = await tempDir('vacuum-copied');
    const ws = new Workspace(dir);
    await commitQuery(dir, 'prices', priceRowsQuery(['CC', 'DD'], 10));
    const own = readTable(ws, 'prices').paths;
    const lost = readTable(new Workspace(other), 'prices').paths[0]!.replace(other, dir);
    await cp(join(other, 'stockpipe.db'), join(dir, 'stockpipe.db'));
    const old = new Date(Date.now() - 3 * 3_600_000);
    for (const p of own) await utimes(p, old, old);
    for (const dryRun of [true, false]) {
      await expect(vacuumStore(ws, { dryRun, now: () => new Date() })).rejects.toMatchObject({ code: 'SP_ERR_PRICES_MISSING', message: expect.stringContaining(`its data file ${lost} is missing`), hint: expect.stringContaining('stockpipe ingest --force') });
    }
    for (const p of own) expect(existsSync(p), p).toBe(true);
  });

  it('removes the stage folders of finished or unknown runs untouched for an hour, and keeps the others', async () => {
    const dir = await tempDir('vacuum-stages');
    const ws = new Workspace(dir);
    await commitQuery(dir, 'prices', priceRowsQuery(['AA'], 5));
    const reg = openRegistry(ws);
    const finished = reg.startRun({ kind: 'pipeline', name: 'train' });
    reg.endRun(finished, 'finished');
    const failed = reg.startRun({ kind: 'pipeline', name: 'train' });
    reg.endRun(failed, 'failed', 'boom');
    const running = reg.startRun({ kind: 'pipeline', name: 'train' });
    const fresh = reg.startRun({ kind: 'pipeline', name: 'train' });
    reg.endRun(fresh, 'finished');
    reg.close();
    const old = new Date(Date.now() - 2 * 3_600_000);
    const stage = async (run: string, when: Date | null): Promise<void> => {
      const d = ws.stageDir(run, 'features');
      await mkdir(join(d, 'b00-x'), { recursive: true });
      await writeFile(join(d, 'b00-x', 'part.parquet'), 'x'.repeat(100));
      if (when !== null) for (const p of [join(d, 'b00-x', 'part.parquet'), join(d, 'b00-x'), d, join(d, '..')]) await utimes(p, when, when);
    };
    await stage(finished, old);
    await stage(failed, old);
    await stage(running, old);
    await stage('not-a-run', old);
    await stage(fresh, null); // a late write a minute ago: kept until it is an hour old
    const dry = await vacuumStore(ws, { dryRun: true, now: () => new Date() });
    const expected = [`tmp/stage/${finished}`, 'tmp/stage/not-a-run'].sort();
    expect(dry.stages).toEqual({ folders: 2, bytes: 200, paths: expected });
    expect(existsSync(ws.stageDir(finished, 'features'))).toBe(true);
    const out = await vacuumStore(ws, { dryRun: false, now: () => new Date() });
    expect(out.stages.paths).toEqual(expected);
    for (const [run, kept] of [[finished, false], ['not-a-run', false], [failed, true], [running, true], [fresh, true]] as const) expect(existsSync(ws.stageDir(run, 'features')), run).toBe(kept);
  });

  it('deletes the tmp/ scratch a killed command left (features --as-of, incremental deltas) once untouched for an hour; a live or recent one, and other tmp/ files, stay', async () => {
    const dir = await tempDir('vacuum-scratch');
    const ws = new Workspace(dir);
    await commitQuery(dir, 'prices', priceRowsQuery(['AA'], 40));
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const old = new Date(Date.now() - 2 * 3_600_000);
    const put = async (name: string, when: Date | null, folder = false): Promise<void> => {
      const p = join(ws.tmpDir, name);
      if (folder) {
        await mkdir(p, { recursive: true });
        await writeFile(join(p, 'bucket=00-000.parquet'), 'x'.repeat(50));
        if (when !== null) await utimes(join(p, 'bucket=00-000.parquet'), when, when);
      } else {
        await mkdir(ws.tmpDir, { recursive: true });
        await writeFile(p, 'x'.repeat(50));
      }
      if (when !== null) await utimes(p, when, when);
    };
    await put(`features-as-of-${dead}`, old, true);
    await put(`features-delta-${dead}-7.parquet`, old);
    await put(`ingest-delta-${dead}-7.parquet`, old);
    await put(`ingest-changes-${dead}-7.parquet`, old);
    await put(`features-as-of-${process.pid}`, old, true); // this process: alive
    await put(`ingest-delta-${dead}-8.parquet`, null); // a minute old: perhaps another machine's live command
    await put('features-tails.parquet', old);
    await put('notes-123.txt', old);
    // The exports' scratch (export forecasts, export predictions, a dashboard download) and its own temp, killed with kill -9: named with the pid (scratchName).
    const exported = scratchName('export', 'ndjson').replace(`-${process.pid}-`, `-${dead}-`);
    const predicted = scratchName('predictions', 'csv').replace(`-${process.pid}-`, `-${dead}-`);
    await put(exported, old);
    await put(`.${exported}.tmp-${dead}-abc`, old);
    await put(predicted, old);
    const mine = scratchName('export', 'csv');
    await put(mine, old); // this process's download: alive
    await mkdir(ws.duckdbTempDir, { recursive: true });
    const rows = join(ws.duckdbTempDir, scratchName('forecast-rows', 'parquet').replace(`-${process.pid}-`, `-${dead}-`));
    await writeFile(rows, 'x'.repeat(50));
    await utimes(rows, old, old);
    const gone = [`.${exported}.tmp-${dead}-abc`, exported, `features-as-of-${dead}`, `features-delta-${dead}-7.parquet`, `ingest-changes-${dead}-7.parquet`, `ingest-delta-${dead}-7.parquet`, predicted].map((n) => `tmp/${n}`);
    gone.push(ws.relative(rows));
    const dry = await vacuumStore(ws, { dryRun: true, now: () => new Date() });
    expect(dry.orphans).toEqual({ files: 8, bytes: 400, paths: gone });
    expect(existsSync(ws.path(gone[0]!))).toBe(true);
    const out = await vacuumStore(ws, { dryRun: false, now: () => new Date() });
    expect(out.orphans.paths).toEqual(gone);
    for (const p of gone) expect(existsSync(ws.path(p)), p).toBe(false);
    for (const n of [`features-as-of-${process.pid}`, `ingest-delta-${dead}-8.parquet`, 'features-tails.parquet', 'notes-123.txt', mine]) expect(existsSync(join(ws.tmpDir, n)), n).toBe(true);
  });
});
