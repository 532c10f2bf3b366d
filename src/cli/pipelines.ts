/** @module cli/pipelines
 * The built-in pipelines (SPEC §7) composed from the CLI's commands, each task running its
 * command in a child process (pipeline/subprocess.ts):
 *   train: fetch → ingest → validate → features → train → evaluate → register
 *   daily: fetch → ingest → validate → features --extended → forecast-model → forecast → monitor
 *          → retrain-if-needed
 * Inputs and outputs are the workspace files each command reads and writes (SPEC §2–§5), so the
 * runner's content-hash cache skips a task whose inputs, params and code version are unchanged. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../core/config.js';
import { StockpipeError } from '../core/errors.js';
import { layout, type Workspace } from '../core/workspace.js';
import { hashJson } from '../core/fs.js';
import { runCommandProcess } from '../pipeline/subprocess.js';
import type { Pipeline, TaskContext, TaskResult, TaskSpec, TaskSummary } from '../pipeline/types.js';
import { tradingDays } from '../core/calendar.js';
import { latestTaskResult } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import { promote } from '../registry/promote.js';
import type { CommandContext } from './context.js';
import { workspaceRescorer } from './dataset.js';

export const PIPELINE_NAMES = ['train', 'daily'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

export interface PipelineEnv {
  ws: Workspace;
  config: Config;
  /** Global flags every child gets (--workspace, --config, --threads, --memory-limit). */
  globalArgs: readonly string[];
  env: NodeJS.ProcessEnv;
  /** The CLI entry the children run (default: this build's dist/cli/task-main.js). */
  mainScript?: string;
  /** Bumped with the program version: part of every task's cache key. */
  codeVersion: string;
  /** For the steps that run in the runner's process (promotion). */
  context: CommandContext;
  /** Extra arguments of the fetch task (`--source S --switch-source` when `run --source` switches). */
  fetchArgs?: readonly string[];
}

/** Task processes start at task-main (it watches the runner before loading the program). */
const MAIN = fileURLToPath(new URL('./task-main.js', import.meta.url));
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (s: TaskSummary | undefined, k: string, task: string): string => {
  const v = s?.[k];
  if (typeof v !== 'string') throw new StockpipeError('SP_ERR_PIPELINE_INPUT', `task ${task} needs '${k}' from its upstream result, which has none`, { hint: 'Run the whole pipeline (without --from) so the upstream task runs first.' });
  return v;
};

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

/** The newest day monitor judged (its models' windows and drift), YYYY-MM-DD, or null. */
function monitoredUpTo(m: TaskSummary): string | null {
  const days = [
    ...((m.models as { window?: { to?: string | null } }[] | undefined) ?? []).map((x) => x.window?.to ?? null),
    ...((m.drift as { to?: string | null }[] | undefined) ?? []).map((d) => d.to ?? null),
  ].filter((d): d is string => typeof d === 'string');
  return days.length === 0 ? null : days.sort().at(-1)!;
}

/** The data day of the last retrain the daily pipeline did, or null. */
function lastRetrain(ws: Workspace): string | null {
  const reg = openRegistry(ws, { readonly: true });
  try {
    const last = latestTaskResult(reg, 'daily', 'retrain-if-needed');
    const d = last?.summary?.retrained === true ? last.summary.data_date : null;
    return typeof d === 'string' ? d : null;
  } finally {
    reg.close();
  }
}

/** Builds the task specs of a pipeline for one workspace and config. */
export function buildPipeline(name: string, penv: PipelineEnv): Pipeline {
  const cfg = penv.config;
  const cmd = (args: (ctx: TaskContext) => string[], toResult: (data: TaskSummary) => TaskResult) => async (ctx: TaskContext): Promise<TaskResult> => {
    const data = await runCommandProcess({
      mainScript: penv.mainScript ?? MAIN,
      args: [...args(ctx), ...penv.globalArgs],
      logPath: ctx.logPath,
      signal: ctx.signal,
      processes: ctx.processes,
      env: penv.env,
      onLine: (line) => {
        const pct = /\((\d{1,3})%\)/.exec(line);
        ctx.progress({ note: line.replace(/\s+/g, ' ').slice(0, 60), fraction: pct ? Number(pct[1]) / 100 : undefined });
      },
    });
    return { summary: data, ...toResult(data) };
  };
  const task = (spec: Omit<TaskSpec, 'version' | 'retries' | 'retryDelayMs' | 'timeoutMs'> & { version?: string }): TaskSpec => {
    const own = cfg.pipeline.tasks[spec.name];
    return {
      ...spec,
      version: `${penv.codeVersion}/${spec.version ?? '1'}`,
      retries: own?.retries ?? cfg.pipeline.retries,
      retryDelayMs: cfg.pipeline.retry_delay_s * 1000,
      timeoutMs: own?.timeout_s === undefined ? undefined : own.timeout_s * 1000,
    };
  };

  const fetch = task({
    name: 'fetch',
    cache: 'never', // the source itself says whether anything changed (manifest hashes): shown as cached
    // The effective settings: the workspace's remembered source unless the user set another (cli/run).
    params: { ...cfg.fetch },
    outputs: (up) => [str(up.fetch, 'manifest', 'fetch')],
    run: cmd(() => ['fetch', ...(penv.fetchArgs ?? [])], (d) => ({ status: d.cached === true ? 'cached' : undefined, rowsOut: null })),
  });
  const ingest = task({
    name: 'ingest',
    deps: ['fetch'],
    // The manifest's content without its fetched-at stamp (a dir: or zip: source restamps an
    // unchanged manifest): its files' paths, sizes, mtimes and hashes are what ingest reads.
    params: (up) => ({ ...cfg.ingest, source: str(up.fetch, 'source', 'ingest'), manifest: manifestFingerprint(str(up.fetch, 'manifest', 'ingest')) }),
    outputs: [layout.pricesTable, layout.pricesReport],
    // --from: ingest what this run fetched, whichever source was fetched last.
    run: cmd((ctx) => ['ingest', '--from', str(ctx.upstream.fetch, 'source', 'ingest')], (d) => ({ rowsIn: num(d.rows_read), rowsOut: num(d.rows_kept) })),
  });
  const validate = task({
    name: 'validate',
    deps: ['ingest'],
    inputs: [layout.pricesTable],
    params: { ...cfg.validate },
    // The first run creates the reference; a new one (validate --set-reference) changes this output,
    // so the task runs again instead of reusing a result judged against the old reference.
    outputs: [layout.latestValidation, layout.currentReference('prices')],
    run: cmd(() => ['validate'], (d) => ({ rowsIn: num(d.rows), rowsOut: null })),
  });
  // train builds the plain features unless features.extended is set; daily always needs the lagged
  // ones (set features.extended when both pipelines run on one workspace, so neither rebuilds it).
  const features = (extended: boolean): TaskSpec => task({
    name: 'features',
    deps: ['validate'],
    inputs: [layout.pricesTable],
    params: { ...cfg.features, extended },
    outputs: [layout.featuresTable, layout.featuresReport],
    run: cmd(() => ['features', ...(extended ? ['--extended'] : [])], (d) => ({ rowsIn: num(d.rows), rowsOut: num(d.rows_with_features) ?? num(d.rows) })),
  });

  if (name === 'train') {
    return {
      name,
      description: 'fetch → ingest → validate → features → train → evaluate → register (the volume model, promoted to champion if better)',
      tasks: [
        fetch, ingest, validate, features(cfg.features.extended),
        task({
          name: 'train',
          deps: ['features'],
          inputs: [layout.featuresTable],
          params: { kind: 'gbdt' },
          outputs: (up) => [layout.modelFile(str(up.train, 'model_id', 'train'), 'model.json')],
          run: cmd(() => ['train'], (d) => ({ rowsIn: (num(d.rows_train) ?? 0) + (num(d.rows_valid) ?? 0) + (num(d.rows_test) ?? 0), rowsOut: null })),
        }),
        task({
          name: 'evaluate',
          deps: ['train'],
          inputs: (up) => [layout.featuresTable, layout.modelFile(str(up.train, 'model_id', 'evaluate'), 'model.json')],
          run: cmd((ctx) => ['evaluate', str(ctx.upstream.train, 'model_id', 'evaluate')], (d) => ({ rowsIn: num((d.test as TaskSummary | undefined)?.rows), rowsOut: null })),
        }),
        task({
          name: 'register',
          deps: ['evaluate'],
          inputs: (up) => [layout.modelFile(str(up.train, 'model_id', 'register'), 'model.json')],
          params: { alias: 'champion', metric: 'rmse_log' },
          run: async (ctx) => {
            const modelId = str(ctx.upstream.train, 'model_id', 'register');
            const reg = openRegistry(penv.ws);
            try {
              // The champion is re-scored on this model's test slice when the data grew since it was tested.
              const d = await promote(reg, modelId, 'champion', { metric: 'rmse_log', trigger: 'auto', note: `pipeline run ${ctx.runId}`, rescore: workspaceRescorer(penv.context) });
              return { summary: { ...d } };
            } finally {
              reg.close();
            }
          },
        }),
      ],
    };
  }
  if (name === 'daily') {
    return {
      name,
      description: 'fetch new bars → ingest → validate → features → forecast → monitor → retrain-if-needed',
      tasks: [
        fetch, ingest, validate, features(true),
        task({
          name: 'forecast-model',
          deps: ['features'],
          cache: 'never',
          // The first daily run of a workspace has no forecast model yet: train one; later runs skip.
          run: async (ctx) => {
            const reg = openRegistry(penv.ws, { readonly: true });
            const holder = (() => { try { return reg.aliasTarget('forecast_champion'); } finally { reg.close(); } })();
            if (holder !== null) return { status: 'skipped', summary: { model_id: holder, trained: false } };
            return cmd(() => ['train', '--task', 'forecast', '--promote-if-better'], () => ({}))(ctx);
          },
        }),
        task({
          name: 'forecast',
          deps: ['forecast-model'],
          inputs: [layout.featuresTable],
          run: cmd(() => ['forecast'], (d) => ({ rowsOut: num(d.rows_out) })),
        }),
        task({
          name: 'monitor',
          deps: ['forecast'],
          cache: 'never', // its input is the store (forecasts maturing as days arrive)
          run: cmd(() => ['monitor'], (d) => ({ rowsIn: num(d.matured), rowsOut: num(d.scored) })),
        }),
        task({
          name: 'retrain-if-needed',
          deps: ['monitor'],
          cache: 'never',
          run: async (ctx) => {
            const m = ctx.upstream.monitor;
            if (m?.retrain_needed !== true) return { status: 'skipped', summary: { retrained: false, reason: 'monitored error and drift within thresholds' } };
            const dataDate = monitoredUpTo(m);
            const cooldown = cfg.monitor.retrain_cooldown_days;
            const last = lastRetrain(penv.ws);
            if (cooldown > 0 && last !== null && dataDate !== null && last <= dataDate && tradingDays(last, dataDate).length - 1 < cooldown) {
              return { status: 'skipped', summary: { retrained: false, data_date: dataDate, reason: `retrain needed, but the last retrain was on data up to ${last}, fewer than ${cooldown} trading days ago (monitor.retrain_cooldown_days)` } };
            }
            const r = await cmd(() => ['train', '--task', 'forecast', '--promote-if-better'], () => ({}))(ctx);
            return { summary: { retrained: true, data_date: dataDate, reason: 'monitor threshold exceeded', model_id: r.summary?.model_id ?? null, promotion: r.summary?.promotion ?? null } };
          },
        }),
      ],
    };
  }
  throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `no pipeline '${name}'`, { hint: `Pipelines: ${PIPELINE_NAMES.join(', ')}.` });
}
