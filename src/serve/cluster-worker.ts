/** @module serve/cluster-worker
 * A `serve --workers N` worker's side of the talk with the primary (serve/cluster): the start
 * handshake, saying it listens or why it could not start, when to stop (the primary's word,
 * SIGTERM or SIGINT), and GET /metrics as the sum over every worker (prom-client's
 * AggregatorRegistry in the primary). Serving itself is serve/server's. */
import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import type { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isOurs, type ToPrimary, type ToWorker } from './cluster-protocol.js';

/** This process's node:cluster worker id (null when it is not a worker). */
export function workerId(): number | null {
  return cluster.worker?.id ?? null;
}

/** Sends to the primary; resolves once written (false: the channel is gone). */
function send(m: ToPrimary): Promise<boolean> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve(false);
    process.send(m, undefined, {}, (err: Error | null) => resolve(err === null));
  });
}

/** Says hello; resolves with the options the primary sends back. */
export function askStart<S>(): Promise<S> {
  return new Promise((resolve) => {
    const on = (m: unknown): void => {
      if (!isOurs(m) || m.sp !== 'start') return;
      process.off('message', on);
      resolve((m as Extract<ToWorker<S>, { sp: 'start' }>).options);
    };
    process.on('message', on);
    void send({ sp: 'hello' });
  });
}

/** Resolves with the reason to stop: the primary's `shutdown`, SIGTERM or SIGINT. Call it first thing. */
export function whenToStop(): Promise<string> {
  return new Promise((resolve) => {
    process.on('message', (m: unknown) => {
      if (isOurs(m) && m.sp === 'shutdown') resolve('shutdown');
    });
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

export function reportListening(port: number, model: string | null, rejected?: string): Promise<boolean> {
  return send(rejected === undefined ? { sp: 'listening', port, model } : { sp: 'listening', port, model, rejected });
}

/** Tells the primary why this worker could not start (it exits next). */
export function reportFailed(err: StockpipeError): Promise<boolean> {
  return send({ sp: 'failed', error: err.toJSON() });
}

/**
 * Lets the primary collect `own` (prom-client answers its requests from then on) and returns GET
 * /metrics's text: every worker's metrics summed, or this worker's own (logged) when the primary
 * does not answer within timeoutMs.
 */
export function clusterMetrics(own: Registry, log: Logger, timeoutMs = 6000): () => Promise<string> {
  AggregatorRegistry.setRegistries([own]);
  // Constructing one adds prom-client's listener that answers the primary's requests.
  new AggregatorRegistry();
  let next = 0;
  const pending = new Map<number, (r: { text?: string; error?: string }) => void>();
  process.on('message', (m: unknown) => {
    if (!isOurs(m) || m.sp !== 'metrics') return;
    const r = m as Extract<ToWorker, { sp: 'metrics' }>;
    pending.get(r.id)?.(r);
  });
  const ask = (): Promise<{ text?: string; error?: string }> =>
    new Promise((resolve) => {
      const id = next++;
      const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
      const done = (r: { text?: string; error?: string }): void => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(r);
      };
      pending.set(id, done);
      void send({ sp: 'metrics?', id }).then((sent) => {
        if (!sent) done({ error: 'the primary is gone' });
      });
    });
  return async () => {
    const r = await ask();
    if (r.text !== undefined) return r.text;
    log.warn({ err: r.error }, 'the summed metrics of the workers are unavailable: answering this worker\'s own');
    return own.metrics();
  };
}
