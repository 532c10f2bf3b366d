/** @module etl/parse-pool
 * Parses the files of a source on worker threads, ahead of a synchronous consumer that takes
 * them strictly in order (the Parquet writer's table function cannot await). The consumer
 * blocks with Atomics.wait and drains results with receiveMessageOnPort. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { HeaderError, parseBarsCsv } from './csv-parse.js';
import { CTRL_CONSUMED, CTRL_SIGNAL, CTRL_SLOTS, type ParseResult, type WorkerInit } from './parse-protocol.js';

export interface ParsePoolOptions {
  root: string;
  layout: 'dir' | 'zip';
  /** Paths relative to root (or zip entry names), in the order they will be taken. */
  files: string[];
  /** Worker threads; 0 parses in the consumer's thread (folders only). */
  threads: number;
  /** How many files the workers may run ahead of the consumer. */
  lookahead?: number;
}

/** The compiled worker script (tests run from src/, where the worker is taken from dist/). */
function workerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) {
    const built = join(here, '..', '..', '..', 'dist', 'etl', 'parse-worker.js');
    if (!existsSync(built)) throw new Error(`parse worker not built (${built}): run npm run build`);
    return new URL(`file://${built}`);
  }
  return new URL('./parse-worker.js', import.meta.url);
}

export class ParsePool {
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly ports: MessagePort[] = [];
  private readonly ready = new Map<number, ParseResult>();
  private workerError: string | undefined;

  constructor(private readonly opts: ParsePoolOptions) {
    this.ctrl = new Int32Array(new SharedArrayBuffer(CTRL_SLOTS * 4));
    if (opts.threads === 0 && opts.layout === 'zip') throw new Error('zip sources need at least one parse thread');
    const url = opts.threads > 0 ? workerUrl() : undefined;
    for (let w = 0; w < opts.threads; w++) {
      const { port1, port2 } = new MessageChannel();
      const init: WorkerInit = { root: opts.root, layout: opts.layout, files: opts.files, lookahead: opts.lookahead ?? 64, ctrl: this.ctrl.buffer as SharedArrayBuffer, port: port2 };
      const worker = new Worker(url!, { workerData: init, transferList: [port2] });
      worker.on('error', (err) => {
        this.workerError = err.message;
        Atomics.add(this.ctrl, CTRL_SIGNAL, 1);
      });
      worker.unref();
      this.workers.push(worker);
      this.ports.push(port1);
    }
  }

  /** Returns file `index`'s result, blocking until a worker has it. Call with 0, 1, 2, … */
  takeSync(index: number): ParseResult {
    const result = this.opts.threads === 0 ? this.parseHere(index) : this.waitFor(index);
    Atomics.store(this.ctrl, CTRL_CONSUMED, index + 1);
    Atomics.notify(this.ctrl, CTRL_CONSUMED);
    return result;
  }

  private parseHere(index: number): ParseResult {
    const path = this.opts.files[index]!;
    try {
      const bytes = readFileSync(join(this.opts.root, path));
      return { index, ok: true, parsed: parseBarsCsv(bytes), bytes: bytes.length };
    } catch (err) {
      const kind = err instanceof HeaderError ? 'header' : (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'read';
      return { index, ok: false, kind, message: err instanceof Error ? err.message : String(err) };
    }
  }

  private drain(): void {
    for (const port of this.ports) {
      for (;;) {
        const msg = receiveMessageOnPort(port);
        if (!msg) break;
        const r = msg.message as ParseResult;
        if (r.index < 0 && !r.ok) this.workerError = r.message;
        else this.ready.set(r.index, r);
      }
    }
  }

  private waitFor(index: number): ParseResult {
    const started = Date.now();
    for (;;) {
      const seen = Atomics.load(this.ctrl, CTRL_SIGNAL);
      this.drain();
      const r = this.ready.get(index);
      if (r) {
        this.ready.delete(index);
        return r;
      }
      if (this.workerError !== undefined) throw new Error(`parse worker failed: ${this.workerError}`);
      if (Date.now() - started > 600_000) throw new Error(`parse workers produced nothing for file ${this.opts.files[index]} in 10 minutes`);
      Atomics.wait(this.ctrl, CTRL_SIGNAL, seen, 500);
    }
  }

  async close(): Promise<void> {
    for (const p of this.ports) p.close();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
