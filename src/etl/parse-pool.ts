/** @module etl/parse-pool
 * Parses the files of a source on worker threads, ahead of a synchronous consumer that takes
 * them strictly in order (the Parquet writer's table function cannot await). */
import { join } from 'node:path';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { StockpipeError } from '../core/errors.js';
import { InboxConsumer, createControl } from '../core/sync-inbox.js';
import { workerScript } from '../core/worker-script.js';
import { parseBarsCsv } from './csv-parse.js';
import { readBarsFileSync, readFetchedBarsFileSync } from './bars-file.js';
import { failureKind, type FeatureRequest, type ParseResult, type WorkerInit } from './parse-protocol.js';
import { withFeatures } from './parsed-bars.js';

export interface ParsePoolOptions {
  root: string;
  layout: 'dir' | 'zip';
  /** Paths relative to root (or zip entry names), in the order they will be taken. */
  files: string[];
  /** A folder's files' sizes as fetched (the manifest's), in `files` order: each is read as it was fetched (etl/bars-file). */
  sizes?: number[];
  /** Worker threads; 0 parses in the consumer's thread (folders only). */
  threads: number;
  /** How many files the workers may run ahead of the consumer. */
  lookahead?: number;
  /** Compute each file's features too (features/prepare). */
  features?: FeatureRequest;
}

export class ParsePool {
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly inbox: InboxConsumer<ParseResult> | undefined;

  constructor(private readonly opts: ParsePoolOptions) {
    if (opts.threads === 0 && opts.layout === 'zip') {
      throw new StockpipeError('SP_ERR_CONFIG_INVALID', 'threads: 0 (parse in the main thread) does not support zip sources', { hint: 'Use --threads 1 or more (or remove threads from the config) to ingest a zip source.' });
    }
    if (opts.threads === 0) return;
    const control = createControl();
    const url = workerScript(import.meta.url, 'etl/parse-worker.js');
    for (let w = 0; w < opts.threads; w++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = { root: opts.root, layout: opts.layout, files: opts.files, ...(opts.sizes === undefined ? {} : { sizes: opts.sizes }), lookahead: opts.lookahead ?? 64, ...(opts.features === undefined ? {} : { features: opts.features }), control, port: port2 };
      const worker = new Worker(url, { workerData: init, transferList: [port2] });
      worker.on('error', (err) => this.inbox?.fail(err.message));
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
    this.inbox = new InboxConsumer<ParseResult>(control, this.ports, (i) => `file ${opts.files[i]}`);
  }

  /** Returns file `index`'s result, blocking until a worker has it. Call with 0, 1, 2, … */
  takeSync(index: number): ParseResult {
    if (this.inbox) return this.inbox.take(index, (m) => (m.ok ? undefined : m.message));
    return this.parseHere(index);
  }

  private parseHere(index: number): ParseResult {
    const path = this.opts.files[index]!;
    try {
      const file = join(this.opts.root, path);
      const bytes = this.opts.sizes === undefined ? readBarsFileSync(file) : readFetchedBarsFileSync(file, this.opts.sizes[index]!);
      return { index, ok: true, parsed: withFeatures(parseBarsCsv(bytes), this.opts.features), bytes: bytes.length };
    } catch (err) {
      return { index, ok: false, kind: failureKind(err), message: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    for (const p of this.ports) p.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
