/** A queue worker (runWorker, in this process) against a real redis-server (test/helpers/redis) and the
 * built task entry: a job whose workspace path is an empty folder on the worker's machine (the shared
 * file system not mounted at its mount point) fails with SP_ERR_WORKSPACE_UNREACHABLE and writes
 * nothing there; it ran the command into that folder (a `fetch` "succeeded" on the worker's own disk). */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../../test/helpers/cli.js';
import { REDIS_SKIP, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { tempDirSync } from '../../test/helpers/temp.js';
import { StockpipeError } from '../core/errors.js';
import { getLog } from '../core/log.js';
import { BullmqExecutor } from './executor.js';
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
});
