/** Partitioned ingest (docs/scale-out.md), as the bullmq executor drives it, through the CLI without
 * Redis: planIngestPartitions → `ingest --plan … --buckets … --stage DIR` per partition → `ingest
 * --commit-stage COMMIT.json`. The report equals a plain `ingest`'s (every field but the output
 * folder and the time) and the prices table equals it row for row (lineage column included), for a
 * first (full) ingest, then after a grown file, a restated one, a removed one and a new symbol, then
 * after a touched but unchanged file; only the changed buckets are planned; a replayed commit
 * commits nothing; bad or stale stages commit nothing. */
import { appendFile, mkdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { type IngestPartitionPlan, planIngestPartitions } from '../src/etl/ingest-partitions.js';
import { listSnapshots } from '../src/registry/catalog.js';
import { openRegistry } from '../src/registry/store.js';
import { bucketOf } from '../src/store/partition.js';
import { runCliAsync } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { sql } from './helpers/workspace.js';

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const day = (i: number): string => new Date(Date.UTC(2020, 0, 6) + i * 86_400_000).toISOString().slice(0, 10);
function line(k: number, i: number): string {
  const p = 10 + k + ((i * 7919 + k * 104_729) % 997) / 37;
  return `${day(i)},${p},${p + 1},${p - 1},${p + 0.5},${(p * 0.9).toPrecision(15)},${1000 + ((i * 31 + k * 17) % 5000)}\n`;
}
const N = 24;

async function writeSymbol(stocks: string, k: number, to: number): Promise<void> {
  let text = HEADER;
  for (let i = 0; i < to; i++) text += line(k, i);
  if (k === 3) text += `${day(5)},1,2,0.5,1.5,1.4,100\nnot,a,row\n${day(to)},,,,,,\n`; // a duplicate, a malformed line, an empty row
  await writeFile(join(stocks, `S${k}.csv`), k === 5 ? HEADER : text);
}

/** Runs the CLI without blocking: independent commands (a plan's partitions, the two workspaces, the two tests) run side by side. */
const ok = async (args: string[]): Promise<Record<string, any>> => {
  const res = await runCliAsync(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return res.json.data as Record<string, any>;
};
const failure = async (args: string[]): Promise<string> => {
  const res = await runCliAsync(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).not.toBe(0);
  return String(res.json.error!.code);
};

async function plan(ws: string, strict = false): Promise<IngestPartitionPlan> {
  const w = new Workspace(ws);
  const reg = openRegistry(w);
  try {
    return (await planIngestPartitions(w, reg, { strict })).plan;
  } finally {
    reg.close();
  }
}

/** The plan's buckets as `groups` partitions (round robin), then the commit; returns the commit's report, the commit file and the partitions' data. */
async function partitioned(ws: string, p: IngestPartitionPlan, dir: string, key: string, groups = 3): Promise<{ report: Record<string, any>; commit: string; parts: Record<string, any>[] }> {
  await mkdir(dir, { recursive: true });
  const planFile = join(dir, 'plan.json');
  await writeFile(planFile, JSON.stringify(p));
  const sets = Array.from({ length: Math.min(groups, p.changed_buckets.length) }, (_, g) => p.changed_buckets.filter((_, i) => i % groups === g));
  const stages = sets.map((_, g) => join(dir, `p${g}`));
  const parts = await Promise.all(sets.map((b, g) => ok(['ingest', '-w', ws, '--threads', '1', '--plan', planFile, '--buckets', b.join(','), '--stage', stages[g]!])));
  const commit = join(dir, 'commit.json');
  await writeFile(commit, JSON.stringify({ version: 1, commit_key: key, plan: p, stages }));
  return { report: await ok(['ingest', '-w', ws, '--commit-stage', commit]), commit, parts };
}

const snapshots = (ws: string): number[] => {
  const reg = openRegistry(new Workspace(ws), { readonly: true });
  try {
    return listSnapshots(reg, 'prices').map((s) => s.id);
  } finally {
    reg.close();
  }
};

/** Rows of one prices table and not the other, both ways, every column (lineage too), and the row count. */
async function diff(a: string, b: string): Promise<{ only: number; rows: number }> {
  const t = (ws: string): string => `(SELECT * FROM read_parquet('${ws}/tables/prices/*/*.parquet', hive_partitioning = false))`;
  const [r] = await sql(`SELECT (SELECT count(*) FROM (${t(a)} EXCEPT ALL ${t(b)})) + (SELECT count(*) FROM (${t(b)} EXCEPT ALL ${t(a)})) AS n, (SELECT count(*) FROM ${t(a)})::INT AS rows`);
  return { only: Number(r!.n), rows: r!.rows as number };
}

/** A partitioned ingest does not prepare the features (docs/store.md), a local full one does: compared apart. */
const masked = (r: Record<string, any>): Record<string, any> => ({ ...r, output: '', seconds: 0, features_prepared: false });

describe('partitioned ingest', () => {
  // The two tests use their own folders: side by side.
  it.concurrent('full, then incremental (grown, restated, removed, new), then touched-unchanged: the report and the table equal a plain ingest; replays commit nothing', async () => {
    const root = await tempDir('ipart');
    const stocks = join(root, 'src', 'stocks');
    await mkdir(stocks, { recursive: true });
    for (let k = 0; k < N; k++) await writeSymbol(stocks, k, 40 + ((k * 13) % 31));
    await writeFile(join(root, 'src', 'symbols_valid_meta.csv'), `Symbol,Security Name\n${Array.from({ length: N }, (_, k) => (k % 3 === 0 ? '' : `S${k},Company ${k}\n`)).join('')}`);
    const P = join(root, 'p');
    const L = join(root, 'l');
    const fetchBoth = async (): Promise<void> => {
      await Promise.all([P, L].map((ws) => ok(['fetch', '--source', `dir:${join(root, 'src')}`, '-w', ws])));
    };
    await fetchBoth();

    // A first ingest: every bucket with a file, one overwrite snapshot.
    const p0 = await plan(P);
    expect(p0).toMatchObject({ mode: 'full', cached: false, single: false, base_snapshot: null, files: N });
    expect(p0.changed_buckets).toEqual([...new Set(Array.from({ length: N }, (_, k) => bucketOf(`S${k}`)))].sort((a, b) => a - b));
    const [first, local0] = await Promise.all([partitioned(P, p0, join(root, 's0'), 'run-0'), ok(['ingest', '-w', L])]);
    expect(local0.rows_dropped.malformed + local0.rows_dropped.duplicate).toBeGreaterThan(1);
    expect(masked(first.report)).toEqual(masked(local0));
    expect([first.report.features_prepared, local0.features_prepared]).toEqual([false, true]);
    expect(await diff(P, L)).toEqual({ only: 0, rows: local0.table_rows });
    expect(first.parts.reduce((a, d) => a + d.rows_read, 0)).toBe(local0.rows_read);

    // A replay of the same commit: nothing new, the same report.
    const again = await ok(['ingest', '-w', P, '--commit-stage', first.commit]);
    expect(snapshots(P)).toEqual([first.report.snapshot_id]);
    expect({ ...masked(again), cached: false }).toEqual(masked(first.report));
    // A strict plan after this plain ingest (which dropped malformed lines) reads every file again, as a plain strict ingest does.
    expect(await plan(P, true)).toMatchObject({ mode: 'full', strict: true, cached: false, changed_buckets: p0.changed_buckets });

    // Grown (S2), restated (S7: a past close changed), removed (S11), new (S30): only their buckets.
    await appendFile(join(stocks, 'S2.csv'), line(2, 300) + line(2, 301));
    const s7 = (await readFile(join(stocks, 'S7.csv'), 'utf8')).split('\n');
    s7[4] = s7[4]!.replace(/,([\d.]+),([\d.]+)$/, ',$1,999');
    await writeFile(join(stocks, 'S7.csv'), s7.join('\n'));
    await rm(join(stocks, 'S11.csv'));
    await writeSymbol(stocks, 30, 12);
    await fetchBoth();
    const p1 = await plan(P);
    expect(p1).toMatchObject({ mode: 'incremental', cached: false, base_snapshot: first.report.snapshot_id });
    expect(p1.changed_buckets).toEqual([...new Set(['S2', 'S7', 'S11', 'S30'].map(bucketOf))].sort((a, b) => a - b));
    const [second, local1] = await Promise.all([partitioned(P, p1, join(root, 's1'), 'run-1', 2), ok(['ingest', '-w', L])]);
    expect(local1).toMatchObject({ mode: 'incremental', files_tail_read: 1 });
    expect(masked(second.report)).toEqual(masked(local1));
    expect(await diff(P, L)).toEqual({ only: 0, rows: local1.table_rows });
    expect(snapshots(P)).toEqual(snapshots(L));

    // Nothing new: the plan is cached (no partition to run).
    await fetchBoth();
    expect(await plan(P)).toMatchObject({ cached: true, changed_buckets: [] });

    // A file touched but unchanged: its bucket is read again, no new snapshot, only its state.
    const t = new Date(Date.now() + 5000);
    await utimes(join(stocks, 'S4.csv'), t, t);
    await fetchBoth();
    const p2 = await plan(P);
    expect(p2.changed_buckets).toEqual([bucketOf('S4')]);
    const [third, local2] = await Promise.all([partitioned(P, p2, join(root, 's2'), 'run-2'), ok(['ingest', '-w', L])]);
    expect(local2.mode).toBe('unchanged');
    expect(masked(third.report)).toEqual(masked(local2));
    expect(snapshots(P)).toEqual(snapshots(L));
    // The next plan of the same files is cached: the state was recorded.
    expect(await plan(P)).toMatchObject({ cached: true });
  }, 180_000);

  it.concurrent('stages that do not cover the plan, or a plan overtaken by another ingest: nothing committed', async () => {
    const root = await tempDir('ipart-bad');
    const stocks = join(root, 'src', 'stocks');
    await mkdir(stocks, { recursive: true });
    for (let k = 0; k < 8; k++) await writeSymbol(stocks, k, 20);
    const ws = join(root, 'ws');
    await ok(['fetch', '--source', `dir:${join(root, 'src')}`, '-w', ws]);
    const p = await plan(ws);
    const dir = join(root, 's');
    await mkdir(dir);
    await writeFile(join(dir, 'plan.json'), JSON.stringify(p));
    const stage = join(dir, 'a');
    await ok(['ingest', '-w', ws, '--plan', join(dir, 'plan.json'), '--buckets', p.changed_buckets.slice(1).join(','), '--stage', stage]);
    const commit = async (name: string, stages: string[], q = p): Promise<string> => {
      const f = join(dir, `${name}.json`);
      await writeFile(f, JSON.stringify({ version: 1, commit_key: name, plan: q, stages }));
      return f;
    };
    expect(await failure(['ingest', '-w', ws, '--commit-stage', await commit('missing', [stage])])).toBe('SP_ERR_PARTITION_STAGE');
    expect(await failure(['ingest', '-w', ws, '--commit-stage', await commit('twice', [stage, stage])])).toBe('SP_ERR_PARTITION_STAGE');
    expect(await failure(['ingest', '-w', ws, '--commit-stage', await commit('other', [stage], { ...p, lineage_id: p.lineage_id + 1 })])).toBe('SP_ERR_PARTITION_STAGE');
    expect(snapshots(ws)).toEqual([]);
    // A bucket outside the plan, and a partition without all its flags: usage errors.
    expect(await failure(['ingest', '-w', ws, '--plan', join(dir, 'plan.json'), '--buckets', String([...Array(16).keys()].find((b) => !p.changed_buckets.includes(b))), '--stage', join(dir, 'x')])).toBe('SP_ERR_USAGE');
    expect(await failure(['ingest', '-w', ws, '--plan', join(dir, 'plan.json'), '--stage', join(dir, 'x')])).toBe('SP_ERR_USAGE');
    // A plain ingest lands meanwhile: the partitioned commit is stale.
    await ok(['ingest', '-w', ws, '--plan', join(dir, 'plan.json'), '--buckets', String(p.changed_buckets[0]), '--stage', join(dir, 'b')]);
    const plain = await ok(['ingest', '-w', ws]);
    expect(await failure(['ingest', '-w', ws, '--commit-stage', await commit('late', [join(dir, 'b'), stage])])).toBe('SP_ERR_STORE_CONFLICT');
    expect(snapshots(ws)).toEqual([plain.snapshot_id]);
  }, 120_000);
});
