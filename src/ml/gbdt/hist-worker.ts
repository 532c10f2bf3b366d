/** @module ml/gbdt/hist-worker
 * A histogram worker: receives the shared training buffers once (workerData), then runs jobs —
 * claiming chunks from the shared counter until none are left — and answers each with {ok}. */
import { parentPort, workerData } from 'node:worker_threads';
import { type Op, runChunk } from './kernels.js';
import { type StateBuffers, viewState } from './state.js';

const state = viewState(workerData as StateBuffers);
const port = parentPort!;

port.on('message', (msg: { op: Op; chunks: number }) => {
  try {
    for (;;) {
      const c = Atomics.add(state.ctrl, 0, 1);
      if (c >= msg.chunks) break;
      runChunk(state, msg.op, c);
    }
    port.postMessage({ ok: true });
  } catch (err) {
    port.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
