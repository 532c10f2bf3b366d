/** @module cli/serve
 * `stockpipe serve`: the prediction API on host:port until SIGTERM/SIGINT, then a graceful
 * shutdown (stop accepting, finish requests in flight, exit 0). The API token comes from the
 * config (serve.api_token / STOCKPIPE_API_TOKEN); listening beyond loopback without one prints a
 * warning on stderr (docs/security.md). */
import { createAccessLog, getLog } from '../core/log.js';
import { buildApp } from '../serve/app.js';
import { exposureWarning } from '../serve/auth.js';
import { listen } from '../serve/listen.js';
import { ChampionHolder } from '../serve/champion.js';
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
  const holder = new ChampionHolder(ctx.ws, getLog('serve'));
  await holder.refresh();
  holder.watch(opts.pollMs);
  const apiToken = ctx.config.serve.api_token;
  const { app } = await buildApp({
    workspace: ctx.ws, holder, accessLog: ctx.quiet ? null : createAccessLog(), errorLog: getLog('serve'), version: opts.version, monitor: ctx.config.monitor,
    apiToken, host: opts.host,
  });
  let port: number;
  try {
    port = await listen(app, opts.host, opts.port);
  } catch (err) {
    holder.stop();
    await app.close();
    throw err;
  }
  const warning = exposureWarning(opts.host, apiToken !== undefined);
  if (warning) process.stderr.write(warning);
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  const data = { url, dashboard: `${url}/`, docs: `${url}/docs`, model: holder.current?.id ?? null };
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
  holder.stop();
  await app.close();
  return { data, human: '', printed: true };
}
