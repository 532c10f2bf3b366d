/** Partitioned features builds (docs/store.md, "Partitioned builds"), as the bullmq executor drives
 * them: planFeaturePartitions → `features --buckets … --stage DIR` per partition → `features
 * --commit-stage PLAN.json`. The result equals a plain `features` full build value for value (every
 * column but the lineage one), after a first build and after appended days and a bucket emptied;
 * a replayed commit commits nothing; bad stages and stale plans commit nothing. */
import { appendFile, cp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { type FeaturePartitionPlan, planFeaturePartitions } from '../src/features/partitions.js';
import { currentSnapshot, liveFiles, listSnapshots, nextSnapshotId } from '../src/registry/catalog.js';
import { openRegistry } from '../src/registry/store.js';
import { bucketOf } from '../src/store/partition.js';
import { TableWrite } from '../src/store/write.js';
import { cliPool } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { sql } from './helpers/workspace.js';

const WINDOW = '5';
const SYMBOLS = Array.from({ length: 24 }, (_, i) => `S${i}`);
const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const day = (i: number): string => new Date(Date.UTC(2020, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);

/** Deterministic bar values of symbol k on day i (no randomness needed: the kernels see distinct values). */
function line(k: number, i: number): string {
  const p = 10 + k + ((i * 7919 + k * 104_729) % 997) / 37;
  return `${day(i)},${p},${p + 1},${p - 1},${p + 0.5},${(p * 0.9).toPrecision(15)},${1000 + ((i * 31 + k * 17) % 5000)}\n`;
}

async function writeSymbol(stocks: string, k: number, from: number, to: number): Promise<void> {
  let text = HEADER;
  for (let i = from; i < to; i++) text += line(k, i);
  await writeFile(join(stocks, `S${k}.csv`), text);
}

/** The CLI without blocking: the tests (each in its own folders), a plan's partitions and the reference build run side by side, three children at most. */
const cli = cliPool(3);

const ok = async (args: string[]): Promise<Record<string, any>> => {
  const res = await cli(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return res.json.data as Record<string, any>;
};

const failure = async (args: string[]): Promise<{ code: string }> => {
  const res = await cli(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).not.toBe(0);
  return res.json.error!;
};

const featureCols = `"Symbol", "Security Name", "Date", "Open", "High", "Low", "Close", "Adj Close", "Volume", "Asset", vol_moving_avg, adj_close_rolling_med`;
const view = (ws: string): string => `read_parquet('${ws}/tables/features/*/*.parquet', hive_partitioning = false)`;

/** Rows in one table and not the other, both ways (EXCEPT ALL), and both row counts. */
async function compare(a: string, b: string): Promise<{ diff: number; rows: [number, number] }> {
  const [r] = await sql(`SELECT (SELECT count(*) FROM (SELECT ${featureCols} FROM ${view(a)} EXCEPT ALL SELECT ${featureCols} FROM ${view(b)}))
    + (SELECT count(*) FROM (SELECT ${featureCols} FROM ${view(b)} EXCEPT ALL SELECT ${featureCols} FROM ${view(a)})) AS n,
    (SELECT count(*) FROM ${view(a)})::INT AS ra, (SELECT count(*) FROM ${view(b)})::INT AS rb`);
  return { diff: Number(r!.n), rows: [Number(r!.ra), Number(r!.rb)] };
}

/** A dir source of the first `n` SYMBOLS (60 to 100 days each) and a workspace with its prices ingested. */
async function setup(name: string, n = SYMBOLS.length): Promise<{ root: string; stocks: string; src: string; ws: string }> {
  const root = await tempDir(name);
  const src = join(root, 'src');
  const stocks = join(src, 'stocks');
  await mkdir(stocks, { recursive: true });
  for (let k = 0; k < n; k++) await writeSymbol(stocks, k, 0, 60 + ((k * 13) % 41));
  const ws = join(root, 'ws');
  await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
  await ok(['ingest', '--workspace', ws]);
  return { root, stocks, src, ws };
}

/** The workspace of every SYMBOLS, ingested once (beforeAll); tests that leave its source alone work in copies. */
let seed: { src: string; ws: string };
beforeAll(async () => {
  seed = await setup('fpart-seed');
}, 60_000);

/** A private copy of the seed workspace (its prices ingested from seed.src, no features yet). */
async function seeded(name: string): Promise<{ root: string; src: string; ws: string }> {
  const root = await tempDir(name);
  const ws = join(root, 'ws');
  await cp(seed.ws, ws, { recursive: true });
  return { root, src: seed.src, ws };
}

/** The reference for a workspace copied from the seed: another copy of it with a plain `features` (full build). */
async function plainFromSeed(dir: string, extended = false): Promise<Record<string, any>> {
  await cp(seed.ws, dir, { recursive: true });
  return await ok(['features', '--workspace', dir, '--window', WINDOW, ...(extended ? ['--extended'] : [])]);
}

/** A workspace built from scratch from `src` with a plain `features` (the reference). */
async function fullRebuild(src: string, ws: string): Promise<Record<string, any>> {
  await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
  await ok(['ingest', '--workspace', ws]);
  return await ok(['features', '--workspace', ws, '--window', WINDOW]);
}

function plan(ws: string, force = false): FeaturePartitionPlan {
  const w = new Workspace(ws);
  const reg = openRegistry(w);
  try {
    return planFeaturePartitions(w, reg, { window: Number(WINDOW), extended: false, force });
  } finally {
    reg.close();
  }
}

/** Runs the plan's changed buckets as `groups` partitions (round robin) into stage folders; returns the stage folders and their --json data. */
async function runPartitions(ws: string, p: FeaturePartitionPlan, stageRoot: string, groups = 3): Promise<{ stages: string[]; data: Record<string, any>[] }> {
  const parts = Array.from({ length: Math.min(groups, p.changed_buckets.length) }, (_, g) => p.changed_buckets.filter((_, i) => i % groups === g));
  const stages = parts.map((_, g) => join(stageRoot, `p${g}`));
  const data = await Promise.all(parts.map((buckets, g) =>
    ok(['features', '--workspace', ws, '--threads', '1', '--window', WINDOW, '--buckets', buckets.join(','), '--stage', stages[g]!, '--prices-snapshot', String(p.prices_snapshot), '--lineage', String(p.lineage_id)]),
  ));
  return { stages, data };
}

async function writePlan(path: string, key: string, p: FeaturePartitionPlan, stages: string[]): Promise<string> {
  await writeFile(path, JSON.stringify({ version: 1, commit_key: key, plan: p, stages }));
  return path;
}

function featureSnapshots(ws: string): ReturnType<typeof listSnapshots> {
  const reg = openRegistry(new Workspace(ws), { readonly: true });
  try {
    return listSnapshots(reg, 'features');
  } finally {
    reg.close();
  }
}

async function storeFiles(ws: string): Promise<string[]> {
  const dir = join(ws, 'store', 'features');
  const out: string[] = [];
  for (const b of await readdir(dir).catch(() => [] as string[])) for (const f of await readdir(join(dir, b))) out.push(`${b}/${f}`);
  return out;
}

/**
 * Every live file of the workspace's prices and features tables as its catalog record says (rows,
 * Symbol and Date ranges: what the writers measured while writing) and as DuckDB reads the file.
 */
async function catalogAndFiles(ws: string): Promise<{ recorded: unknown[]; read: unknown[] }> {
  const reg = openRegistry(new Workspace(ws), { readonly: true });
  let files;
  try {
    files = (['prices', 'features'] as const).flatMap((t) => {
      const snap = currentSnapshot(reg, t);
      return snap === null ? [] : liveFiles(reg, snap);
    });
  } finally {
    reg.close();
  }
  const recorded = files.map((f) => ({ path: f.path, rows: f.rows, symbol_min: f.symbol_min, symbol_max: f.symbol_max, date_min: f.date_min, date_max: f.date_max }));
  const read = await Promise.all(files.map(async (f) => {
    const [r] = await sql(`SELECT count(*)::INT AS rows, min("Symbol") AS symbol_min, max("Symbol") AS symbol_max, min("Date") AS date_min, max("Date") AS date_max FROM read_parquet('${join(ws, f.path)}')`);
    return { path: f.path, ...r };
  }));
  return { recorded, read };
}

// The tests run side by side and wait for the pool's children too: their timeouts only bound a hang.
describe('partitioned features builds', () => {
  it.concurrent('plan → 3 partitions → commit equals a plain full build, value for value', async () => {
    const { root, ws } = await seeded('fpart-full');
    const p = plan(ws);
    const buckets = [...new Set(SYMBOLS.map(bucketOf))].sort((a, b) => a - b);
    expect(p).toMatchObject({ cached: false, changed_buckets: buckets, kept_buckets: [], window: 5, extended: false });
    const { stages, data } = await runPartitions(ws, p, join(root, 'stage'));
    expect(stages.length).toBe(3);
    for (const d of data) {
      expect(d.lineage_id).toBe(p.lineage_id);
      expect(d.rows).toBe(d.files.reduce((a: number, f: { rows: number }) => a + f.rows, 0));
      expect(d.files.every((f: { name: string; bucket: number }) => d.buckets.includes(f.bucket) && f.name.startsWith(`bucket=${String(f.bucket).padStart(2, '0')}-`))).toBe(true);
    }
    // Nothing entered the catalog or the store.
    expect(featureSnapshots(ws)).toEqual([]);
    expect(await storeFiles(ws)).toEqual([]);
    const r = await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan.json'), 'run-1', p, stages)]);
    expect(r).toMatchObject({ mode: 'partitioned', partitions: 3, snapshot_id: p.lineage_id, prices_snapshot: p.prices_snapshot, cached: false });
    expect(r.rows).toBe(data.reduce((a, d) => a + d.rows, 0));
    expect(r.rows_with_features).toBe(data.reduce((a, d) => a + d.rows_with_features, 0));
    const [snap] = featureSnapshots(ws);
    expect(snap).toMatchObject({ id: p.lineage_id, operation: 'overwrite', source: { commit_key: 'run-1', prices_snapshot: p.prices_snapshot, window: 5 } });
    // Every row carries the commit's lineage id.
    const [lin] = await sql(`SELECT count(*) FILTER (WHERE _snapshot_id <> ${p.lineage_id})::INT AS n FROM ${view(ws)}`);
    expect(lin!.n).toBe(0);
    const full = join(root, 'full');
    const f = await plainFromSeed(full);
    expect(await compare(ws, full)).toEqual({ diff: 0, rows: [f.rows, f.rows] });
    expect(r.rows_with_features).toBe(f.rows_with_features);
    // Both catalogs record each file as it is (the writers measure their files instead of reading them back).
    for (const dir of [ws, full]) {
      const { recorded, read } = await catalogAndFiles(dir);
      expect(recorded.length).toBeGreaterThan(1);
      expect(recorded).toEqual(read);
    }
    // Both builds computed every symbol, and both reports say so (a plain full build said 0).
    expect(f).toMatchObject({ mode: 'full', symbols_changed: SYMBOLS.length, symbols: SYMBOLS.length });
    expect(r.symbols_changed).toBe(f.symbols_changed);
    // The next plan has nothing to do, and a plain `features` agrees.
    expect(plan(ws)).toMatchObject({ cached: true, changed_buckets: [], kept_buckets: buckets });
    expect((await ok(['features', '--workspace', ws, '--window', WINDOW])).cached).toBe(true);
  }, 240_000);

  it.concurrent('after appended days and an emptied bucket: only those buckets run, and the result equals a full rebuild', async () => {
    const { root, stocks, src, ws } = await setup('fpart-inc');
    const p0 = plan(ws);
    const first = await runPartitions(ws, p0, join(root, 'stage0'));
    await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan0.json'), 'run-0', p0, first.stages)]);
    // A new day for three symbols; every symbol of one other bucket removed.
    const appended = [2, 7, 11];
    for (const k of appended) await appendFile(join(stocks, `S${k}.csv`), line(k, 200));
    const gone = SYMBOLS.map(bucketOf).find((b) => !appended.some((k) => bucketOf(`S${k}`) === b))!;
    const removed = SYMBOLS.filter((s) => bucketOf(s) === gone);
    for (const s of removed) await rm(join(stocks, `${s}.csv`));
    await ok(['fetch', '--source', `dir:${src}`, '--workspace', ws]);
    expect((await ok(['ingest', '--workspace', ws])).mode).toBe('incremental');
    const p = plan(ws);
    const want = [...new Set([...appended.map((k) => bucketOf(`S${k}`)), gone])].sort((a, b) => a - b);
    expect(p.cached).toBe(false);
    expect(p.changed_buckets).toEqual(want);
    expect(p.kept_buckets).toEqual([...new Set(SYMBOLS.map(bucketOf))].filter((b) => !want.includes(b)).sort((a, b) => a - b));
    const keptBefore = await storeFiles(ws);
    const { stages, data } = await runPartitions(ws, p, join(root, 'stage1'));
    // The emptied bucket's partition has no files.
    expect(data.flatMap((d) => d.files).some((f: { bucket: number }) => f.bucket === gone)).toBe(false);
    const r = await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan1.json'), 'run-1', p, stages)]);
    expect(r).toMatchObject({ mode: 'partitioned', partitions: stages.length, snapshot_id: p.lineage_id });
    const [snap] = featureSnapshots(ws);
    expect(snap!.operation).toBe('restate');
    // The kept buckets' files are the ones they had; the changed buckets' are new (none for the emptied one).
    const w = new Workspace(ws);
    const reg = openRegistry(w, { readonly: true });
    const live = liveFiles(reg, snap!);
    reg.close();
    const part = (b: number): string => `bucket=${String(b).padStart(2, '0')}`;
    for (const f of live) {
      const b = Number(f.partition.slice(7));
      if (p.kept_buckets.includes(b)) expect(keptBefore).toContain(f.path.replace(/^store\/features\//, ''));
      else expect(f.path).toContain(`/s${String(p.lineage_id).padStart(6, '0')}-`);
    }
    expect(live.some((f) => f.partition === part(gone))).toBe(false);
    const full = join(root, 'full');
    const f = await fullRebuild(src, full);
    expect(await compare(ws, full)).toEqual({ diff: 0, rows: [f.rows, f.rows] });
    expect(r.rows).toBe(f.rows);
    expect(plan(ws).cached).toBe(true);
  }, 240_000);

  it.concurrent('--extended partitions (one run into a stage used before) equal a plain `features --extended`, every column', async () => {
    const { root, ws } = await seeded('fpart-ext');
    const w = new Workspace(ws);
    const reg = openRegistry(w);
    const p = planFeaturePartitions(w, reg, { window: Number(WINDOW), extended: true, force: false });
    reg.close();
    const stage = join(root, 'stage');
    const run = (buckets: number[], dir: string): Promise<Record<string, any>> =>
      ok(['features', '--workspace', ws, '--extended', '--window', WINDOW, '--buckets', buckets.join(','), '--stage', dir, '--prices-snapshot', String(p.prices_snapshot), '--lineage', String(p.lineage_id)]);
    // The first stage is used for other buckets first: a run clears what an earlier one left.
    await run([p.changed_buckets[1]!], join(stage, 'a'));
    const half = Math.ceil(p.changed_buckets.length / 2);
    const [a, b] = await Promise.all([run(p.changed_buckets.slice(0, half), join(stage, 'a')), run(p.changed_buckets.slice(half), join(stage, 'b'))]);
    expect((await readdir(join(stage, 'a'))).length).toBe(a.files.length + 1);
    expect(a.extended && b.extended).toBe(true);
    await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan.json'), 'x', p, [join(stage, 'a'), join(stage, 'b')])]);
    const full = join(root, 'full');
    await plainFromSeed(full, true);
    const all = (x: string): string => `SELECT * EXCLUDE (_snapshot_id) FROM ${view(x)}`;
    const [r] = await sql(`SELECT (SELECT count(*) FROM (${all(ws)} EXCEPT ALL ${all(full)})) + (SELECT count(*) FROM (${all(full)} EXCEPT ALL ${all(ws)})) AS n,
      (SELECT count(*) FROM (${all(ws)}))::INT AS ra, (SELECT count(*) FROM (${all(full)}))::INT AS rb`);
    expect([Number(r!.n), r!.ra]).toEqual([0, r!.rb]);
    const [cols] = await sql(`SELECT count(*)::INT AS n FROM (DESCRIBE ${all(ws)})`);
    expect(cols!.n).toBeGreaterThan(12);
  }, 240_000);

  it.concurrent('a replayed commit (same commit_key) commits nothing and returns the same report', async () => {
    const { root, ws } = await seeded('fpart-replay');
    const p = plan(ws);
    const { stages } = await runPartitions(ws, p, join(root, 'stage'), 2);
    const planFile = await writePlan(join(root, 'plan.json'), 'key-A', p, stages);
    const a = await ok(['features', '--workspace', ws, '--commit-stage', planFile]);
    // The stages were moved into the store: a replay must not need them.
    await rm(join(root, 'stage'), { recursive: true });
    const b = await ok(['features', '--workspace', ws, '--commit-stage', planFile]);
    expect(featureSnapshots(ws).length).toBe(1);
    expect({ ...b, seconds: 0, cached: false }).toEqual({ ...a, seconds: 0 });
    expect(b.cached).toBe(true);
    // A crash between the commit and the report: the replay writes the report from the catalog.
    await rm(join(ws, 'tables', 'features.report.json'));
    const c = await ok(['features', '--workspace', ws, '--commit-stage', planFile]);
    expect(featureSnapshots(ws).length).toBe(1);
    expect({ ...c, seconds: 0 }).toEqual({ ...a, seconds: 0, cached: true });
  }, 240_000);

  it.concurrent('a missing manifest or stages that do not cover the plan exactly: SP_ERR_FEATURES_STAGE, nothing committed, no file in the store', async () => {
    const { root, ws } = await seeded('fpart-bad');
    const p = plan(ws);
    const { stages } = await runPartitions(ws, p, join(root, 'stage'));
    const check = async (name: string, body: { plan?: FeaturePartitionPlan; stages: string[] }, code = 'SP_ERR_FEATURES_STAGE'): Promise<void> => {
      const planFile = await writePlan(join(root, `${name}.json`), name, body.plan ?? p, body.stages);
      expect((await failure(['features', '--workspace', ws, '--commit-stage', planFile])).code, name).toBe(code);
      expect(featureSnapshots(ws), name).toEqual([]);
      expect(await storeFiles(ws), name).toEqual([]);
    };
    await check('one-missing', { stages: stages.slice(1) });
    await check('twice', { stages: [...stages, stages[0]!] });
    await check('extra-bucket', { plan: { ...p, changed_buckets: p.changed_buckets.slice(1) }, stages });
    await check('other-window', { plan: { ...p, window: 6 }, stages });
    await rm(join(stages[1]!, '_manifest.json'));
    await check('no-manifest', { stages });
    // The stages that were complete are still whole (nothing was moved).
    for (const s of [stages[0]!, stages[2]!]) expect((await readdir(s)).includes('_manifest.json')).toBe(true);
    // A bad plan file.
    await writeFile(join(root, 'garbage.json'), '{"version": 1');
    expect((await failure(['features', '--workspace', ws, '--commit-stage', join(root, 'garbage.json')])).code).toBe('SP_ERR_FEATURES_STAGE');
  }, 240_000);

  it.concurrent('a plan overtaken by another snapshot: SP_ERR_STORE_CONFLICT and nothing of the stages in the store', async () => {
    const { root, ws } = await seeded('fpart-stale');
    const p = plan(ws);
    const { stages } = await runPartitions(ws, p, join(root, 'stage'), 2);
    const plain = await ok(['features', '--workspace', ws, '--window', WINDOW]); // takes the plan's lineage id
    const before = await storeFiles(ws);
    expect((await failure(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan.json'), 'late', p, stages)])).code).toBe('SP_ERR_STORE_CONFLICT');
    expect(featureSnapshots(ws).map((s) => s.id)).toEqual([plain.snapshot_id]);
    expect(await storeFiles(ws)).toEqual(before);
  }, 240_000);

  it.concurrent('a prices snapshot that changed no bucket: an empty commit records it, and the next plan is cached', async () => {
    const { root, ws } = await seeded('fpart-empty');
    const p0 = plan(ws);
    const first = await runPartitions(ws, p0, join(root, 'stage0'), 1);
    await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan0.json'), 'run-0', p0, first.stages)]);
    // A prices snapshot that adds and removes no file (as a commit of nothing new would).
    const w = new Workspace(ws);
    const reg = openRegistry(w);
    const tw = TableWrite.begin(w, reg, 'prices');
    await tw.commit(reg, { operation: 'append', source: {} });
    const pricesNow = nextSnapshotId(reg) - 1;
    reg.close();
    const p = plan(ws);
    expect(p).toMatchObject({ cached: false, changed_buckets: [], prices_snapshot: pricesNow });
    const r = await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan1.json'), 'run-1', p, [])]);
    expect(r).toMatchObject({ mode: 'partitioned', partitions: 0, prices_snapshot: pricesNow, rows_computed: 0 });
    const snaps = featureSnapshots(ws);
    expect(snaps.length).toBe(2);
    expect(snaps[0]!.files).toBe(snaps[1]!.files);
    expect(plan(ws).cached).toBe(true);
  }, 240_000);

  it.concurrent('a kept bucket\'s features file deleted by hand: the plan and the commit stop with SP_ERR_FEATURES_MISSING, nothing committed', async () => {
    const { root, ws } = await seeded('fpart-lost');
    const p0 = plan(ws);
    const first = await runPartitions(ws, p0, join(root, 'stage0'), 1);
    await ok(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan0.json'), 'run-0', p0, first.stages)]);
    // A prices snapshot with one bucket's file replaced (its rows as they were): that bucket changes, the others are kept.
    const w = new Workspace(ws);
    const reg = openRegistry(w);
    const pw = TableWrite.begin(w, reg, 'prices');
    const moved = pw.live[0]!;
    const copy = join(root, 'copy.parquet');
    await cp(w.path(moved.path), copy);
    await pw.addMoved(copy, Number(moved.partition.slice(7)), { rows: moved.rows, bytes: moved.bytes, symbol_min: moved.symbol_min, symbol_max: moved.symbol_max, date_min: moved.date_min, date_max: moved.date_max });
    pw.removed.push(moved);
    await pw.commit(reg, { operation: 'restate', source: {} });
    reg.close();
    const p = plan(ws);
    expect(p.changed_buckets).toEqual([Number(moved.partition.slice(7))]);
    const { stages } = await runPartitions(ws, p, join(root, 'stage1'), 1);
    // A features file of a kept bucket deleted by hand.
    const before = await storeFiles(ws);
    const lost = before.find((f) => !f.startsWith(moved.partition))!;
    await rm(join(ws, 'store', 'features', lost));
    expect((await failure(['features', '--workspace', ws, '--commit-stage', await writePlan(join(root, 'plan1.json'), 'run-1', p, stages)])).code).toBe('SP_ERR_FEATURES_MISSING');
    // The runner's plan stops before any partition job runs.
    const code = (() => {
      try {
        plan(ws);
        return 'none';
      } catch (err) {
        return (err as { code?: string }).code;
      }
    })();
    expect(code).toBe('SP_ERR_FEATURES_MISSING');
    expect(featureSnapshots(ws).length).toBe(1);
    expect(await storeFiles(ws)).toEqual(before.filter((f) => f !== lost));
    expect((await readdir(stages[0]!)).includes('_manifest.json')).toBe(true);
  }, 240_000);

  it.concurrent('--buckets of buckets without prices rows stages no file; bad --buckets and missing partition flags are usage errors', async () => {
    const { root, ws } = await setup('fpart-usage', 4);
    const p = plan(ws);
    const empty = Array.from({ length: 16 }, (_, b) => b).filter((b) => !SYMBOLS.slice(0, 4).some((s) => bucketOf(s) === b));
    expect(empty.length).toBeGreaterThan(0);
    const d = await ok(['features', '--workspace', ws, '--buckets', empty.join(','), '--stage', join(root, 'e'), '--prices-snapshot', String(p.prices_snapshot), '--lineage', String(p.lineage_id)]);
    expect(d).toMatchObject({ files: [], rows: 0, rows_with_features: 0, buckets: empty });
    expect(await readdir(join(root, 'e'))).toEqual(['_manifest.json']);
    const base = ['features', '--workspace', ws, '--stage', join(root, 'x'), '--prices-snapshot', String(p.prices_snapshot), '--lineage', String(p.lineage_id)];
    expect((await failure([...base, '--buckets', '16'])).code).toBe('SP_ERR_USAGE');
    expect((await failure([...base, '--buckets', '1,1'])).code).toBe('SP_ERR_USAGE');
    expect((await failure(['features', '--workspace', ws, '--buckets', '1', '--stage', join(root, 'x')])).code).toBe('SP_ERR_USAGE');
    expect((await failure([...base, '--buckets', '1', '--force'])).code).toBe('SP_ERR_USAGE');
    expect((await failure(['features', '--workspace', ws, '--buckets', '1', '--stage', join(root, 'x'), '--prices-snapshot', '999', '--lineage', '2'])).code).toBe('SP_ERR_SNAPSHOT_NOT_FOUND');
  }, 240_000);
});
