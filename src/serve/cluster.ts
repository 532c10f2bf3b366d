/** @module serve/cluster
 * The primary of `serve --workers N`: forks N node:cluster workers that all listen on one
 * host:port (each a whole server: its own registry handle, champion poll and hot swap), answers
 * their start handshake, restarts one that exits unexpectedly (backoff, and a limit past which it
 * gives up), stops them all gracefully, and sums their Prometheus metrics for any worker's GET
 * /metrics. It holds no registry and no model. Which script a worker runs, and with what options,
 * is cli/serve's; signals are too. */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type PrometheusContentType } from 'prom-client';
import { StockpipeError, type ErrorCode, ERROR_CODES } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { isOurs, type ToPrimary, type ToWorker } from './cluster-protocol.js';

/** When to restart a worker that exited on its own. */
export interface RestartPolicy {
  /** The first restart's delay; each further exit within the window doubles it. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** More exits than this within windowMs: give up. */
  maxRestarts: number;
  windowMs: number;
}

export const RESTART_POLICY: RestartPolicy = { baseDelayMs: 200, maxDelayMs: 10_000, maxRestarts: 10, windowMs: 60_000 };

/** The delay before restarting, given the times of the unexpected exits (the latest included), or null past the limit. */
export function restartDelay(exits: readonly number[], now: number, p: RestartPolicy = RESTART_POLICY): number | null {
  const recent = exits.filter((t) => now - t < p.windowMs).length;
  if (recent > p.maxRestarts) return null;
  return Math.min(p.maxDelayMs, p.baseDelayMs * 2 ** Math.max(0, recent - 1));
}

export interface ClusterOptions<S> {
  workers: number;
  /** The workers' script (it runs serve/cluster-worker's side of the handshake). */
  exec: string;
  /** Sent to each worker, a replacement too, when it says hello. */
  start: S;
  log: Logger;
  restart?: RestartPolicy;
  /** A worker still running this long after being asked to stop is killed (SIGKILL). */
  stopTimeoutMs?: number;
}

export interface ClusterReady {
  /** The bound port (the real one when asked for port 0). */
  port: number;
  /** The model the first worker served when it started listening (null: none yet). */
  model: string | null;
  /** The champion the first worker could not load, when it served none (the start line names it). */
  rejected?: string;
  pids: number[];
}

interface Startup {
  listening: Map<number, { pid: number; port: number; model: string | null; rejected?: string }>;
  resolve: (r: ClusterReady) => void;
  reject: (e: StockpipeError) => void;
}

const errorCode = (code: string): ErrorCode => (code in ERROR_CODES ? (code as ErrorCode) : 'SP_ERR_INTERNAL');

export class ServeCluster<S> {
  private readonly live = new Map<number, Worker>();
  /** A worker's start error, reported before it exits. */
  private readonly failures = new Map<number, StockpipeError>();
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private readonly exits: number[] = [];
  private startup: Startup | null = null;
  private stopping = false;
  private stopped: Promise<void> | null = null;
  private allExited: (() => void) | null = null;
  private aggregator: AggregatorRegistry<PrometheusContentType> | null = null;
  private gaveUp: (e: StockpipeError) => void = () => {};
  /** Resolves with the error when restarts passed the limit (the cluster is stopped by then). */
  readonly failed: Promise<StockpipeError> = new Promise((r) => {
    this.gaveUp = r;
  });

  constructor(private readonly o: ClusterOptions<S>) {}

  /** Forks the workers; resolves once all listen. A worker's start error (e.g. SP_ERR_PORT_IN_USE) stops the others and is thrown. */
  async start(): Promise<ClusterReady> {
    cluster.setupPrimary({ exec: this.o.exec, args: [] });
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
    // Answers the workers' prom-client replies (clusterMetrics).
    this.aggregator = new AggregatorRegistry();
    const ready = new Promise<ClusterReady>((resolve, reject) => {
      this.startup = { listening: new Map(), resolve, reject };
    });
    for (let i = 0; i < this.o.workers; i++) this.fork();
    try {
      return await ready;
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  /** Worker pids now. */
  pids(): number[] {
    return [...this.live.values()].flatMap((w) => (w.process.pid === undefined ? [] : [w.process.pid]));
  }

  /** Stops restarting, asks every worker to finish its requests and exit, and waits (SIGKILL after stopTimeoutMs). */
  stop(): Promise<void> {
    this.stopped ??= this.stopAll();
    return this.stopped;
  }

  private async stopAll(): Promise<void> {
    this.stopping = true;
    for (const t of this.restartTimers) clearTimeout(t);
    this.restartTimers.clear();
    if (this.live.size > 0) {
      const exited = new Promise<void>((r) => {
        this.allExited = r;
      });
      for (const w of this.live.values()) this.send(w, { sp: 'shutdown' }, () => w.process.kill('SIGTERM'));
      const kill = setTimeout(() => {
        this.o.log.warn({ pids: this.pids() }, 'workers still running after the stop timeout: killing them');
        for (const w of this.live.values()) w.process.kill('SIGKILL');
      }, this.o.stopTimeoutMs ?? 10_000);
      await exited;
      clearTimeout(kill);
    }
    cluster.off('message', this.onMessage);
    cluster.off('exit', this.onExit);
  }

  private fork(): void {
    const w = cluster.fork();
    this.live.set(w.id, w);
    // An IPC error (a message to a worker that just died) must not end the primary.
    w.on('error', (err: Error) => this.o.log.warn({ worker: w.id, err: err.message }, 'worker channel error'));
  }

  /** Sends over the worker's channel; `onClosed` runs when the channel is gone. */
  private send(w: Worker, m: ToWorker<S>, onClosed?: () => void): void {
    if (!w.isConnected()) {
      onClosed?.();
      return;
    }
    w.send(m, (err: Error | null) => {
      if (err) onClosed?.();
    });
  }

  private readonly onMessage = (w: Worker, m: unknown): void => {
    if (!isOurs(m)) return;
    const msg = m as ToPrimary;
    switch (msg.sp) {
      case 'hello':
        this.send(w, { sp: 'start', options: this.o.start });
        return;
      case 'listening':
        this.onListening(w, msg.port, msg.model, msg.rejected);
        return;
      case 'failed':
        this.failures.set(w.id, new StockpipeError(errorCode(msg.error.code), msg.error.message, { hint: msg.error.hint }));
        return;
      case 'metrics?':
        this.aggregator!.clusterMetrics().then(
          (text) => this.send(w, { sp: 'metrics', id: msg.id, text }),
          (err: unknown) => this.send(w, { sp: 'metrics', id: msg.id, error: err instanceof Error ? err.message : String(err) }),
        );
        return;
    }
  };

  private onListening(w: Worker, port: number, model: string | null, rejected?: string): void {
    const s = this.startup;
    if (s === null) {
      this.o.log.info({ worker: w.id, pid: w.process.pid, model }, 'replacement worker listening');
      return;
    }
    s.listening.set(w.id, { pid: w.process.pid ?? 0, port, model, rejected });
    if (s.listening.size < this.o.workers) return;
    this.startup = null;
    const first = [...s.listening.values()][0]!;
    s.resolve({ port: first.port, model: first.model, ...(first.rejected === undefined ? {} : { rejected: first.rejected }), pids: [...s.listening.values()].map((l) => l.pid) });
  }

  private readonly onExit = (w: Worker, code: number | null, signal: string | null): void => {
    this.live.delete(w.id);
    if (this.stopping) {
      if (this.live.size === 0) this.allExited?.();
      return;
    }
    // Its last message ('failed') may still be in the channel: wait for the channel to close.
    if (w.isConnected()) w.once('disconnect', () => this.exited(w, code, signal));
    else this.exited(w, code, signal);
  };

  private exited(w: Worker, code: number | null, signal: string | null): void {
    if (this.stopping) return;
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const failure = this.failures.get(w.id);
    this.failures.delete(w.id);
    if (this.startup !== null) {
      this.startup.reject(failure ?? new StockpipeError('SP_ERR_SERVE_WORKERS_FAILED', `serve worker ${w.id} (pid ${w.process.pid}) ${how} while starting`));
      this.startup = null;
      return;
    }
    const now = Date.now();
    this.exits.push(now);
    const delay = restartDelay(this.exits, now, this.o.restart);
    const policy = this.o.restart ?? RESTART_POLICY;
    if (delay === null) {
      const err = new StockpipeError('SP_ERR_SERVE_WORKERS_FAILED', `serve workers exited ${policy.maxRestarts + 1} times within ${policy.windowMs / 1000} s (the last, worker ${w.id}, ${how}${failure ? `: ${failure.code}: ${failure.message}` : ''}); stopped the others`);
      this.o.log.error({ worker: w.id, pid: w.process.pid, code, signal }, 'serve workers keep exiting: giving up');
      void this.stop().then(() => this.gaveUp(err));
      return;
    }
    this.o.log.warn({ worker: w.id, pid: w.process.pid, code, signal, error: failure?.message, restart_in_ms: delay }, 'serve worker exited unexpectedly: starting a replacement');
    const t = setTimeout(() => {
      this.restartTimers.delete(t);
      if (!this.stopping) this.fork();
    }, delay);
    this.restartTimers.add(t);
  }
}
