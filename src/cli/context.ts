/** @module cli/context
 * What every command gets: the validated config, a logger, progress, the clock and environment. */
import type { Config } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';

export interface CommandContext {
  config: Config;
  /** The workspace: its layout (absolute paths), threads and DuckDB memory limit; built once per command. */
  ws: Workspace;
  log: Logger;
  progress: Progress;
  json: boolean;
  quiet: boolean;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  now: () => Date;
  /** The `fetch` config keys the user set (file, STOCKPIPE_* or flag): the others may come from the
   * workspace's remembered source (sources/workspace-source.ts). */
  explicitFetch: ReadonlySet<string>;
}

/** A command's result: `data` is the --json document's data; `human` renders it for people. */
export interface CommandResult<T = unknown> {
  data: T;
  human: string;
  /** The command printed its own output already (long-running commands such as serve). */
  printed?: boolean;
}
