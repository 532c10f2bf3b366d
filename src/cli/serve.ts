/** @module cli/serve
 * `stockpipe serve`: the prediction API on host:port until SIGTERM/SIGINT, then a graceful
 * shutdown (stop accepting, finish requests in flight, exit 0). With --workers N > 1 this process
 * is only the primary of N node:cluster workers (serve/cluster; each runs cli/serve-worker) and
 * prints the same lines once all of them listen. The API token comes from the config
 * (serve.api_token / STOCKPIPE_API_TOKEN); listening beyond loopback without one prints a warning
 * on stderr (docs/security.md). */
import { fileURLToPath } from 'node:url';
import type { MonitorConfig } from '../core/config.js';
import { createAccessLog, getLog } from '../core/log.js';
import { exposureWarning } from '../serve/auth.js';
import { ServeCluster } from '../serve/cluster.js';
import { serverUrl, startServer } from '../serve/server.js';
import type { ControlOptions } from '../dashboard/routes-control.js';
import type { CommandContext, CommandResult } from './context.js';

/** The CLI entry the dashboard starts runs, resumes and backfills with (dashboard/launch). */
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/** How the dashboard starts runs: this CLI with the server's environment, flags and folder; the config's schedules. */
function controlOf(ctx: CommandContext, opts: ServeOptions): ControlOptions {
  return { cliMain: MAIN, env: { ...ctx.env }, globalArgs: opts.globalArgs ?? [], cwd: process.cwd(), schedules: ctx.config.schedules };
}

export interface ServeOptions {
  port: number;
  host: string;
  pollMs: number;
  /** Processes answering on host:port; 1 = this one. */
  workers: number;
  version: string;
  /** Global flags (--config, --threads, …) for the runs the dashboard starts (default none). */
  globalArgs?: string[];
  /** Resolves when the server should stop (tests); default: SIGTERM or SIGINT. */
  until?: Promise<unknown>;
}

/** What the primary sends each worker (cli/serve-worker): the parsed options and config it needs. */
export interface WorkerStart {
  workspace: string;
  threads: number;
  memoryLimit: string;
  host: string;
  port: number;
  pollMs: number;
  version: string;
  monitor: MonitorConfig;
  apiToken?: string;
  quiet: boolean;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** How the dashboard starts runs (the worker adds its environment). */
  control: Omit<ControlOptions, 'env'>;
}

export interface ServeData {
  url: string;
  dashboard: string;
  docs: string;
  model: string | null;
  /** The champion registered that could not be loaded (the log says why), else null. */
  rejected: string | null;
  workers: number;
  /** The processes answering (a single process: this one). */
  pids: number[];
}

/** The start lines for people, rendered from the --json data. */
export function listeningText(data: ServeData): string {
  const { url } = data;
  const workers = data.workers > 1 ? ` (${data.workers} worker processes, pids ${data.pids.join(', ')})` : '';
  const none = data.rejected !== null
    ? `no model: the champion ${data.rejected} cannot be loaded (503 until it is restored or another model is promoted; the log above says why)`
    : 'no model yet (503 until the champion alias names a model that loads)';
  return `serving ${data.model ?? none} at ${url}${workers}\n  dashboard: ${url}/   API docs: ${url}/docs   try: curl "${url}/predict?vol_moving_avg=12345&adj_close_rolling_med=25"\n`;
}

function printListening(ctx: CommandContext, data: ServeData): void {
  process.stdout.write(ctx.json ? `${JSON.stringify({ ok: true, data })}\n` : listeningText(data));
}

/** The last line of a human-mode serve, as `scheduler` and `worker` end theirs (`--json` prints one document only). */
function printStopped(ctx: CommandContext, why: unknown): void {
  if (ctx.json || ctx.quiet) return;
  const signal = typeof why === 'string' ? why : 'stopped';
  process.stdout.write(`serve stopped (${signal}): no longer listening; the requests in flight were answered\n`);
}

const signalled = (): Promise<string> =>
  new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });

export async function serveCommand(ctx: CommandContext, opts: ServeOptions): Promise<CommandResult> {
  if (opts.workers > 1) return serveCluster(ctx, opts);
  const apiToken = ctx.config.serve.api_token;
  // Listening for SIGTERM/SIGINT before the "serving … at" line: a Ctrl-C (or a supervisor's stop) sent
  // the moment it appears stops the server as documented instead of killing the process (exit 130).
  const stop = opts.until ?? signalled();
  const server = await startServer({
    workspace: ctx.ws, host: opts.host, port: opts.port, pollMs: opts.pollMs, version: opts.version, monitor: ctx.config.monitor, apiToken,
    log: getLog('serve'), accessLog: ctx.quiet ? null : createAccessLog(), control: controlOf(ctx, opts),
  });
  const warning = exposureWarning(opts.host, apiToken !== undefined);
  if (warning) process.stderr.write(warning);
  const url = serverUrl(opts.host, server.port);
  const model = server.holder.current?.id ?? null;
  const data: ServeData = { url, dashboard: `${url}/`, docs: `${url}/docs`, model, rejected: model === null ? server.holder.rejected ?? null : null, workers: 1, pids: [process.pid] };
  printListening(ctx, data);
  const why = await stop;
  ctx.log.info({ signal: why }, 'shutting down: draining requests');
  await server.close();
  printStopped(ctx, why);
  return { data, human: '', printed: true };
}

/** The primary of N workers: forks them, prints once all listen, stops them on a signal; a worker's start error is thrown. */
async function serveCluster(ctx: CommandContext, opts: ServeOptions): Promise<CommandResult> {
  const apiToken = ctx.config.serve.api_token;
  const start: WorkerStart = {
    workspace: ctx.ws.root, threads: ctx.ws.threads, memoryLimit: ctx.ws.memoryLimit, host: opts.host, port: opts.port, pollMs: opts.pollMs,
    version: opts.version, monitor: ctx.config.monitor, apiToken, quiet: ctx.quiet, logLevel: ctx.log.level as WorkerStart['logLevel'],
    control: (({ env: _env, ...rest }) => rest)(controlOf(ctx, opts)),
  };
  const log = getLog('serve');
  const cluster = new ServeCluster({ workers: opts.workers, exec: fileURLToPath(new URL('./serve-worker.js', import.meta.url)), start, log });
  // Listened for before forking: a signal while the workers start stops them too.
  const stop = opts.until ?? signalled();
  let stoppedBy: unknown = null;
  const ready = await Promise.race([cluster.start(), stop.then((why) => { stoppedBy = why; return null; })]);
  if (ready === null) {
    // Said so (--json: {"ok":true,"data":null}); it ended without a word, --json without its one document.
    await cluster.stop();
    const signal = typeof stoppedBy === 'string' ? stoppedBy : 'stopped';
    return { data: null, human: `serve stopped (${signal}) before its workers listened`, printed: false };
  }
  const warning = exposureWarning(opts.host, apiToken !== undefined);
  if (warning) process.stderr.write(warning);
  const url = serverUrl(opts.host, ready.port);
  const data: ServeData = { url, dashboard: `${url}/`, docs: `${url}/docs`, model: ready.model, rejected: ready.model === null ? ready.rejected ?? null : null, workers: opts.workers, pids: ready.pids };
  printListening(ctx, data);
  const why = await Promise.race([stop, cluster.failed]);
  if (typeof why !== 'string') throw why;
  log.info({ signal: why }, 'shutting down: the workers drain their requests');
  await cluster.stop();
  printStopped(ctx, why);
  return { data, human: '', printed: true };
}
