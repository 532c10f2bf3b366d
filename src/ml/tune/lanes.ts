/** @module ml/tune/lanes
 * Where a study's evaluations run: `parallel` lanes (default 1), each a worker thread
 * (ml/tune/trial-worker) with threads / parallel threads, sharing the pre-test rows through shared
 * memory. This thread only waits for them, so Ctrl-C / SIGTERM are handled at once; an abort
 * terminates the lane's worker mid-evaluation. */
import { Worker } from 'node:worker_threads';
import { StockpipeError, type ErrorCode } from '../../core/errors.js';
import { workerScript } from '../../core/worker-script.js';
import type { CvData, Evaluation, Evaluator } from './evaluate.js';

/** A lane worker's workerData: the pre-test columns in shared memory and the number of folds. */
export interface LaneData {
  day: SharedArrayBuffer;
  vma: SharedArrayBuffer;
  acm: SharedArrayBuffer;
  volume: SharedArrayBuffer;
  cut: number;
  folds: number;
}

export interface Lanes {
  evaluators: Evaluator[];
  threadsPerLane: number;
  close(): Promise<void>;
}

function shared(a: Int32Array | Float64Array): SharedArrayBuffer {
  const b = new SharedArrayBuffer(a.byteLength);
  new Uint8Array(b).set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return b;
}

/**
 * One lane: a worker thread evaluating one request at a time. An abort terminates the worker at
 * once (a CPU-bound evaluation would not see an abort message before it ends) and rejects the
 * request; the next request starts a new worker.
 */
function workerLane(data: LaneData): { evaluate: Evaluator; close: () => Promise<void> } {
  let worker: Worker | null = null;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (e: Evaluation) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  const start = (): Worker => {
    const w = new Worker(workerScript(import.meta.url, 'ml/tune/trial-worker.js'), { workerData: data });
    w.on('message', (m: { id: number; ok: boolean; result?: Evaluation; error?: { code: ErrorCode | null; message: string } }) => {
      const p = waiting.get(m.id);
      waiting.delete(m.id);
      if (m.ok) p?.resolve(m.result!);
      else p?.reject(m.error?.code ? new StockpipeError(m.error.code, m.error.message) : new Error(m.error?.message ?? 'trial worker failed'));
    });
    w.on('error', (err) => failAll(new Error(`trial worker crashed: ${err.message}`, { cause: err })));
    w.on('exit', (code) => {
      if (worker === w) worker = null;
      failAll(new Error(`trial worker exited with code ${code}`));
    });
    return w;
  };
  const stop = async (): Promise<void> => {
    const w = worker;
    worker = null;
    if (w !== null) await w.terminate();
  };
  const evaluate: Evaluator = ({ signal, ...req }) =>
    new Promise<Evaluation>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new Error('aborted'));
        return;
      }
      worker ??= start();
      const id = nextId++;
      const onAbort = (): void => {
        waiting.delete(id);
        reject(new Error('aborted'));
        void stop();
      };
      // The listener goes with the request: a study makes many requests on one signal.
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal?.removeEventListener('abort', onAbort);
      waiting.set(id, { resolve: (e) => { done(); resolve(e); }, reject: (e) => { done(); reject(e); } });
      worker.postMessage({ id, req });
    });
  return { evaluate, close: stop };
}

/** `parallel` lanes over `data` (pre-test rows) splitting `threads` between them. */
export function laneEvaluators(data: CvData, folds: number, parallel: number, threads: number): Lanes {
  const lanesData: LaneData = { day: shared(data.day), vma: shared(data.vma), acm: shared(data.acm), volume: shared(data.volume), cut: data.cut, folds };
  const lanes = Array.from({ length: Math.max(1, parallel) }, () => workerLane(lanesData));
  return {
    evaluators: lanes.map((l) => l.evaluate),
    threadsPerLane: Math.max(1, Math.floor(threads / Math.max(1, parallel))),
    close: async () => {
      await Promise.all(lanes.map((l) => l.close()));
    },
  };
}
