/** @module ml/gbdt/parallel
 * The training engine: owns the SharedArrayBuffers (bins, gradients, index arrays, partials) and
 * `threads` histogram workers, started once per training and terminated by close(). A job is cut
 * into fixed-size chunks (independent of the thread count) that workers claim with an Atomics
 * counter; the main thread reduces per-chunk outputs in chunk order, so a model does not depend on
 * the number of threads. threads = 1, or a one-chunk job, runs in-process on the same kernels. */
import { Worker } from 'node:worker_threads';
import { workerScript } from '../../core/worker-script.js';
import { HIST_STRIDE, sumPartials, type BinnedMatrix } from './histogram.js';
import { type BinTree, type Op, opRange, runChunk } from './kernels.js';
import { NODE_TABLE } from './levels.js';
import { type KernelState, levelTableBuffers, type StateBuffers, viewState } from './state.js';
import { SIDE_NONE } from './partition.js';

/** The tree-boundary pass of gradient boosting (levels layout; see LevelKernels.boundary). */
export interface BoundaryOp {
  /** Leaf value by node id (NODE_TABLE long) of the tree just grown, or null before the first tree. */
  value: Float64Array | null;
  /** The tree's last level when its rows were not moved yet (level tables), or null. */
  next: Int32Array | null;
  col: Int32Array | null;
  /** The next tree: its bag (fraction 1 = all rows) and features; null after the last tree. */
  bag: { fraction: number; seed: number; features: Int32Array } | null;
}

export interface EngineOptions {
  threads: number;
  train: BinnedMatrix;
  y: ArrayLike<number>;
  /** Sample weights (finite, ≥ 0), or null/absent: gradients and hessians are multiplied by them (needs hessian: true). */
  weight?: ArrayLike<number> | null;
  valid?: { m: BinnedMatrix; y: ArrayLike<number> } | null;
  /** Objective name (gbdt), or null (random forest: gradients come from the bootstrap). */
  objective: string | null;
  /** Tweedie's variance power (objective tweedie). */
  tweediePower?: number;
  /** Huber's δ (objective huber). */
  huberDelta?: number;
  /** Store a hessian per row (non-constant hessian, or bootstrap counts). */
  hessian: boolean;
  /** Keep out-of-bag sums and counts per row (random forest). */
  oob: boolean;
  /** 'levels': node id per row (full-depth trees, histograms for up to `slots` nodes per pass);
   * 'leaves': index arrays partitioned per split (leaf-wise trees). */
  layout: { kind: 'levels'; slots: number } | { kind: 'leaves' };
}

/**
 * Chunk size from the sizes only (never from threads): ≥ 16K rows (64K for level passes, whose
 * partials cover many nodes), and few enough chunks that
 * the partial histograms (chunks × histogramsPerChunk × features × 4 KB) stay near 64 MB.
 */
export function chunkSize(rows: number, features: number, histogramsPerChunk: number): number {
  const perChunk = histogramsPerChunk * features * HIST_STRIDE * 8;
  const target = Math.max(8, Math.min(histogramsPerChunk > 1 ? 64 : 512, Math.floor((64 << 20) / perChunk)));
  return Math.max(histogramsPerChunk > 1 ? 65536 : 16384, Math.ceil(rows / target));
}

const sab = (bytes: number): SharedArrayBuffer => new SharedArrayBuffer(Math.max(8, bytes));

function sharedCopy<T extends Uint8Array | Float64Array>(src: ArrayLike<number>, make: (b: SharedArrayBuffer) => T, bytesPer: number): SharedArrayBuffer {
  const b = sab(src.length * bytesPer);
  make(b).set(src);
  return b;
}

export class Engine {
  readonly state: KernelState;
  private readonly workers: Worker[] = [];
  private pending: Array<{ resolve: () => void; reject: (e: Error) => void } | null> = [];
  private failure: Error | null = null;
  private closed = false;

  constructor(opts: EngineOptions) {
    const n = opts.train.rows;
    const F = opts.train.features;
    const levels = opts.layout.kind === 'levels';
    const perChunk = opts.layout.kind === 'levels' ? Math.max(1, opts.layout.slots) : 1;
    const chunk = chunkSize(Math.max(n, opts.valid?.m.rows ?? 0), F, perChunk);
    const maxChunks = Math.ceil(Math.max(n, opts.valid?.m.rows ?? 0, 1) / chunk);
    const v = opts.valid;
    const buffers: StateBuffers = {
      n,
      nFeatures: F,
      chunk,
      maxChunks,
      chunkStride: perChunk * F * HIST_STRIDE,
      bins: opts.train.bins.buffer instanceof SharedArrayBuffer && opts.train.bins.byteOffset === 0 ? opts.train.bins.buffer : sharedCopy(opts.train.bins, (b) => new Uint8Array(b), 1),
      // y is read in place when it already lives in shared memory (see sharedFloat64Array).
      y: opts.y instanceof Float64Array && opts.y.buffer instanceof SharedArrayBuffer && opts.y.byteOffset === 0 && opts.y.length === n ? opts.y.buffer : sharedCopy(opts.y, (b) => new Float64Array(b), 8),
      pred: opts.objective === null ? null : sab(n * 8),
      grad: sab(n * 4),
      hess: opts.hessian ? sab(n * 4) : null,
      weight: opts.weight ? sharedCopy(opts.weight, (b) => new Float64Array(b), 8) : null,
      idx: levels ? null : sab(n * 4),
      tmp: levels ? null : sab(n * 4),
      node: levels ? sab(n * 2) : null,
      tables: levels ? levelTableBuffers(F) : null,
      partials: sab(maxChunks * perChunk * F * HIST_STRIDE * 8),
      counts: sab(maxChunks * 4),
      sums: sab(maxChunks * 8),
      ctrl: sab(16),
      oobSum: opts.oob ? sab(n * 8) : null,
      oobCount: opts.oob ? sab(n * 2) : null,
      // The validation bins and y, too, are read in place when they already live in shared memory.
      valid: v
        ? {
            n: v.m.rows,
            bins: v.m.bins.buffer instanceof SharedArrayBuffer && v.m.bins.byteOffset === 0 && v.m.bins.byteLength === v.m.bins.buffer.byteLength ? v.m.bins.buffer : sharedCopy(v.m.bins, (b) => new Uint8Array(b), 1),
            y: v.y instanceof Float64Array && v.y.buffer instanceof SharedArrayBuffer && v.y.byteOffset === 0 && v.y.length === v.m.rows ? v.y.buffer : sharedCopy(v.y, (b) => new Float64Array(b), 8),
            pred: sab(v.m.rows * 8),
          }
        : null,
      objective: opts.objective,
      ...(opts.tweediePower === undefined ? {} : { tweediePower: opts.tweediePower }),
      ...(opts.huberDelta === undefined ? {} : { huberDelta: opts.huberDelta }),
    };
    this.state = viewState(buffers);
    // Workers only where a job can have two chunks: with one chunk every job runs in-process (run
    // below), and starting a worker (its thread, its modules) costs more than a small training.
    const threads = maxChunks > 1 ? Math.max(1, Math.floor(opts.threads)) : 1;
    if (threads > 1) {
      const url = workerScript(import.meta.url, 'ml/gbdt/hist-worker.js');
      for (let i = 0; i < threads; i++) {
        const w = new Worker(url, { workerData: buffers });
        w.on('message', (msg: { ok: boolean; error?: string }) => this.settle(i, msg.ok ? null : new Error(`gbdt worker ${i}: ${msg.error ?? 'failed'}`)));
        w.on('error', (err) => this.fail(new Error(`gbdt worker ${i} crashed: ${err.message}`, { cause: err })));
        w.on('exit', (code) => {
          if (!this.closed) this.fail(new Error(`gbdt worker ${i} exited with code ${code}`));
        });
        this.workers.push(w);
        this.pending.push(null);
      }
    }
  }

  /** Histogram workers started (0: every job runs in-process). */
  get workerCount(): number {
    return this.workers.length;
  }

  private settle(i: number, err: Error | null): void {
    const p = this.pending[i];
    this.pending[i] = null;
    if (!p) return;
    if (err) {
      this.failure ??= err;
      p.reject(err);
    } else p.resolve();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (let i = 0; i < this.pending.length; i++) this.settle(i, err);
  }

  /** Runs op over all its chunks; returns the number of chunks. */
  async run(op: Op): Promise<number> {
    if (this.failure) throw this.failure;
    const [start, end] = opRange(this.state, op);
    const chunks = Math.ceil(Math.max(0, end - start) / this.state.chunk);
    if (this.workers.length === 0 || chunks <= 1) {
      for (let c = 0; c < chunks; c++) runChunk(this.state, op, c);
      return chunks;
    }
    Atomics.store(this.state.ctrl, 0, 0);
    const use = Math.min(this.workers.length, chunks);
    const done: Promise<void>[] = [];
    for (let i = 0; i < use; i++) {
      done.push(
        new Promise<void>((resolve, reject) => {
          this.pending[i] = { resolve, reject };
          this.workers[i]!.postMessage({ op, chunks });
        }),
      );
    }
    // Wait for every worker even when one fails, so no worker still writes after we return.
    const results = await Promise.allSettled(done);
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    return chunks;
  }

  /** Σ sums[0..chunks) in chunk order (a loss total). */
  sum(chunks: number): number {
    let s = 0;
    for (let c = 0; c < chunks; c++) s += this.state.sums[c]!;
    return s;
  }

  /** Σ counts[0..chunks) (rows sent left / sampled in). */
  countLeft(chunks: number): number {
    let s = 0;
    for (let c = 0; c < chunks; c++) s += this.state.counts[c]!;
    return s;
  }

  /** The histogram of positions [start, end) (identity: rows start..end, idx unused). */
  async histogram(start: number, end: number, identity: boolean, features: Int32Array): Promise<Float64Array> {
    const chunks = await this.run({ op: 'hist', start, end, identity, features });
    return sumPartials(this.state.partials, 0, chunks, this.state.chunkStride, features, new Float64Array(this.state.stride));
  }

  /**
   * Partitions positions [start, end) by bins[feature] <= bin so the range holds [left | right];
   * returns the left count and, for side LEFT/RIGHT, that child's histogram.
   */
  async split(start: number, end: number, feature: number, bin: number, side: number, features: Int32Array): Promise<{ nLeft: number; hist: Float64Array | null }> {
    const chunks = await this.run({ op: 'part', start, end, feature, bin, side, features });
    const nLeft = this.countLeft(chunks);
    await this.run({ op: 'copy', start, end, nLeft });
    const hist = side === SIDE_NONE ? null : sumPartials(this.state.partials, 0, chunks, this.state.chunkStride, features, new Float64Array(this.state.stride));
    return { nLeft, hist };
  }

  /** Row sampling into idx: [in-bag rows | out-of-bag rows]; returns the in-bag count. */
  async sample(poisson: boolean, fraction: number, seed: number): Promise<number> {
    const chunks = await this.run({ op: 'sample', poisson, fraction, seed });
    const nIn = this.countLeft(chunks);
    await this.run({ op: 'copy', start: 0, end: this.state.n, nLeft: nIn });
    return nIn;
  }

  /** Levels layout: the histogram of the in-bag rows (node id 0). */
  async rootHistogram(features: Int32Array): Promise<Float64Array> {
    this.state.tables!.features.set(features);
    const chunks = await this.run({ op: 'root', nFeatures: features.length });
    return sumPartials(this.state.partials, 0, chunks, this.state.chunkStride, features, new Float64Array(this.state.stride));
  }

  /** Levels layout: moves every row one level down; returns the histograms of slots 0..nSlots-1. */
  async level(next: Int32Array, col: Int32Array, slot: Int32Array, nSlots: number, features: Int32Array): Promise<Float64Array[]> {
    const t = this.state.tables!;
    t.next.set(next);
    t.col.set(col);
    t.slot.set(slot);
    t.features.set(features);
    const chunks = await this.run({ op: 'level', nSlots, nFeatures: features.length });
    const out: Float64Array[] = [];
    for (let k = 0; k < nSlots; k++) out.push(sumPartials(this.state.partials, k * this.state.stride, chunks, this.state.chunkStride, features, new Float64Array(this.state.stride)));
    return out;
  }

  /** Levels layout, gradient boosting: the tree-boundary pass; Σ loss and the next root histogram. */
  async boundary(op: BoundaryOp): Promise<{ loss: number; rootHist: Float64Array | null }> {
    const t = this.state.tables!;
    if (op.value) t.value.set(op.value);
    else t.value.fill(0);
    const move = op.next !== null && op.col !== null;
    if (move) {
      t.next.set(op.next!);
      t.col.set(op.col!);
    }
    if (op.bag) t.features.set(op.bag.features);
    const nFeatures = op.bag?.features.length ?? 0;
    const chunks = await this.run({ op: 'boundary', move, bag: op.bag !== null, fraction: op.bag?.fraction ?? 1, seed: op.bag?.seed ?? 0, nFeatures });
    const rootHist = op.bag ? sumPartials(this.state.partials, 0, chunks, this.state.chunkStride, op.bag.features, new Float64Array(this.state.stride)) : null;
    return { loss: this.sum(chunks), rootHist };
  }

  /** Levels layout: adds tree t to the validation predictions; returns Σ validation loss. */
  async validTree(t: BinTree): Promise<number> {
    const tb = this.state.tables!;
    const nv = this.state.valid!.m.rows;
    let depth = 0;
    const d = new Int32Array(t.feature.length);
    for (let i = 0; i < NODE_TABLE; i++) tb.vnext[i] = (i << 8) | 255;
    tb.vcol.fill(0);
    tb.value.fill(0);
    tb.value.set(t.value);
    for (let i = 0; i < t.feature.length; i++) {
      if (t.feature[i]! < 0) continue;
      tb.vnext[i] = (t.left[i]! << 8) | t.bin[i]!;
      tb.vcol[i] = t.feature[i]! * nv;
      d[t.left[i]!] = d[t.right[i]!] = d[i]! + 1;
      depth = Math.max(depth, d[i]! + 1);
    }
    return this.sum(await this.run({ op: 'validLevels', depth }));
  }

  /** Levels layout, random forest: adds the tree's leaf values (by node id) to the out-of-bag sums. */
  async oobNodes(value: Float64Array): Promise<void> {
    this.state.tables!.value.set(value);
    await this.run({ op: 'oobNodes' });
  }

  /** Terminates the workers (idempotent). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.fail(new Error('gbdt engine closed'));
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Between two trees: with a signal, lets the event loop turn once, then stops if it is aborted. With
 * one thread the engine's work is synchronous and its awaits are microtasks, so nothing else would
 * run — not a SIGINT or SIGTERM handler, not a timer — until training ends. One setImmediate a tree. */
export async function betweenTrees(signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return;
  await new Promise<void>((resolve) => setImmediate(resolve));
  signal.throwIfAborted();
}
