/** @module ml/forecast-partitions
 * Partitioned day-ahead forecasts for the bullmq executor (docs/scale-out.md): each partition
 * (`forecast --plan PLAN.json --buckets … --stage DIR`) scores the last bar of every symbol, as a
 * whole run does, and keeps the forecasts of its buckets' symbols in DIR/_forecasts.json; the
 * coordinator's commit (`forecast --commit-stage COMMIT.json`) writes them all into the registry in
 * one transaction under one run named by the commit's key, so a replay writes nothing new. What a
 * forecast computes is ml/forecast-next's; this module only decides which symbols a job predicts. */
import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import { readJsonFile, writeFileAtomic } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { openRegistry } from '../registry/store.js';
import { BUCKETS, bucketOf } from '../store/partition.js';
import { type ForecastData, type ForecastEnv, forecastWindow, scoreNextDay, writeNextDay } from './forecast-next.js';
import { FORECAST_ALIAS } from './train-forecast-run.js';

const bucketList = z.array(z.number().int().min(0).max(BUCKETS - 1));

export const ForecastPlanSchema = z
  .object({
    version: z.literal(1),
    /** The model every partition scores with (the alias resolved once by the planner). */
    model_id: z.string().min(1),
    until: z.string().nullable(),
    buckets: bucketList,
  })
  .strict();
export type ForecastPlan = z.infer<typeof ForecastPlanSchema>;

/** Resolves the model once (forecast_champion unless `model`) and names every bucket: the forecast is of every symbol. */
export function planForecastPartitions(ws: Workspace, o: { model?: string; until?: string }): ForecastPlan {
  const reg = openRegistry(ws, { readonly: true });
  try {
    const mv = reg.getModel(o.model ?? FORECAST_ALIAS);
    return { version: 1, model_id: mv.id, until: o.until ?? null, buckets: Array.from({ length: BUCKETS }, (_, b) => b) };
  } finally {
    reg.close();
  }
}

const STAGED = '_forecasts.json';
const num = z.number().nullable();
const StagedSchema = z
  .object({
    version: z.literal(1),
    model_id: z.string(),
    until: z.string().nullable(),
    buckets: bucketList,
    symbols: z.number().int().min(0),
    rows: z.array(z.object({ model_id: z.string(), symbol: z.string(), asof_date: z.string(), target_date: z.string(), adj_close: num, volume: num, last_adj_close: num, last_volume: num }).strict()),
  })
  .strict();

export interface ForecastPartitionReport {
  stage: string;
  buckets: number[];
  model_id: string;
  rows: number;
  seconds: number;
}

/** One partition: the forecasts of the symbols of `buckets` into DIR/_forecasts.json (nothing else is written). */
export async function runForecastPartition(env: ForecastEnv, o: { plan: ForecastPlan; buckets: readonly number[]; stage: string }): Promise<ForecastPartitionReport> {
  const t0 = performance.now();
  const buckets = [...o.buckets].sort((a, b) => a - b);
  if (buckets.length === 0 || buckets.some((b, i) => !o.plan.buckets.includes(b) || buckets[i - 1] === b)) {
    throw new StockpipeError('SP_ERR_USAGE', `--buckets must list distinct buckets of the plan; got ${o.buckets.join(',') || 'none'}`);
  }
  const own = new Set(buckets);
  const s = await scoreNextDay(env, { model: o.plan.model_id, until: o.plan.until ?? undefined, only: (sym) => own.has(bucketOf(sym)) });
  // JSON has no NaN: a non-finite score is stored as null, as writeForecasts stores it.
  const rows = s.rows.map((r) => ({ ...r, adj_close: fin(r.adj_close), volume: fin(r.volume), last_adj_close: fin(r.last_adj_close), last_volume: fin(r.last_volume) }));
  await rm(o.stage, { recursive: true, force: true });
  await mkdir(o.stage, { recursive: true });
  await writeFileAtomic(join(o.stage, STAGED), `${JSON.stringify({ version: 1, model_id: s.model_id, until: o.plan.until, buckets, symbols: s.symbols, rows })}\n`);
  return { stage: o.stage, buckets, model_id: s.model_id, rows: rows.length, seconds: Math.round(performance.now() - t0) / 1000 };
}

const fin = (x: number | null): number | null => (x === null || !Number.isFinite(x) ? null : x);

export const ForecastCommitSchema = z.object({ version: z.literal(1), commit_key: z.string().min(1), plan: ForecastPlanSchema, stages: z.array(z.string().refine(isAbsolute)) }).strict();
export type ForecastCommit = z.infer<typeof ForecastCommitSchema>;

/**
 * Writes every partition's forecasts in one transaction under a run named `forecast <model> [<commit_key>]`.
 * When that run exists and finished (a replay), nothing is written and SP_ERR_PARTITION_STAGE is not
 * raised: the answer is rebuilt from the stored forecasts of that run.
 */
export async function commitForecastStages(env: ForecastEnv, commit: ForecastCommit): Promise<ForecastData> {
  const t0 = performance.now();
  const { plan } = commit;
  const runName = `forecast ${plan.model_id} [${commit.commit_key}]`;
  const reg = openRegistry(env.ws, { readonly: true });
  try {
    const done = reg.get<{ run_id: string }>('read run', "SELECT run_id FROM runs WHERE kind = 'forecast' AND name = ? AND status = 'finished'", [runName]);
    if (done !== undefined) {
      const rows = reg.all<{ symbol: string; asof_date: string; target_date: string }>('read forecasts', 'SELECT symbol, asof_date, target_date FROM forecasts WHERE run_id = ?', [done.run_id]);
      return {
        model_id: plan.model_id, logical_date: plan.until, run_id: done.run_id,
        asof_date_max: rows.reduce((m, r) => (r.asof_date > m ? r.asof_date : m), ''), target_dates: [...new Set(rows.map((r) => r.target_date))].sort(),
        symbols: rows.length, rows_in: rows.length, rows_out: rows.length, seconds: Math.round(performance.now() - t0) / 1000, window: forecastWindow(reg, plan.model_id),
      };
    }
  } finally {
    reg.close();
  }
  const seen = new Set<number>();
  const rows: z.infer<typeof StagedSchema>['rows'] = [];
  let symbols = 0;
  for (const dir of commit.stages) {
    const p = await readJsonFile(join(dir, STAGED), StagedSchema, 'forecast partition');
    if (p.model_id !== plan.model_id || p.until !== plan.until) throw new StockpipeError('SP_ERR_PARTITION_STAGE', `stage ${dir} was scored with model ${p.model_id} up to ${p.until ?? 'the end'}, the plan's are ${plan.model_id}, ${plan.until ?? 'the end'}`, { hint: 'Run the forecast task again.' });
    for (const b of p.buckets) {
      if (seen.has(b) || !plan.buckets.includes(b)) throw new StockpipeError('SP_ERR_PARTITION_STAGE', `stage ${dir}: bucket ${b} is in two stages or not in the plan`, { hint: 'Run the forecast task again.' });
      seen.add(b);
    }
    rows.push(...p.rows);
    symbols = p.symbols; // every partition reads every symbol
  }
  const missing = plan.buckets.filter((b) => !seen.has(b));
  if (missing.length > 0) throw new StockpipeError('SP_ERR_PARTITION_STAGE', `no stage holds bucket${missing.length > 1 ? 's' : ''} ${missing.join(',')}`, { hint: 'Run a partition for every bucket of the plan.' });
  rows.sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0));
  return writeNextDay(env, { model_id: plan.model_id, rows, rowsIn: symbols, symbols, until: plan.until ?? undefined, runName }, t0);
}
