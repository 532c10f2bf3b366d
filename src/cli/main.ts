#!/usr/bin/env node
/** @module cli/main
 * The stockpipe command line: owns argv, config assembly, output (human or one --json document),
 * and exit codes (0 ok, 1 failed, 2 usage). The only place that calls process.exit. */
// First, for its side effect: a pipeline task's process watches its runner from here on.
import './task-child.js';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { explicitFetchKeys, loadConfig, readConfigFile } from '../core/config.js';
import { StockpipeError, toStockpipeError } from '../core/errors.js';
import { checkWorkspacePath } from '../core/fs.js';
import { configureLog, getLog } from '../core/log.js';
import type { ResourceContext } from '../core/os-errors.js';
import { duckdbResourceError } from '../db/duckdb-errors.js';
import { createProgress } from '../core/progress.js';
import type { CommandContext, CommandResult } from './context.js';
import { featuresCommand } from './features.js';
import { fetchCommand } from './fetch.js';
import { ingestCommand } from './ingest.js';
import { monitorCommand } from './monitor.js';
import { serveCommand } from './serve.js';
import { trainCommand } from './train.js';
import { trainForecastCommand } from './train-forecast.js';
import { forecastCommand } from './forecast.js';
import { evaluateCommand } from './evaluate.js';
import { validateCommand } from './validate.js';
import { MODEL_KINDS, type ModelKind } from '../ml/volume-model.js';
import { ALIAS_NAME } from '../registry/store.js';
import { deliverAlerts, runCommand } from './run.js';
import { schedulerCommand } from './scheduler.js';
import { runsListCommand, runsLogsCommand, runsShowCommand } from './runs.js';
import { modelsAtCommand, modelsCompareCommand, modelsHistoryCommand, modelsListCommand, modelsPromoteCommand, modelsShowCommand } from './models.js';

export const VERSION = '0.1.0';

interface GlobalOpts {
  workspace?: string;
  config?: string;
  json?: boolean;
  quiet?: boolean;
  debug?: boolean;
  threads?: string;
  memoryLimit?: string;
}

type Flags = Record<string, unknown>;

function globalOptions(cmd: Command): GlobalOpts {
  return cmd.optsWithGlobals() as GlobalOpts;
}

let jsonMode = process.argv.includes('--json');
let debugMode = process.argv.includes('--debug');
/** What a machine failure's message and hint name (set once the config is known). */
let resourceContext: ResourceContext = {};

function printError(err: StockpipeError): void {
  if (jsonMode) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: err.toJSON() })}\n`);
  } else {
    process.stderr.write(`${err.code}: ${err.message}\n  hint: ${err.hint}\n`);
  }
  if (debugMode && err.stack) process.stderr.write(`${err.stack}\n${err.cause instanceof Error ? `cause: ${err.cause.stack}\n` : ''}`);
}

/** Builds the context, runs one command, prints its result. */
async function run(cmd: Command, flags: Flags, body: (ctx: CommandContext) => Promise<CommandResult>): Promise<void> {
  const g = globalOptions(cmd);
  jsonMode = g.json === true;
  debugMode = g.debug === true;
  const quiet = g.quiet === true;
  configureLog({ level: debugMode ? 'debug' : quiet ? 'error' : 'warn' });
  const file = readConfigFile(g.config, process.cwd());
  const allFlags = { workspace: g.workspace, threads: g.threads, memory_limit: g.memoryLimit, ...flags };
  const config = loadConfig({ file, env: process.env, flags: allFlags, origin: g.config ?? 'stockpipe.config.json / STOCKPIPE_* / flags' });
  resourceContext = { workspace: resolve(config.workspace), memoryLimit: config.memory_limit, threads: config.threads };
  await checkWorkspacePath(resolve(config.workspace));
  const ctx: CommandContext = {
    config,
    workspace: resolve(config.workspace),
    log: getLog(cmd.name()),
    // A pipeline task's child prints plain progress lines to its log (the runner's live view shows them).
    progress: createProgress({ quiet: quiet || (jsonMode && process.env.STOCKPIPE_TASK_CHILD !== '1'), intervalMs: process.env.STOCKPIPE_TASK_CHILD === '1' ? 1000 : 5000 }),
    json: jsonMode,
    quiet,
    env: process.env,
    homeDir: homedir(),
    now: () => new Date(),
    explicitFetch: explicitFetchKeys({ file, env: process.env, flags: allFlags }),
  };
  const result = await body(ctx);
  if (result.printed) return;
  if (jsonMode) process.stdout.write(`${JSON.stringify({ ok: true, data: result.data })}\n`);
  else if (!quiet) process.stdout.write(`${result.human}\n`);
}

/** Decimal text: `8000`, `-3`, `1.5`, `1e3` (Number() also takes '' as 0 and '0x10' as 16). */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const decimal = (v: string): number => (DECIMAL.test(v.trim()) ? Number(v) : NaN);

const int = (v: string): number => {
  const n = decimal(v);
  if (!Number.isSafeInteger(n)) throw new StockpipeError('SP_ERR_USAGE', `expected a whole number, got '${v}'`);
  return n;
};

/** A whole number from min to max, for an option whose other values misbehave (a 0 ms poll spins; LIMIT -1 is no limit). */
const intIn = (name: string, min: number, max: number) => (v: string): number => {
  const n = int(v);
  if (n < min || n > max) throw new StockpipeError('SP_ERR_USAGE', `${name} must be a whole number from ${min} to ${max} (got ${v})`);
  return n;
};

/** A real calendar date YYYY-MM-DD (Date.UTC rolls 2020-02-30 over to March 1). */
const calendarDate = (name: string) => (v: string): string => {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const back = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) : null;
  if (back !== v) throw new StockpipeError('SP_ERR_USAGE', `${name} must be a real calendar date YYYY-MM-DD (got '${v}')`);
  return v;
};

/** An alias name, checked before the registry is opened (or created). */
const aliasName = (v: string): string => {
  if (!ALIAS_NAME.test(v)) throw new StockpipeError('SP_ERR_USAGE', `invalid alias name '${v.length > 100 ? `${v.slice(0, 100)}…` : v}'`, { hint: 'An alias starts with a letter and has up to 64 letters, digits, _ . or -, e.g. champion.' });
  return v;
};

/** --symbols: a whole number (synthetic) or a comma list of tickers (yahoo: fetch.tickers). */
const symbolsArg = (v: string): number | string[] => {
  if (/^\s*\d+\s*$/.test(v)) return Number(v);
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0) throw new StockpipeError('SP_ERR_USAGE', `--symbols needs a number or tickers such as AAPL,MSFT (got '${v}')`);
  return list;
};

export function buildProgram(): Command {
  const program = new Command('stockpipe')
    .description('Daily market bars → Parquet → validated, pandas-exact features → models → registry → API and dashboard, run by a pipeline runner with schedules and monitoring.')
    .version(VERSION)
    .option('-w, --workspace <dir>', 'workspace folder (default ./stockpipe-data; env STOCKPIPE_WORKSPACE)')
    .option('-c, --config <file>', 'config file (default ./stockpipe.config.json when present)')
    .option('--json', 'print one JSON document on stdout ({ok, data} or {ok, error}); logs go to stderr')
    .option('-q, --quiet', 'print only errors')
    .option('--debug', 'debug logs and stack traces')
    .option('--threads <n>', 'worker threads (default: all cores)')
    .option('--memory-limit <size>', "DuckDB's memory limit, e.g. 1GB")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (s) => { if (!jsonMode) process.stderr.write(s); } });

  program
    .command('fetch')
    .description('acquire daily bars into <workspace>/raw/<source-id>/ with a manifest.json')
    .option('-s, --source <source>', 'synthetic (default) | dir:PATH | zip:PATH | kaggle[:owner/slug]')
    .option('--seed <n>', 'synthetic: random seed (default 42)', int)
    .option('--symbols <n|list>', 'synthetic: number of symbols (default 500; 8000 ≈ full Kaggle size); yahoo: tickers, e.g. AAPL,MSFT', symbolsArg)
    .option('--years <n>', 'synthetic: years of history (default 10)', int)
    .option('--start <date>', 'synthetic: first trading day; yahoo: first day wanted; YYYY-MM-DD (default 2010-01-04)')
    .option('--end <date>', 'yahoo: last day wanted, YYYY-MM-DD (default today, UTC)')
    .option('--checksum', 'dir/zip: compute sha256 (and row counts) of every file')
    .option('--switch-source', "fetch another source than the workspace remembers (source.json) and make it the workspace's source")
    .option('--kaggle-base-url <url>', 'kaggle: API base URL (env KAGGLE_API_ENDPOINT; default https://www.kaggle.com)')
    .option('--yahoo-base-url <url>', 'yahoo: chart API base URL (env STOCKPIPE_YAHOO_BASE_URL; default https://query1.finance.yahoo.com)')
    .addHelpText('after', '\nExamples:\n  $ stockpipe fetch                                 # synthetic default: 500 symbols x 10 years\n  $ stockpipe fetch --source dir:./stock-market-dataset\n  $ stockpipe fetch --source zip:./archive.zip\n  $ stockpipe fetch --source kaggle                 # needs Kaggle credentials (README)\n  $ stockpipe fetch --source yahoo --symbols AAPL,MSFT --start 2020-01-01 --end 2020-12-31\n  $ stockpipe fetch --source synthetic --switch-source   # replace the workspace\'s source on purpose')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { fetch: { source: o.source, seed: o.seed, symbols: typeof o.symbols === 'number' ? o.symbols : undefined, tickers: Array.isArray(o.symbols) ? o.symbols : undefined, years: o.years, start: o.start, end: o.end, checksum: o.checksum, kaggle_base_url: o.kaggleBaseUrl, yahoo_base_url: o.yahooBaseUrl } }, (ctx) => fetchCommand(ctx, { switchSource: o.switchSource === true }));
    });

  program
    .command('ingest')
    .description('combine the fetched CSVs into tables/prices.parquet (sorted by Symbol, Date; zstd) with a row-accounting report')
    .option('--from <source-id>', 'which fetched source to read (default: the one fetched last)')
    .option('--strict', 'fail on the first malformed line instead of dropping and reporting it')
    .option('--force', 'rebuild even when the inputs are unchanged')
    .option('--switch-source', "ingest a fetched source other than the workspace remembers (source.json) and make it the workspace's source")
    .addHelpText('after', '\nExamples:\n  $ stockpipe ingest\n  $ stockpipe ingest --from dir --strict --json\n  $ stockpipe ingest --from synthetic --switch-source')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { ingest: { strict: o.strict, source_id: o.from } }, (ctx) => ingestCommand(ctx, { force: o.force === true, switchSource: o.switchSource === true }));
    });

  program
    .command('features')
    .description('rolling features per symbol → features/features.parquet (vol_moving_avg, adj_close_rolling_med; equal to pandas rolling)')
    // Checked with the config (features.window): any bad value is SP_ERR_FEATURES_WINDOW.
    .addOption(new Option('--window <n>', 'rows in the rolling window, 2 to 1000 (default 30)'))
    .option('--extended', 'also write the lagged day-ahead columns (returns, volatility, log volume, next trading day) for `train --task forecast`')
    .option('--force', 'rebuild even when prices and window are unchanged')
    .addHelpText('after', '\nExamples:\n  $ stockpipe features\n  $ stockpipe features --window 20 --json\n  $ stockpipe features --extended')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { features: { window: o.window, extended: o.extended === true ? true : undefined } }, (ctx) => featuresCommand(ctx, { force: o.force === true }));
    });

  program
    .command('validate')
    .description('check a table against its saved reference (schema, ranges, nulls, price/volume quirks, calendar gaps, drift by PSI) → validation/latest.json; exit 1 on errors')
    .addOption(new Option('--table <table>', 'which table (default prices)').choices(['prices', 'features']))
    .option('--set-reference', 'infer a new reference version from the current table, then validate against it')
    .option('--reference <file>', 'validate against this saved reference (e.g. validation/reference-v1.json)')
    .addOption(new Option('--fail-on <level>', 'fail (exit 1, SP_ERR_VALIDATION_FAILED) on: error (default), warning, never').choices(['error', 'warning', 'never']))
    .addHelpText('after', '\nExamples:\n  $ stockpipe validate                      # first run: infers validation/reference-v1.json from tables/prices.parquet\n  $ stockpipe validate --json\n  $ stockpipe validate --set-reference      # accept the current data as the new reference (v2, …)\n  $ stockpipe validate --table features --fail-on never')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { validate: { table: o.table, fail_on: o.failOn } }, (ctx) => validateCommand(ctx, { setReference: o.setReference === true, reference: o.reference as string | undefined }));
    });

  const num = (v: string): number => {
    const n = decimal(v);
    if (!Number.isFinite(n)) throw new StockpipeError('SP_ERR_USAGE', `expected a number, got '${v}'`);
    return n;
  };
  program
    .command('train')
    .description('train a volume model on features.parquet (time split), score it next to the baselines, register it')
    .addOption(new Option('--task <task>', 'volume (the serving model, §4.1) or forecast (the day-ahead model, §4.3: needs `features --extended`)').choices(['volume', 'forecast']).default('volume'))
    .addOption(new Option('--kind <kind>', 'model kind').choices([...MODEL_KINDS]).default('gbdt'))
    .addOption(new Option('--split <split>', 'time (default) or random (80/20, leaky across time: comparison only)').choices(['time', 'random']).default('time'))
    .option('--test-from <date>', 'first day of the test slice (default: the 80th percentile of the rows\' dates)', calendarDate('--test-from'))
    .option('--seed <n>', 'random seed (default 42)', int, 42)
    .option('--trees <n>', 'gbdt: boosting rounds; rf: trees (default 100)', int, 100)
    .option('--max-depth <n>', 'tree depth limit (default 6)', int, 6)
    .option('--num-leaves <n>', 'gbdt: leaves per tree (default 64: full depth-6 trees, grown level by level, the fast path)', int, 64)
    .option('--learning-rate <x>', 'gbdt: shrinkage (default 0.1)', num, 0.1)
    .option('--min-data-in-leaf <n>', 'rows a leaf needs at least (default 100)', int, 100)
    .option('--lambda-l2 <x>', 'L2 regularisation of leaf values (default 1)', num, 1)
    .option('--bagging-fraction <x>', 'rows sampled per tree, 0..1 (default 1; rf always bootstraps)', num, 1)
    .option('--feature-fraction <x>', 'features sampled per tree, 0..1 (default 1)', num, 1)
    .option('--early-stopping <n>', 'gbdt: stop when the validation loss has not improved for N rounds (default 10; 0 = off)', int, 10)
    .addOption(new Option('--target <t>', 'train on log1p(Volume) or raw Volume (default: log1p for gbdt, raw for rf — the classic setting)').choices(['log1p', 'raw']))
    .addOption(new Option('--boost-from <b>', 'gbdt: start from the naive forecast (trees fit the log residual over vol_moving_avg) or from the mean').choices(['naive', 'mean']).default('naive'))
    .option('--promote-if-better', 'move the champion alias (forecast_champion with --task forecast) to this model if it beats the holder on the same test slice (without it, the model takes the alias only when the alias is empty)')
    .addHelpText('after', '\nExamples:\n  $ stockpipe train --promote-if-better\n  $ stockpipe train --task forecast --promote-if-better   # after `stockpipe features --extended`\n  $ stockpipe train --kind rf --json\n  $ stockpipe train --split random   # the classic leaky protocol, labelled as such')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const g = cmd.optsWithGlobals() as { threads?: string };
      // The tree engine's parameters, shared by both tasks.
      const treeParams = (ctx: CommandContext) => ({
        testFrom: o.testFrom as string | undefined,
        seed: o.seed as number,
        threads: g.threads !== undefined ? Number(g.threads) : ctx.config.threads,
        trees: o.trees as number,
        maxDepth: o.maxDepth as number,
        numLeaves: o.numLeaves as number,
        learningRate: o.learningRate as number,
        minDataInLeaf: o.minDataInLeaf as number,
        lambdaL2: o.lambdaL2 as number,
        baggingFraction: o.baggingFraction as number,
        featureFraction: o.featureFraction as number,
        earlyStopping: o.earlyStopping as number,
      });
      if (o.task === 'forecast') {
        if (o.kind !== 'gbdt' || o.split !== 'time') throw new StockpipeError('SP_ERR_USAGE', '--task forecast trains gbdt on the time split only (drop --kind / --split)');
        await run(cmd, {}, (ctx) =>
          trainForecastCommand(ctx, { ...treeParams(ctx), promoteIfBetter: o.promoteIfBetter === true }),
        );
        return;
      }
      await run(cmd, {}, (ctx) =>
        trainCommand(ctx, {
          ...treeParams(ctx),
          kind: o.kind as ModelKind,
          split: o.split as 'time' | 'random',
          target: o.target as 'log1p' | 'raw' | undefined,
          boostFrom: o.boostFrom as 'naive' | 'mean',
          promoteIfBetter: o.promoteIfBetter === true,
        }),
      );
    });

  program
    .command('evaluate [model]')
    .description('score a registered model (default: the champion) on its test slice next to every baseline, with per-slice metrics')
    .addHelpText('after', '\nExamples:\n  $ stockpipe evaluate\n  $ stockpipe evaluate <model-id> --json')
    .action(async (ref: string | undefined, _o: unknown, cmd: Command) => {
      await run(cmd, {}, (ctx) => evaluateCommand(ctx, ref));
    });

  program
    .command('forecast')
    .description('day-ahead forecast (Adj Close, Volume) of every symbol for the next trading day after its last bar → the store (GET /forecast/:symbol)')
    .option('--model <id|alias>', 'the forecast model (default: the forecast_champion alias)')
    .addHelpText('after', '\nExamples:\n  $ stockpipe features --extended && stockpipe train --task forecast --promote-if-better && stockpipe forecast\n  $ stockpipe forecast --model <forecast-model-id> --json')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => forecastCommand(ctx, { model: o.model as string | undefined }));
    });

  program
    .command('serve')
    .description('the prediction API (GET/POST /predict, /docs, /openapi.json, /health, /ready, /metrics) serving the champion model, and the dashboard at /')
    .option('-p, --port <n>', 'port (default 8000; 0 = any free port)', int, 8000)
    .option('--host <host>', 'address to listen on (default 127.0.0.1; beyond loopback, set STOCKPIPE_API_TOKEN: docs/security.md)', '127.0.0.1')
    .option('--poll-ms <n>', 'how often to check whether the champion alias moved, 50 to 3600000 (default 1000)', intIn('--poll-ms', 50, 3_600_000), 1000)
    .addHelpText('after', '\nExamples:\n  $ stockpipe serve\n  $ curl "http://127.0.0.1:8000/predict?vol_moving_avg=12345&adj_close_rolling_med=25"\n  $ open http://127.0.0.1:8000/   # the dashboard\n  $ STOCKPIPE_API_TOKEN=$(openssl rand -hex 32) stockpipe serve --port 9000 --host 0.0.0.0')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => serveCommand(ctx, { port: o.port as number, host: o.host as string, pollMs: o.pollMs as number, version: VERSION }));
    });

  program
    .command('monitor')
    .description('score stored forecasts whose actuals arrived, measure input drift, alert past the config thresholds (monitor.*), say whether to retrain')
    .option('--model <id>', 'only this model (id or alias); default every model with forecasts')
    .addHelpText('after', '\nExamples:\n  $ stockpipe monitor\n  $ stockpipe monitor --model champion --json')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => monitorCommand(ctx, { model: o.model as string | undefined, deliver: (alerts) => deliverAlerts(ctx, alerts) }));
    });

  const models = program.command('models').description('model versions, aliases (champion, …) and promotion, from <workspace>/stockpipe.db');
  models
    .command('list')
    .description('every model version, newest first, with its aliases and test metrics')
    .option('--limit <n>', 'show at most N versions', intIn('--limit', 1, Number.MAX_SAFE_INTEGER))
    .addHelpText('after', '\nExamples:\n  $ stockpipe models list\n  $ stockpipe models list --json')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => modelsListCommand(ctx, { limit: o.limit as number | undefined }));
    });
  models
    .command('show <id|alias>')
    .description('one model version: folder, test slice, metrics vs baselines')
    .addHelpText('after', '\nExamples:\n  $ stockpipe models show champion\n  $ stockpipe models show <model-id> --json')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await run(cmd, {}, (ctx) => modelsShowCommand(ctx, id));
    });
  models
    .command('promote <id>')
    .description('point an alias at a model only if it beats the current holder on the same test slice (the holder re-scored on the model\'s slice when the data grew); champion takes volume models, forecast_champion forecast models')
    .option('--alias <name>', 'alias to move (default champion)', aliasName)
    .option('--force', 'promote even if not better or not comparable (recorded as forced); never a model of the wrong kind')
    .option('--metric <name>', 'metric to compare (default rmse_log; lower is better for mae/rmse, higher for r2)')
    .option('--note <text>', 'note kept in the alias history')
    .addHelpText('after', '\nExamples:\n  $ stockpipe models promote <model-id>\n  $ stockpipe models promote <model-id> --alias challenger\n  $ stockpipe models promote <model-id> --force --note "rollback"')
    .action(async (id: string, o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => modelsPromoteCommand(ctx, id, { alias: o.alias as string | undefined, force: o.force === true, metric: o.metric as string | undefined, note: o.note as string | undefined }));
    });
  models
    .command('compare <a> <b>')
    .description("two models' test metrics side by side (ids or aliases)")
    .addHelpText('after', '\nExamples:\n  $ stockpipe models compare champion <model-id>')
    .action(async (a: string, b: string, _o: unknown, cmd: Command) => {
      await run(cmd, {}, (ctx) => modelsCompareCommand(ctx, a, b));
    });
  models
    .command('at <time>')
    .description('which model held an alias at a time (ISO-8601, UTC)')
    .option('--alias <name>', 'alias (default champion)', aliasName)
    .addHelpText('after', '\nExamples:\n  $ stockpipe models at 2024-05-01T14:30:00Z\n  $ stockpipe models at 2024-05-01 --alias challenger --json')
    .action(async (time: string, o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => modelsAtCommand(ctx, time, { alias: o.alias as string | undefined }));
    });
  models
    .command('history')
    .description('every alias move, oldest first (append-only)')
    .option('--alias <name>', 'only this alias', aliasName)
    .addHelpText('after', '\nExamples:\n  $ stockpipe models history --alias champion')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => modelsHistoryCommand(ctx, { alias: o.alias as string | undefined }));
    });

  program
    .command('run [pipeline]')
    .description('run a pipeline (train: fetch → ingest → validate → features → train → evaluate → register; daily: … → forecast → monitor → retrain-if-needed) with retries, caching and run history')
    .option('--resume [run-id]', 'continue a failed, cancelled or killed run from its first unfinished task (default: the latest such run)')
    .option('--from <task>', 'run only this task and the ones after it')
    .option('--to <task>', 'run only up to this task')
    .option('--dry-run', 'print the plan: which tasks would run and which are cached')
    .option('--force', 'ignore the cache: run every task')
    .option('--force-task <name>', 'ignore the cache for this task (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--wait [seconds]', 'wait for another run on this workspace to finish (default 3600 s) instead of refusing')
    .option('-s, --source <source>', "switch the workspace's source (synthetic | dir:PATH | zip:PATH | kaggle[:owner/slug] | yahoo); default: the source it remembers (source.json)")
    .addHelpText('after', '\nExamples:\n  $ stockpipe run                      # the train pipeline\n  $ stockpipe run train --dry-run\n  $ stockpipe run --resume             # continue the latest failed run\n  $ stockpipe run daily --from features --force-task features\n  $ stockpipe run train --json\n  $ stockpipe run train --source dir:./stock-market-dataset   # switch the workspace to this source')
    .action(async (name: string | undefined, o: Record<string, unknown>, cmd: Command) => {
      const g = globalOptions(cmd);
      const globalArgs = [
        ...(g.config ? ['--config', resolve(g.config)] : []),
        ...(g.threads ? ['--threads', g.threads] : []),
        ...(g.memoryLimit ? ['--memory-limit', g.memoryLimit] : []),
        ...(g.debug ? ['--debug'] : []),
      ];
      const wait = o.wait === undefined ? 0 : o.wait === true ? 3600 : decimal(String(o.wait));
      if (!Number.isFinite(wait) || wait < 0) throw new StockpipeError('SP_ERR_USAGE', `--wait expects seconds, got '${String(o.wait)}'`);
      await run(cmd, { fetch: { source: o.source } }, (ctx) => runCommand(ctx, {
        pipeline: name ?? 'train',
        switchSource: o.source !== undefined,
        resume: o.resume === true ? true : (o.resume as string | undefined),
        from: o.from as string | undefined,
        to: o.to as string | undefined,
        dryRun: o.dryRun === true,
        force: o.force === true,
        forceTasks: o.forceTask as string[],
        waitMs: wait * 1000,
        globalArgs,
        version: VERSION,
      }));
    });

  program
    .command('scheduler')
    .description('run the pipelines of the config\'s "schedules" on their cron expressions (NYSE trading days), until Ctrl-C')
    .addHelpText('after', '\nConfig (stockpipe.config.json):\n  "schedules": [{ "pipeline": "daily", "cron": "30 18 * * 1-5", "timezone": "America/New_York" }],\n  "alerts": { "webhook_url": "https://hooks.example.com/T0/B0/x" }\n\nExamples:\n  $ stockpipe scheduler\n  $ stockpipe scheduler --config prod.config.json')
    .action(async (_o: unknown, cmd: Command) => {
      const g = globalOptions(cmd);
      const globalArgs = [...(g.config ? ['--config', resolve(g.config)] : []), ...(g.threads ? ['--threads', g.threads] : []), ...(g.memoryLimit ? ['--memory-limit', g.memoryLimit] : [])];
      await run(cmd, {}, (ctx) => schedulerCommand(ctx, { globalArgs, version: VERSION }));
    });

  const runs = program.command('runs').description('pipeline run history: list, show one run with its tasks, a task\'s log');
  runs
    .command('list', { isDefault: true })
    .description('pipeline runs, newest first, with task counts by state')
    .option('--limit <n>', 'at most N runs (default 50)', intIn('--limit', 1, Number.MAX_SAFE_INTEGER))
    .option('--offset <n>', 'skip the newest N runs', intIn('--offset', 0, Number.MAX_SAFE_INTEGER))
    .option('--pipeline <name>', 'only runs of this pipeline')
    .option('--status <status>', 'only runs in this state (running, finished, failed, cancelled, abandoned: left running by a killed runner)')
    .addHelpText('after', '\nExamples:\n  $ stockpipe runs\n  $ stockpipe runs list --status failed --json')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, {}, (ctx) => runsListCommand(ctx, { limit: o.limit as number | undefined, offset: o.offset as number | undefined, pipeline: o.pipeline as string | undefined, status: o.status as string | undefined }));
    });
  runs
    .command('show <run-id>')
    .description('one run: its tasks in order with state, attempts, duration, rows in/out, errors')
    .addHelpText('after', '\nExamples:\n  $ stockpipe runs show <run-id> --json')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      await run(cmd, {}, (ctx) => runsShowCommand(ctx, id));
    });
  runs
    .command('logs <run-id> <task>')
    .description("a task's log file (its command's stderr and the runner's lines)")
    .addHelpText('after', '\nExamples:\n  $ stockpipe runs logs <run-id> ingest')
    .action(async (id: string, task: string, _o: unknown, cmd: Command) => {
      await run(cmd, {}, (ctx) => runsLogsCommand(ctx, id, task));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  // `stockpipe … | head`: a closed stdout is the reader's choice, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      printError(new StockpipeError('SP_ERR_USAGE', err.message.replace(/^error: /, '')));
      return 2;
    }
    // A full disk, a read-only workspace, too many open files or too little memory is the user's to fix.
    const e = (err instanceof StockpipeError ? undefined : duckdbResourceError(err, resourceContext)) ?? toStockpipeError(err);
    printError(e);
    return e.exitCode;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exitCode = 1;
  },
);
