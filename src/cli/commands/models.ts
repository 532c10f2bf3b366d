/** @module cli/commands/models
 * The model commands' command lines: train, evaluate, forecast and the `models` group (options,
 * help, examples); the work is in cli/train, cli/train-forecast, cli/evaluate, cli/forecast,
 * cli/models. */
import { StockpipeError } from '../../core/errors.js';
import { z } from '../../core/zod.js';
import { MODEL_KINDS } from '../../ml/volume-model.js';
import { OBJECTIVE_NAMES, type ObjectiveName } from '../../ml/gbdt/objectives/index.js';
import { aliasName, calendarDate, cli, decimal, defineCommand, flag, inRange, whole } from '../options.js';
import { checkLogicalDate } from '../../pipeline/logical-date.js';
import { NOTE_MAX_LENGTH, NOTE_TEXT } from '../../registry/store.js';
import { bucketList } from './data.js';
// Each command's module is imported when the command runs, so a process loads only its own command's code
// (about 0.15 s less CPU at each start, measured; every pipeline task is such a start).

/** The day-ahead model's tree cap: high enough that early stopping on the validation window, not the cap, ends training. */
const FORECAST_TREES = 1000;

const trainOptions = () =>
  z
  .object({
    task: z.enum(['volume', 'forecast']).default('volume').describe('volume (the serving model) or forecast (the day-ahead model: needs `features --extended`)'),
    kind: z.enum(MODEL_KINDS).default('gbdt').describe('model kind'),
    split: z.enum(['time', 'random']).default('time').describe('time, or random (80/20, leaky across time: comparison only)'),
    testFrom: z.string().optional().describe('first day of the test slice').register(cli, { arg: 'date', defaultText: "the 80th percentile of the rows' dates" }),
    testDays: whole().optional().describe('test on the last N NYSE trading days of the data (up to --date) instead: a model for use, fitted on all but its last days (the daily pipeline\'s day-ahead models)').register(cli, { arg: 'n' }),
    seed: whole().optional().describe('random seed').register(cli, { defaultText: '42' }),
    trees: whole().optional().describe('gbdt: boosting rounds at most; rf: trees').register(cli, { arg: 'n', defaultText: '100; 1000 with --task forecast, where early stopping on the validation window decides' }),
    maxDepth: whole().optional().describe('tree depth limit (gbdt: 0 = none, num-leaves bounds the tree; rf: at least 1)').register(cli, { defaultText: '6' }),
    numLeaves: whole().optional().describe('gbdt: leaves per tree (64: full depth-6 trees, grown level by level, the fast path)').register(cli, { defaultText: '64' }),
    learningRate: decimal().optional().describe('gbdt: shrinkage, in (0, 1]').register(cli, { arg: 'x', defaultText: '0.1; 0.3 for the day-ahead volume booster without --objective' }),
    minDataInLeaf: whole().optional().describe('gbdt: rows a leaf needs at least').register(cli, { defaultText: '100' }),
    lambdaL2: decimal().optional().describe('gbdt: L2 regularisation of leaf values').register(cli, { defaultText: '1' }),
    baggingFraction: decimal().optional().describe('gbdt: rows sampled per tree, 0..1 (rf always bootstraps)').register(cli, { defaultText: '1' }),
    featureFraction: decimal().optional().describe('gbdt: features sampled per tree, 0..1').register(cli, { defaultText: '1' }),
    earlyStopping: whole().optional().describe('gbdt: stop when the validation loss has not improved for N rounds (0 = off); under the cv protocol, per fold').register(cli, { defaultText: '10' }),
    folds: whole().optional().describe('volume task, time split: expanding-window CV folds inside the pre-test dates that choose the number of trees (the model is then refitted on all pre-test rows); 0 = the holdout protocol').register(cli, { defaultText: '3' }),
    protocol: z.enum(['cv', 'holdout']).optional().describe('cv (choose trees by CV, refit on all pre-test rows; --task forecast: one fold, the validation window), or holdout (early stopping on the validation slice, no refit: the previous protocol, for comparison)').register(cli, { defaultText: 'cv' }),
    target: z.enum(['log1p', 'raw']).optional().describe('train on log1p(Volume) or raw Volume').register(cli, { arg: 't', defaultText: 'log1p for gbdt, raw for rf — the classic setting' }),
    objective: z.enum(OBJECTIVE_NAMES as [ObjectiveName, ...ObjectiveName[]]).optional().describe('gbdt: l2 or huber on log1p(Volume), or (volume task) poisson / tweedie on raw Volume with the log link (leaf steps bounded by max_delta_step 0.7); --task forecast: the volume booster\'s, l2 or huber').register(cli, { arg: 'name', defaultText: 'l2; huber with --task forecast' }),
    tweediePower: decimal().optional().describe('--objective tweedie: the variance power, strictly between 1 and 2').register(cli, { arg: 'p', defaultText: '1.5' }),
    huberDelta: decimal().optional().describe('--objective huber: the residual size (log scale) where the loss turns from squared to absolute').register(cli, { arg: 'd', defaultText: '1; 0.2 with --task forecast' }),
    monotoneVma: flag().describe('gbdt, volume task: hold the model monotone in vol_moving_avg — the predicted volume never falls as it rises, adj_close_rolling_med fixed (LightGBM\'s monotone_constraints "1,0", stored in model.json\'s params)'),
    boostFrom: z.enum(['naive', 'mean']).optional().describe('gbdt: start from the naive forecast (trees fit the log residual over vol_moving_avg) or from the mean').register(cli, { arg: 'b', defaultText: 'naive' }),
    date: z.string().optional().describe('--task forecast: a logical date (an NYSE trading day): train on the rows dated up to it only').register(cli, { arg: 'YYYY-MM-DD', defaultText: 'none: all the data there is' }),
    asOf: z.string().optional().describe('train on the features table as of a snapshot id or an ISO-8601 time (reproduces the data of a model trained then: its card names the snapshot)').register(cli, { arg: 'snapshot|time', defaultText: 'the current snapshot' }),
    paramsFrom: z.string().optional().describe('refit the best configuration of a tuning study (`stockpipe tune`) on every pre-test row, with the number of trees its CV chose; the tree flags are then the study\'s. --task forecast: the study\'s (`tune --task forecast`) settings for the volume booster, early-stopped on the validation window as the study scored it, then both boosters refitted on every pre-test row with those trees (--protocol holdout: not refitted)').register(cli, { arg: 'study' }),
    promoteIfBetter: flag().describe(
      'move the champion alias (forecast_champion with --task forecast) to this model if it beats the holder on the backtest (the CV folds inside the pre-test dates; forecast: the validation window; never the test slice) (without it, the model takes the alias only when the alias is empty)',
    ),
  })
  .strict()
  .refine((o) => o.task !== 'forecast' || (o.kind === 'gbdt' && o.split === 'time'), '--task forecast trains gbdt on the time split only (drop --kind / --split)')
  .refine((o) => o.testDays === undefined || (o.testFrom === undefined && o.split === 'time' && o.paramsFrom === undefined), '--test-days sets the test cut on the time split: drop --test-from / --split random / --params-from (a study keeps its own cut)')
  // A random split has no test cut, no folds and one protocol (random-holdout): these would be ignored without a word.
  .refine((o) => o.split === 'time' || (o.testFrom === undefined && o.folds === undefined && o.protocol === undefined), '--split random tests on a random fifth of the rows, with no test cut or CV folds: drop --test-from / --folds / --protocol (they are the time split\'s)')
  // Nor a backtest: promotion refuses such a candidate unless forced, which train cannot be (it failed after registering the model).
  .refine((o) => o.split === 'time' || !o.promoteIfBetter, '--split random has no backtest to compare with the alias holder, so --promote-if-better could never promote it: drop it (the model still takes an empty alias; `stockpipe models promote <id> --force` moves one by hand)')
  .refine((o) => o.task === 'volume' || (o.boostFrom === undefined && o.target === undefined), '--boost-from and --target are the volume model\'s: the day-ahead volume booster fits log1p(Volume) from persistence (drop them)')
  .refine((o) => !o.monotoneVma || (o.task === 'volume' && o.kind === 'gbdt' && o.paramsFrom === undefined), '--monotone-vma holds the volume gbdt monotone in vol_moving_avg (drop --task forecast / --kind / --params-from)')
  .refine((o) => o.task === 'forecast' || o.date === undefined, '--date is for --task forecast (the daily pipeline\'s model)')
  .refine((o) => o.objective === undefined || o.objective === 'l2' || o.objective === 'huber' || (o.task === 'volume' && o.kind === 'gbdt' && o.target === undefined), '--objective poisson|tweedie trains the volume gbdt on raw Volume (drop --task / --kind / --target)')
  .refine((o) => o.objective !== 'huber' || (o.kind === 'gbdt' && o.target !== 'raw'), '--objective huber trains gbdt on log1p(Volume) (drop --kind / --target)')
  .refine((o) => o.target !== 'raw' || o.kind !== 'gbdt' || o.task !== 'volume' || o.split !== 'time' || o.protocol === 'holdout' || o.folds === 0, '--target raw trains gbdt under the holdout protocol only: the cv protocol fits log1p(Volume) (add --protocol holdout, or use --objective poisson|tweedie for raw Volume under cv)')
  .refine((o) => o.huberDelta === undefined || o.paramsFrom !== undefined || o.objective === 'huber' || (o.objective === undefined && o.task === 'forecast'), '--huber-delta is for --objective huber (the default with --task forecast)')
  .refine((o) => o.tweediePower === undefined || o.objective === 'tweedie', '--tweedie-power is for --objective tweedie')
  .refine((o) => o.paramsFrom === undefined || o.objective === undefined, '--params-from refits the study\'s configuration, its objective included: drop --objective')
  .refine((o) => o.paramsFrom === undefined || o.task === 'forecast' || (o.kind === 'gbdt' && o.split === 'time' && o.protocol !== 'holdout' && o.folds !== 0), '--params-from refits a volume gbdt under the cv protocol on the time split (drop --kind / --split / --protocol / --folds: the study\'s folds are used)');

/** The options `--params-from` takes from the study (volume: every tree flag and the data choices; forecast: the
 * volume booster's): given beside it they would be ignored, so they are refused, naming each. */
const STUDY_FLAGS = {
  volume: ['seed', 'trees', 'maxDepth', 'numLeaves', 'learningRate', 'minDataInLeaf', 'lambdaL2', 'baggingFraction', 'featureFraction', 'earlyStopping', 'folds', 'target', 'boostFrom', 'huberDelta', 'tweediePower'],
  forecast: ['seed', 'learningRate', 'huberDelta'],
} as const;

const flagOf = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

function refuseStudyFlags(o: z.infer<ReturnType<typeof trainOptions>>): void {
  if (o.paramsFrom === undefined) return;
  const given = STUDY_FLAGS[o.task].filter((k) => o[k] !== undefined).map(flagOf);
  if (given.length === 0) return;
  throw new StockpipeError('SP_ERR_USAGE', `--params-from ${o.paramsFrom} trains with the study's ${o.task === 'forecast' ? 'volume-booster settings and seed' : 'settings, folds and seed'}: ${given.join(', ')} would be ignored`, {
    hint: `Drop ${given.join(', ')}; to try other settings, run a new study (\`stockpipe tune${o.task === 'forecast' ? ' --task forecast' : ''}\`) or train without --params-from.`,
  });
}

/** The tree kinds' options (docs/cli.md: "booster options (gbdt; rf where it says so)"): the baselines fit no trees. */
const TREE_FLAGS = ['trees', 'maxDepth', 'numLeaves', 'learningRate', 'minDataInLeaf', 'lambdaL2', 'baggingFraction', 'featureFraction', 'earlyStopping', 'target', 'objective', 'boostFrom'] as const;
/** The ones rf takes (ml/tree-train: its trees, their depth and the target; every leaf down to one bootstrap draw). */
const RF_FLAGS: ReadonlySet<string> = new Set(['trees', 'maxDepth', 'target']);

/** The tree options a kind does not take (naive and polyreg: none; rf: gbdt's): given beside it they would be ignored, so they are refused, naming each. */
function refuseTreeFlags(o: z.infer<ReturnType<typeof trainOptions>>): void {
  if (o.kind === 'gbdt') return;
  const given = TREE_FLAGS.filter((k) => o[k] !== undefined && !(o.kind === 'rf' && RF_FLAGS.has(k))).map(flagOf);
  if (given.length === 0) return;
  const what = o.kind === 'rf' ? 'grows full-depth trees on bootstrap samples, with --trees, --max-depth and --target only' : `fits no trees (${o.kind === 'naive' ? 'it predicts vol_moving_avg' : 'degree-2 least squares on log1p(Volume)'})`;
  throw new StockpipeError('SP_ERR_USAGE', `--kind ${o.kind} ${what}: ${given.join(', ')} would be ignored`, {
    hint: `Drop ${given.join(', ')}: ${o.kind === 'rf' ? 'they are gbdt\'s options (--kind gbdt)' : 'they are the tree kinds\' options (--kind gbdt, or rf where --help says so)'}.`,
  });
}

export const train = defineCommand({
  name: 'train',
  records: 'train',
  existing: true,
  summary: 'train a volume model on the features table (time split), score it next to the baselines, register it with the snapshot it read',
  options: trainOptions,
  examples: [
    'stockpipe train --promote-if-better',
    'stockpipe train --task forecast --promote-if-better   # after `stockpipe features --extended`',
    'stockpipe train --kind rf --json',
    'stockpipe train --split random   # the classic leaky protocol, labelled as such',
    'stockpipe train --objective tweedie --tweedie-power 1.3   # log link on raw Volume instead of l2 on log1p(Volume)',
    'stockpipe train --task forecast --objective l2   # the day-ahead volume booster on l2 (its default: Huber, δ 0.2)',
    'stockpipe train --monotone-vma   # the predicted volume never falls as vol_moving_avg rises (adj_close_rolling_med fixed)',
    'stockpipe train --protocol holdout   # early stopping on the validation slice, for comparison with the cv default',
    'stockpipe train --as-of 7 --json   # the data of a model trained at snapshot 7, byte for byte',
    'stockpipe train --task forecast --test-days 63   # fitted on all but the last quarter, tested there',
    'stockpipe tune --trials 9 --name nightly && stockpipe train --params-from nightly --promote-if-better',
  ],
  run: async (o, ctx) => {
    calendarDate('--test-from', o.testFrom);
    inRange('--folds', o.folds, 0, 9);
    // As tune does: a day-ahead model has one fold, its validation window; --folds would be ignored there.
    if (o.task === 'forecast' && o.folds !== undefined) throw new StockpipeError('SP_ERR_USAGE', `--folds is for the volume task (got ${o.folds}); the day-ahead model chooses its trees on the validation window before the test slice`, { hint: 'Drop --folds; --protocol holdout keeps the early-stopped boosters (no refit).' });
    // --folds 0 is the holdout protocol and a positive --folds the cv protocol's: beside the other --protocol, one of them would be ignored.
    if (o.task === 'volume' && o.folds !== undefined && o.protocol !== undefined && (o.folds === 0) !== (o.protocol === 'holdout')) {
      throw new StockpipeError('SP_ERR_USAGE', `--folds ${o.folds} ${o.folds === 0 ? 'is the holdout protocol' : 'sets the cv protocol\'s folds'}, and --protocol ${o.protocol} asks for the ${o.protocol === 'holdout' ? 'holdout protocol (no folds)' : 'cv protocol (1 to 9 folds)'}`, {
        hint: o.protocol === 'holdout' ? 'Drop --folds (holdout early-stops on the validation slice), or drop --protocol holdout for cv with those folds.' : 'Drop --folds 0 for cv with 3 folds, or use --protocol holdout.',
      });
    }
    if (o.trees !== undefined) inRange('--trees', o.trees, 1, 1e6);
    // The engine takes up to 1000 (its library range); a shrinkage above 1 overshoots every tree's step and,
    // from 2 on, the booster diverges: a registered model whose skill reads -1.6e+33 (volume gbdt: R2 -1e+73).
    if (o.learningRate !== undefined && !(o.learningRate > 0 && o.learningRate <= 1)) {
      throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `--learning-rate must be a number in (0, 1] (got ${o.learningRate}): it shrinks each tree's step, and above 1 the steps overshoot (from 2 on the booster diverges)`, {
        hint: 'Use a learning rate from 0.01 to 0.3 (0.1 is the default) with more --trees.',
      });
    }
    inRange('--test-days', o.testDays, 1, 100_000);
    refuseStudyFlags(o);
    refuseTreeFlags(o);
    const until = o.date === undefined ? undefined : checkLogicalDate('--date', o.date, ctx.now());
    // The tree engine's parameters, shared by both tasks.
    const tree = {
      testFrom: o.testDays === undefined ? o.testFrom : await (await import('../../ml/rescore.js')).testFromDays(ctx.ws, o.task, o.asOf, until, o.testDays),
      seed: o.seed ?? 42,
      threads: ctx.config.threads,
      trees: o.trees ?? (o.task === 'forecast' ? FORECAST_TREES : 100),
      maxDepth: o.maxDepth ?? 6,
      numLeaves: o.numLeaves ?? 64,
      learningRate: o.learningRate ?? 0.1,
      minDataInLeaf: o.minDataInLeaf ?? 100,
      lambdaL2: o.lambdaL2 ?? 1,
      baggingFraction: o.baggingFraction ?? 1,
      featureFraction: o.featureFraction ?? 1,
      earlyStopping: o.earlyStopping ?? 10,
    };
    if (o.task === 'forecast') return (await import('../train-forecast.js')).trainForecastCommand(ctx, { ...tree, until, promoteIfBetter: o.promoteIfBetter, asOf: o.asOf, paramsFrom: o.paramsFrom, objective: o.objective, huberDelta: o.huberDelta, volumeLearningRate: o.learningRate, protocol: o.protocol ?? 'cv' });
    return (await import('../train.js')).trainCommand(ctx, { ...tree, kind: o.kind, split: o.split, folds: o.folds ?? 3, protocol: o.protocol ?? 'cv', target: o.target, objective: o.objective ?? 'l2', tweediePower: o.tweediePower, huberDelta: o.huberDelta, boostFrom: o.boostFrom ?? 'naive', monotoneVma: o.monotoneVma, promoteIfBetter: o.promoteIfBetter, asOf: o.asOf, paramsFrom: o.paramsFrom });
  },
});

const none = () => z.object({}).strict();
const alias = (what: string) => z.string().optional().describe(what).register(cli, { arg: 'name' });

export const evaluate = defineCommand({
  name: 'evaluate',
  records: 'evaluate',
  existing: true,
  summary: 'score a registered model (default: the champion) on its test slice next to every baseline, with per-slice metrics',
  args: z.object({ model: z.string().optional() }).strict(),
  options: () => z.object({ asOf: z.string().optional().describe('score on the features table as of a snapshot id or an ISO-8601 time').register(cli, { arg: 'snapshot|time', defaultText: 'the current snapshot' }), }).strict(),
  examples: ['stockpipe evaluate', 'stockpipe evaluate <model-id> --json', 'stockpipe evaluate champion --as-of 7'],
  run: async (o, ctx) => (await import('../evaluate.js')).evaluateCommand(ctx, o.model, o.asOf),
});

export const forecast = defineCommand({
  name: 'forecast',
  records: 'forecast',
  existing: true,
  summary: 'day-ahead forecast (Adj Close, Volume) of every symbol for the next trading day after its last bar → the store (GET /forecast/:symbol)',
  options: () =>
    z
    .object({
      model: z.string().optional().describe('the forecast model').register(cli, { arg: 'id|alias', defaultText: 'the forecast_champion alias' }),
      date: z.string().optional().describe('a logical date (an NYSE trading day): each symbol\'s last bar dated up to it, forecast for the next trading day').register(cli, { arg: 'YYYY-MM-DD', defaultText: 'none: all the data there is' }),
      plan: z.string().optional().describe('bullmq executor: with --buckets and --stage, the forecasts of one partition\'s symbols into a stage folder (the registry is not changed)').register(cli, { arg: 'plan.json' }),
      buckets: bucketList.optional().describe('bullmq executor, with --plan: the partition\'s symbol buckets (0-15)').register(cli, { arg: 'list' }),
      stage: z.string().optional().describe('bullmq executor, with --plan: the stage folder for the partition\'s _forecasts.json').register(cli, { arg: 'dir' }),
      commitStage: z.string().optional().describe('bullmq executor: write the partitions of COMMIT.json into the registry in one transaction (a replay of its commit_key writes nothing)').register(cli, { arg: 'commit.json' }),
    })
    .strict(),
  examples: [
    'stockpipe features --extended && stockpipe train --task forecast --promote-if-better && stockpipe forecast',
    'stockpipe forecast --model <forecast-model-id> --json',
    'stockpipe forecast --date 2024-07-03   # forecasts for 2024-07-05 from the bars up to 2024-07-03',
  ],
  run: async (o, ctx) => (await import('../forecast.js')).forecastCommand(ctx, { model: o.model, until: o.date === undefined ? undefined : checkLogicalDate('--date', o.date, ctx.now()), plan: o.plan, buckets: o.buckets, stage: o.stage, commitStage: o.commitStage }),
});

export const modelsList = defineCommand({
  name: 'models list',
  summary: 'every model version, newest first, with its aliases and test metrics',
  options: () => z.object({ limit: whole().optional().describe('show at most N versions') }).strict(),
  examples: ['stockpipe models list', 'stockpipe models list --json'],
  run: async (o, ctx) => {
    inRange('--limit', o.limit, 1, Number.MAX_SAFE_INTEGER);
    return (await import('../models.js')).modelsListCommand(ctx, { limit: o.limit });
  },
});

export const modelsShow = defineCommand({
  name: 'models show',
  summary: 'one model version: folder, test slice, metrics vs baselines',
  args: z.object({ 'id|alias': z.string() }).strict(),
  options: none,
  examples: ['stockpipe models show champion', 'stockpipe models show <model-id> --json'],
  run: async (o, ctx) => (await import('../models.js')).modelsShowCommand(ctx, o['id|alias']),
});

export const modelsPromote = defineCommand({
  name: 'models promote',
  records: 'promote',
  existing: true,
  summary:
    "point an alias at a model only if it beats the current holder on the backtest (CV folds inside the pre-test dates, or a validation window; never the test slice; the holder re-scored on the model's folds when the two were scored on different rows); champion takes volume models, forecast_champion forecast models",
  args: z.object({ id: z.string() }).strict(),
  options: () =>
    z
    .object({
      alias: z.string().optional().describe('alias to move').register(cli, { arg: 'name', defaultText: 'champion; forecast_champion for a day-ahead (forecast) model' }),
      force: flag().describe('promote even if not better or not comparable (recorded as forced); never a model of the wrong kind'),
      metric: z.string().optional().describe('backtest metric to compare (lower is better for mae/rmse, higher for r2/skill), one both backtests record: a volume model\'s records rmse_log; a day-ahead model\'s mae_volume, mae_volume_log, rmse_volume, skill_volume, mae_adj_close, …').register(cli, { arg: 'name', defaultText: 'rmse_log; mae_volume for a day-ahead (forecast) model' }),
      note: z.string().max(NOTE_MAX_LENGTH).regex(new RegExp(NOTE_TEXT), 'must have no control characters').optional().describe(`note kept in the alias history (at most ${NOTE_MAX_LENGTH} characters, no control characters)`).register(cli, { arg: 'text' }),
    })
    .strict(),
  examples: ['stockpipe models promote <model-id>', 'stockpipe models promote <model-id> --alias challenger', 'stockpipe models promote <model-id> --force --note "rollback"'],
  run: async (o, ctx) => {
    if (o.alias !== undefined) aliasName(o.alias);
    return (await import('../models.js')).modelsPromoteCommand(ctx, o.id, { alias: o.alias, force: o.force, metric: o.metric, note: o.note });
  },
});

export const modelsCompare = defineCommand({
  name: 'models compare',
  summary: "two models' test metrics side by side (ids or aliases)",
  args: z.object({ a: z.string(), b: z.string() }).strict(),
  options: none,
  examples: ['stockpipe models compare champion <model-id>'],
  run: async (o, ctx) => (await import('../models.js')).modelsCompareCommand(ctx, o.a, o.b),
});

export const modelsAt = defineCommand({
  name: 'models at',
  summary: 'which model held an alias at a time (ISO-8601, UTC)',
  args: z.object({ time: z.string() }).strict(),
  options: () => z.object({ alias: z.string().default('champion').describe('alias').register(cli, { arg: 'name' }) }).strict(),
  examples: ['stockpipe models at 2024-05-01T14:30:00Z', 'stockpipe models at 2024-05-01 --alias challenger --json'],
  run: async (o, ctx) => {
    aliasName(o.alias);
    return (await import('../models.js')).modelsAtCommand(ctx, o.time, { alias: o.alias });
  },
});

export const modelsHistory = defineCommand({
  name: 'models history',
  summary: 'every alias move, oldest first (append-only)',
  options: () => z.object({ alias: alias('only this alias') }).strict(),
  examples: ['stockpipe models history --alias champion'],
  run: async (o, ctx) => {
    aliasName(o.alias);
    return (await import('../models.js')).modelsHistoryCommand(ctx, { alias: o.alias });
  },
});

export const modelsTag = defineCommand({
  name: 'models tag',
  records: 'tag',
  existing: true,
  summary: 'set key=value tags on a model version (id or alias), or remove them; with none, list its tags (GET /models?tag= searches them)',
  args: z.object({ id: z.string(), tags: z.array(z.string()) }).strict(),
  options: () => z.object({ remove: z.array(z.string()).default([]).describe('remove this tag key (repeatable)').register(cli, { arg: 'key' }) }).strict(),
  examples: ['stockpipe models tag champion stage=production owner=ana', 'stockpipe models tag <model-id> --remove stage --json', 'stockpipe models tag <model-id>'],
  run: async (o, ctx) => (await import('../models-tag.js')).modelsTagCommand(ctx, o.id, o.tags, o.remove),
});
