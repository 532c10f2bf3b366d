/** @module cli/features
 * `stockpipe features [--window N] [--extended] [--force]`: a new snapshot of the features table from the
 * current prices snapshot (only the changed symbols' window tails when it can; --extended adds the lagged
 * day-ahead columns of features/lagged); `--as-of X --out FILE`: the features of prices as of X, to a file. */
import { StockpipeError } from '../core/errors.js';
import { buildFeatures, featuresAsOf, type FeaturesAsOfReport, type FeaturesReport } from '../features/build.js';
import type { CommandContext, CommandResult } from './context.js';

/** `opts.extended` (pipelines) overrides the config's features.extended. */
export async function featuresCommand(ctx: CommandContext, opts: { force: boolean; extended?: boolean; asOf?: string; out?: string }): Promise<CommandResult<FeaturesReport | FeaturesAsOfReport>> {
  if ((opts.asOf === undefined) !== (opts.out === undefined)) {
    throw new StockpipeError('SP_ERR_USAGE', '--as-of and --out go together: features as of a past snapshot are written to a file, never into the store', { hint: 'e.g. stockpipe features --as-of 3 --out features-3.parquet' });
  }
  if (opts.asOf !== undefined && opts.out !== undefined) {
    const a = await featuresAsOf({ ws: ctx.ws, window: ctx.config.features.window, extended: opts.extended ?? ctx.config.features.extended, asOf: opts.asOf, out: opts.out, log: ctx.log, progress: ctx.progress });
    return { data: a, human: `${a.output}
  features of prices snapshot ${a.prices_snapshot}: rows ${a.rows}, symbols ${a.symbols}, window ${a.window}${a.extended ? ', extended' : ''}
  ${a.seconds} s` };
  }
  const r = await buildFeatures({
    ws: ctx.ws,
    window: ctx.config.features.window,
    extended: opts.extended ?? ctx.config.features.extended,
    force: opts.force,
    log: ctx.log,
    progress: ctx.progress,
  });
  const human = `${r.cached ? 'unchanged (cached): ' : ''}${r.output}\n  rows ${r.rows}, symbols ${r.symbols}, window ${r.window}${r.extended ? `, extended (+${r.extended_columns.length} lagged columns)` : ''}, rows with features ${r.rows_with_features}\n  ${r.seconds} s`;
  return { data: r, human };
}
