/** @module cli/globals
 * The options every command takes (before or after its name), the output mode read once from argv,
 * and the global flags a child stockpipe process (pipeline task, scheduled run) inherits. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from '../core/zod.js';
import { MAX_THREADS, memorySize, workspacePath } from '../core/config.js';
import { cli, flag, whole, type Invocation } from './options.js';

export const GlobalOptions = z
  .object({
    // `-w "$DIR"` with DIR unset said "workspace: Too small: expected string to have >=1 characters [from a command-line flag]".
    workspace: workspacePath().optional().describe('workspace folder').register(cli, { short: 'w', arg: 'dir', config: 'workspace' }),
    config: z.string().optional().describe('config file').register(cli, { short: 'c', arg: 'file', defaultText: './stockpipe.config.json when present' }),
    json: flag().describe('print one JSON document on stdout ({ok, data} or {ok, error}); logs go to stderr'),
    quiet: flag().describe('print only errors').register(cli, { short: 'q' }),
    debug: flag().describe('debug logs and stack traces'),
    // A bad flag is SP_ERR_USAGE naming it, as every option's is; STOCKPIPE_THREADS, STOCKPIPE_MEMORY_LIMIT
    // and the file are checked by the config (SP_ERR_CONFIG_INVALID naming the variable or the file).
    threads: whole()
      .refine((n) => n >= 0 && n <= MAX_THREADS, `must be a whole number from 0 to ${MAX_THREADS}`)
      .optional()
      .describe(`worker threads, 0 to ${MAX_THREADS}; 0 = one thread, without a parse worker`)
      .register(cli, { arg: 'n', config: 'threads', defaultText: 'all cores' }),
    memoryLimit: memorySize().optional().describe("DuckDB's memory limit, e.g. 2GB").register(cli, { arg: 'size', config: 'memory_limit' }),
  })
  .strict();
export type Globals = z.output<typeof GlobalOptions>;
export type Inv = Invocation<Globals>;

/** How errors print (one JSON document or text) and whether stacks do: decided once from argv,
 * before parsing, so that a parse error prints in the mode asked for. */
export interface OutputMode {
  json: boolean;
  debug: boolean;
}

export function outputMode(argv: readonly string[]): OutputMode {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  return { json: args.includes('--json'), debug: args.includes('--debug') };
}

/**
 * The global flags a child stockpipe process gets (the config path made absolute). The config this
 * process read from its folder (./stockpipe.config.json, no --config) is named too: a queue worker's
 * child runs in the worker's folder, where it would read another file or none, and compute with
 * settings other than those the runner keyed its cache on.
 */
export function childGlobalArgs(g: Globals, opts: { debug: boolean; cwd?: string }): string[] {
  const config = configFileOf(g, opts.cwd);
  return [
    ...(config !== null ? ['--config', config] : []),
    ...(g.threads !== undefined ? ['--threads', String(g.threads)] : []),
    ...(g.memoryLimit ? ['--memory-limit', g.memoryLimit] : []),
    ...(opts.debug && g.debug ? ['--debug'] : []),
  ];
}

/** The config file a command reads, as an absolute path: -c/--config's, else ./stockpipe.config.json when there is one; null for none (the defaults). */
export function configFileOf(g: Pick<Globals, 'config'>, cwd = process.cwd()): string | null {
  const implicit = resolve(cwd, 'stockpipe.config.json');
  return g.config ? resolve(cwd, g.config) : existsSync(implicit) ? implicit : null;
}
