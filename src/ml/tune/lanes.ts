/** @module ml/tune/lanes
 * Where a study's evaluations run: one lane with every thread in this process (the default: the
 * booster's own worker threads keep this thread free for signals), or `parallel` lanes, each a
 * worker thread (ml/tune/trial-worker) with threads / parallel threads, sharing the pre-test rows
 * through shared memory. An abort reaches the worker's running evaluation. */
import { Worker } from 'node:worker_threads';
import { StockpipeError, type ErrorCode } from '../../core/errors.js';
import { workerScript } from '../../core/worker-script.js';
import type { CvData, Evaluation, Evaluator } from './evaluate.js';
import { studyEvaluator } from './evaluator.js';

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

function workerLane(data: LaneData): { evaluate: Evaluator; close: () => Promise<number> } {
  const worker = new Worker(workerScript(import.meta.url, 'ml/tune/trial-worker.js'), { workerData: data });
  let nextId = 0;
  const waiting = new Map<number, { resolve: (e: Evaluation) => void; reject: (e: Error) => void }>();
  const failAll = (err: Error): void => {
    for (const w of waiting.values()) w.reject(err);
    waiting.clear();
  };
  worker.on('message', (m: { id: number; ok: boolean; result?: Evaluation; error?: { code: ErrorCode | null; message: string } }) => {
    const w = waiting.get(m.id);
    waiting.delete(m.id);
    if (m.ok) w?.resolve(m.result!);
    else w?.reject(m.error?.code ? new StockpipeError(m.error.code, m.error.message) : new Error(m.error?.message ?? 'trial worker failed'));
  });
  worker.on('error', (err) => failAll(new Error(`trial worker crashed: ${err.message}`, { cause: err })));
  worker.on('exit', (code) => failAll(new Error(`trial worker exited with code ${code}`)));
  const evaluate: Evaluator = ({ signal, ...req }) =>
    new Promise<Evaluation>((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      signal?.addEventListener('abort', () => worker.postMessage({ abort: id }), { once: true });
      worker.postMessage({ id, req });
    });
  return { evaluate, close: () => worker.terminate() };
}

/** `parallel` lanes over `data` (pre-test rows) splitting `threads` between them. */
export function laneEvaluators(data: CvData, folds: number, parallel: number, threads: number): Lanes {
  if (parallel <= 1) return { evaluators: [studyEvaluator(data, folds)], threadsPerLane: Math.max(1, threads), close: async () => {} };
  const lanesData: LaneData = { day: shared(data.day), vma: shared(data.vma), acm: shared(data.acm), volume: shared(data.volume), cut: data.cut, folds };
  const lanes = Array.from({ length: parallel }, () => workerLane(lanesData));
  return {
    evaluators: lanes.map((l) => l.evaluate),
    threadsPerLane: Math.max(1, Math.floor(threads / parallel)),
    close: async () => {
      await Promise.all(lanes.map((l) => l.close()));
    },
  };
}
