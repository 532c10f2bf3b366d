/** @module serve/server
 * One serving process: the champion holder (loaded, then polling its alias), the app, listening on
 * host:port; close() drains it. `serve` runs one; each `serve --workers N` worker runs one too
 * (serve/cluster forks them). Reading options from argv, env or config is cli/'s. */
import type { FastifyInstance } from 'fastify';
import type { MonitorConfig } from '../core/config.js';
import type { Logger } from '../core/log.js';
import type { WorkspaceRef } from '../core/workspace.js';
import type { ControlOptions } from '../dashboard/routes-control.js';
import { buildApp, type Replica } from './app.js';
import { ChampionHolder } from './champion.js';
import { listen } from './listen.js';
import type { ApiMetrics } from './metrics.js';

export interface ServerOptions {
  workspace: WorkspaceRef;
  host: string;
  port: number;
  /** How often the holder checks the champion alias, in ms. */
  pollMs: number;
  version: string;
  monitor?: MonitorConfig;
  apiToken?: string;
  /** Holder and 5xx errors. */
  log: Logger;
  /** One line per request; null turns it off. */
  accessLog: Logger | null;
  /** Which process this is (GET /ready); default: this pid, no cluster worker. */
  replica?: Replica;
  /** The metrics to count into (default: new ones). */
  metrics?: ApiMetrics;
  /** GET /metrics's text when it is not this process's own (a cluster's aggregate). */
  metricsText?: () => Promise<string>;
  /** How the dashboard starts runs (a CLI child) and the config's schedules. */
  control?: ControlOptions;
}

export interface RunningServer {
  app: FastifyInstance;
  holder: ChampionHolder;
  /** The bound port (the real one when asked for port 0). */
  port: number;
  /** Stops polling, stops accepting, finishes the requests in flight. */
  close(): Promise<void>;
}

/** `http://host:port` (an IPv6 host in brackets). */
export function serverUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Loads the champion (if any), builds the app and listens; on a listen error closes what it opened and throws it. */
export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const holder = new ChampionHolder(o.workspace, o.log);
  await holder.refresh();
  holder.watch(o.pollMs);
  const { app } = await buildApp({
    workspace: o.workspace, holder, accessLog: o.accessLog, errorLog: o.log, version: o.version, monitor: o.monitor,
    apiToken: o.apiToken, host: o.host, replica: o.replica, metrics: o.metrics, metricsText: o.metricsText, control: o.control,
  });
  let port: number;
  try {
    port = await listen(app, o.host, o.port);
  } catch (err) {
    holder.stop();
    await app.close();
    throw err;
  }
  return {
    app, holder, port,
    close: async () => {
      holder.stop();
      await app.close();
    },
  };
}
