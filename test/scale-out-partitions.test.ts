/** The partitioned ingest on the bullmq executor with real processes: one real redis-server
 * (helpers/redis) and 2 real `stockpipe worker`s shared by every case of this file, the runner
 * through the CLI, a small folder source. `run train --to features` on bullmq equals the local
 * executor's (ingest report, validation report, prices and features tables row for row); a run with
 * no new data runs no partition job; a run after one symbol's file grew runs only that bucket's
 * ingest partition, and validate's incremental check as partitions.
 * Every process started here is stopped by its pid in afterAll. */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDB, queryRows, sqlString } from '../src/db/duckdb.js';
import { bucketOf } from '../src/store/partition.js';
import { runCliAsync, startCli, type StartedCli } from './helpers/cli.js';
import { REDIS_SKIP, startRedis, type TestRedis } from './helpers/redis.js';
import { tempDirSync } from './helpers/temp.js';

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const day = (i: number): string => new Date(Date.UTC(2021, 0, 4) + i * 86_400_000).toISOString().slice(0, 10);
const line = (k: number, i: number): string => {
  const p = 20 + k + ((i * 7919 + k * 104_729) % 997) / 41;
  return `${day(i)},${p},${p + 1},${p - 1},${p + 0.25},${(p * 0.95).toPrecision(15)},${2000 + ((i * 37 + k * 11) % 7000)}\n`;
};
const SYMBOLS = 20;

describe.skipIf(REDIS_SKIP !== null)('partitioned ingest and validate on 2 bullmq workers', () => {
  let redis: TestRedis | null = null;
  const workers: StartedCli[] = [];
  let env: Record<string, string> = {};
  let src = '';
  const Q = tempDirSync('spart-q');
  const L = tempDirSync('spart-l');
  const conf = join(tempDirSync('spart-conf'), 'stockpipe.config.json');

  beforeAll(async () => {
    redis = await startRedis();
    env = { STOCKPIPE_REDIS_URL: redis.url };
    await writeFile(conf, JSON.stringify({ pipeline: { partitions: 2 } }));
    for (let i = 0; i < 2; i++) workers.push(startCli(['worker', '--threads', '1'], { env, timeoutMs: 600_000 }));
    src = join(tempDirSync('spart-src'), 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    for (let k = 0; k < SYMBOLS; k++) {
      let text = HEADER;
      for (let i = 0; i < 50 + k; i++) text += line(k, i);
      await writeFile(join(src, 'stocks', `S${k}.csv`), text);
    }
    for (const r of await Promise.all([Q, L].map((ws) => runCliAsync(['fetch', '--source', `dir:${src}`, '-w', ws, '--json'])))) expect(r.json.ok, r.stderr).toBe(true);
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
      await w.done;
    }
    await redis?.stop();
  }, 60_000);

  const run = async (ws: string, bullmq: boolean): Promise<{ runId: string; status: Record<string, string> }> => {
    const r = await runCliAsync(['run', 'train', '--to', 'features', '--config', conf, '-w', ws, '--json', ...(bullmq ? ['--executor', 'bullmq'] : [])], { env, timeoutMs: 240_000 });
    expect(r.json.ok, r.stdout + r.stderr).toBe(true);
    return { runId: String(r.json.data.run_id), status: Object.fromEntries((r.json.data.tasks as { name: string; status: string }[]).map((t) => [t.name, t.status])) };
  };
  type Jobs = { partition: string | null; worker: string }[];
  /** Each task's partitions (their buckets) and the workers that ran them, from one `runs show`. */
  const jobsOf = async (ws: string, runId: string): Promise<Record<string, Jobs>> => {
    const r = await runCliAsync(['runs', 'show', runId, '-w', ws, '--json'], { env });
    return Object.fromEntries((r.json.data.tasks as { task: string; workers?: Jobs }[]).map((t) => [t.task, t.workers ?? []]));
  };
  const ingestJobs = async (ws: string, runId: string): Promise<Jobs> => (await jobsOf(ws, runId)).ingest!;
  /**
   * validation/latest.json without the workspace's path, times, phases and the data hash (its files' names: a random tag each);
   * column means to 12 digits (DuckDB's avg adds in the order of the files' row groups, and the two executors cut files differently).
   */
  const validation = async (ws: string): Promise<unknown> =>
    JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8'), (k, v: unknown) => {
      if (k === 'seconds' || k === 'created_at' || k === 'phases' || k === 'data_hash' || k === 'reference_hash') return 0; // reference_hash: of a reference with its own created_at
      if (k === 'mean' && typeof v === 'number') return Number(v.toPrecision(12));
      return typeof v === 'string' ? v.split(ws).join('WS') : v;
    });
  const buckets = (jobs: { partition: string | null }[]): number[] => jobs.flatMap((j) => j.partition!.slice(1).split('.').map(Number)).sort((a, b) => a - b);
  // features_prepared: a partitioned ingest does not prepare the features, a local full one does (docs/store.md).
  const report = async (ws: string): Promise<Record<string, unknown>> => ({ ...JSON.parse(await readFile(join(ws, 'tables', 'prices.report.json'), 'utf8')), output: '', seconds: 0, features_prepared: false });
  /** Rows of a table in Q and not in L plus the other way round, and Q's row count. prices: every column (the snapshot ids are the same
   * sequence, so lineage too); features: all but the lineage column (a partition rebuilds its buckets whole, a local run only the tails). */
  const diff = async (table: 'prices' | 'features'): Promise<{ only: number; rows: number }> => {
    const db = await openDuckDB({ tempDir: tempDirSync('duckdb'), memoryLimit: '512MB', threads: 1 });
    try {
      const t = (ws: string): string => `(SELECT * ${table === 'features' ? 'EXCLUDE (_snapshot_id)' : ''} FROM read_parquet(${sqlString(join(ws, 'tables', table, '**', '*.parquet'))}, hive_partitioning = false))`;
      const [r] = await queryRows(db.connection, `SELECT (SELECT count(*) FROM (${t(Q)} EXCEPT ALL ${t(L)})) + (SELECT count(*) FROM (${t(L)} EXCEPT ALL ${t(Q)})) AS n, (SELECT count(*) FROM ${t(Q)}) AS rows`);
      return { only: Number(r!.n), rows: Number(r!.rows) };
    } finally {
      db.close();
    }
  };
  const same = async (): Promise<void> => {
    expect(await report(Q)).toEqual(await report(L));
    expect(await validation(Q)).toEqual(await validation(L));
    for (const t of ['prices', 'features'] as const) {
      const d = await diff(t);
      expect(d.rows, t).toBeGreaterThan(900);
      expect(d.only, t).toBe(0);
    }
  };

  it('a first run equals the local executor; ingest ran as partitions covering every bucket once', async () => {
    const [q] = await Promise.all([run(Q, true), run(L, false)]);
    const [jobs] = await Promise.all([ingestJobs(Q, q.runId), same()]);
    expect(jobs.length).toBeGreaterThan(1);
    expect(jobs.length).toBeLessThanOrEqual(2); // pipeline.partitions
    expect(buckets(jobs)).toEqual([...new Set(Array.from({ length: SYMBOLS }, (_, k) => bucketOf(`S${k}`)))].sort((a, b) => a - b));
  }, 300_000);

  it('no new data: no partition job; one grown file: only its bucket is an ingest partition, validate checks incrementally as partitions; still equal', async () => {
    for (const r of await Promise.all([Q, L].map((ws) => runCliAsync(['fetch', '-w', ws, '--json'])))) expect(r.json.ok, r.stderr).toBe(true);
    const idle = await run(Q, true);
    expect(idle.status.ingest).toBe('cached');
    // The idle run's jobs read while the grown file is fetched.
    const [idleJobs] = await Promise.all([
      ingestJobs(Q, idle.runId),
      (async () => {
        await appendFile(join(src, 'stocks', 'S4.csv'), line(4, 200));
        for (const r of await Promise.all([Q, L].map((ws) => runCliAsync(['fetch', '-w', ws, '--json'])))) expect(r.json.ok, r.stderr).toBe(true);
      })(),
    ]);
    expect(idleJobs).toEqual([]);

    const [q] = await Promise.all([run(Q, true), run(L, false)]);
    expect(q.status.ingest).toBe('succeeded');
    // The run's jobs (one `runs show`) read while the outputs are compared.
    const [jobs] = await Promise.all([jobsOf(Q, q.runId), same()]);
    expect(buckets(jobs.ingest!)).toEqual([bucketOf('S4')]);
    expect(await report(Q)).toMatchObject({ mode: 'incremental', files_tail_read: 1, rows_kept: 1 });
    // validate checked the new row incrementally: its whole-table passes ran as partitions over every bucket.
    expect(buckets(jobs.validate!)).toEqual([...new Set(Array.from({ length: SYMBOLS }, (_, k) => bucketOf(`S${k}`)))].sort((a, b) => a - b));
    expect(await validation(Q)).toMatchObject({ mode: 'incremental' });
  }, 300_000);
});
