/** @module cli/commands/ops
 * The operating commands' command lines: serve, monitor, run, scheduler and the `runs` group
 * (options, help, examples); the work is in cli/serve, cli/monitor, cli/run, cli/scheduler, cli/runs. */
import { z } from '../../core/zod.js';
import { childGlobalArgs, configFileOf, type Inv } from '../globals.js';
import { cli, decimal, defineCommand, flag, inRange, whole } from '../options.js';
import { checkLogicalDate } from '../../pipeline/logical-date.js';
import { PIPELINE_RUN_STATUSES, RUN_KINDS } from '../../registry/schema.js';
// Each command's module is imported when the command runs, so a process loads only its own command's code
// (about 0.15 s less CPU at each start, measured; every pipeline task is such a start).

const none = () => z.object({}).strict();

export const serve = defineCommand({
  name: 'serve',
  summary: 'the prediction API (GET/POST /predict, /docs, /openapi.json, /health, /ready, /metrics) serving the champion model, and the dashboard at /',
  options: () =>
    z
    .object({
      port: whole().default(8000).describe('port (0 = any free port)').register(cli, { short: 'p' }),
      // An empty host made Node listen on every interface (printing the URL http://:PORT).
      // `--host [::1]` (as a URL writes it) was "not an address of this machine (ENOTFOUND)", naming [[::1]].
      host: z
        .string()
        .refine((h) => h.trim() !== '', 'must not be empty (127.0.0.1: this machine only; 0.0.0.0: every interface)')
        .refine((h) => !/^\[.*\]$/.test(h.trim()), 'takes an IPv6 address without the brackets a URL puts around it (--host ::1)')
        .default('127.0.0.1').describe('address to listen on (beyond loopback, set STOCKPIPE_API_TOKEN: docs/security.md)'),
      pollMs: whole().default(1000).describe('how often to check whether the champion alias moved, in ms'),
      workers: whole()
        .refine((n) => n >= 1 && n <= 64, 'must be a whole number from 1 to 64')
        .optional()
        .describe('processes answering on host:port (node:cluster workers, each loading and hot-swapping the champion itself); 1 = this process')
        .register(cli, { config: 'serve.workers' }),
    })
    .strict(),
  examples: [
    'stockpipe serve',
    'curl "http://127.0.0.1:8000/predict?vol_moving_avg=12345&adj_close_rolling_med=25"',
    'open http://127.0.0.1:8000/   # the dashboard',
    'STOCKPIPE_API_TOKEN=$(openssl rand -hex 32) stockpipe serve --port 9000 --host 0.0.0.0',
    'stockpipe serve --workers 2   # two processes on one port; GET /ready names the pid that answered',
  ],
  run: async (o, ctx, inv: Inv) => {
    inRange('--poll-ms', o.pollMs, 50, 3_600_000);
    // Fastify, its plugins and prom-client are loaded by `serve` only (≈ 0.2 s of every other command's start).
    const { serveCommand } = await import('../serve.js');
    return serveCommand(ctx, { port: o.port, host: o.host, pollMs: o.pollMs, workers: ctx.config.serve.workers, version: inv.version, globalArgs: childGlobalArgs(inv.globals, { debug: false }) });
  },
});

export const monitor = defineCommand({
  name: 'monitor',
  records: 'monitor',
  existing: true,
  summary: 'score stored forecasts whose actuals arrived, measure input drift, alert past the config thresholds (monitor.*), say whether to retrain',
  options: () =>
    z
    .object({
      model: z.string().optional().describe('only this model (id or alias)').register(cli, { arg: 'id', defaultText: 'every model with forecasts' }),
      date: z
        .string()
        .optional()
        .describe('a logical date (an NYSE trading day): forecasts for days up to it are matured, error and drift windows end at it')
        .register(cli, { arg: 'YYYY-MM-DD', defaultText: 'none: all the data there is' }),
    })
    .strict(),
  examples: ['stockpipe monitor', 'stockpipe monitor --model forecast_champion --json', 'stockpipe monitor --date 2024-07-03'],
  run: async (o, ctx) => (await import('../monitor.js')).monitorCommand(ctx, { model: o.model, until: o.date === undefined ? undefined : checkLogicalDate('--date', o.date, ctx.now()), deliver: async (alerts) => (await import('../run.js')).deliverAlerts(ctx, alerts) }),
});

export const run = defineCommand({
  name: 'run',
  summary:
    'run a pipeline (train: fetch → ingest → validate → features → train → evaluate → register; daily: … → forecast → monitor → retrain-if-needed) with retries, caching and run history',
  args: z
    .object({
      pipeline: z
        .string()
        .optional()
        .describe('the pipeline to run: train or daily')
        .register(cli, { defaultText: "train; with --resume RUN_ID, that run's pipeline" }),
    })
    .strict(),
  options: () =>
    z
    .object({
      resume: z
        .union([z.literal(true), z.string()])
        .optional()
        .describe('continue a failed, cancelled or killed run from its first unfinished task')
        .register(cli, { arg: '[run-id]', defaultText: 'the latest such run' }),
      from: z.string().optional().describe('run only this task and the ones after it').register(cli, { arg: 'task' }),
      to: z.string().optional().describe('run only up to this task').register(cli, { arg: 'task' }),
      date: z
        .string()
        .optional()
        .describe('the logical date: run for this NYSE trading day, with only the data known by then (forecast, monitor and retraining read rows dated up to it)')
        .register(cli, { arg: 'YYYY-MM-DD', defaultText: 'none: all the data there is' }),
      dryRun: flag().describe('print the plan: which tasks would run and which are cached'),
      force: flag().describe('ignore the cache: run every task'),
      forceTask: z.array(z.string()).default([]).describe('ignore the cache for this task (repeatable)').register(cli, { arg: 'name' }),
      wait: decimal()
        .pipe(z.number().min(0, 'expects seconds (0 or more)'))
        .optional()
        .describe('wait this many seconds for another run on this workspace to finish instead of refusing')
        .register(cli, { arg: '[seconds]', preset: '3600' }),
      source: z
        .string()
        .optional()
        .describe("switch the workspace's source: synthetic | dir:PATH | zip:PATH | kaggle[:owner/slug] | yahoo")
        .register(cli, { short: 's', config: 'fetch.source', defaultText: 'the source it remembers, source.json' }),
      executor: z
        .enum(['local', 'bullmq'])
        .optional()
        .describe('where tasks run: local child processes, or bullmq jobs for `stockpipe worker`s (needs STOCKPIPE_REDIS_URL)')
        .register(cli, { arg: 'kind', config: 'pipeline.executor', defaultText: 'local' }),
    })
    .strict(),
  examples: [
    'stockpipe run                      # the train pipeline',
    'STOCKPIPE_REDIS_URL=redis://10.0.0.5:6379/0 stockpipe run daily --executor bullmq   # on queue workers',
    'stockpipe run train --dry-run',
    'stockpipe run --resume             # continue the latest failed run',
    'stockpipe run --resume <run-id>    # continue that run, daily or train',
    'stockpipe run daily --from features --force-task features',
    'stockpipe run daily --date 2024-07-03   # as of the close of 2024-07-03',
    'stockpipe run train --json',
    'stockpipe run train --source dir:./stock-market-dataset   # switch the workspace to this source',
  ],
  run: async (o, ctx, inv: Inv) =>
    (await import('../run.js')).runCommand(ctx, {
      pipeline: o.pipeline,
      logicalDate: o.date === undefined ? undefined : checkLogicalDate('--date', o.date, ctx.now()),
      switchSource: o.source !== undefined,
      resume: o.resume,
      from: o.from,
      to: o.to,
      dryRun: o.dryRun,
      force: o.force,
      forceTasks: o.forceTask,
      waitMs: (o.wait ?? 0) * 1000,
      globalArgs: childGlobalArgs(inv.globals, { debug: true }),
      version: inv.version,
      executor: o.executor,
    }),
});

export const backfill = defineCommand({
  name: 'backfill',
  summary: 'run a pipeline once per NYSE trading day from --from to --to, each with that logical date (cached per day, resumable; days that finished before are skipped)',
  args: z.object({ pipeline: z.string().default('daily').describe('the pipeline to run each day: daily or train') }).strict(),
  options: () =>
    z
    .object({
      from: z.string().describe('the first day of the range').register(cli, { arg: 'YYYY-MM-DD' }),
      to: z.string().describe('the last day of the range (today at the latest)').register(cli, { arg: 'YYYY-MM-DD' }),
      force: flag().describe('run every day again, the finished ones too, ignoring the task cache'),
      dryRun: flag().describe('list the trading days and what each would do (run, resume, skip)'),
      continueOnFailure: flag().describe('go on with the next days after a failed day (the backfill still ends failed)'),
      wait: decimal()
        .pipe(z.number().min(0, 'expects seconds (0 or more)'))
        .optional()
        .describe('wait this many seconds for another run on this workspace to finish instead of refusing')
        .register(cli, { arg: '[seconds]', preset: '3600' }),
    })
    .strict(),
  examples: [
    'stockpipe backfill daily --from 2024-01-02 --to 2024-12-31',
    'stockpipe backfill daily --from 2024-07-01 --to 2024-07-31 --dry-run',
    'stockpipe backfill daily --from 2024-07-01 --to 2024-07-31 --json   # again after Ctrl-C: continues',
  ],
  run: async (o, ctx, inv: Inv) =>
    (await import('../backfill.js')).backfillCommand(ctx, {
      pipeline: o.pipeline,
      from: o.from,
      to: o.to,
      force: o.force,
      dryRun: o.dryRun,
      continueOnFailure: o.continueOnFailure,
      waitMs: (o.wait ?? 0) * 1000,
      globalArgs: childGlobalArgs(inv.globals, { debug: true }),
      version: inv.version,
    }),
});

export const scheduler = defineCommand({
  name: 'scheduler',
  summary: 'run the pipelines of the config\'s "schedules" on their cron expressions (NYSE trading days), until Ctrl-C',
  options: none,
  notes: [
    'Config (stockpipe.config.json):',
    '  "schedules": [{ "pipeline": "daily", "cron": "30 18 * * 1-5", "timezone": "America/New_York" }],',
    '  "alerts": { "webhook_url": "https://hooks.example.com/T0/B0/x" }',
  ].join('\n'),
  examples: ['stockpipe scheduler', 'stockpipe scheduler --config prod.config.json'],
  run: async (_o, ctx, inv: Inv) => (await import('../scheduler.js')).schedulerCommand(ctx, { globalArgs: childGlobalArgs(inv.globals, { debug: false }), configFile: configFileOf(inv.globals), version: inv.version }),
});

export const worker = defineCommand({
  name: 'worker',
  summary: 'run queued pipeline tasks (executor bullmq) on this machine until Ctrl-C: needs STOCKPIPE_REDIS_URL and the workspace at the same path as the runner',
  options: () =>
    z
    .object({
      concurrency: whole().default(1).describe('jobs at once (each job\'s command gets --threads = cores / concurrency unless --threads is given)'),
      lockSeconds: whole()
        .default(30)
        .describe("a job's lock: renewed while it runs; a worker dead or frozen this long loses the job to another worker")
        .register(cli, { arg: 'seconds' }),
    })
    .strict(),
  notes: 'Stopping: the first SIGINT/SIGTERM finishes the running jobs and takes no new one; a second hands them back to the queue. docs/scale-out.md.',
  examples: ['STOCKPIPE_REDIS_URL=redis://10.0.0.5:6379/0 stockpipe worker', 'stockpipe worker --concurrency 2 --threads 4'],
  run: async (o, ctx, inv: Inv) => {
    inRange('--concurrency', o.concurrency, 1, 64);
    inRange('--lock-seconds', o.lockSeconds, 1, 3600);
    // A job names its workspace (the runner's); `worker --workspace X` read as "only X's jobs" took every job of the queue without a word.
    if (inv.globals.workspace !== undefined) ctx.log.warn({ workspace: ctx.ws.root, queue: ctx.config.pipeline.queue }, 'worker: --workspace is not used: each job runs on the workspace its runner named; give another deployment its own pipeline.queue');
    // --threads 0 is one thread (core/config), handed on as it is; only a worker without --threads shares out its cores.
    return (await import('../worker.js')).workerCommand(ctx, { concurrency: o.concurrency, threads: inv.globals.threads, lockSeconds: o.lockSeconds });
  },
});

export const runsList = defineCommand({
  name: 'runs list',
  isDefault: true,
  summary: 'pipeline runs, newest first, with task counts by state (--kind: the runs of writing commands)',
  options: () =>
    z
    .object({
      limit: whole().default(50).describe('at most N runs'),
      offset: whole().optional().describe('skip the newest N runs'),
      pipeline: z.string().min(1, 'expects a pipeline name').optional().describe('only runs of this pipeline').register(cli, { arg: 'name' }),
      status: z.enum(PIPELINE_RUN_STATUSES).optional().describe('only runs in this state (abandoned: left running by a killed runner)'),
      backfill: z.string().optional().describe("only this backfill's runs").register(cli, { arg: 'id' }),
      kind: z.enum([...RUN_KINDS, 'all']).optional().describe('runs of this kind, or all, in the command-run shape (docs/cli.md)').register(cli, { arg: 'kind', defaultText: 'pipeline' }),
      parent: z.string().optional().describe("only this run's child runs (a pipeline run's task commands)").register(cli, { arg: 'run-id' }),
    })
    .strict(),
  examples: ['stockpipe runs', 'stockpipe runs list --status failed --json', 'stockpipe runs list --kind train', 'stockpipe runs list --kind all --parent <pipeline-run-id>'],
  run: async (o, ctx) => {
    inRange('--limit', o.limit, 1, Number.MAX_SAFE_INTEGER);
    inRange('--offset', o.offset, 0, Number.MAX_SAFE_INTEGER);
    return (await import('../runs.js')).runsListCommand(ctx, { limit: o.limit, offset: o.offset, pipeline: o.pipeline, status: o.status, backfill: o.backfill, kind: o.kind, parent: o.parent });
  },
});

export const runsShow = defineCommand({
  name: 'runs show',
  summary: 'one run: a pipeline run with its tasks (state, attempts, duration, rows, errors), or a command run with its params and lineage',
  args: z.object({ 'run-id': z.string() }).strict(),
  options: none,
  examples: ['stockpipe runs show <run-id> --json'],
  run: async (o, ctx) => (await import('../runs.js')).runsShowCommand(ctx, o['run-id']),
});

export const runsCancel = defineCommand({
  name: 'runs cancel',
  summary: 'stop a running run as Ctrl-C would (SIGTERM to its runner): tasks stopped, the run marked cancelled and resumable',
  args: z.object({ 'run-id': z.string() }).strict(),
  options: () =>
    z
    .object({
      wait: decimal()
        .pipe(z.number().min(0, 'expects seconds (0 or more)'))
        .default(60)
        .describe('wait at most this many seconds for the run to end (0 = return at once)')
        .register(cli, { arg: 'seconds' }),
    })
    .strict(),
  examples: ['stockpipe runs cancel <run-id>', 'stockpipe runs cancel <run-id> --wait 0 --json'],
  run: async (o, ctx) => (await import('../runs.js')).runsCancelCommand(ctx, o['run-id'], o.wait * 1000),
});

export const runsLogs = defineCommand({
  name: 'runs logs',
  summary: "a task's log file (its command's stderr and the runner's lines)",
  args: z.object({ 'run-id': z.string(), task: z.string() }).strict(),
  options: none,
  examples: ['stockpipe runs logs <run-id> ingest'],
  run: async (o, ctx) => (await import('../runs.js')).runsLogsCommand(ctx, o['run-id'], o.task),
});
