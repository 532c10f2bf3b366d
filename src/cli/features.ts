/** @module cli/features
 * `stockpipe features [--window N] [--extended] [--force]`: a new snapshot of the features table from the
 * current prices snapshot (only the changed symbols' window tails when it can; --extended adds the lagged
 * day-ahead columns of features/lagged); `--as-of X --out FILE`: the features of prices as of X, to a file;
 * for the bullmq executor, `--buckets L --stage DIR --prices-snapshot N --lineage ID`: one partition into a
 * stage folder, and `--commit-stage PLAN.json`: the staged partitions committed as one snapshot. */
import { resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import { checkUserOutput } from '../core/fs.js';
import { buildFeatures, featuresAsOf, type FeaturesAsOfReport, type FeaturesReport } from '../features/build.js';
import { commitFeatureStages, readStagePlan } from '../features/partition-commit.js';
import { buildFeaturePartition, type FeaturePartitionReport } from '../features/partitions.js';
import type { CommandContext, CommandResult } from './context.js';
import { refuseSourceFolderOutput } from '../sources/workspace-source.js';

export interface FeaturesCommandOptions {
  force: boolean;
  /** Overrides the config's features.extended (pipelines). */
  extended?: boolean;
  asOf?: string;
  out?: string;
  buckets?: number[];
  stage?: string;
  pricesSnapshot?: number;
  lineage?: number;
  commitStage?: string;
}

const PARTITION_FLAGS = ['buckets', 'stage', 'pricesSnapshot', 'lineage'] as const;
const flagName = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Refuses flags of two modes at once (a partition, a commit, an as-of file, a build). */
function checkModes(opts: FeaturesCommandOptions): void {
  const partition = PARTITION_FLAGS.filter((k) => opts[k] !== undefined);
  const others = (exclude: readonly (keyof FeaturesCommandOptions)[]): string[] =>
    (['asOf', 'out', 'commitStage', ...PARTITION_FLAGS] as const).filter((k) => !exclude.includes(k) && opts[k] !== undefined).map(flagName).concat(opts.force ? ['--force'] : []);
  if (partition.length > 0) {
    const missing = PARTITION_FLAGS.filter((k) => opts[k] === undefined);
    if (missing.length > 0) throw new StockpipeError('SP_ERR_USAGE', `${partition.map(flagName).join(', ')} need${partition.length === 1 ? 's' : ''} ${missing.map(flagName).join(', ')} too: a partition is --buckets, --stage, --prices-snapshot and --lineage together`, { hint: 'e.g. stockpipe features --buckets 0,5 --stage /shared/p0 --prices-snapshot 12 --lineage 14' });
    const extra = others(PARTITION_FLAGS);
    if (extra.length > 0) throw new StockpipeError('SP_ERR_USAGE', `--buckets (one partition) does not go with ${extra.join(', ')}`);
  }
  if (opts.commitStage !== undefined) {
    const extra = others(['commitStage']);
    if (extra.length > 0) throw new StockpipeError('SP_ERR_USAGE', `--commit-stage does not go with ${extra.join(', ')}: the plan names everything`);
  }
  if ((opts.asOf === undefined) !== (opts.out === undefined)) {
    throw new StockpipeError('SP_ERR_USAGE', '--as-of and --out go together: features as of a past snapshot are written to a file, never into the store', { hint: 'e.g. stockpipe features --as-of 3 --out features-3.parquet' });
  }
}

function partitionHuman(p: FeaturePartitionReport): string {
  return `${p.stage}\n  buckets ${p.buckets.join(',')} of prices snapshot ${p.prices_snapshot} (lineage ${p.lineage_id}): files ${p.files.length}, rows ${p.rows}, rows with features ${p.rows_with_features}\n  ${p.seconds} s`;
}

function reportHuman(r: FeaturesReport): string {
  const mode = r.mode === 'partitioned' ? `, ${r.partitions ?? 0} partitions` : '';
  return `${r.cached ? 'unchanged (cached): ' : ''}${r.output}\n  rows ${r.rows}, symbols ${r.symbols}, window ${r.window}${r.extended ? `, extended (+${r.extended_columns.length} lagged columns)` : ''}, rows with features ${r.rows_with_features}${mode}\n  ${r.seconds} s`;
}

export async function featuresCommand(ctx: CommandContext, opts: FeaturesCommandOptions): Promise<CommandResult<FeaturesReport | FeaturesAsOfReport | FeaturePartitionReport>> {
  checkModes(opts);
  const extended = opts.extended ?? ctx.config.features.extended;
  if (opts.buckets !== undefined && opts.stage !== undefined && opts.pricesSnapshot !== undefined && opts.lineage !== undefined) {
    const p = await buildFeaturePartition({ ws: ctx.ws, buckets: opts.buckets, stage: resolve(opts.stage), pricesSnapshot: opts.pricesSnapshot, lineageId: opts.lineage, window: ctx.config.features.window, extended, log: ctx.log, progress: ctx.progress });
    return { data: p, human: partitionHuman(p) };
  }
  if (opts.commitStage !== undefined) {
    const r = await commitFeatureStages({ ws: ctx.ws, plan: await readStagePlan(resolve(opts.commitStage)), log: ctx.log });
    return { data: r, human: reportHuman(r) };
  }
  if (opts.asOf !== undefined && opts.out !== undefined) {
    await checkUserOutput(ctx.ws, opts.out);
    await refuseSourceFolderOutput(ctx.ws, opts.out);
    const a = await featuresAsOf({ ws: ctx.ws, window: ctx.config.features.window, extended, asOf: opts.asOf, out: opts.out, log: ctx.log, progress: ctx.progress });
    return { data: a, human: `${a.output}
  features of prices snapshot ${a.prices_snapshot}: rows ${a.rows}, symbols ${a.symbols}, window ${a.window}${a.extended ? ', extended' : ''}
  ${a.seconds} s` };
  }
  const r = await buildFeatures({ ws: ctx.ws, window: ctx.config.features.window, extended, force: opts.force, log: ctx.log, progress: ctx.progress });
  return { data: r, human: reportHuman(r) };
}
