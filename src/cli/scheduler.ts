/** @module cli/scheduler
 * `stockpipe scheduler`: the long-running process that runs the config's `schedules` (cron on
 * the NYSE calendar), each run as a `stockpipe run <pipeline>` child process, until SIGTERM/SIGINT
 * (then it waits for the runs in progress). Missed and overlapping runs are alerted, and so is a
 * run the last scheduler left when it was killed. */
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { StockpipeError, toStockpipeError } from '../core/errors.js';
import { deliverAlert } from '../pipeline/alerts.js';
import { acquireSchedulerLock } from '../pipeline/lock.js';
import { abortableSleep } from '../pipeline/runner.js';
import { cronFor, nextFire, runScheduler, type SchedulerDeps } from '../pipeline/schedule.js';
import { runCommandProcess } from '../pipeline/subprocess.js';
import { recordAlert } from '../registry/alerts.js';
import { runOfRunner } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import type { CommandContext, CommandResult } from './context.js';
import { alertChannels, pipelineEnv } from './run.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** `until` stops it like SIGTERM; `sleep` replaces the real wait between ticks (tests pass one that moves a fake `ctx.now`). */
/** `configFile`: the config file read (cli/globals configFileOf), named when it holds no schedules. */
export async function schedulerCommand(ctx: CommandContext, opts: { globalArgs: string[]; configFile: string | null; version: string; until?: AbortSignal; sleep?: SchedulerDeps['sleep'] }): Promise<CommandResult> {
  const schedules = ctx.config.schedules;
  if (schedules.length === 0) {
    const file = opts.configFile;
    throw new StockpipeError('SP_ERR_SCHEDULE_INVALID', `no schedules in the config${file === null ? ' (no config file: none given with --config, no ./stockpipe.config.json)' : ` (${file})`}`, {
      hint: `Add e.g. "schedules": [{"pipeline": "daily", "cron": "30 18 * * 1-5"}] to ${file ?? './stockpipe.config.json'}.`,
    });
  }
  for (const s of schedules) cronFor(s);
  const penv = pipelineEnv(ctx, opts.globalArgs, opts.version);
  const lock = await acquireSchedulerLock(ctx.ws, { now: ctx.now });
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  try {
    if (opts.until) opts.until.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    const next = nextFire(schedules, ctx.now());
    process.stderr.write(`scheduler: ${schedules.map((s) => `${s.pipeline} at "${s.cron}" ${s.timezone}${s.trading_days_only ? ' (NYSE trading days)' : ''}`).join('; ')}; next run ${next?.toISOString() ?? 'never'}\n`);
    await runScheduler({
      ws: ctx.ws,
      schedules,
      log: ctx.log,
      now: ctx.now,
      signal: ac.signal,
      sleep: opts.sleep ?? abortableSleep,
      startRun: async (pipeline, occurrence, started) => {
        const logPath = ctx.ws.schedulerLog(pipeline, occurrence.toISOString().replace(/[:.]/g, ''));
        try {
          // --wait: a manual run in progress delays the scheduled one instead of failing it.
          const data = await runCommandProcess({ mainScript: MAIN, args: ['run', pipeline, '--wait', '3600', ...penv.globalArgs], logPath, signal: ac.signal, env: penv.env, processes: { started: (pid) => started?.(pid), ended: () => undefined } });
          return { status: String(data.status), run_id: typeof data.run_id === 'string' ? data.run_id : null };
        } catch (err) {
          // A failed run recorded and alerted its failure itself (SP_ERR_RUN_FAILED), and a cancelled one is
          // no news (the scheduler stopping, `runs cancel`): logged only. Anything else happened before or
          // outside the run (a config file broken since, the lock held past --wait): the scheduler alerts it.
          const e = toStockpipeError(err);
          if (ac.signal.aborted || e.code === 'SP_ERR_RUN_FAILED' || e.code === 'SP_ERR_RUN_CANCELLED') {
            ctx.log.warn({ pipeline, error: e.message, log: logPath }, 'scheduled run failed');
            return { status: e.code === 'SP_ERR_RUN_FAILED' ? 'failed' : 'cancelled' };
          }
          return { status: 'failed', error: { code: e.code, message: e.message, log_path: logPath } };
        }
      },
      runOf: (left) => {
        if (left.pid === null) return null;
        const reg = openRegistry(ctx.ws, { readonly: true });
        try {
          return runOfRunner(reg, left.pipeline, { pid: left.pid, host: hostname() }, left.started_at);
        } finally {
          reg.close();
        }
      },
      alert: async (a) => {
        const reg = openRegistry(ctx.ws);
        try {
          const rec = recordAlert(reg, a);
          await deliverAlert(reg, rec, alertChannels(ctx), { log: ctx.log });
        } catch (err) {
          ctx.log.warn({ error: (err as Error).message }, 'could not record or deliver a scheduler alert');
        } finally {
          reg.close();
        }
      },
    });
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await lock.release();
  }
  return { data: { stopped: true }, human: 'scheduler stopped' };
}
