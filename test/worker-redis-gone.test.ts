/** A queue worker (runWorker, in this process) stopped while its Redis is gone must not wait for Redis
 * for ever. This file is an integration test (test/, a process of its own) because, when BullMQ's close
 * does wait, the worker never ends: its connections keep retrying until the file's process exits (the
 * CLI exits the process there). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWorker } from '../src/queue/worker.js';
import { ROOT } from './helpers/cli.js';
import { REDIS_SKIP, startRedis } from './helpers/redis.js';
import { silentLog } from './helpers/workspace.js';

const TASK_MAIN = join(ROOT, 'dist', 'bin', 'task-main.js');

describe.skipIf(REDIS_SKIP !== null || !existsSync(TASK_MAIN))('stockpipe worker stopped while Redis is gone', () => {
  // Which of the two happens is a race: the close ends when BullMQ's connections had no command waiting
  // for Redis when it went away (here, once in 24 runs of it); it waits for ever when
  // one had, and then closeWaitMs ends the wait.
  it('with no job running, stops within closeWaitMs instead of waiting for Redis for ever: the close ends, or onCloseStuck says it did not', async () => {
    const r = await startRedis({ aof: false });
    const stop = new AbortController();
    let ready!: () => void;
    const listening = new Promise<void>((res) => (ready = res));
    let stuck = 0;
    let closed = false;
    const worker = runWorker({
      url: r.url, prefix: 'gone', concurrency: 1, threads: 1, mainScript: TASK_MAIN, log: silentLog, stop: stop.signal, handBack: new AbortController().signal,
      onReady: () => ready(), closeWaitMs: 300, onCloseStuck: () => void stuck++,
    });
    void worker.then(() => void (closed = true), () => void (closed = true)); // when stuck, it never ends: Redis is gone (the CLI exits the process)
    await listening;
    await r.stop();
    stop.abort(); // the first SIGTERM
    const t0 = Date.now();
    while (stuck === 0 && !closed && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 50));
    expect([stuck, closed]).toSatisfy(([n, c]: [number, boolean]) => (n === 1 && !c) || (n === 0 && c));
    if (closed) await expect(worker).resolves.toMatchObject({ jobs: 0, failed: 0, handed_back: 0 });
  });
});
