/** @module cli/commands/tuning
 * The tuning commands' command lines: `tune` and `studies` (options, help, examples); the work is
 * in cli/tune (and ml/tune). */
import { z } from '../../core/zod.js';
import { StockpipeError } from '../../core/errors.js';
import { childGlobalArgs, type Inv } from '../globals.js';
import { calendarDate, cli, defineCommand, inRange, whole } from '../options.js';
// Each command's module is imported when the command runs, so a process loads only its own command's code
// (about 0.15 s less CPU at each start, measured; every pipeline task is such a start).

export const tune = defineCommand({
  name: 'tune',
  records: 'tune',
  existing: true,
  summary: 'random search + successive halving over the booster and data choices, scored by expanding-window CV inside the pre-test dates; the study is kept in the registry',
  options: () =>
    z
    .object({
      task: z.enum(['volume', 'forecast']).optional().describe('the model to tune: volume (the serving model, by CV folds) or forecast (the day-ahead model\'s volume booster, on its validation window; needs `features --extended`)').register(cli, { defaultText: 'volume; --resume: the study\'s' }),
      trials: whole().optional().describe('configurations: trial 0 is train\'s settings, the others random').register(cli, { defaultText: '9' }),
      folds: whole().optional().describe('volume task: expanding-window CV folds (each validates on a tenth of the pre-test rows)').register(cli, { defaultText: '3' }),
      metric: z.enum(['rmse_log', 'volume_mae_ratio']).optional().describe('the score to minimise: rmse_log (volume task, CV), volume_mae_ratio (forecast: volume MAE / persistence\'s = 1 − skill on the validation window)').register(cli, { arg: 'name', defaultText: 'the task\'s' }),
      seed: whole().optional().describe('random seed (the trials and the boosters)').register(cli, { defaultText: '42' }),
      maxTrees: whole().optional().describe('trees per fold at the last rung (each earlier rung has a third of the next)').register(cli, { defaultText: '300; 1000 with --task forecast' }),
      timeout: whole().optional().describe('start no new evaluation after S seconds; the study ends as stopped, resumable').register(cli, { arg: 'S', defaultText: 'none' }),
      parallel: whole().optional().describe('trials evaluated at once: local, each in a worker thread with threads / N threads; bullmq, jobs queued at once').register(cli, { defaultText: '1; bullmq: every trial of a rung' }),
      executor: z
        .enum(['local', 'bullmq'])
        .optional()
        .describe('where trials are evaluated: local worker threads, or bullmq jobs for `stockpipe worker`s (needs STOCKPIPE_REDIS_URL and the workspace shared)')
        .register(cli, { arg: 'kind', config: 'pipeline.executor', defaultText: 'local' }),
      evaluate: z.string().optional().describe('bullmq executor: evaluate one queued trial, <study-id>.<trial>.<rung>, and record its scores in the study (what a worker\'s job runs)').register(cli, { arg: 'job' }),
      resume: z.string().optional().describe('continue a study (killed, interrupted or stopped) without running its complete trials again').register(cli, { arg: 'study' }),
      name: z.string().min(1).max(100).refine((n) => /\S/.test(n) && ![...n].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f), 'must hold a visible character and no control character').optional().describe('a name for the new study (resume and --params-from take it too; a name used before then means the newest study of that name, e.g. a nightly one)').register(cli, { arg: 'name', defaultText: 'the study id' }),
      testFrom: z.string().optional().describe('first day of the test slice, never read while tuning').register(cli, { arg: 'date', defaultText: "the 80th percentile of the rows' dates" }),
      testDays: whole().optional().describe('the test slice is the last N NYSE trading days of the data instead (as `train --test-days`; `train --params-from` then fits on every earlier row)').register(cli, { arg: 'n' }),
      asOf: z.string().optional().describe('tune on the features table as of a snapshot id or an ISO-8601 time').register(cli, { arg: 'snapshot|time', defaultText: 'the current snapshot' }),
    })
    .strict(),
  examples: [
    'stockpipe tune --trials 9 --folds 3',
    'stockpipe tune --trials 27 --timeout 600 --name nightly --json',
    'stockpipe tune --resume nightly   # after Ctrl-C, a kill or --timeout: complete trials are kept',
    'STOCKPIPE_REDIS_URL=redis://10.0.0.5:6379/0 stockpipe tune --trials 27 --executor bullmq   # trials on `stockpipe worker`s',
    'stockpipe train --params-from nightly --promote-if-better',
    'stockpipe tune --task forecast --trials 9 --name day-ahead && stockpipe train --task forecast --params-from day-ahead',
  ],
  run: async (o, ctx, inv: Inv) => {
    if (o.evaluate !== undefined) {
      const { evaluate: _e, ...rest } = o;
      const others = Object.entries(rest).filter(([, v]) => v !== undefined).map(([k]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
      if (others.length > 0) throw new StockpipeError('SP_ERR_USAGE', `--evaluate runs one queued trial as its study says; ${others.join(', ')} cannot be given with it`, { hint: 'Drop them: the study holds the trial\'s settings.' });
      return (await import('../tune.js')).tuneTrialJobCommand(ctx, o.evaluate);
    }
    inRange('--trials', o.trials, 1, 10_000);
    inRange('--folds', o.folds, 1, 9);
    inRange('--max-trees', o.maxTrees, 1, 100_000);
    inRange('--timeout', o.timeout, 1, 30 * 86_400);
    inRange('--parallel', o.parallel, 1, 64);
    inRange('--seed', o.seed, -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER); // the boosters' range (ml/gbdt/params)
    calendarDate('--test-from', o.testFrom);
    inRange('--test-days', o.testDays, 1, 100_000);
    if (o.testDays !== undefined && (o.testFrom !== undefined || o.resume !== undefined)) throw new StockpipeError('SP_ERR_USAGE', `--test-days sets a new study's test cut: it cannot be given with ${o.testFrom !== undefined ? '--test-from' : '--resume (the study keeps its cut)'}`, { hint: 'Give one of --test-days or --test-from; drop both with --resume.' });
    const testFrom = o.testDays === undefined ? o.testFrom : await (await import('../../ml/rescore.js')).testFromDays(ctx.ws, o.task ?? 'volume', o.asOf, undefined, o.testDays);
    return (await import('../tune.js')).tuneCommand(ctx, {
      task: o.task, trials: o.trials, folds: o.folds, metric: o.metric, seed: o.seed, maxTrees: o.maxTrees, timeoutS: o.timeout, parallel: o.parallel,
      resume: o.resume, name: o.name, testFrom, asOf: o.asOf,
    }, { executor: o.executor, globalArgs: childGlobalArgs(inv.globals, { debug: true }) });
  },
});

export const studies = defineCommand({
  name: 'studies',
  summary: 'tuning studies, newest first; with an id or name: its trials table, the chosen configuration, the score against each parameter',
  args: z.object({ study: z.string().optional() }).strict(),
  options: () => z.object({ limit: whole().default(50).describe('list at most N studies') }).strict(),
  examples: ['stockpipe studies', 'stockpipe studies nightly', 'stockpipe studies <study-id> --json'],
  run: async (o, ctx) => {
    inRange('--limit', o.limit, 1, 10_000);
    return (await import('../tune.js')).studiesCommand(ctx, o.study, o.limit);
  },
});
