/** @module cli/features
 * `stockpipe features [--window N] [--extended]`: the prices table → the features table (store/features/, viewed in tables/features/)
 * (--extended adds the lagged day-ahead columns of features/lagged). */
import { buildFeatures, type FeaturesReport } from '../features/build.js';
import type { CommandContext, CommandResult } from './context.js';

/** `opts.extended` (pipelines) overrides the config's features.extended. */
export async function featuresCommand(ctx: CommandContext, opts: { force: boolean; extended?: boolean }): Promise<CommandResult<FeaturesReport>> {
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
