/** @module ml/gbdt/state
 * The training state shared between the main thread and the histogram workers: the
 * SharedArrayBuffers (what a worker receives once) and the typed-array views each thread builds
 * over them, with that thread's level kernels. */
import { HIST_STRIDE, type BinnedMatrix } from './histogram.js';
import { createLevelKernels, type LevelKernels, type LevelTables, NODE_TABLE } from './levels.js';
import { getObjective, type Objective } from './objectives/index.js';

/** The buffers behind a KernelState (what a worker receives once). */
export interface StateBuffers {
  n: number;
  nFeatures: number;
  /** Rows (or index positions) per chunk. */
  chunk: number;
  maxChunks: number;
  /** Float64 slots of one chunk's partial histograms (histograms per chunk × features × 512). */
  chunkStride: number;
  bins: SharedArrayBuffer;
  y: SharedArrayBuffer;
  pred: SharedArrayBuffer | null;
  grad: SharedArrayBuffer;
  hess: SharedArrayBuffer | null;
  /** Sample weight per row (Float64), or null (every weight 1). */
  weight: SharedArrayBuffer | null;
  idx: SharedArrayBuffer | null;
  tmp: SharedArrayBuffer | null;
  node: SharedArrayBuffer | null;
  /** Level tables (levels layout): next, col, slot (Int32 × NODE_TABLE), value (Float64 × NODE_TABLE), features (Int32 × nFeatures). */
  tables: { next: SharedArrayBuffer; col: SharedArrayBuffer; slot: SharedArrayBuffer; value: SharedArrayBuffer; features: SharedArrayBuffer; vnext: SharedArrayBuffer; vcol: SharedArrayBuffer } | null;
  partials: SharedArrayBuffer;
  counts: SharedArrayBuffer;
  sums: SharedArrayBuffer;
  ctrl: SharedArrayBuffer;
  oobSum: SharedArrayBuffer | null;
  oobCount: SharedArrayBuffer | null;
  valid: { n: number; bins: SharedArrayBuffer; y: SharedArrayBuffer; pred: SharedArrayBuffer } | null;
  objective: string | null;
  /** Tweedie's variance power (objective tweedie). */
  tweediePower?: number;
  /** Huber's δ (objective huber). */
  huberDelta?: number;
}

export interface KernelState {
  n: number;
  nFeatures: number;
  chunk: number;
  /** Float64 slots of one histogram (nFeatures × HIST_STRIDE). */
  stride: number;
  chunkStride: number;
  m: BinnedMatrix;
  y: Float64Array;
  pred: Float64Array;
  grad: Float32Array;
  hess: Float32Array | null;
  /** Sample weights (gradients and hessians are multiplied by them), or null. */
  weight: Float64Array | null;
  idx: Int32Array;
  tmp: Int32Array;
  node: Uint16Array;
  tables: LevelTables | null;
  /** The level kernels of this thread (levels layout). */
  lv: LevelKernels | null;
  partials: Float64Array;
  counts: Int32Array;
  sums: Float64Array;
  /** [0]: next chunk to claim. */
  ctrl: Int32Array;
  oobSum: Float64Array;
  oobCount: Uint16Array;
  valid: { m: BinnedMatrix; y: Float64Array; pred: Float64Array } | null;
  obj: Objective | null;
}

export function viewState(b: StateBuffers): KernelState {
  const s: KernelState = {
    n: b.n,
    nFeatures: b.nFeatures,
    chunk: b.chunk,
    stride: b.nFeatures * HIST_STRIDE,
    chunkStride: b.chunkStride,
    m: { rows: b.n, features: b.nFeatures, bins: new Uint8Array(b.bins) },
    y: new Float64Array(b.y),
    pred: new Float64Array(b.pred ?? new ArrayBuffer(0)),
    grad: new Float32Array(b.grad),
    hess: b.hess ? new Float32Array(b.hess) : null,
    weight: b.weight ? new Float64Array(b.weight) : null,
    idx: new Int32Array(b.idx ?? new ArrayBuffer(0)),
    tmp: new Int32Array(b.tmp ?? new ArrayBuffer(0)),
    node: new Uint16Array(b.node ?? new ArrayBuffer(0)),
    tables: b.tables
      ? {
          next: new Int32Array(b.tables.next),
          col: new Int32Array(b.tables.col),
          slot: new Int32Array(b.tables.slot),
          value: new Float64Array(b.tables.value),
          features: new Int32Array(b.tables.features),
          vnext: new Int32Array(b.tables.vnext),
          vcol: new Int32Array(b.tables.vcol),
        }
      : null,
    lv: null,
    partials: new Float64Array(b.partials),
    counts: new Int32Array(b.counts),
    sums: new Float64Array(b.sums),
    ctrl: new Int32Array(b.ctrl),
    oobSum: new Float64Array(b.oobSum ?? new ArrayBuffer(0)),
    oobCount: new Uint16Array(b.oobCount ?? new ArrayBuffer(0)),
    valid: b.valid ? { m: { rows: b.valid.n, features: b.nFeatures, bins: new Uint8Array(b.valid.bins) }, y: new Float64Array(b.valid.y), pred: new Float64Array(b.valid.pred) } : null,
    obj: b.objective === null ? null : getObjective(b.objective, { tweediePower: b.tweediePower, huberDelta: b.huberDelta }),
  };
  if (s.tables) s.lv = createLevelKernels(s, s.tables);
  return s;
}

/** Shared buffers for the level tables. */
export function levelTableBuffers(nFeatures: number): NonNullable<StateBuffers['tables']> {
  return {
    next: new SharedArrayBuffer(NODE_TABLE * 4),
    col: new SharedArrayBuffer(NODE_TABLE * 4),
    slot: new SharedArrayBuffer(NODE_TABLE * 4),
    value: new SharedArrayBuffer(NODE_TABLE * 8),
    features: new SharedArrayBuffer(Math.max(1, nFeatures) * 4),
    vnext: new SharedArrayBuffer(NODE_TABLE * 4),
    vcol: new SharedArrayBuffer(NODE_TABLE * 4),
  };
}

