/** @module cli/worker
 * `stockpipe worker`: runs queued pipeline tasks (executor bullmq) on this machine until
 * SIGINT/SIGTERM: the first signal lets running jobs finish and takes no new one; a second hands
 * them back to the queue at once. Either exits within 10 s of its last job when Redis is gone. The work is queue/worker's. */
import { fileURLToPath } from 'node:url';
import { buildId } from '../core/build.js';
import { forTerminal } from '../core/terminal.js';
import type { WorkerSummary } from '../queue/worker.js';
import type { CommandContext, CommandResult } from './context.js';

const TASK_MAIN = fileURLToPath(new URL('./task-main.js', import.meta.url));
/** After the second signal, how long the worker waits for its queue to close before it exits anyway. */
const HANDBACK_EXIT_MS = 10_000;

export interface WorkerCommandOptions {
  concurrency: number;
  /** --threads given: each job's command gets it (else the cores divided by the concurrency). */
  threads?: number;
  lockSeconds: number;
  /** Stops like SIGTERM (tests). */
  until?: AbortSignal;
}

export async function workerCommand(ctx: CommandContext, o: WorkerCommandOptions): Promise<CommandResult<WorkerSummary>> {
  // Loaded here, not with the program: BullMQ and ioredis cost every other command ≈ 0.2 s of start-up.
  const [{ redisTarget, redisUrlOf }, { runWorker }] = await Promise.all([import('../queue/connection.js'), import('../queue/worker.js')]);
  const url = redisUrlOf(ctx.env, ctx.config.pipeline.redis_url, '`stockpipe worker`');
  const shown = redisTarget(url).shown;
  const stop = new AbortController();
  const handBack = new AbortController();
  const exitUnclosed = (): void => {
    process.stderr.write(`worker: the queue did not close within ${HANDBACK_EXIT_MS / 1000} s (is Redis at ${shown} reachable?): exiting; its jobs go back to the queue when their locks expire\n`);
    process.exit(1);
  };
  const onSignal = (): void => {
    if (!stop.signal.aborted) {
      process.stderr.write('worker: stopping after the running jobs (signal again to hand them back to the queue)\n');
      stop.abort();
    } else {
      handBack.abort();
      // The close waits for Redis; when it is gone it would wait forever. The running commands are
      // stopped by now (handed back): the jobs return to the queue when their locks expire.
      setTimeout(exitUnclosed, HANDBACK_EXIT_MS).unref();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  o.until?.addEventListener('abort', () => stop.abort(), { once: true });
  try {
    const summary = await runWorker({
      url, prefix: ctx.config.pipeline.queue, concurrency: o.concurrency, threads: o.threads, mainScript: TASK_MAIN, log: ctx.log,
      stop: stop.signal, handBack: handBack.signal, lockMs: o.lockSeconds * 1000, stalledMs: o.lockSeconds * 1000,
      // The first signal with Redis gone: once no job runs, the close gets as long as after a second one.
      closeWaitMs: HANDBACK_EXIT_MS, onCloseStuck: exitUnclosed,
      onReady: (me) => process.stderr.write(`worker ${me.id}: taking jobs from queue ${ctx.config.pipeline.queue} at ${shown} (concurrency ${o.concurrency}, build ${buildId() ?? 'unknown: run from the sources'})\n`),
      onJob: (e) => { if (!ctx.quiet) process.stderr.write(forTerminal(`worker: ${e.ok ? 'done' : 'failed'} ${e.task}${e.partition === null ? '' : ` [${e.partition}]`} (${e.id})${e.ok ? ` in ${e.seconds} s` : `: ${e.error ?? ''}`}\n`)); },
    });
    return { data: summary, human: `worker ${summary.worker.id} stopped: ${summary.jobs} jobs done, ${summary.failed} failed, ${summary.handed_back} handed back` };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
