/** @module core/config
 * The configuration schema (zod, strict) and how it is assembled: stockpipe.config.json, then
 * STOCKPIPE_* environment variables, then flags (flags win). Parsed once at the edge. */
import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Cron } from 'croner';
import { type ParseError, parse as parseJsonc } from 'jsonc-parser';
import { z } from './zod.js';
import { isTradingDay } from './calendar.js';
import { clip, mapStringsDeep, StockpipeError } from './errors.js';

/** Decimal text, as flags and STOCKPIPE_* variables give numbers: `12`, `-3`, `1.5` — plain digits, as
 * the command options take them (`1e3` is refused, as `--trees 1e2` is; a JSON number in the file may
 * still be written 1e3). */
const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)$/;
/**
 * A number: a JSON number, or decimal text (spaces around it allowed). Anything else stays as it is
 * and fails (z.coerce.number took '' and null as 0, true as 1, [4] as 4 and '0x10' as 16).
 */
const numeric = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (typeof v === 'string' && DECIMAL_TEXT.test(v.trim()) ? Number(v) : v), schema);
/** A whole number from min to max; every way to miss says so ("expected a whole number from 0 to 256"). */
const intFrom = (min: number, max: number) => {
  const m = `expected a whole number from ${min} to ${max}`;
  return numeric(z.number(m).int(m).min(min, m).max(max, m));
};
/** The longest delay a Node timer takes (2^31−1 ms, ~24.8 days); a longer one fires at once. */
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);
/** The built-in pipelines' tasks, the keys `pipeline.tasks` takes (src/pipeline/builtin; its index test keeps the two in step). */
export const PIPELINE_TASK_NAMES = ['fetch', 'ingest', 'validate', 'features', 'train', 'evaluate', 'register', 'forecast-model', 'forecast', 'monitor', 'retrain-if-needed'] as const;
/** The validation anomaly codes (stable: added, never renamed; validate/types), the keys `validate.severity` takes. */
export const ANOMALY_CODES = [
  'empty_table',
  'missing_column',
  'extra_column',
  'type_changed',
  'non_finite',
  'null_spike',
  'out_of_range',
  'nonpositive_price',
  'negative_volume',
  'zero_volume',
  'large_volume',
  'high_below_low',
  'ohlc_inconsistent',
  'invalid_date',
  'duplicate_date',
  'non_trading_day',
  'calendar_gap',
  'missing_trading_days',
  'stale_symbol',
  'short_history',
  'missing_metadata',
  'missing_symbols',
  'rows_decreased',
  'drift',
  'identity_changed',
  'source_changed',
] as const;
const SIZE_UNITS: Record<string, number> = { kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };
/** Bytes of a memory size such as `1GB` or `512 MiB` (DuckDB's units: KB = 1000, KiB = 1024). */
function sizeBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(text);
  return m ? Number(m[1]) * (SIZE_UNITS[m[2]!.toLowerCase()] ?? NaN) : NaN;
}

/** The most worker threads the config (`threads`, STOCKPIPE_THREADS, `--threads`) takes; 0 = one thread, no parse worker. */
export const MAX_THREADS = 256;

/** A workspace folder: the `workspace` key, and `--workspace` (cli/globals). A space around the path
 * (`STOCKPIPE_WORKSPACE=/data/ws ` in an env file, `-w " $DIR"`) named another folder: fetch and run started a
 * new workspace beside the real one, and every read command read it as empty. */
export const workspacePath = () =>
  z.string().min(1).regex(/^(?!\s)[\s\S]*(?<!\s)$/, 'must not start or end with a space, tab or line break (that names another folder than the one meant)');

/** An http(s) URL: the sources' API bases and the alert webhook. Another scheme (`ftp://`, a typo's `htps://`) passed as
 * a URL, and every request failed as the service being down: `fetch --yahoo-base-url ftp://…` retried for half a
 * minute, then said "Yahoo kept failing … Try again later". */
const httpUrl = () => z.string().url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' });

/** A DuckDB memory limit such as `1GB` or `512 MiB`: the `memory_limit` key, and `--memory-limit` (cli/globals). */
export const memorySize = () =>
  z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'expected a size such as 1GB or 512MiB')
    // DuckDB keeps the limit in 64 bits: a larger one failed as SP_ERR_INTERNAL ("Failed to set config").
    .refine((v) => sizeBytes(v) < 2 ** 64, 'must be below 16 EiB');

/** `stockpipe monitor` thresholds and windows (docs/data.md). */
export const MonitorConfigSchema = z
  .object({
    /** Alert when the mean relative error of Adj Close over the window exceeds this (0.05 = 5 %). */
    max_mape_adj_close: numeric(z.number().positive()).default(0.05),
    max_mape_volume: numeric(z.number().positive()).default(0.75),
    /** Alert when an input column's PSI (recent window vs the reference before it) exceeds this. */
    max_psi: numeric(z.number().positive()).default(0.25),
    /** Trading days in the judged window (errors and drift's recent window). */
    window_days: intFrom(1, 366).default(20),
    /** Trading days of the reference window drift compares the recent window with. */
    reference_days: intFrom(1, 5000).default(120),
    /** The reference window: the window just before the recent one ('previous', default), or the end
     * of the forecast champion's training period ('training'; the window before when there is no
     * such model): the day before its validation window. With train's default cut that is a test
     * slice (20 % of the dates) and a validation window before today, so 'training' also measures
     * years of ordinary growth; the daily pipeline's models (monitor.train_test_days) end nearer. */
    drift_reference: z.enum(['training', 'previous']).default('previous'),
    /** Fewer rows than this in a window: not judged (no alert). */
    min_rows: intFrom(1, 1_000_000_000).default(100),
    /** An alert sets retrain_needed (the daily pipeline's retrain-if-needed task runs). */
    retrain_on_alert: z.boolean().default(true),
    /** The daily pipeline retrains at most once per this many trading days of data (0 = no limit),
     * so a drift that outlasts one retrain does not retrain every day. */
    retrain_cooldown_days: intFrom(0, 1000).default(5),
    /** The daily pipeline's day-ahead models (its first, and each retrain) test on the last this many
     * trading days of their data (`train --test-days`), so they are fitted on all but those days; 0 =
     * train's default cut (the 80th percentile of the dates: a model fitted on data years old), which
     * a history of at most five times this many usable trading days keeps too. */
    train_test_days: intFrom(0, 100_000).default(63),
  })
  .strict();
export type MonitorConfig = z.infer<typeof MonitorConfigSchema>;

export const ConfigSchema = z
  .object({
    workspace: workspacePath().default('./stockpipe-data'),
    threads: intFrom(0, MAX_THREADS).default(availableParallelism()),
    memory_limit: memorySize().default('1GB'),
    fetch: z
      .object({
        source: z.string().min(1).default('synthetic'),
        seed: intFrom(0, 2 ** 31 - 1).default(42),
        symbols: intFrom(1, 100_000).default(500),
        years: intFrom(1, 60).default(10),
        start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD').default('2010-01-04'),
        checksum: z.boolean().default(false),
        kaggle_base_url: httpUrl().default('https://www.kaggle.com'),
        kaggle_dataset: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/slug').default('jacksoncrow/stock-market-dataset'),
        // yahoo: tickers (a non-numeric --symbols sets them), last day, API base, rate limit.
        tickers: z.array(z.string().regex(/^[A-Za-z0-9^][A-Za-z0-9.=^-]{0,31}$/, 'a ticker such as AAPL, BRK-B or ^GSPC')).min(1).optional(),
        end: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD').optional(),
        yahoo_base_url: httpUrl().default('https://query1.finance.yahoo.com'),
        yahoo_requests_per_second: numeric(z.number().positive().max(100)).default(2),
      })
      .strict()
      .prefault({}),
    ingest: z.object({ strict: z.boolean().default(false), source_id: z.string().optional() }).strict().prefault({}),
    /** prepare: a full ingest also computes the features with these settings for the next `features` (features/prepare). */
    features: z.object({ window: intFrom(2, 1000).default(30), extended: z.boolean().default(false), prepare: z.boolean().default(true) }).strict().prefault({}),
    pipeline: z
      .object({
        /** Tasks running at once. */
        concurrency: intFrom(1, 64).default(2),
        /** Attempts after a failure, and the backoff base, for every task unless set per task. */
        retries: intFrom(0, 20).default(2),
        retry_delay_s: numeric(z.number().min(0).max(3600)).default(2),
        /** Where tasks run: local (child processes of the runner; no server) or bullmq (jobs on Redis for `stockpipe worker`s; docs/scale-out.md). */
        executor: z.enum(['local', 'bullmq']).default('local'),
        /** Redis for the bullmq executor; STOCKPIPE_REDIS_URL wins (keep passwords out of the file). */
        redis_url: z.string().min(1).optional(),
        /** The queue's Redis key prefix: runners and workers of one deployment share it. */
        queue: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - (at most 64)').default('stockpipe'),
        /** Pending jobs fail (SP_ERR_REDIS_UNREACHABLE) when Redis stays unreachable this long. */
        redis_timeout_s: numeric(z.number().min(1).max(86_400)).default(60),
        /** With bullmq: the features task fans out as at most this many partition jobs (groups of the 16 symbol buckets). */
        partitions: intFrom(1, 16).default(8),
        /** Per task: retries, timeout_s (a timeout stops the task: SP_ERR_TASK_TIMEOUT). */
        tasks: z
          .record(z.string(), z.object({ retries: intFrom(0, 20).optional(), timeout_s: numeric(z.number().positive().max(MAX_TIMER_S)).optional() }).strict())
          // A misspelt task name (forecast_model) would be ignored: its retries and timeout never applied.
          .superRefine((tasks, ctx) => {
            for (const name of Object.keys(tasks)) {
              if (!(PIPELINE_TASK_NAMES as readonly string[]).includes(name)) ctx.addIssue({ code: 'custom', path: [name], message: `no pipeline has a task '${name}'; the tasks are ${PIPELINE_TASK_NAMES.join(', ')}` });
            }
          })
          .default({}),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        /** POSTed a JSON alert ({text, alert}: Slack-compatible) on failure. */
        webhook_url: httpUrl().optional(),
        smtp: z
          .object({
            host: z.string().min(1),
            port: intFrom(1, 65535).default(587),
            secure: z.boolean().default(false),
            user: z.string().optional(),
            /** Prefer the STOCKPIPE_SMTP_PASSWORD variable to a password in the file. */
            password: z.string().optional(),
            from: z.string().min(3),
            to: z.array(z.string().min(3)).min(1),
          })
          .strict()
          .optional(),
        /** Also alert when a run succeeds. */
        on_success: z.boolean().default(false),
        timeout_s: numeric(z.number().positive().max(120)).default(10),
      })
      .strict()
      .prefault({}),
    schedules: z
      .array(
        z
          .object({
            pipeline: z.enum(['train', 'daily']),
            /** 5 or 6 fields (croner), e.g. "30 18 * * 1-5", or a croner nickname (@daily, @hourly, …). */
            cron: z.string(),
            timezone: z.string().default('America/New_York'),
            /** Skip days the NYSE is closed (weekends, holidays) and alert a missed trading day. */
            trading_days_only: z.boolean().default(true),
          })
          .strict()
          // Checked when the config is read, not first by the scheduler or GET /schedules.
          .superRefine((v, ctx) => {
            const problem = scheduleProblem(v.cron, v.timezone, v.trading_days_only);
            if (problem !== null) ctx.addIssue({ code: 'custom', path: [problem.field], message: problem.message });
          }),
      )
      .default([]),
    monitor: MonitorConfigSchema.prefault({}),
    serve: z
      .object({
        /** The token mutating API routes need (`Authorization: Bearer …`); prefer STOCKPIPE_API_TOKEN (docs/security.md). */
        api_token: z.string().min(16, 'must be at least 16 characters (e.g. `openssl rand -hex 32`)').regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces').optional(),
        /** Processes answering on host:port (node:cluster workers); 1 = the command's own process. */
        workers: intFrom(1, 64).default(1),
      })
      .strict()
      .prefault({}),
    validate: z
      .object({
        table: z.enum(['prices', 'features']).default('prices'),
        fail_on: z.enum(['error', 'warning', 'never']).default('error'),
        /** Per anomaly code: a severity, or 'off' to drop it (codes: src/validate/types.ts). */
        severity: z
          .record(z.string(), z.enum(['info', 'warning', 'error', 'off']))
          // A misspelt code (stale_symbols) would be ignored: refused when the config is read, not when validate runs.
          .superRefine((codes, ctx) => {
            for (const code of Object.keys(codes)) {
              if (!(ANOMALY_CODES as readonly string[]).includes(code)) ctx.addIssue({ code: 'custom', path: [code], message: `unknown anomaly code '${code}'; the codes are ${ANOMALY_CODES.join(', ')}` });
            }
          })
          .default({}),
        null_rate_tolerance: numeric(z.number().min(0).max(1)).default(0.01),
        out_of_range_rate: numeric(z.number().min(0).max(1)).default(0.001),
        missing_days_rate: numeric(z.number().min(0).max(1)).default(0.05),
        stale_after_days: intFrom(0, 100_000).default(5),
        min_symbol_rows: intFrom(1, 1_000_000).default(30),
        drift: z
          .object({ k: numeric(z.number().positive()).default(2), floor: numeric(z.number().min(0)).default(0.1), min_period_rows: intFrom(1, 1_000_000_000).default(200) })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
type Input = Record<string, unknown>;

/**
 * Whether a schedule fires on an NYSE trading day (its date in New York, as the scheduler checks it)
 * among its next 20 days of firing (each closed day skipped whole): one that fires only on weekends or
 * a holiday (Christmas) never runs on trading days.
 */
function firesOnTradingDay(cron: Cron): boolean {
  const midnight = new Cron('0 0 0 * * *', { timezone: 'America/New_York', paused: true });
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit' });
  let t: Date | null = cron.nextRun();
  for (let i = 0; i < 20 && t !== null; i++) {
    if (isTradingDay(day.format(t))) return true;
    const next = midnight.nextRun(t);
    if (next === null) return false;
    t = cron.nextRun(new Date(Math.max(next.getTime() - 1, t.getTime())));
  }
  return false;
}

/** What is wrong with a schedule's time zone or cron expression (croner's 5 or 6 fields), or null;
 * an expression that never fires (the 31st of February, or only on days the NYSE is closed when
 * `trading_days_only`) is wrong too. */
function scheduleProblem(cron: string, timezone: string, tradingDaysOnly: boolean): { field: 'cron' | 'timezone'; message: string } | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    return { field: 'timezone', message: 'not an IANA time zone such as America/New_York' };
  }
  // croner also takes a 7th field (the year); the contract is 5 or 6 (docs/pipelines.md).
  const fields = cron.trim() === '' ? 0 : cron.trim().split(/\s+/).length;
  if (fields > 6) return { field: 'cron', message: `${fields} fields; 5 or 6, e.g. "30 18 * * 1-5"` };
  if (fields < 5 && !/^@\w+$/.test(cron.trim())) return { field: 'cron', message: `${fields} field${fields === 1 ? '' : 's'}; 5 or 6, e.g. "30 18 * * 1-5", or a nickname such as "@daily"` };
  let c: Cron;
  try {
    c = new Cron(cron, { timezone, paused: true });
  } catch (err) {
    return { field: 'cron', message: `not a cron expression (${(err as Error).message.split('. ')[0]!.replace(/\.$/, '')}); 5 or 6 fields, e.g. "30 18 * * 1-5"` };
  }
  if (c.nextRun() === null) return { field: 'cron', message: 'never fires (no such date)' };
  if (tradingDaysOnly && !firesOnTradingDay(c)) {
    return { field: 'cron', message: 'never fires on an NYSE trading day (only on weekends or holidays), and trading_days_only skips those; fix the days, or set "trading_days_only": false' };
  }
  return null;
}

/** STOCKPIPE_* variables and the config keys they set. */
export const ENV_KEYS: Record<string, string[]> = {
  STOCKPIPE_WORKSPACE: ['workspace'],
  STOCKPIPE_THREADS: ['threads'],
  STOCKPIPE_MEMORY_LIMIT: ['memory_limit'],
  STOCKPIPE_SOURCE: ['fetch', 'source'],
  STOCKPIPE_SEED: ['fetch', 'seed'],
  STOCKPIPE_SYMBOLS: ['fetch', 'symbols'],
  STOCKPIPE_YEARS: ['fetch', 'years'],
  STOCKPIPE_WINDOW: ['features', 'window'],
  KAGGLE_API_ENDPOINT: ['fetch', 'kaggle_base_url'],
  STOCKPIPE_ALERT_WEBHOOK: ['alerts', 'webhook_url'],
  STOCKPIPE_YAHOO_BASE_URL: ['fetch', 'yahoo_base_url'],
  STOCKPIPE_API_TOKEN: ['serve', 'api_token'],
  STOCKPIPE_REDIS_URL: ['pipeline', 'redis_url'],
  STOCKPIPE_EXECUTOR: ['pipeline', 'executor'],
};

/**
 * The config paths and values the set STOCKPIPE_* variables give (an empty one is unset). STOCKPIPE_SYMBOLS is
 * `--symbols`: a number sets fetch.symbols (synthetic), a comma list of tickers fetch.tickers (yahoo), as the
 * flag does; a list was refused as "expected a whole number" though the help names the variable for both.
 */
export function envSettings(env: Readonly<Record<string, string | undefined>>): { name: string; path: string[]; value: string | string[] }[] {
  const out: { name: string; path: string[]; value: string | string[] }[] = [];
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const v = env[name];
    if (v === undefined || v === '') continue;
    // Tickers start with a letter or ^ (AAPL, BRK-B, ^GSPC); `1e3` or `0x10` stay a number the schema refuses.
    const tickers = name === 'STOCKPIPE_SYMBOLS' ? v.split(',').map((t) => t.trim()).filter((t) => t !== '') : [];
    if (tickers.length > 0 && tickers.every((t) => /^[A-Za-z^]/.test(t))) out.push({ name, path: ['fetch', 'tickers'], value: tickers });
    else out.push({ name, path, value: v });
  }
  return out;
}

/** Config keys whose values are secrets: never quoted in an error message. */
// A webhook URL is a credential (whoever has it can post to the channel).
const SECRET_KEYS = new Set(['serve.api_token', 'alerts.smtp.password', 'pipeline.redis_url', 'alerts.webhook_url']);

/** A URL's user and password (`https://user:key@host`) replaced: never quoted. */
export const withoutUserinfo = (text: string): string => text.replace(/(\/\/)[^/@\s]*@/g, '$1(credentials not shown)@');

/** Every string inside `v` with its URL credentials hidden (a copy). */
const withoutUserinfoDeep = (v: unknown): unknown => mapStringsDeep(v, withoutUserinfo);

/** `got`, the value at `key`, with each secret inside it hidden (an error on a whole section must not quote its secret),
 * and the credentials of any URL in it. */
function withoutSecrets(got: unknown, key: string): unknown {
  const copy = withoutUserinfoDeep(got) as Input;
  if (typeof copy !== 'object' || copy === null) return copy;
  const prefix = key === '' ? '' : `${key}.`;
  for (const secret of SECRET_KEYS) {
    if (!secret.startsWith(prefix)) continue;
    const path = secret.slice(prefix.length).split('.');
    const parent = path.slice(0, -1).reduce<unknown>((o, k) => (typeof o === 'object' && o !== null ? (o as Input)[k] : undefined), copy);
    const last = path[path.length - 1]!;
    if (typeof parent === 'object' && parent !== null && Object.hasOwn(parent, last)) (parent as Input)[last] = '(a secret, not shown)';
  }
  return copy;
}

/** Sets `path` in `obj`, making the sections it lacks. A section already there that is no object (the
 * file's `"fetch": 5` or `null`) is left as it is, and the value not set: the schema refuses that
 * section, naming where it was set; replacing it by `{}` dropped the file's bad value unseen. */
function setPath(obj: Input, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (o[k] === undefined) o[k] = {};
    if (typeof o[k] !== 'object' || o[k] === null || Array.isArray(o[k])) return;
    o = o[k] as Input;
  }
  o[path[path.length - 1]!] = value;
}

/**
 * Reads the config file: the given path (must exist) or ./stockpipe.config.json (optional). `implicit`
 * false: no path given reads no file (a queued job's command: the runner named its file with --config
 * if it read one; the worker's folder may hold another).
 */
export function readConfigFile(path: string | undefined, cwd: string, opts: { implicit?: boolean } = {}): Input {
  if (path === undefined && opts.implicit === false) return {};
  const file = resolve(cwd, path ?? 'stockpipe.config.json');
  let bytes: Buffer;
  try {
    bytes = readAtMost(file, MAX_CONFIG_BYTES + 1);
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (code ?? String(err));
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `cannot read config file ${file}: ${why}`, { cause: err, hint: `Check the path given to -c/--config (relative to ${cwd}), or leave -c out to use ./stockpipe.config.json when there is one and the defaults otherwise.` });
  }
  if (bytes.length > MAX_CONFIG_BYTES) throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} is larger than ${MAX_CONFIG_BYTES} bytes: not a config file`, { hint: FIX_FILE(file) });
  return parseConfigText(bytes, file);
}

/** A config file is a few KB: reading stops past this (`--config /dev/zero` filled memory until it crashed). */
const MAX_CONFIG_BYTES = 1 << 20;

/** The first `max` bytes of a file (all of it when shorter); works for pipes (`--config <(…)`) too. */
function readAtMost(file: string, max: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(max);
    let n = 0;
    for (let got = -1; got !== 0 && n < max; n += got) got = readSync(fd, buf, n, max - n, null);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

const FIX_FILE = (file: string): string => `Write a JSON object such as {"workspace": "./stockpipe-data"} in ${file}, or remove the file to use the defaults.`;

/** The config file's bytes → its object: UTF-8 (a leading BOM is ignored), JSON, an object at the top. */
export function parseConfigText(bytes: Uint8Array, file: string): Input {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    const at = firstInvalidUtf8(bytes);
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} is not UTF-8 text (invalid byte 0x${bytes[at]?.toString(16).padStart(2, '0')} at offset ${at})`, { hint: `Save ${file} as UTF-8.`, cause: err });
  }
  if (text.trim() === '') throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} is empty`, { hint: FIX_FILE(file) });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const at = jsonErrorLine(text, (err as Error).message);
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} is not valid JSON: ${jsonMessage((err as Error).message)}${at === null ? '' : ` (${at})`}`, { hint: `Fix the JSON syntax at ${at ?? 'the named position'} in ${file}.`, cause: err });
  }
  if (deeperThan(value, MAX_CONFIG_DEPTH)) {
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} nests objects or arrays more than ${MAX_CONFIG_DEPTH} levels deep: not a config file`, { hint: FIX_FILE(file) });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value} (${JSON.stringify(value).slice(0, 40)})`;
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} must hold a JSON object ({…}) at the top, got ${got}`, { hint: FIX_FILE(file) });
  }
  return value as Input;
}

/** The config's keys nest 4 levels at most; a file nested thousands deep overflowed the stack when copied
 * or validated (SP_ERR_INTERNAL "Maximum call stack size exceeded"). */
const MAX_CONFIG_DEPTH = 32;

/** Whether JSON `value` has objects or arrays nested more than `max` levels (walked without recursion). */
function deeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= max) return true;
    for (const x of Object.values(v)) stack.push([x, depth + 1]);
  }
  return false;
}

/** `line L, column C` of the character offset V8's JSON error names ("… at position N"), or null. */
function jsonErrorLine(text: string, message: string): string | null {
  // V8 names no position for an unexpected token (a comment, 'single quotes', an unquoted word) nor for an
  // unfinished file: the hint said "at the named position", and none was named. Found by a parser that names it then.
  const m = /at position (\d+)/.exec(message);
  const found = m === null ? jsonErrorOffset(text) : Number(m[1]);
  if (found === null) return null;
  const pos = Math.min(found, text.length);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const column = pos - (before.lastIndexOf('\n') + 1) + 1;
  return `line ${line}, column ${column}`;
}

/** V8's message without the source it quotes for an unexpected token (`Unexpected token ''', ..."a": 'x'\n}"... is not
 * valid JSON`): that quote is any text of the file, line breaks included, and the line and column say where. */
function jsonMessage(message: string): string {
  const m = /^Unexpected token '[\s\S]{1,2}?'(?=, )/.exec(message);
  return m === null ? message : m[0];
}

/** Offset of the first token a JSON parser refuses in `text` (jsonc-parser, in strict JSON mode: no comments, no
 * trailing commas), or null when it finds none. jsonc-parser scans without recursion: a file nested thousands deep is
 * refused later (deeperThan), not here by a stack overflow. */
export function jsonErrorOffset(t: string): number | null {
  const errors: ParseError[] = [];
  parseJsonc(t, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return errors[0]?.offset ?? null;
}

/** Offset of the first byte that is not valid UTF-8 (the decoder only says that one exists). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  // A prefix that decodes as a stream (an unfinished character allowed) stays valid when cut shorter.
  const validPrefix = (n: number): boolean => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (validPrefix(mid)) lo = mid;
    else hi = mid - 1;
  }
  if (lo < bytes.length) return lo;
  // Every prefix decodes: the file ends inside a character, which starts at its lead byte.
  let i = bytes.length - 1;
  while (i > 0 && i > bytes.length - 4 && (bytes[i]! & 0xc0) === 0x80) i--;
  return i;
}

/** Which source set the config key at `path` (a flag, a STOCKPIPE_* variable, or the file) — the one that won the merge. */
function setBy(opts: LoadOptions, path: readonly string[]): string {
  if (path.length > 0 && isSet(opts.flags, path)) return flagOf(opts, path)?.name ?? 'a command-line flag';
  // A key inside what the variable set (fetch.tickers.0) is the variable's too.
  for (const { name, path: p } of envSettings(opts.env)) if (p.join('.') === path.slice(0, p.length).join('.')) return `the variable ${name}`;
  return opts.origin;
}

/** What loadConfig reads: the file's object (named by `origin`), the environment, and the flags in config
 * paths, with the option that set each (`flagNames`: `fetch.seed` → `--seed`) when the command line gave them. */
interface LoadOptions {
  file: Input;
  env: Readonly<Record<string, string | undefined>>;
  flags: Input;
  flagNames?: Readonly<Record<string, string>>;
  origin: string;
}

/** The option that set `path` or the key it is inside (fetch.tickers.1: --symbols, which set fetch.tickers), when
 * the flags set it and it is known. */
function flagOf(opts: LoadOptions, path: readonly string[]): { name: string; key: string } | undefined {
  if (!isSet(opts.flags, path)) return undefined;
  for (let n = path.length; n > 0; n--) {
    const key = path.slice(0, n).join('.');
    const name = opts.flagNames?.[key];
    if (name !== undefined) return { name, key };
  }
  return undefined;
}

/**
 * Merges file < env < flags and validates. `flags` uses config paths, e.g.
 * { workspace: 'x', fetch: { source: 'synthetic' } }; undefined values are ignored.
 */
export function loadConfig(opts: LoadOptions): Config {
  const merged: Input = structuredClone(opts.file);
  for (const { path, value } of envSettings(opts.env)) setPath(merged, path, value);
  const apply = (src: Input, prefix: string[]): void => {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) apply(v as Input, [...prefix, k]);
      else setPath(merged, [...prefix, k], v);
    }
  };
  // A value the file or a variable sets that is wrong on its own (a type, a range, an unknown key or
  // choice) is refused even when a flag overrides it, as a broken file would be on the next run
  // without the flag. Whatever depends on other keys (a refinement, a key a flag supplies) is judged
  // on the merged config only.
  const base = ConfigSchema.safeParse(merged);
  if (!base.success) {
    const own = base.error.issues.find((i) => VALUE_ISSUES.has(i.code) && isSet(merged, i.code === 'unrecognized_keys' ? [...i.path.map(String), String(i.keys[0])] : i.path.map(String)));
    if (own !== undefined) refuse(own, merged, { ...opts, flags: {} });
  }
  apply(opts.flags, []);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) refuse(parsed.error.issues[0]!, merged, opts);
  return parsed.data;
}

/** Issue codes about a value on its own, not about how it goes with other keys. */
const VALUE_ISSUES: ReadonlySet<string> = new Set(['invalid_type', 'too_big', 'too_small', 'invalid_format', 'not_multiple_of', 'unrecognized_keys', 'invalid_value']);

/** Whether `path` holds a value in `o`. */
function isSet(o: Input, path: readonly string[]): boolean {
  let v: unknown = o;
  for (const k of path) {
    if (typeof v !== 'object' || v === null || !Object.hasOwn(v, k)) return false;
    v = (v as Input)[k];
  }
  return v !== undefined;
}

/** Throws the config error of one zod issue, naming the key, the value (unless a secret) and its source. */
function refuse(issue: z.core.$ZodIssue, merged: Input, opts: LoadOptions): never {
  const path = issue.path.map(String);
  const key = path.join('.');
  const got = path.reduce<unknown>((o, k) => (o as Input | undefined)?.[k], merged);
  const from = setBy(opts, issue.code === 'unrecognized_keys' ? [...path, String(issue.keys[0])] : path);
  // JSON reads a number beyond the double range (1e400) as Infinity, which JSON.stringify writes as null.
  // Cut as every echoed input is (core/errors clip): a value of the file or a variable may be of any length.
  const value = typeof got === 'number' && !Number.isFinite(got) ? `${got}: a number beyond ±1.8e308` : clip(JSON.stringify(withoutSecrets(got, key)) ?? 'nothing');
  // --window has its own code (docs/errors.md), from the flag, STOCKPIPE_WINDOW or the file alike.
  if (key === 'features.window') {
    throw new StockpipeError('SP_ERR_FEATURES_WINDOW', `--window (features.window) must be a whole number from 2 to 1000 (got ${value}) [from ${from}]`);
  }
  // An unknown key is named by the message: the section around it is not quoted (it may hold secrets).
  const shown = got === undefined || issue.code === 'unrecognized_keys' ? '' : SECRET_KEYS.has(key) ? ' (value not shown: a secret)' : ` (got ${value})`;
  // A key its section needs, left out (alerts.smtp without `to`, a schedule without `cron`): zod said "Invalid input:
  // expected array, received undefined", and the hint to remove it.
  const parent = path.slice(0, -1).join('.');
  if (got === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_value') && key !== '') {
    const choices = issue.code === 'invalid_value' ? ` (one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')})` : '';
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${key}: is missing; ${parent || 'the config'} needs it${choices} [from ${from}]`, { hint: `Add ${key} to ${from}${parent ? `, or remove ${parent}` : ''}.` });
  }
  // A key without a default (alerts.smtp.host, a schedule's cron) is fixed, not removed: that breaks its section.
  const flag = flagOf(opts, path);
  const fix = flag !== undefined ? `Fix ${flag.name}, or leave it out: ${flag.key} then comes from the config, or is the default.`
    : removable(merged, path) ? `Fix ${key} in ${from}, or remove it to use the default.` : `Fix ${key} in ${from}.`;
  throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${key || 'config'}: ${issue.message}${shown} [from ${from}]`, {
    hint: issue.code === 'unrecognized_keys' ? `Remove or correct it in ${from}; the README's Configuration section lists every key.` : key ? fix : undefined,
  });
}

/** Whether the config is valid at `path` without it (the key has a default or may be left out); a list's entry is not removed. */
function removable(merged: Input, path: readonly string[]): boolean {
  const copy = structuredClone(merged);
  const section = path.slice(0, -1).reduce<unknown>((o, k) => (o as Input | undefined)?.[k], copy);
  if (typeof section !== 'object' || section === null || Array.isArray(section)) return false;
  delete (section as Input)[path[path.length - 1]!];
  const r = ConfigSchema.safeParse(copy);
  return r.success || !r.error.issues.some((i) => i.path.map(String).join('.') === path.join('.'));
}

/**
 * The `fetch` keys the user set in the config file, a STOCKPIPE_* variable or a flag (the rest are
 * defaults). A workspace's remembered source wins over a default, never over a setting (docs/data.md).
 */
export function explicitFetchKeys(opts: { file: Input; env: Readonly<Record<string, string | undefined>>; flags: Input }): Set<string> {
  const keys = new Set<string>();
  const section = (o: Input): void => {
    const f = o.fetch;
    if (typeof f === 'object' && f !== null) for (const [k, v] of Object.entries(f as Input)) if (v !== undefined) keys.add(k);
  };
  section(opts.file);
  section(opts.flags);
  for (const { path } of envSettings(opts.env)) if (path[0] === 'fetch') keys.add(path[1]!);
  return keys;
}
