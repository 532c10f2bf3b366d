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
import { EXTENDED_COLUMNS, laggedFeatures, NextTradingDay } from './lagged.js';
import { RollingWindow } from './rolling.js';

const init = workerData as FeatureWorkerInit;

function newBatch(sym: number, rows: number): BarsBatch {
  const name = init.nameIdx[sym]!;
  return {
    sym,
    name: name < 0 ? undefined : name,
    rows,
    day: new Int32Array(rows),
    open: new Float64Array(rows),
    high: new Float64Array(rows),
    low: new Float64Array(rows),
    close: new Float64Array(rows),
    adjClose: new Float64Array(rows),
    volume: new Float64Array(rows),
    asset: new Uint8Array(rows),
    extra: Array.from({ length: 2 + (init.extended ? EXTENDED_COLUMNS.length : 0) }, () => new Float64Array(rows)),
  };
}

function transfer(b: BarsBatch): ArrayBuffer[] {
  return [b.day, b.open, b.high, b.low, b.close, b.adjClose, b.volume, b.asset, ...(b.extra ?? [])].map((a) => a.buffer as ArrayBuffer);
}

async function main(inbox: InboxProducer): Promise<void> {
  const db = await openDuckDB({ tempDir: init.tempDir, memoryLimit: init.memoryLimit, threads: 1 });
  try {
    const vol = new RollingWindow(init.window, false);
    const adj = new RollingWindow(init.window);
    const cal = new NextTradingDay();
    let sym = -1;
    let batch: BarsBatch | null = null;
    let at = 0;
    let withFeatures = 0;
    const finish = (): void => {
      if (!batch) return;
      if (init.extended) laggedFeatures(batch, batch.extra!.slice(2), cal);
      inbox.waitForRoom(sym);
      inbox.post<FeatureMessage>({ index: sym, ok: true, batch, withFeatures }, transfer(batch));
      batch = null;
    };
    const startNext = (): void => {
      finish();
      do sym++;
      while (sym < init.lengths.length && init.lengths[sym] === 0);
      if (sym < init.lengths.length) {
        batch = newBatch(sym, init.lengths[sym]!);
        at = 0;
        withFeatures = 0;
        vol.reset();
        adj.reset();
      }
    };
    startNext();
    for (const sql of init.queries) await readNumericColumns(db.connection, sql, (cols, n) => {
      const [d, o, h, l, c, ac, v, a] = cols as [Int32Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Uint8Array];
      let i = 0;
      while (i < n) {
        const b = batch;
        if (!b) throw new Error(`prices has more rows than its symbols' counts (${init.lengths.length} symbols)`);
        const take = Math.min(n - i, b.rows - at);
        b.day.set(d.subarray(i, i + take), at);
        b.open.set(o.subarray(i, i + take), at);
        b.high.set(h.subarray(i, i + take), at);
        b.low.set(l.subarray(i, i + take), at);
        b.close.set(c.subarray(i, i + take), at);
        b.adjClose.set(ac.subarray(i, i + take), at);
        b.volume.set(v.subarray(i, i + take), at);
        b.asset.set(a.subarray(i, i + take), at);
        const mean = b.extra![0]!;
        const median = b.extra![1]!;
        for (let k = 0; k < take; k++) {
          vol.push(v[i + k]!);
          adj.push(ac[i + k]!);
          if (vol.full) {
            mean[at + k] = vol.mean();
            median[at + k] = adj.median();
            withFeatures++;
          } else {
            mean[at + k] = NaN;
            median[at + k] = NaN;
          }
        }
        at += take;
        i += take;
        if (at === b.rows) startNext();
      }
    });
    if (batch !== null) throw new Error(`prices ended inside symbol #${sym}: fewer rows than counted`);
  } finally {
    db.close();
  }
}

const port: MessagePort = init.port;
runProducer<FeatureMessage>(new InboxProducer(init.control, port, init.lookahead), port, main, (message) => ({ index: -1, ok: false, message }), () => parentPort?.close());
