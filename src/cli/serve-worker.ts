#!/usr/bin/env node
/** @module cli/serve-worker
 * The entry of a `serve --workers N` worker process (node:cluster forks it from cli/serve's
 * primary): gets its options from the primary, serves like a single `serve` (serve/server, its own
 * champion poll and hot swap), says it listens or why it could not start, and on the primary's
 * word, SIGTERM or SIGINT finishes its requests and exits 0. */
import { toStockpipeError } from '../core/errors.js';
import { configureLog, createAccessLog, getLog } from '../core/log.js';
import { Workspace } from '../core/workspace.js';
import { askStart, clusterMetrics, reportFailed, reportListening, whenToStop, workerId } from '../serve/cluster-worker.js';
import { createApiMetrics } from '../serve/metrics.js';
import { startServer } from '../serve/server.js';
import type { WorkerStart } from './serve.js';

const stop = whenToStop();
const start = await Promise.race([askStart<WorkerStart>(), stop.then(() => null)]);
if (start === null) process.exit(0);
configureLog({ level: start.logLevel });
const worker = workerId();
const log = getLog('serve').child({ worker, pid: process.pid });
const accessLog = start.quiet ? null : createAccessLog().child({ worker });
const metrics = createApiMetrics();
try {
  const server = await startServer({
    workspace: new Workspace(start.workspace, { threads: start.threads, memoryLimit: start.memoryLimit }),
    host: start.host, port: start.port, pollMs: start.pollMs, version: start.version, monitor: start.monitor, apiToken: start.apiToken,
    log, accessLog, replica: { pid: process.pid, worker }, metrics, metricsText: clusterMetrics(metrics.registry, log), control: { ...start.control, env: { ...process.env } },
  });
  await reportListening(server.port, server.holder.current?.id ?? null, server.holder.rejected);
  const why = await stop;
  log.info({ signal: why }, 'shutting down: draining requests');
  await server.close();
  accessLog?.flush();
  process.exit(0);
} catch (err) {
  const e = toStockpipeError(err);
  log.debug({ err }, 'could not start');
  await reportFailed(e);
  process.exit(e.exitCode);
}
