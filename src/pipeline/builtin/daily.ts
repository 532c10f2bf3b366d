/** @module pipeline/builtin/daily
 * The `daily` pipeline: fetch → ingest → validate → features --extended → forecast-model (trains the
 * first day-ahead model of a workspace) → forecast → monitor → retrain-if-needed (a day-ahead model
 * trained and promoted if better when monitor asks for it, at most once per
 * monitor.retrain_cooldown_days trading days of data). With a logical date, the last four get `--date D`
 * and read only rows dated up to D; the data tasks stay date-independent. */
import { z } from 'zod';
import { tradingDays } from '../../core/calendar.js';
import { layout, type Workspace } from '../../core/workspace.js';
import { FORECAST_ALIAS } from '../../ml/train-forecast-run.js';
import { latestTaskResult } from '../../registry/pipeline.js';
import { openRegistry } from '../../registry/store.js';
import { dataOf, FORECAST, MONITOR, TRAIN_FORECAST } from '../task-data.js';
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

const RETRAIN = dataOf<RetrainSummary>()({ retrained: z.boolean(), data_date: z.string().nullable().optional() });

/** The newest day monitor judged (its models' windows and drift), YYYY-MM-DD, or null. */
function monitoredUpTo(m: { models: { window: { to: string | null } }[]; drift: { to: string }[] }): string | null {
  const days = [...m.models.map((x) => x.window.to), ...m.drift.map((d) => d.to)].filter((d): d is string => typeof d === 'string');
  return days.length === 0 ? null : days.sort().at(-1)!;
}

/** The data day of the last retrain the daily pipeline did, or null. */
function lastRetrain(ws: Workspace): string | null {
  const reg = openRegistry(ws, { readonly: true });
  try {
    const last = RETRAIN.read(latestTaskResult(reg, 'daily', 'retrain-if-needed')?.summary ?? undefined);
    return last?.retrained === true && typeof last.data_date === 'string' ? last.data_date : null;
  } finally {
    reg.close();
  }
}

export function dailyPipeline(kit: TaskKit): Pipeline {
  const { task, cmd, penv } = kit;
  const cfg = penv.config;
  // The date-dependent tasks get the run's logical date: they read only rows dated up to it.
  const dateArgs = (ctx: TaskContext): string[] => (ctx.logicalDate === null ? [] : ['--date', ctx.logicalDate]);
  const forecastRows = (d: TaskSummary): TaskResult => ({ rowsOut: FORECAST.read(d)?.rows_out ?? null });
  const trainForecast = cmd((ctx) => ['train', '--task', 'forecast', '--promote-if-better', ...dateArgs(ctx)], () => ({}));
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
          const reg = openRegistry(penv.ws, { readonly: true });
          const holder = (() => { try { return reg.aliasTarget(FORECAST_ALIAS); } finally { reg.close(); } })();
          if (holder !== null) return { status: 'skipped', summary: { model_id: holder, trained: false } };
          return trainForecast(ctx);
        },
      }),
      task({
        name: 'forecast',
        deps: ['forecast-model'],
        dated: true, // each logical date is cached on its own
        inputs: [layout.tableHead('features')],
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
          if (m?.retrain_needed !== true) return { status: 'skipped', summary: { retrained: false, reason: 'monitored error and drift within thresholds' } satisfies RetrainSummary };
          const dataDate = monitoredUpTo(m);
          const cooldown = cfg.monitor.retrain_cooldown_days;
          const last = lastRetrain(penv.ws);
          if (cooldown > 0 && last !== null && dataDate !== null && last <= dataDate && tradingDays(last, dataDate).length - 1 < cooldown) {
            return { status: 'skipped', summary: { retrained: false, data_date: dataDate, reason: `retrain needed, but the last retrain was on data up to ${last}, fewer than ${cooldown} trading days ago (monitor.retrain_cooldown_days)` } satisfies RetrainSummary };
          }
          const t = TRAIN_FORECAST.read((await trainForecast(ctx)).summary);
          return { summary: { retrained: true, data_date: dataDate, reason: 'monitor threshold exceeded', model_id: t?.model_id ?? null, promotion: t?.promotion ?? null } satisfies RetrainSummary };
        },
      }),
    ],
  };
}
