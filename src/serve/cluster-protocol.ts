/** @module serve/cluster-protocol
 * The messages between the `serve --workers N` primary (serve/cluster) and its workers
 * (serve/cluster-worker) over node:cluster's IPC channel. Each carries `sp`, its kind, so that
 * prom-client's own cluster messages (`type`) pass by. */

/** A worker's message to the primary. */
export type ToPrimary =
  /** Loaded, waiting for its options. */
  | { sp: 'hello' }
  /** `rejected`: the champion it could not load (serve/champion), when it serves none. */
  | { sp: 'listening'; port: number; model: string | null; rejected?: string }
  /** Could not start; it exits next. */
  | { sp: 'failed'; error: { code: string; message: string; hint: string } }
  /** Asks for the metrics of every worker, summed (its GET /metrics). */
  | { sp: 'metrics?'; id: number };

/** The primary's message to a worker; `S` is the start options (cli/serve's). */
export type ToWorker<S = unknown> =
  | { sp: 'start'; options: S }
  /** Stop accepting, finish the requests in flight, exit 0. */
  | { sp: 'shutdown' }
  | { sp: 'metrics'; id: number; text?: string; error?: string };

/** Whether an IPC message is one of ours (and so has a kind). */
export function isOurs(m: unknown): m is { sp: string } {
  return typeof m === 'object' && m !== null && typeof (m as { sp?: unknown }).sp === 'string';
}
