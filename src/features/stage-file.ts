/** @module features/stage-file
 * A staged features file as a stage's manifest describes it: a partitioned build's stage
 * (features/partitions) and the stage a full ingest prepares (features/prepare) both name their files
 * `bucket=NN-<seq>.parquet` and record what the catalog will: rows, bytes, the Symbol and Date ranges. */
import { z } from '../core/zod.js';
import { BUCKETS } from '../store/partition.js';

/** A stage file's name: its bucket and its sequence number. */
export const STAGE_FILE = /^bucket=(\d{2})-(\d+)\.parquet$/;

export const StageFileSchema = z
  .object({
    name: z.string().regex(STAGE_FILE),
    bucket: z.number().int().min(0).max(BUCKETS - 1),
    rows: z.number().int().min(1),
    bytes: z.number().int().min(1),
    symbol_min: z.string(),
    symbol_max: z.string(),
    date_min: z.string(),
    date_max: z.string(),
  })
  .strict();
export type StageFile = z.infer<typeof StageFileSchema>;
