/** @module pipeline/builtin/daily
 * The `daily` pipeline: fetch → ingest → validate → features --extended → forecast-model (trains the
 * first day-ahead model of a workspace) → forecast → monitor → retrain-if-needed (a day-ahead model
 * trained and promoted if better when monitor asks for it, at most once per
 * monitor.retrain_cooldown_days trading days of data). With a logical date, the last four get `--date D`
 * and read only rows dated up to D; the data tasks stay date-independent. */
import { tradingDays } from '../../core/calendar.js';
import { StockpipeError } from '../../core/errors.js';
import { layout, type Workspace } from '../../core/workspace.js';
import { FORECAST_ALIAS } from '../../ml/train-forecast-run.js';
import { maxTaskSummaryField } from '../../registry/pipeline.js';
import { openRegistry } from '../../registry/store.js';
import { FORECAST, MONITOR, TRAIN_FORECAST } from '../task-data.js';
import type { Pipeline, TaskContext, TaskResult, TaskSummary } from '../types.js';
import { partitionedForecast } from './forecast-partitioned.js';
import { dataTasks, executorOf, type TaskKit } from './tasks.js';

/** The retrain-if-needed task's summary (recorded in the store; the next run reads its data_date). */
export interface RetrainSummary {
  retrained: boolean;
  /** The newest day monitor judged when the retrain was asked for. */
  data_date?: string | null;
  reason: string;
  model_id?: string | null;
  promotion?: unknown;
}

/** The newest day monitor judged (its models' windows and drift), YYYY-MM-DD, or null. */
function monitoredUpTo(m: { models: { window: { to: string | null } }[]; drift: { to: string }[] }): string | null {
  const days = [...m.models.map((x) => x.window.to), ...m.drift.map((d) => d.to)].filter((d): d is string => typeof d === 'string');
  return days.length === 0 ? null : days.sort().at(-1)!;
}

/**
 * `--test-days N` for the day-ahead trainings (N = monitor.train_test_days; none for 0) when the days a
 * day-ahead row can be tested on, up to the logical date, are more than five times N trading days. A
 * shorter history keeps train's default cut, the last fifth of its dates, so that a young workspace (a
 * backfill from its first months) still has rows to fit.
 */
async function testDaysArgs(ws: Workspace, n: number, logicalDate: string | null): Promise<string[]> {
  if (n === 0) return [];
  const { usableSpan } = await import('../../ml/rescore.js'); // DuckDB, loaded by the runner for this task only
  const { first, last } = await usableSpan(ws, 'forecast', undefined, logicalDate ?? undefined).catch((err: unknown) => {
    if (err instanceof StockpipeError && err.code === 'SP_ERR_TRAIN_DATA') return { first: null, last: null }; // no features table: train says so
    throw err;
  });
  if (first === null || last === null) return [];
  return tradingDays(first, last).length > 5 * n ? ['--test-days', String(n)] : [];
}

/** The newest data day any retrain of the daily pipeline trained on (not the latest retrain to finish:
 * a re-run or backfill of an earlier day retrains on older data), or null. */
function lastRetrain(ws: Workspace): string | null {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return maxTaskSummaryField(reg, 'daily', 'retrain-if-needed', 'data_date', 'retrained');
  } finally {
    reg.close();
  }
}

/** The model `forecast` uses (the forecast_champion's id), or null when there is none yet. */
function forecastHolder(ws: Workspace): string | null {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return reg.aliasTarget(FORECAST_ALIAS);
  } finally {
    reg.close();
  }
}

/** Why monitor asked for no retrain: thresholds not passed, nothing judged, or retraining switched off. */
function noRetrainReason(m: { checks?: { status: string }[]; drift: { status?: string }[] } | null, retrainOnAlert: boolean): string {
  if (m === null) return 'no monitor result';
  if (!retrainOnAlert) return 'retraining on alerts is off (monitor.retrain_on_alert: false)';
  const statuses = [...(m.checks ?? []).map((c) => c.status), ...m.drift.map((d) => d.status)];
  if (statuses.every((s) => s === 'too_few_rows')) return 'nothing was judged: too few rows in the monitored windows (monitor.min_rows)';
  return 'monitored error and drift within thresholds';
}

export function dailyPipeline(kit: TaskKit): Pipeline {
  const { task, cmd, penv } = kit;
  const cfg = penv.config;
  // The date-dependent tasks get the run's logical date: they read only rows dated up to it.
  const dateArgs = (ctx: TaskContext): string[] => (ctx.logicalDate === null ? [] : ['--date', ctx.logicalDate]);
  const forecastRows = (d: TaskSummary): TaskResult => ({ rowsOut: FORECAST.read(d)?.rows_out ?? null });
  // Fitted on all the data but its last monitor.train_test_days trading days (the test slice, reported).
  const trainForecast = async (ctx: TaskContext): Promise<TaskResult> => {
    const testDays = await testDaysArgs(penv.ws, cfg.monitor.train_test_days, ctx.logicalDate);
    return cmd(() => ['train', '--task', 'forecast', '--promote-if-better', ...testDays, ...dateArgs(ctx)], () => ({}))(ctx);
  };
  return {
    name: 'daily',
    description: 'fetch new bars → ingest → validate → features → forecast → monitor → retrain-if-needed',
    tasks: [
      ...dataTasks(kit, true),
      task({
        name: 'forecast-model',
        deps: ['features'],
        cache: 'never',
        dated: true,
        // The first daily run of a workspace has no forecast model yet: train one; later runs skip.
        run: async (ctx) => {
          const holder = forecastHolder(penv.ws);
          if (holder !== null) return { status: 'skipped', summary: { model_id: holder, trained: false } };
          return trainForecast(ctx);
        },
      }),
      task({
        name: 'forecast',
        deps: ['forecast-model'],
        dated: true, // each logical date is cached on its own
        inputs: [layout.tableHead('features')],
        // The model it forecasts with: a forecast_champion moved since (a retrain, `models promote`) forecasts
        // again; on the same features the task was cached with the old model's forecasts, the new one had none.
        params: () => ({ model_id: forecastHolder(penv.ws) }),
        // On a queue executor, one job per group of symbol buckets, written by the runner in one transaction.
        run: executorOf(penv).kind === 'bullmq'
          ? partitionedForecast(penv, executorOf(penv), forecastRows)
          : cmd((ctx) => ['forecast', ...dateArgs(ctx)], forecastRows),
      }),
      task({
        name: 'monitor',
        deps: ['forecast'],
        cache: 'never', // its input is the store (forecasts maturing as days arrive)
        dated: true,
        run: cmd((ctx) => ['monitor', ...dateArgs(ctx)], (d) => {
          const r = MONITOR.read(d);
          return { rowsIn: r?.matured ?? null, rowsOut: r?.scored ?? null };
        }),
      }),
      task({
        name: 'retrain-if-needed',
        deps: ['monitor'],
        cache: 'never',
        dated: true,
        run: async (ctx) => {
          const m = MONITOR.read(ctx.upstream.monitor);
          // A run started --from retrain-if-needed gets the latest monitor result, which may be another
          // day's (or a dated one in a run without --date, which judges all the data).
          if (m !== null && m.logical_date !== undefined && m.logical_date !== ctx.logicalDate) {
            return { status: 'skipped', summary: { retrained: false, reason: `the monitor result at hand is for ${m.logical_date ?? 'all the data'}, not ${ctx.logicalDate ?? 'all the data (a run without --date)'}: run from monitor (--from monitor) to judge this day` } satisfies RetrainSummary };
          }
          if (m?.retrain_needed !== true) return { status: 'skipped', summary: { retrained: false, reason: noRetrainReason(m, cfg.monitor.retrain_on_alert) } satisfies RetrainSummary };
          const dataDate = monitoredUpTo(m);
          const cooldown = cfg.monitor.retrain_cooldown_days;
          const last = lastRetrain(penv.ws);
          if (cooldown > 0 && last !== null && dataDate !== null && (dataDate <= last || tradingDays(last, dataDate).length - 1 < cooldown)) {
            const why = dataDate <= last ? `a retrain already used data up to ${last}, not older than this day's ${dataDate}` : `the last retrain was on data up to ${last}, fewer than ${cooldown} trading days before ${dataDate}`;
            return { status: 'skipped', summary: { retrained: false, data_date: dataDate, reason: `retrain needed, but ${why} (monitor.retrain_cooldown_days)` } satisfies RetrainSummary };
          }
          const t = TRAIN_FORECAST.read((await trainForecast(ctx)).summary);
          return { summary: { retrained: true, data_date: dataDate, reason: 'monitor threshold exceeded', model_id: t?.model_id ?? null, promotion: t?.promotion ?? null } satisfies RetrainSummary };
        },
      }),
    ],
  };
}
