/** @module cli/serve
 * `stockpipe serve`: the prediction API on host:port until SIGTERM/SIGINT, then a graceful
 * shutdown (stop accepting, finish requests in flight, exit 0). The API token comes from the
 * config (serve.api_token / STOCKPIPE_API_TOKEN); listening beyond loopback without one prints a
 * warning on stderr (docs/security.md). */
import { createAccessLog, getLog } from '../core/log.js';
import { exposureWarning } from '../serve/auth.js';
import { serverUrl, startServer } from '../serve/server.js';
import type { CommandContext, CommandResult } from './context.js';

export interface ServeOptions {
  port: number;
  host: string;
  pollMs: number;
  version: string;
  /** Resolves when the server should stop (tests); default: SIGTERM or SIGINT. */
  until?: Promise<unknown>;
}

export async function serveCommand(ctx: CommandContext, opts: ServeOptions): Promise<CommandResult> {
  const apiToken = ctx.config.serve.api_token;
  const server = await startServer({
    workspace: ctx.ws, host: opts.host, port: opts.port, pollMs: opts.pollMs, version: opts.version, monitor: ctx.config.monitor, apiToken,
    log: getLog('serve'), accessLog: ctx.quiet ? null : createAccessLog(),
  });
  const warning = exposureWarning(opts.host, apiToken !== undefined);
  if (warning) process.stderr.write(warning);
  const url = serverUrl(opts.host, server.port);
  const data = { url, dashboard: `${url}/`, docs: `${url}/docs`, model: server.holder.current?.id ?? null };
  if (ctx.json) process.stdout.write(`${JSON.stringify({ ok: true, data })}\n`);
  else process.stdout.write(`serving ${data.model ?? 'no model yet (503 until a champion is registered)'} at ${url}\n  dashboard: ${url}/   API docs: ${url}/docs   try: curl "${url}/predict?vol_moving_avg=12345&adj_close_rolling_med=25"\n`);
  const stop =
    opts.until ??
    new Promise<string>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
  const why = await stop;
  ctx.log.info({ signal: why }, 'shutting down: draining requests');
  await server.close();
  return { data, human: '', printed: true };
}
