/** @module pipeline/task-data
 * Typed reads of a task's summary (a command's --json data): one reader per command, holding a zod
 * schema of the fields the pipelines read, each checked at compile time against the producer's
 * data type (FetchData, IngestReport, …, defined beside the code that produces them), so renaming
 * or retyping a field there fails the type check here. Reading a field an upstream result lacks is
 * SP_ERR_PIPELINE_INPUT (e.g. `--from` skipped the task that produces it). */
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import type { IngestReport } from '../etl/ingest.js';
import type { FeaturesReport } from '../features/build.js';
import type { EvaluateData, EvaluateForecastData } from '../ml/evaluate.js';
import type { ForecastData } from '../ml/forecast-next.js';
import type { TrainForecastData } from '../ml/train-forecast-run.js';
import type { TrainData } from '../ml/train-volume.js';
import type { MonitorData } from '../monitor/pass.js';
import type { FetchData } from '../sources/workspace-fetch.js';
import type { ValidateData } from '../validate/workspace.js';
import type { TaskSummary } from './types.js';

type Shape = Record<string, z.ZodType>;

/** Each field must be one of T's, and every value T has there must parse (T[K] ⊆ the schema's output). */
type Checked<T, S extends Shape> = { [K in keyof S]: K extends keyof T ? (T[K] extends z.output<S[K]> ? S[K] : never) : never };

/** The fields of one command's data that a pipeline reads. */
export class DataReader<S extends Shape> {
  private readonly schema: z.ZodObject<S>;

  constructor(private readonly shape: S) {
    this.schema = z.object(shape);
  }

  /** One field `task` needs from an upstream result; SP_ERR_PIPELINE_INPUT when it has none. */
  need<K extends keyof S & string>(summary: TaskSummary | undefined, key: K, task: string): z.output<S[K]> {
    const r = this.shape[key]!.safeParse(summary?.[key]);
    if (!r.success) throw new StockpipeError('SP_ERR_PIPELINE_INPUT', `task ${task} needs '${key}' from its upstream result, which has none`, { hint: 'Run the whole pipeline (without --from) so the upstream task runs first.' });
    return r.data as z.output<S[K]>;
  }

  /** All the fields, or null when the result lacks one (row counts are informative only). */
  read(summary: TaskSummary | undefined): z.output<z.ZodObject<S>> | null {
    const r = this.schema.safeParse(summary);
    return r.success ? r.data : null;
  }
}

/** Makes a reader of `T`'s fields: `dataOf<T>()({ field: schema, … })`. */
export type ReaderOf<T> = 
  <S extends Shape>(shape: S & Checked<T, S>) => DataReader<S>

/** A reader of `T`'s fields: `dataOf<T>()({ field: schema, … })`. */
export function dataOf<T>(): ReaderOf<T> {
  // The check is on the call's argument; the reader itself only needs the shape.
  const make = <S extends Shape>(shape: S): DataReader<S> => new DataReader<S>(shape);
  return make as ReaderOf<T>;
}

export const FETCH = dataOf<FetchData>()({ source: z.string(), manifest: z.string(), cached: z.boolean() });
export const INGEST = dataOf<IngestReport>()({ rows_read: z.number(), rows_kept: z.number() });
export const VALIDATE = dataOf<ValidateData>()({ rows: z.number() });
/** rows_with_features: optional (a result recorded before it existed shows `rows`). */
export const FEATURES = dataOf<FeaturesReport>()({ rows: z.number(), rows_with_features: z.number().optional() });
export const TRAIN = dataOf<TrainData>()({ model_id: z.string(), rows_train: z.number(), rows_valid: z.number(), rows_test: z.number() });
export const TRAIN_FORECAST = dataOf<TrainForecastData>()({ model_id: z.string(), promotion: z.unknown() });
export const EVALUATE = dataOf<EvaluateData | EvaluateForecastData>()({ test: z.object({ rows: z.number() }) });
export const FORECAST = dataOf<ForecastData>()({ rows_out: z.number() });
export const MONITOR = dataOf<MonitorData>()({
  matured: z.number(),
  scored: z.number(),
  retrain_needed: z.boolean(),
  models: z.array(z.object({ window: z.object({ to: z.string().nullable() }) })),
  checks: z.array(z.object({ status: z.string() })).optional(),
  drift: z.array(z.object({ to: z.string(), status: z.string().optional() })),
  /** The day judged (`monitor --date`); null for all the data; absent in results recorded before it. */
  logical_date: z.string().nullable().optional(),
});
