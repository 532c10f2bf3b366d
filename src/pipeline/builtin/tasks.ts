/** @module pipeline/builtin/tasks
 * What the built-in pipelines share: their environment, the task builder (the config's retries
 * and timeouts, the code version in the key), a command run as a child process (pipeline/subprocess)
 * whose --json data becomes the task's summary, and the first four tasks both pipelines start with:
 * fetch → ingest → validate → features (ingest, validate and features as partition jobs on a queue executor). Inputs and outputs are the workspace files each command
 * reads and writes, so the runner's content-hash cache skips a task whose inputs, params and code
 * version are unchanged. */
import { readFileSync } from 'node:fs';
import type { Config } from '../../core/config.js';
import { StockpipeError } from '../../core/errors.js';
import { hashJson } from '../../core/fs.js';
import { layout, type Workspace } from '../../core/workspace.js';
import { type CommandExecutor, LocalExecutor } from '../executor.js';
import { INGEST_VERSION } from '../../etl/ingest-report.js';
import { FEATURES_VERSION } from '../../features/build.js';
import { partitionedFeatures } from './features-partitioned.js';
import { partitionedIngest } from './ingest-partitioned.js';
import { partitionedValidate } from './validate-partitioned.js';
import { FEATURES, FETCH, INGEST, VALIDATE } from '../task-data.js';
import type { TaskContext, TaskResult, TaskSpec, TaskSummary } from '../types.js';

export interface PipelineEnv {
  /** The workspace (its threads and memory limit are the config's). */
  ws: Workspace;
  config: Config;
  /** Global flags every child gets (--workspace, --config, --threads, --memory-limit). */
  globalArgs: readonly string[];
  env: NodeJS.ProcessEnv;
  /** The CLI entry the children run (cli/task-main.js: it watches the runner before loading the program). */
  mainScript: string;
  /** Bumped with the program version: part of every task's cache key. */
  codeVersion: string;
  /** Extra arguments of the fetch task (`--source S --switch-source` when `run --source` switches). */
  fetchArgs?: readonly string[];
  /** Where the commands run: child processes here (local, the default) or jobs for queue workers (bullmq). */
  executor?: CommandExecutor;
}

/** A task's spec without what the builder fills in from the config. */
export type TaskDraft = Omit<TaskSpec, 'version' | 'retries' | 'retryDelayMs' | 'timeoutMs'> & { version?: string };

/** Builds tasks and command runs for one pipeline environment. */
export interface TaskKit {
  penv: PipelineEnv;
  task(spec: TaskDraft): TaskSpec;
  /** A task body running `stockpipe <args> --json`; the data is the summary, `toResult` adds row counts and status. */
  cmd(args: (ctx: TaskContext) => string[], toResult: (data: TaskSummary) => TaskResult): (ctx: TaskContext) => Promise<TaskResult>;
}

export function taskKit(penv: PipelineEnv): TaskKit {
  const cfg = penv.config;
  return {
    penv,
    task: (spec) => {
      const own = cfg.pipeline.tasks[spec.name];
      return {
        ...spec,
        version: `${penv.codeVersion}/${spec.version ?? '1'}`,
        retries: own?.retries ?? cfg.pipeline.retries,
        retryDelayMs: cfg.pipeline.retry_delay_s * 1000,
        timeoutMs: own?.timeout_s === undefined ? undefined : own.timeout_s * 1000,
      };
    },
    cmd: (args, toResult) => async (ctx) => {
      // The command (here or on a queue worker) writes this log from now on: the runner's lines go first.
      ctx.flushLog?.();
      const { data, worker } = await executorOf(penv).run({
        runId: ctx.runId, task: ctx.task, partition: null, attempt: ctx.attempt,
        taskKey: ctx.cacheKey == null ? undefined : `${ctx.runId}.${ctx.task}.${ctx.cacheKey}`,
        args: [...args(ctx), ...penv.globalArgs], logPath: ctx.logPath, signal: ctx.signal, processes: ctx.processes, onProgress: (p) => ctx.progress(p),
      });
      return { summary: data, ...toResult(data), ...(worker === null ? {} : { workers: [worker] }) };
    },
  };
}

const locals = new WeakMap<PipelineEnv, CommandExecutor>();
/** The environment's executor (a local one when none was given). */
export function executorOf(penv: PipelineEnv): CommandExecutor {
  if (penv.executor !== undefined) return penv.executor;
  let l = locals.get(penv);
  if (l === undefined) locals.set(penv, (l = new LocalExecutor(penv.mainScript, penv.env)));
  return l;
}

/** A source manifest's hash without `fetched_at`; SP_ERR_PIPELINE_INPUT when it cannot be read. */
function manifestFingerprint(path: string): string {
  let m: Record<string, unknown>;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new StockpipeError('SP_ERR_PIPELINE_INPUT', `task ingest: input ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const { fetched_at: _stamp, ...content } = m;
  return hashJson(content);
}

/** A features report's row counts, as the task records them. */
function featureRows(d: TaskSummary): TaskResult {
  const r = FEATURES.read(d);
  return { rowsIn: r?.rows ?? null, rowsOut: r === null ? null : (r.rows_with_features ?? r.rows) };
}

/** fetch → ingest → validate → features (`extended`: with the lagged day-ahead columns). */
export function dataTasks(kit: TaskKit, extended: boolean): TaskSpec[] {
  const { task, cmd, penv } = kit;
  const cfg = penv.config;
  const ingestFrom = (ctx: TaskContext): string => FETCH.need(ctx.upstream.fetch, 'source', 'ingest');
  const ingestRows = (d: TaskSummary): TaskResult => {
    const r = INGEST.read(d);
    return { rowsIn: r?.rows_read ?? null, rowsOut: r?.rows_kept ?? null };
  };
  const ingestWhole = cmd((ctx) => ['ingest', '--from', ingestFrom(ctx)], ingestRows);
  const validateRows = (d: TaskSummary): TaskResult => ({ rowsIn: VALIDATE.read(d)?.rows ?? null, rowsOut: null });
  const validateWhole = cmd(() => ['validate'], validateRows);
  const fetchCmd = cmd(() => ['fetch', ...(penv.fetchArgs ?? [])], (d) => ({ status: FETCH.read(d)?.cached === true ? 'cached' : undefined, rowsOut: null }));
  const fetch = task({
    name: 'fetch',
    cache: 'never', // the source itself says whether anything changed (manifest hashes): shown as cached
    // The effective settings: the workspace's remembered source unless the user set another (cli/run).
    params: { ...cfg.fetch },
    outputs: (up) => [FETCH.need(up.fetch, 'manifest', 'fetch')],
    run: async (ctx) => {
      const r = await fetchCmd(ctx);
      // Forced (`--force`, `--force-task fetch`): the task ran as asked, so it is shown as run; its summary still says nothing changed.
      return ctx.forced === true ? { ...r, status: undefined } : r;
    },
  });
  const ingest = task({
    name: 'ingest',
    deps: ['fetch'],
    // What ingest makes of the same files changes with its version (a table of another one is rebuilt).
    version: String(INGEST_VERSION),
    // The manifest's content without its fetched-at stamp (a dir: or zip: source restamps an
    // unchanged manifest): its files' paths, sizes, mtimes and hashes are what ingest reads.
    params: (up) => ({ ...cfg.ingest, source: FETCH.need(up.fetch, 'source', 'ingest'), manifest: manifestFingerprint(FETCH.need(up.fetch, 'manifest', 'ingest')) }),
    outputs: [layout.tableHead('prices'), layout.pricesReport],
    // --from: ingest what this run fetched, whichever source was fetched last.
    // On a queue executor, one job per group of symbol buckets with changed files, committed by the runner.
    run: executorOf(penv).kind === 'bullmq' ? partitionedIngest(penv, executorOf(penv), ingestFrom, ingestWhole, ingestRows) : ingestWhole,
  });
  const validate = task({
    name: 'validate',
    deps: ['ingest'],
    inputs: [layout.tableHead('prices')],
    params: { ...cfg.validate },
    // The first run creates the reference; a new one (validate --set-reference) changes this output,
    // so the task runs again instead of reusing a result judged against the old reference.
    outputs: [layout.latestValidation, layout.currentReference('prices')],
    // On a queue executor, an incremental check's whole-table passes as partition jobs, added up by the runner.
    run: executorOf(penv).kind === 'bullmq' ? partitionedValidate(penv, executorOf(penv), validateWhole, validateRows) : validateWhole,
  });
  // train builds the plain features unless features.extended is set; daily always needs the lagged
  // ones (set features.extended when both pipelines run on one workspace, so neither rebuilds it).
  const features = task({
    name: 'features',
    deps: ['validate'],
    version: String(FEATURES_VERSION),
    inputs: [layout.tableHead('prices')],
    params: { ...cfg.features, extended },
    outputs: [layout.tableHead('features'), layout.featuresReport],
    // On a queue executor, one job per group of changed symbol buckets, committed by the runner.
    run: executorOf(penv).kind === 'bullmq'
      ? partitionedFeatures(penv, executorOf(penv), extended, featureRows)
      : cmd(() => ['features', ...(extended ? ['--extended'] : [])], featureRows),
  });
  return [fetch, ingest, validate, features];
}
