/** @module features/assemble
 * Cuts a scan of prices (numeric columns, chunk by chunk, in Symbol, Date order) into per-symbol
 * batches and computes their features with the kernels: the rolling mean and median as rows
 * arrive, the lagged (--extended) columns once a symbol is complete. Used by the feature worker
 * (full builds) and in the command's own thread (small incremental builds). Pure: no I/O. */
import type { BarsBatch } from '../db/bars-writer.js';
import type { NumericColumn } from '../db/read-columns.js';
import { EXTENDED_COLUMNS, laggedFeatures, type LaggedInput, NextTradingDay } from './lagged.js';
import { rollingFeatures, RollingWindow } from './rolling.js';

export interface AssembleSpec {
  /** Rows per symbol, in the scan's order. */
  lengths: readonly number[];
  /** Security Name index per symbol (-1 = null). */
  nameIdx: readonly number[];
  window: number;
  extended: boolean;
}

/**
 * The extra columns of one symbol's complete rows, in extraColumns' order (the two rolling features,
 * then with `extended` the lagged ones): the same kernels, fed the same values in the same order, as
 * FeatureAssembler, so the same values bit for bit. For a full ingest's batches (features/prepare).
 */
export function symbolFeatures(b: LaggedInput, window: number, extended: boolean, cal: NextTradingDay = new NextTradingDay()): Float64Array[] {
  const n = b.rows;
  const { mean, median } = rollingFeatures(b.volume.subarray(0, n), b.adjClose.subarray(0, n), window);
  const out = [mean, median];
  if (extended) {
    const lagged = EXTENDED_COLUMNS.map(() => new Float64Array(n));
    laggedFeatures(b, lagged, cal);
    out.push(...lagged);
  }
  return out;
}

/** Feed `push` every chunk of the scan (d, Open, High, Low, Close, Adj Close, v, a); `emit` gets each symbol's batch. */
export class FeatureAssembler {
  private readonly vol: RollingWindow;
  private readonly adj: RollingWindow;
  private readonly cal = new NextTradingDay();
  private sym = -1;
  private batch: BarsBatch | null = null;
  private at = 0;
  private withFeatures = 0;

  constructor(
    private readonly spec: AssembleSpec,
    private readonly emit: (sym: number, batch: BarsBatch, withFeatures: number) => void,
  ) {
    this.vol = new RollingWindow(spec.window, false);
    this.adj = new RollingWindow(spec.window);
    this.startNext();
  }

  private newBatch(sym: number, rows: number): BarsBatch {
    const name = this.spec.nameIdx[sym]!;
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
      extra: Array.from({ length: 2 + (this.spec.extended ? EXTENDED_COLUMNS.length : 0) }, () => new Float64Array(rows)),
    };
  }

  private finish(): void {
    const b = this.batch;
    if (!b) return;
    if (this.spec.extended) laggedFeatures(b, b.extra!.slice(2), this.cal);
    this.batch = null;
    this.emit(this.sym, b, this.withFeatures);
  }

  private startNext(): void {
    this.finish();
    const lengths = this.spec.lengths;
    do this.sym++;
    while (this.sym < lengths.length && lengths[this.sym] === 0);
    if (this.sym < lengths.length) {
      this.batch = this.newBatch(this.sym, lengths[this.sym]!);
      this.at = 0;
      this.withFeatures = 0;
      this.vol.reset();
      this.adj.reset();
    }
  }

  /** One chunk of the scan. */
  push(cols: NumericColumn[], n: number): void {
    const [d, o, h, l, c, ac, v, a] = cols as [Int32Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Uint8Array];
    const { vol, adj } = this;
    let i = 0;
    while (i < n) {
      const b = this.batch;
      if (!b) throw new Error(`prices has more rows than its symbols' counts (${this.spec.lengths.length} symbols)`);
      const at = this.at;
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
          this.withFeatures++;
        } else {
          mean[at + k] = NaN;
          median[at + k] = NaN;
        }
      }
      this.at += take;
      i += take;
      if (this.at === b.rows) this.startNext();
    }
  }

  /** The scan ended: every symbol must be complete. */
  end(): void {
    if (this.batch !== null) throw new Error(`prices ended inside symbol #${this.sym}: fewer rows than counted`);
  }
}
