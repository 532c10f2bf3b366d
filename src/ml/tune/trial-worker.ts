/** @module ml/tune/trial-worker
 * A trial lane's worker thread (`tune --parallel N`): gets the study's pre-test rows once (shared
 * memory, workerData), then evaluates one request at a time ({id, params, budget, seed, threads})
 * and answers {id, ok, result | error}; {abort: id} aborts the running one. */
import { parentPort, workerData } from 'node:worker_threads';
import { StockpipeError } from '../../core/errors.js';
import type { EvalRequest } from './evaluate.js';
import { studyEvaluator } from './evaluator.js';
import type { LaneData } from './lanes.js';

const w = workerData as LaneData;
const evaluate = studyEvaluator({ day: new Int32Array(w.day), vma: new Float64Array(w.vma), acm: new Float64Array(w.acm), volume: new Float64Array(w.volume), cut: w.cut }, w.folds);
const port = parentPort!;
const running = new Map<number, AbortController>();

port.on('message', (msg: { id: number; req: Omit<EvalRequest, 'signal'> } | { abort: number }) => {
  if ('abort' in msg) {
    running.get(msg.abort)?.abort(new Error('aborted'));
    return;
  }
  const ac = new AbortController();
  running.set(msg.id, ac);
  evaluate({ ...msg.req, signal: ac.signal }).then(
    (result) => port.postMessage({ id: msg.id, ok: true, result }),
    (err: unknown) => port.postMessage({ id: msg.id, ok: false, error: { code: err instanceof StockpipeError ? err.code : null, message: err instanceof Error ? err.message : String(err) } }),
  ).finally(() => running.delete(msg.id));
});
