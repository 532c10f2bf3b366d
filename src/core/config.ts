/** @module core/config
 * The configuration schema (zod, strict) and how it is assembled: stockpipe.config.json, then
 * STOCKPIPE_* environment variables, then flags (flags win). Parsed once at the edge. */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { StockpipeError } from './errors.js';

const intFrom = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const ConfigSchema = z
  .object({
    workspace: z.string().min(1).default('./stockpipe-data'),
    threads: intFrom(0, 256).default(availableParallelism()),
    memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i, 'a size such as 1GB').default('1GB'),
    fetch: z
      .object({
        source: z.string().min(1).default('synthetic'),
        seed: intFrom(0, 2 ** 31 - 1).default(42),
        symbols: intFrom(1, 100_000).default(500),
        years: intFrom(1, 60).default(10),
        start: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date YYYY-MM-DD').default('2010-01-04'),
        checksum: z.boolean().default(false),
        kaggle_base_url: z.string().url().default('https://www.kaggle.com'),
        kaggle_dataset: z.string().regex(/^[\w.-]+\/[\w.-]+$/, 'owner/slug').default('jacksoncrow/stock-market-dataset'),
      })
      .strict()
      .prefault({}),
    ingest: z.object({ strict: z.boolean().default(false), source_id: z.string().optional() }).strict().prefault({}),
    features: z.object({ window: intFrom(2, 1000).default(30), extended: z.boolean().default(false) }).strict().prefault({}),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
type Input = Record<string, unknown>;

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
};

function setPath(obj: Input, path: string[], value: unknown): void {
  let o = obj;
  for (const k of path.slice(0, -1)) {
    if (typeof o[k] !== 'object' || o[k] === null) o[k] = {};
    o = o[k] as Input;
  }
  o[path[path.length - 1]!] = value;
}

/** Reads the config file: the given path (must exist) or ./stockpipe.config.json (optional). */
export function readConfigFile(path: string | undefined, cwd: string): Input {
  const file = resolve(cwd, path ?? 'stockpipe.config.json');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if (path === undefined && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  try {
    return JSON.parse(text) as Input;
  } catch (err) {
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Merges file < env < flags and validates. `flags` uses config paths, e.g.
 * { workspace: 'x', fetch: { source: 'synthetic' } }; undefined values are ignored.
 */
export function loadConfig(opts: { file: Input; env: Readonly<Record<string, string | undefined>>; flags: Input; origin: string }): Config {
  const merged: Input = structuredClone(opts.file);
  for (const [name, path] of Object.entries(ENV_KEYS)) {
    const v = opts.env[name];
    if (v !== undefined && v !== '') setPath(merged, path, v);
  }
  const apply = (src: Input, prefix: string[]): void => {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) apply(v as Input, [...prefix, k]);
      else setPath(merged, [...prefix, k], v);
    }
  };
  apply(opts.flags, []);
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.');
    const got = issue.path.reduce<unknown>((o, k) => (o as Input | undefined)?.[k as string], merged);
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `${key || 'config'}: ${issue.message}${got !== undefined ? ` (got ${JSON.stringify(got)})` : ''} [from ${opts.origin}]`, {
      hint: key ? `Fix ${key} in the flag, STOCKPIPE_* variable or config file, or remove it to use the default.` : undefined,
    });
  }
  return parsed.data;
}
