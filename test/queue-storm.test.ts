/** @module test/queue-storm
 * Job storms through the bullmq executor against a real redis-server and real `stockpipe worker`
 * processes: 10,000 probe jobs at once drained by two workers, each completed exactly once; and a
 * worker SIGKILLed in the middle of a smaller storm, whose jobs BullMQ redelivers (none lost, none
 * done twice). "Exactly once" is read from Redis itself: one `completed` event per job id in the
 * queue's event stream, the completed set's size, nothing left waiting or active. */
import { type ConnectionOptions, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisTarget } from '../src/queue/connection.js';
import { BullmqExecutor } from '../src/queue/executor.js';
import { type JobResult, QUEUE_NAME } from '../src/queue/protocol.js';
import { type CliDoc, startCli, type StartedCli } from './helpers/cli.js';
import { REDIS_SKIP, startRedis, type TestRedis } from './helpers/redis.js';
import { tempDirSync } from './helpers/temp.js';

const PREFIX = 'stockpipe'; // the config's default pipeline.queue, which the workers use
const log = pino({ level: 'silent' });

let redis: TestRedis | undefined;
let ws: string;
beforeAll(async () => {
  if (REDIS_SKIP !== null) return;
  redis = await startRedis();
  ws = tempDirSync('storm-ws');
});
afterAll(async () => {
  await redis?.stop();
});

/** Each test its own database on the shared server: the tests run alone or in any order. */
const urlOf = (db: number): string => `${redis!.url}?db=${db}`;

interface Started {
  cli: StartedCli;
  pid: number;
}

async function startWorker(url: string, extra: string[]): Promise<Started> {
  const cli = startCli(['worker', ...extra, '--json', '--quiet'], { env: { STOCKPIPE_REDIS_URL: url, STOCKPIPE_WORKSPACE: ws } });
  const t0 = Date.now();
  while (!/taking jobs from queue/.test(cli.stderr())) {
    if (cli.child.exitCode !== null) throw new Error(`worker exited (${cli.child.exitCode}): ${cli.stderr()}`);
    if (Date.now() - t0 > 20_000) throw new Error(`worker not ready within 20 s: ${cli.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { cli, pid: cli.child.pid! };
}

/** SIGTERM (finish, then exit), SIGKILL after `graceMs`; returns its --json summary when it printed one. */
async function stopWorker(w: Started, graceMs = 10_000): Promise<CliDoc | null> {
  if (w.cli.child.exitCode === null && w.cli.child.signalCode === null) {
    w.cli.child.kill('SIGTERM');
    const t = setTimeout(() => w.cli.child.kill('SIGKILL'), graceMs);
    const r = await w.cli.done;
    clearTimeout(t);
    return r.jsonOrNull;
  }
  return (await w.cli.done).jsonOrNull;
}

/** Counts of the queue's job states (BullMQ's own view). */
async function jobCounts(url: string): Promise<Record<string, number>> {
  const q = new Queue(QUEUE_NAME, { connection: redisTarget(url).options as ConnectionOptions, prefix: PREFIX });
  try {
    return await q.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed');
  } finally {
    await q.close();
  }
}

/** Job ids per event name (completed, stalled, …) from the queue's event stream. */
async function streamEvents(url: string): Promise<Map<string, string[]>> {
  const c = new Redis(redisTarget(url).options);
  const out = new Map<string, string[]>();
  try {
    let from = '-';
    for (;;) {
      const rows = (await c.xrange(`${PREFIX}:${QUEUE_NAME}:events`, from, '+', 'COUNT', 5000)) as [string, string[]][];
      for (const [, fields] of rows) {
        const f = new Map<string, string>();
        for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
        const ev = f.get('event') ?? '';
        const id = f.get('jobId');
        if (id === undefined) continue;
        const ids = out.get(ev);
        if (ids === undefined) out.set(ev, [id]);
        else ids.push(id); // (a copy per event made reading 40,000 events quadratic)
      }
      if (rows.length < 5000) return out;
      from = `(${rows.at(-1)![0]}`;
    }
  } finally {
    c.disconnect();
  }
}

/** How many times each id occurs. */
function tally(ids: readonly string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
  return m;
}

describe.skipIf(REDIS_SKIP !== null)('job storms on BullMQ', () => {
  it('10,000 probe jobs at once through one executor, drained by 2 workers at concurrency 8: each completed exactly once', async () => {
    const url = urlOf(1);
    const N = 10_000;
    const workers: Started[] = [];
    let ex: BullmqExecutor | undefined;
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      workers.push(...(await Promise.all([startWorker(url, ['--concurrency', '8']), startWorker(url, ['--concurrency', '8'])])));
      ex = await BullmqExecutor.open({ url, prefix: PREFIX, workspace: ws, env: {}, log, redisTimeoutMs: 60_000 });
      const stop = new AbortController(); // one signal for all 10,000: the executor keeps one listener on it
      const heap0 = process.memoryUsage().heapUsed;
      let heapPeak = heap0;
      const sampler = setInterval(() => { heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed); }, 100);
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: N }, (_, i) => ex!.probe('storm1', 'probe', `p${i}`, 0, { i, tag: `e${i}` }, stop.signal)));
      const seconds = (performance.now() - t0) / 1000;
      clearInterval(sampler);
      console.log(`storm: ${N} probe jobs in ${seconds.toFixed(1)} s (${Math.round(N / seconds)} jobs/s), executor heap +${Math.round((heapPeak - heap0) / 2 ** 20)} MB at peak`);

      // Each echo came back once, to the job that sent it.
      const echoes = results.map((r) => r.data.echo as { i: number; tag: string });
      expect(echoes.every((e, i) => e.i === i && e.tag === `e${i}`)).toBe(true);
      expect(new Set(echoes.map((e) => e.tag)).size).toBe(N);
      // Both workers took some; their counts add up.
      const byPid = tally(results.map((r: JobResult) => String(r.worker.pid)));
      expect([...byPid.keys()].sort()).toEqual(workers.map((w) => String(w.pid)).sort());
      expect([...byPid.values()].every((n) => n > 0)).toBe(true);
      expect([...byPid.values()].reduce((a, b) => a + b, 0)).toBe(N);
      // Redis: one completion per job, nothing left waiting or running.
      const completed = tally((await streamEvents(url)).get('completed') ?? []);
      expect(completed.size).toBe(N);
      expect([...completed.values()].every((n) => n === 1)).toBe(true);
      expect(await jobCounts(url)).toMatchObject({ wait: 0, active: 0, delayed: 0, prioritized: 0, 'waiting-children': 0, failed: 0, completed: N });
      // The workers' own counts (their --json summary on a graceful stop) agree.
      const summaries = await Promise.all(workers.map((w) => stopWorker(w)));
      workers.forEach((w, k) => {
        expect(summaries[k]?.ok).toBe(true);
        expect(summaries[k]?.data.jobs).toBe(byPid.get(String(w.pid)));
        expect(summaries[k]?.data.failed).toBe(0);
      });
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await ex?.close();
      await Promise.all(workers.map((w) => stopWorker(w, 2000)));
    }
  }, 90_000);

  it('a worker SIGKILLed in the middle of a storm (1,000 jobs of 20 ms, --lock-seconds 2): its jobs are redelivered, none lost or done twice', async () => {
    const url = urlOf(2);
    const N = 1000;
    const workers: Started[] = [];
    let ex: BullmqExecutor | undefined;
    try {
      const args = ['--concurrency', '8', '--lock-seconds', '2'];
      workers.push(...(await Promise.all([startWorker(url, args), startWorker(url, args)])));
      const [victim, survivor] = workers as [Started, Started];
      ex = await BullmqExecutor.open({ url, prefix: PREFIX, workspace: ws, env: {}, log, redisTimeoutMs: 60_000 });
      const stop = new AbortController();
      let done = 0;
      let killedAt = -1;
      const jobs = Array.from({ length: N }, (_, i) => ex!.probe('storm2', 'probe', `p${i}`, 20, { i }, stop.signal).then((r) => {
        done++;
        if (killedAt < 0 && done >= N / 4) {
          killedAt = done;
          victim.cli.child.kill('SIGKILL');
        }
        return r;
      }));
      const results = await Promise.all(jobs);
      const killed = await victim.cli.done;
      expect(killed.signal).toBe('SIGKILL');

      expect(results.map((r) => (r.data.echo as { i: number }).i)).toEqual(Array.from({ length: N }, (_, i) => i));
      const byPid = tally(results.map((r) => String(r.worker.pid)));
      expect((byPid.get(String(victim.pid)) ?? 0) + (byPid.get(String(survivor.pid)) ?? 0)).toBe(N);
      expect(byPid.get(String(victim.pid))).toBeGreaterThan(0);

      const events = await streamEvents(url);
      const completed = tally(events.get('completed') ?? []);
      expect(completed.size).toBe(N);
      expect([...completed.values()].every((n) => n === 1)).toBe(true);
      // The jobs the victim held when it died: declared stalled, then completed once by the survivor.
      const stalled = [...new Set(events.get('stalled') ?? [])];
      expect(stalled.length).toBeGreaterThan(0);
      const pidOf = new Map(results.map((r, i) => [`storm2.probe.p${i}.a1`, r.worker.pid]));
      expect(stalled.filter((id) => pidOf.get(id) !== survivor.pid)).toEqual([]);
      expect(await jobCounts(url)).toMatchObject({ wait: 0, active: 0, delayed: 0, failed: 0, completed: N });
      const summary = await stopWorker(survivor);
      expect(summary?.data.jobs).toBe(byPid.get(String(survivor.pid)));
      console.log(`kill: victim SIGKILLed after ${killedAt} completions; ${stalled.length} stalled job(s) redelivered to the survivor; victim ${byPid.get(String(victim.pid))}, survivor ${byPid.get(String(survivor.pid))}`);
    } finally {
      await ex?.close();
      await Promise.all(workers.map((w) => stopWorker(w, 2000)));
    }
  }, 60_000);
  it('a worker stopped with SIGTERM finishes its running job; a second SIGTERM hands it back to the queue for another worker', async () => {
    const url = urlOf(3);
    const workers: Started[] = [];
    let ex: BullmqExecutor | undefined;
    const activeSoon = async (): Promise<void> => {
      const t0 = Date.now();
      while ((await jobCounts(url)).active !== 1) {
        if (Date.now() - t0 > 20_000) throw new Error('the probe job never became active');
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      ex = await BullmqExecutor.open({ url, prefix: PREFIX, workspace: ws, env: {}, log, redisTimeoutMs: 60_000 });
      const stop = new AbortController();
      // One SIGTERM: the job (1.5 s) finishes on the worker being stopped, which then exits with its summary.
      const first = await startWorker(url, ['--concurrency', '1']);
      workers.push(first);
      const finishing = ex.probe('stop1', 'probe', 'p0', 1500, { n: 1 }, stop.signal);
      await activeSoon();
      first.cli.child.kill('SIGTERM');
      const r1 = await finishing;
      expect(r1.worker.pid).toBe(first.pid);
      const exit1 = await first.cli.done;
      expect(exit1.code).toBe(0);
      expect(exit1.json.data).toMatchObject({ jobs: 1, failed: 0, handed_back: 0 });

      // Two SIGTERMs: the long job is handed back (moved to waiting), and the next worker completes it once.
      const second = await startWorker(url, ['--concurrency', '1']);
      workers.push(second);
      const handed = ex.probe('stop2', 'probe', 'p0', 60_000, { n: 2 }, stop.signal);
      await activeSoon();
      second.cli.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      second.cli.child.kill('SIGTERM');
      const exit2 = await second.cli.done;
      expect(exit2.code).toBe(0);
      expect(exit2.json.data).toMatchObject({ jobs: 0, handed_back: 1 });
      expect(await jobCounts(url)).toMatchObject({ wait: 1, active: 0, failed: 0 });
      const third = await startWorker(url, ['--concurrency', '1']);
      workers.push(third);
      // The handed-back job runs its full 60 s again on the third worker: cancel it instead, which
      // the third worker sees (the cancel flag) — what matters is that it took the job.
      await activeSoon();
      stop.abort();
      await expect(handed).rejects.toMatchObject({ code: 'SP_ERR_RUN_CANCELLED' });
      const completed = tally((await streamEvents(url)).get('completed') ?? []);
      expect([...completed.keys()]).toEqual(['stop1.probe.p0.a1']);

      // A resumed run submits the cancelled job again under the same id: it runs (the cancel flag of
      // the first runner, kept an hour for the worker that held it, no longer stops it).
      const again = await ex.probe('stop2', 'probe', 'p0', 1200, { n: 3 }, new AbortController().signal);
      expect(again.data.echo).toEqual({ n: 3 });
      expect(again.worker.pid).toBe(third.pid);
    } finally {
      await ex?.close();
      await Promise.all(workers.map((w) => stopWorker(w, 2000)));
    }
  }, 90_000);
});
