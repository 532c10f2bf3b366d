/** @module cli/commands/tuning
 * The tuning commands' command lines: `tune` and `studies` (options, help, examples); the work is
 * in cli/tune (and ml/tune). */
import { z } from 'zod';
import { calendarDate, cli, defineCommand, inRange, whole } from '../options.js';
import { studiesCommand, tuneCommand } from '../tune.js';

export const tune = defineCommand({
  name: 'tune',
  records: 'tune',
  summary: 'random search + successive halving over the booster and data choices, scored by expanding-window CV inside the pre-test dates; the study is kept in the registry',
  options: z
    .object({
      task: z.enum(['volume']).default('volume').describe('the model to tune (volume: the serving model)'),
      trials: whole().optional().describe('configurations: trial 0 is train\'s settings, the others random').register(cli, { defaultText: '9' }),
      folds: whole().optional().describe('expanding-window CV folds (each validates on a tenth of the pre-test rows)').register(cli, { defaultText: '3' }),
      metric: z.enum(['rmse_log']).optional().describe('the CV score to minimise').register(cli, { arg: 'name', defaultText: 'rmse_log' }),
      seed: whole().optional().describe('random seed (the trials and the boosters)').register(cli, { defaultText: '42' }),
      maxTrees: whole().optional().describe('trees per fold at the last rung (each earlier rung has a third of the next)').register(cli, { defaultText: '300' }),
      timeout: whole().optional().describe('start no new evaluation after S seconds; the study ends as stopped, resumable').register(cli, { arg: 'S', defaultText: 'none' }),
      parallel: whole().default(1).describe('trials evaluated at once, each in a worker thread with threads / N threads'),
      resume: z.string().optional().describe('continue a study (killed, interrupted or stopped) without running its complete trials again').register(cli, { arg: 'study' }),
      name: z.string().optional().describe('a name for the new study (resume and --params-from take it too)').register(cli, { arg: 'name', defaultText: 'the study id' }),
      testFrom: z.string().optional().describe('first day of the test slice, never read while tuning').register(cli, { arg: 'date', defaultText: "the 80th percentile of the rows' dates" }),
      asOf: z.string().optional().describe('tune on the features table as of a snapshot id or an ISO-8601 time').register(cli, { arg: 'snapshot|time', defaultText: 'the current snapshot' }),
    })
    .strict(),
  examples: [
    'stockpipe tune --trials 9 --folds 3',
    'stockpipe tune --trials 27 --timeout 600 --name nightly --json',
    'stockpipe tune --resume nightly   # after Ctrl-C, a kill or --timeout: complete trials are kept',
    'stockpipe train --params-from nightly --promote-if-better',
  ],
  run: (o, ctx) => {
    inRange('--trials', o.trials, 1, 10_000);
    inRange('--folds', o.folds, 1, 9);
    inRange('--max-trees', o.maxTrees, 1, 100_000);
    inRange('--timeout', o.timeout, 1, 30 * 86_400);
    inRange('--parallel', o.parallel, 1, 64);
    calendarDate('--test-from', o.testFrom);
    return tuneCommand(ctx, {
      task: o.task, trials: o.trials, folds: o.folds, metric: o.metric, seed: o.seed, maxTrees: o.maxTrees, timeoutS: o.timeout, parallel: o.parallel,
      resume: o.resume, name: o.name, testFrom: o.testFrom, asOf: o.asOf,
    });
  },
});

export const studies = defineCommand({
  name: 'studies',
  summary: 'tuning studies, newest first; with an id or name: its trials table, the chosen configuration, the score against each parameter',
  args: z.object({ study: z.string().optional() }).strict(),
  options: z.object({ limit: whole().default(50).describe('list at most N studies') }).strict(),
  examples: ['stockpipe studies', 'stockpipe studies nightly', 'stockpipe studies <study-id> --json'],
  run: (o, ctx) => {
    inRange('--limit', o.limit, 1, 10_000);
    return studiesCommand(ctx, o.study, o.limit);
  },
});
