/** @module core/sync-inbox
 * Ordered hand-off from worker threads to a consumer that must not await (DuckDB calls our
 * table function synchronously): workers post numbered results on their own MessagePort and bump
 * a shared counter; the consumer drains ports with receiveMessageOnPort and sleeps on the counter
 * with Atomics.wait. Workers stay at most `lookahead` items ahead of the consumer. */
import { receiveMessageOnPort, type MessagePort, type TransferListItem } from 'node:worker_threads';

/** Int32 slots of the shared control buffer. */
const NEXT = 0; // next item index a producer may claim
const CONSUMED = 1; // items the consumer has taken
const SIGNAL = 2; // bumped after each posted result
const CANCEL = 3; // set by the consumer when it stops taking (a failed write): producers stop at their next wait
const SLOTS = 4;

/** What a producer throws once the consumer has cancelled: it stops between native calls and exits by itself. */
export class InboxCancelled extends Error {}

export interface Numbered {
  /** Item index (0, 1, 2, …); -1 reports a producer crash. */
  index: number;
}

export function createControl(): SharedArrayBuffer {
  return new SharedArrayBuffer(SLOTS * 4);
}

/** Producer side (in a worker). */
export class InboxProducer {
  private readonly ctrl: Int32Array;
  constructor(
    control: SharedArrayBuffer,
    private readonly port: MessagePort,
    private readonly lookahead: number,
  ) {
    this.ctrl = new Int32Array(control);
  }

  /** Claims the next item index (shared among producers), or -1 when all `total` are claimed. */
  claim(total: number): number {
    const i = Atomics.add(this.ctrl, NEXT, 1);
    return i < total ? i : -1;
  }

  /** Blocks while item `index` is more than `lookahead` ahead of the consumer. */
  waitForRoom(index: number): void {
    for (;;) {
      if (Atomics.load(this.ctrl, CANCEL) !== 0) throw new InboxCancelled('the consumer stopped');
      const consumed = Atomics.load(this.ctrl, CONSUMED);
      if (index - consumed < this.lookahead) return;
      Atomics.wait(this.ctrl, CONSUMED, consumed, 1000);
    }
  }

  post<M extends Numbered>(message: M, transfer: TransferListItem[] = []): void {
    this.port.postMessage(message, transfer);
    Atomics.add(this.ctrl, SIGNAL, 1);
    Atomics.notify(this.ctrl, SIGNAL);
  }
}

/**
 * Runs a worker's producer loop: closes its port when done; a crash is posted as item −1 with
 * `crashMessage(text)` so the consumer stops waiting and reports it.
 */
export function runProducer<M extends Numbered>(inbox: InboxProducer, port: MessagePort, main: (inbox: InboxProducer) => Promise<void>, crashMessage: (text: string) => M, onDone?: () => void): void {
  main(inbox).then(
    () => {
      port.close();
      onDone?.();
    },
    (err: unknown) => inbox.post<M>(crashMessage(err instanceof Error ? err.message : String(err))),
  );
}

/** Consumer side (main thread). */
export class InboxConsumer<T extends Numbered> {
  private readonly ctrl: Int32Array;
  private readonly ready = new Map<number, T>();
  private crash: string | undefined;

  constructor(
    control: SharedArrayBuffer,
    private readonly ports: MessagePort[],
    private readonly describe: (index: number) => string,
    private readonly stallMs = 600_000,
  ) {
    this.ctrl = new Int32Array(control);
  }

  /** Records a producer failure seen outside the ports (e.g. a worker 'error' event). */
  fail(message: string): void {
    this.crash = message;
    Atomics.add(this.ctrl, SIGNAL, 1);
  }

  private drain(crashed: (msg: T) => string | undefined): void {
    for (const port of this.ports) {
      for (;;) {
        const got = receiveMessageOnPort(port);
        if (!got) break;
        const msg = got.message as T;
        if (msg.index < 0) this.crash = crashed(msg) ?? 'worker failed';
        else this.ready.set(msg.index, msg);
      }
    }
  }

  /** Blocks until item `index` arrives; marks it consumed. */
  take(index: number, crashed: (msg: T) => string | undefined = () => undefined): T {
    const started = Date.now();
    for (;;) {
      const seen = Atomics.load(this.ctrl, SIGNAL);
      this.drain(crashed);
      const r = this.ready.get(index);
      if (r) {
        this.ready.delete(index);
        this.consumed(index);
        return r;
      }
      if (this.crash !== undefined) throw new Error(`worker failed: ${this.crash}`);
      if (Date.now() - started > this.stallMs) throw new Error(`workers produced nothing for ${this.describe(index)} in ${this.stallMs / 1000} s`);
      Atomics.wait(this.ctrl, SIGNAL, seen, 500);
    }
  }

  /**
   * Stops the producers: each throws InboxCancelled at its next wait for room, between native calls,
   * and its thread ends by itself (terminating a worker inside a DuckDB call aborts the process).
   */
  cancel(): void {
    Atomics.store(this.ctrl, CANCEL, 1);
    Atomics.notify(this.ctrl, CONSUMED);
  }

  /** Marks items up to `index` consumed (lets producers run ahead again). */
  consumed(index: number): void {
    Atomics.store(this.ctrl, CONSUMED, index + 1);
    Atomics.notify(this.ctrl, CONSUMED);
  }
}
