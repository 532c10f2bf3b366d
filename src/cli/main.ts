#!/usr/bin/env node
/** @module cli/main
 * The stockpipe command line: owns argv, config assembly, output (human or one --json document),
 * and exit codes (0 ok, 1 failed, 2 usage). The only place that calls process.exit. */
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, readConfigFile } from '../core/config.js';
import { StockpipeError, toStockpipeError } from '../core/errors.js';
import { configureLog, getLog } from '../core/log.js';
import { createProgress } from '../core/progress.js';
import type { CommandContext, CommandResult } from './context.js';
import { featuresCommand } from './features.js';
import { fetchCommand } from './fetch.js';
import { ingestCommand } from './ingest.js';

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
  const config = loadConfig({
    file,
    env: process.env,
    flags: { workspace: g.workspace, threads: g.threads, memory_limit: g.memoryLimit, ...flags },
    origin: g.config ?? 'stockpipe.config.json / STOCKPIPE_* / flags',
  });
  const ctx: CommandContext = {
    config,
    workspace: resolve(config.workspace),
    log: getLog(cmd.name()),
    progress: createProgress({ quiet: quiet || jsonMode }),
    json: jsonMode,
    quiet,
    env: process.env,
    homeDir: homedir(),
    now: () => new Date(),
  };
  const result = await body(ctx);
  if (jsonMode) process.stdout.write(`${JSON.stringify({ ok: true, data: result.data })}\n`);
  else if (!quiet) process.stdout.write(`${result.human}\n`);
}

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new StockpipeError('SP_ERR_USAGE', `expected a whole number, got '${v}'`);
  return n;
};

export function buildProgram(): Command {
  const program = new Command('stockpipe')
    .description('Daily market bars → Parquet → pandas-exact rolling features (and, next, models and an API).')
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
    .option('--symbols <n>', 'synthetic: number of symbols (default 500; 8000 ≈ full Kaggle size)', int)
    .option('--years <n>', 'synthetic: years of history (default 10)', int)
    .option('--start <date>', 'synthetic: first trading day, YYYY-MM-DD (default 2010-01-04)')
    .option('--checksum', 'dir/zip: compute sha256 (and row counts) of every file')
    .option('--kaggle-base-url <url>', 'kaggle: API base URL (env KAGGLE_API_ENDPOINT; default https://www.kaggle.com)')
    .addHelpText('after', '\nExamples:\n  $ stockpipe fetch                                 # synthetic default: 500 symbols x 10 years\n  $ stockpipe fetch --source dir:./stock-market-dataset\n  $ stockpipe fetch --source zip:./archive.zip\n  $ stockpipe fetch --source kaggle                 # needs Kaggle credentials (README)')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { fetch: { source: o.source, seed: o.seed, symbols: o.symbols, years: o.years, start: o.start, checksum: o.checksum, kaggle_base_url: o.kaggleBaseUrl } }, fetchCommand);
    });

  program
    .command('ingest')
    .description('combine the fetched CSVs into tables/prices.parquet (sorted by Symbol, Date; zstd) with a row-accounting report')
    .option('--from <source-id>', 'which fetched source to read (default: the one fetched last)')
    .option('--strict', 'fail on the first malformed line instead of dropping and reporting it')
    .option('--force', 'rebuild even when the inputs are unchanged')
    .addHelpText('after', '\nExamples:\n  $ stockpipe ingest\n  $ stockpipe ingest --from dir --strict --json')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { ingest: { strict: o.strict, source_id: o.from } }, (ctx) => ingestCommand(ctx, { force: o.force === true }));
    });

  program
    .command('features')
    .description('rolling features per symbol → features/features.parquet (vol_moving_avg, adj_close_rolling_med; equal to pandas rolling)')
    .addOption(new Option('--window <n>', 'rows in the rolling window (default 30)').argParser(int))
    .option('--force', 'rebuild even when prices and window are unchanged')
    .addHelpText('after', '\nExamples:\n  $ stockpipe features\n  $ stockpipe features --window 20 --json')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      await run(cmd, { features: { window: o.window } }, (ctx) => featuresCommand(ctx, { force: o.force === true }));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
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
    const e = toStockpipeError(err);
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
