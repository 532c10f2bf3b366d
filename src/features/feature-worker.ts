/** @module features/feature-worker
 * Worker thread of `features`: runs the given scans of prices in (Symbol, Date) order with its own DuckDB (numeric
 * columns only: no strings reach JS), cuts the rows into per-symbol batches, computes the rolling
 * features with the kernels (and, with --extended, the lagged ones of features/lagged once a symbol's
 * rows are complete) and posts each batch, in order, to the writer on the main thread. */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { InboxProducer, runProducer } from '../core/sync-inbox.js';
import type { BarsBatch } from '../db/bars-writer.js';
import { openDuckDB } from '../db/duckdb.js';
import { readNumericColumns } from '../db/read-columns.js';
import type { FeatureMessage, FeatureWorkerInit } from './feature-protocol.js';
import { FeatureAssembler } from './assemble.js';

const init = workerData as FeatureWorkerInit;

function transfer(b: BarsBatch): ArrayBuffer[] {
  return [b.day, b.open, b.high, b.low, b.close, b.adjClose, b.volume, b.asset, ...(b.extra ?? [])].map((a) => a.buffer as ArrayBuffer);
}

async function main(inbox: InboxProducer): Promise<void> {
  const db = await openDuckDB({ tempDir: init.tempDir, memoryLimit: init.memoryLimit, threads: 1 });
  try {
    const asm = new FeatureAssembler(init, (sym, batch, withFeatures) => {
      inbox.waitForRoom(sym);
      inbox.post<FeatureMessage>({ index: sym, ok: true, batch, withFeatures }, transfer(batch));
    });
    for (const sql of init.queries) await readNumericColumns(db.connection, sql, (cols, n) => asm.push(cols, n));
    asm.end();
  } finally {
    db.close();
  }
}

const port: MessagePort = init.port;
runProducer<FeatureMessage>(new InboxProducer(init.control, port, init.lookahead), port, main, (message) => ({ index: -1, ok: false, message }), () => parentPort?.close());
