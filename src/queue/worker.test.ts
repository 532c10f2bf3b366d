/** A queue worker (runWorker, in this process) against a real redis-server (test/helpers/redis) and the
 * built task entry: a job whose workspace path is an empty folder on the worker's machine (the shared
 * file system not mounted at its mount point) fails with SP_ERR_WORKSPACE_UNREACHABLE and writes
 * nothing there; it ran the command into that folder (a `fetch` "succeeded" on the worker's own disk). */
import { existsSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../test/helpers/cli.js';
import { REDIS_SKIP, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { tempDirSync } from '../../test/helpers/temp.js';
import { StockpipeError } from '../core/errors.js';
import { getLog, type Logger } from '../core/log.js';
import { createPipelineRun, recordRunner, thisRunner } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import { redisTarget } from './connection.js';
import { BullmqExecutor } from './executor.js';
import { JOB_PROTOCOL, QUEUE_NAME, reasonError } from './protocol.js';
import { runWorker, type WorkerSummary } from './worker.js';

const TASK_MAIN = join(ROOT, 'dist', 'bin', 'task-main.js');

describe.skipIf(REDIS_SKIP !== null || !existsSync(TASK_MAIN))('stockpipe worker and the job\'s workspace', () => {
  let redis: TestRedis;
  let stop: AbortController;
  let worker: Promise<WorkerSummary>;
  beforeAll(async () => {
    redis = await startRedis();
    stop = new AbortController();
    let ready!: () => void;
    const listening = new Promise<void>((res) => (ready = res));
    worker = runWorker({ url: redis.url, prefix: 'wtest', concurrency: 1, threads: 1, mainScript: TASK_MAIN, log: getLog('test'), stop: stop.signal, handBack: new AbortController().signal, onReady: () => ready() });
    await listening;
  });
  afterAll(async () => {
    stop?.abort();
    await worker;
    await redis?.stop();
  });

  it('an empty folder at the workspace path (nothing mounted there) is SP_ERR_WORKSPACE_UNREACHABLE, and nothing is written in it', async () => {
    const mountPoint = tempDirSync('empty-mount');
    const ex = await BullmqExecutor.open({ url: redis.url, prefix: 'wtest', workspace: mountPoint, env: {}, log: getLog('test'), redisTimeoutMs: 30_000 });
    try {
      const err = await ex.run({
        runId: 'r1', task: 'fetch', partition: null, attempt: 1, args: ['fetch', '--symbols', '5', '--years', '1', '--workspace', mountPoint],
        logPath: join(mountPoint, 'runs', 'r1', 'fetch.log'), signal: new AbortController().signal,
      }).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(StockpipeError);
      expect((err as StockpipeError).code).toBe('SP_ERR_WORKSPACE_UNREACHABLE');
      expect((err as StockpipeError).message).toContain('stockpipe.db');
      expect(readdirSync(mountPoint)).toEqual([]);
    } finally {
      await ex.close();
    }
  });

  // Probed: a worker whose machine had its own workspace at the runner's path (the shared file system not mounted over it)
  // ran every job there: fetch and ingest wrote into that workspace, and the runner's features commit failed saying
  // its stages "did not finish".
  it('a workspace at the path that is not the runner\'s (its store lacks the job\'s run) is SP_ERR_WORKSPACE_UNREACHABLE: nothing run, claimed or written', async () => {
    const ws = tempDirSync('other-ws');
    openRegistry(ws).close(); // a workspace of its own: a store, without the runner's run
    const ex = await BullmqExecutor.open({ url: redis.url, prefix: 'wtest', workspace: ws, env: {}, log: getLog('test'), redisTimeoutMs: 30_000 });
    try {
      const err = await ex.run({
        runId: 'runner-run', task: 'fetch', partition: null, attempt: 1, args: ['fetch', '--symbols', '3', '--years', '1', '--workspace', ws],
        logPath: join(ws, 'runs', 'runner-run', 'fetch.log'), signal: new AbortController().signal,
      }).then(() => null, (e: unknown) => e);
      expect([(err as StockpipeError).code, (err as StockpipeError).message]).toEqual(['SP_ERR_WORKSPACE_UNREACHABLE', expect.stringContaining('its store has no run runner-run')]);
      expect(existsSync(join(ws, 'raw'))).toBe(false); // nothing fetched
      const reg = openRegistry(ws, { readonly: true });
      try {
        expect(reg.all('claims', 'SELECT * FROM job_claims')).toEqual([]);
      } finally {
        reg.close();
      }
    } finally {
      await ex.close();
    }
  });

  // Probed: a job queued by another stockpipe version (another protocol) failed with SP_ERR_USAGE, which the runner never
  // retries (another worker of the right version would have run it) and which names no version.
  it('a job of another stockpipe version is SP_ERR_WORKER_BUILD naming both protocols, as one of another build', async () => {
    const options = redisTarget(redis.url).options;
    const conns = [new Redis(options), new Redis(options)];
    const queue = new Queue(QUEUE_NAME, { connection: conns[0]!, prefix: 'wtest' });
    const events = new QueueEvents(QUEUE_NAME, { connection: conns[1]!, prefix: 'wtest' });
    try {
      await events.waitUntilReady();
      const job = await queue.add('fetch', { protocol: JOB_PROTOCOL + 1, kind: 'command', run_id: 'r', task: 'fetch', partition: null, args: ['fetch'], workspace: '/nowhere', log_path: '/nowhere/x.log', env: {}, coordinator: { host: 'h', pid: 1 }, build: null, priority: 'new field' }, { jobId: 'other-version-job' });
      const failed = await job.waitUntilFinished(events).then(() => null, (e: unknown) => e as Error);
      const err = reasonError(failed?.message, 'other-version-job');
      expect([err.code, err.message]).toEqual(['SP_ERR_WORKER_BUILD', expect.stringContaining(`(protocol ${JOB_PROTOCOL + 1}; worker `)]);
      expect(err.message).toContain(`reads protocol ${JOB_PROTOCOL}`);
    } finally {
      await Promise.all([queue.close(), events.close()]);
      for (const c of conns) c.disconnect();
    }
  });

  it('a job that waits with no worker on its queue says so: the task\'s note, and one warning naming the queue', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }) as unknown as Logger;
    const ws = tempDirSync('no-worker');
    const ex = await BullmqExecutor.open({ url: redis.url, prefix: 'nobody-listens', workspace: ws, env: {}, log, redisTimeoutMs: 30_000, watchMs: 100, staleMs: 200, noWorkerWarnMs: 500 });
    const notes: string[] = [];
    const stopRun = new AbortController();
    try {
      const done = ex.run({
        runId: 'r2', task: 'fetch', partition: null, attempt: 1, args: ['fetch', '--workspace', ws], logPath: join(ws, 'fetch.log'), signal: stopRun.signal,
        onProgress: (p) => void (p.note !== undefined && notes.push(p.note)),
      }).then(() => null, (e: unknown) => e);
      const t0 = Date.now();
      while (!lines.some((l) => l.includes('no stockpipe worker listens')) && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 100));
      stopRun.abort();
      expect(((await done) as StockpipeError).code).toBe('SP_ERR_RUN_CANCELLED');
      expect(notes).toEqual([expect.stringMatching(/^queued on nobody-listens at .*: waiting for a worker$/)]);
      expect(lines.filter((l) => l.includes('no stockpipe worker listens on queue nobody-listens'))).toHaveLength(1);
    } finally {
      await ex.close();
    }
  });

  it('a job of a pipeline run no runner waits for (abandoned: its runner was killed; or ended) is not run; the resumed run\'s is', async () => {
    const ws = tempDirSync('orphan-job');
    const reg = openRegistry(ws);
    const runId = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'], runner: { pid: 2 ** 22 + 17, host: hostname(), start: null } }); // no such process
    reg.close();
    const ex = await BullmqExecutor.open({ url: redis.url, prefix: 'wtest', workspace: ws, env: {}, log: getLog('test'), redisTimeoutMs: 30_000 });
    const job = () => ex.run({ runId, task: 'fetch', partition: null, attempt: 1, args: ['fetch', '--symbols', '3', '--years', '1', '--workspace', ws], logPath: join(ws, 'fetch.log'), signal: new AbortController().signal });
    try {
      const err = await job().then(() => null, (e: unknown) => e);
      expect([(err as StockpipeError).code, (err as StockpipeError).message]).toEqual(['SP_ERR_RUN_CANCELLED', expect.stringContaining(`its pipeline run ${runId} is abandoned`)]);
      expect(existsSync(join(ws, 'raw'))).toBe(false); // nothing fetched
      const again = openRegistry(ws);
      recordRunner(again, runId, thisRunner()); // `run --resume` takes the run over: its job runs
      again.close();
      expect((await job()).data).toMatchObject({ source: 'synthetic' });
    } finally {
      await ex.close();
    }
  });

  it('a copy of a workspace resuming the same run on the same queue gets its own jobs, not the other workspace\'s results', async () => {
    const [a, b] = [tempDirSync('ws-a'), tempDirSync('ws-b')];
    const open = (ws: string) => BullmqExecutor.open({ url: redis.url, prefix: 'wtest', workspace: ws, env: {}, log: getLog('test'), redisTimeoutMs: 30_000 });
    const [exA, exB] = await Promise.all([open(a), open(b)]);
    try {
      const signal = new AbortController().signal;
      // The same run id in both (b is a copy of a): the same deterministic job id.
      expect((await exA.probe('copied-run', 'train', 'all', 0, 'from a', signal)).data).toEqual({ echo: 'from a' });
      expect((await exB.probe('copied-run', 'train', 'all', 0, 'from b', signal)).data).toEqual({ echo: 'from b' });
      // Each re-attaches to its own job at the next resume.
      expect((await exB.probe('copied-run', 'train', 'all', 0, 'b again', signal)).data).toEqual({ echo: 'from b' });
      expect((await exA.probe('copied-run', 'train', 'all', 0, 'a again', signal)).data).toEqual({ echo: 'from a' });
    } finally {
      await Promise.all([exA.close(), exB.close()]);
    }
  });
});
