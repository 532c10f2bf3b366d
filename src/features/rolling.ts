/** @module features/rolling
 * Streaming rolling-window kernels equal to pandas `rolling(w).mean()` and `.median()` with
 * min_periods = w: one state per series, fed value by value in date order. Pure: no I/O.
 * The mean is the exact sum of the w values of each window over w: a running sum while every value
 * in the window is a whole number small enough for every partial sum to be exact (a volume's: the
 * same number whatever the order), else the values summed directly, oldest first (no running sum to
 * drift), so a window's result depends only on its own values: an incremental rebuild equals a full
 * one bit for bit. The
 * median is the middle of the window's values in the order -0.0 before 0.0 (zeroAt), so which zero is
 * the middle one depends on the window's values alone, not on the order they came and went in (the
 * sorted copy, ordered by `<`, keeps equal zeros in arrival order: a rebuild from a window's context
 * rows could give 0.0 where the full build gave -0.0). */

export class RollingWindow {
  private readonly ring: Float64Array;
  private readonly sorted: Float64Array;
  private count = 0;
  private head = 0;
  /**
   * The window's sum kept as values come and go, and how many of its values it cannot hold
   * exactly. A value that is a whole number of at most `exactBound` in magnitude is added and
   * taken away exactly: w + 1 such values sum to less than 2^53, where doubles hold every whole
   * number, so every partial sum — in whatever order — is the exact sum, and the running sum is
   * the sum mean() would add up value by value (a volume's, always). Any other value is counted in
   * `inexact`, and while one is in the window mean() sums it directly, as before.
   */
  private sum = 0;
  private inexact = 0;
  private readonly exactBound: number;

  /** `keepSorted` = false skips the sorted copy when only the mean is wanted. */
  constructor(
    readonly window: number,
    private readonly keepSorted = true,
  ) {
    this.ring = new Float64Array(window);
    this.sorted = new Float64Array(keepSorted ? window : 0);
    // w + 1: a push adds the new value before it takes the old one away.
    this.exactBound = Math.floor(Number.MAX_SAFE_INTEGER / (window + 1));
  }

  /** Whether `x` is added and taken away exactly (see `sum`). */
  private exact(x: number): boolean {
    return Number.isInteger(x) && Math.abs(x) <= this.exactBound;
  }

  /** Starts a new series. */
  reset(): void {
    this.count = 0;
    this.head = 0;
    this.sum = 0;
    this.inexact = 0;
  }

  /** Adds the next value of the series. */
  push(x: number): void {
    const w = this.window;
    const s = this.sorted;
    if (this.exact(x)) this.sum += x;
    else this.inexact++;
    if (this.count < w) {
      this.ring[(this.head + this.count) % w] = x;
      if (!this.keepSorted) {
        this.count++;
        return;
      }
      // insert into sorted[0..count)
      let i = this.count;
      while (i > 0 && s[i - 1]! > x) {
        s[i] = s[i - 1]!;
        i--;
      }
      s[i] = x;
      this.count++;
      return;
    }
    const old = this.ring[this.head]!;
    if (this.exact(old)) this.sum -= old;
    else this.inexact--;
    this.ring[this.head] = x;
    this.head = this.head + 1 === w ? 0 : this.head + 1;
    if (!this.keepSorted) return;
    // Remove `old` and insert `x` in one pass over the sorted window.
    let pos = lowerBound(s, w, old);
    if (x >= old) {
      while (pos + 1 < w && s[pos + 1]! < x) {
        s[pos] = s[pos + 1]!;
        pos++;
      }
    } else {
      while (pos > 0 && s[pos - 1]! > x) {
        s[pos] = s[pos - 1]!;
        pos--;
      }
    }
    s[pos] = x;
  }

  /** True once the window holds w values (pandas' min_periods = w). */
  get full(): boolean {
    return this.count === this.window;
  }

  /**
   * Mean of the window, summed in window order (oldest first), as pandas' sum / nobs: the running
   * sum when it is that sum exactly (whole numbers: every volume), else value by value.
   */
  mean(): number {
    const w = this.window;
    if (this.inexact === 0) return this.sum / w;
    const r = this.ring;
    const h = this.head;
    let sum = 0;
    for (let k = h; k < w; k++) sum += r[k]!;
    for (let k = 0; k < h; k++) sum += r[k]!;
    return sum / w;
  }

  /** Median of the window: the middle value, or the mean of the two middle values. */
  median(): number {
    const w = this.window;
    const s = this.sorted;
    const mid = w >> 1;
    const a = s[mid]!;
    if ((w & 1) === 1) return a === 0 ? this.zeroAt(mid) : a;
    const b = s[mid - 1]!;
    return ((a === 0 ? this.zeroAt(mid) : a) + (b === 0 ? this.zeroAt(mid - 1) : b)) / 2;
  }

  /**
   * The zero at index k of the window sorted with -0.0 before 0.0: after the negative values come the
   * -0.0s, then the 0.0s. Counted from the window itself (rare: only when a middle value is a zero),
   * so push keeps the plain `<` of its hot loops.
   */
  private zeroAt(k: number): number {
    const r = this.ring;
    let negative = 0;
    let negativeZeros = 0;
    for (let i = 0; i < r.length; i++) {
      const v = r[i]!;
      if (v < 0) negative++;
      else if (v === 0 && 1 / v < 0) negativeZeros++;
    }
    return k - negative < negativeZeros ? -0 : 0;
  }
}

/** First index in sorted[0..n) whose value is ≥ x (x is present). */
function lowerBound(s: Float64Array, n: number, x: number): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Computes both features for one series; out arrays get NaN where pandas gives NaN
 * (the first w-1 rows). Convenience over RollingWindow for tests and small data.
 */
export function rollingFeatures(volume: ArrayLike<number>, adjClose: ArrayLike<number>, window: number): { mean: Float64Array; median: Float64Array } {
  const n = volume.length;
  const mean = new Float64Array(n).fill(NaN);
  const median = new Float64Array(n).fill(NaN);
  const v = new RollingWindow(window, false);
  const a = new RollingWindow(window);
  for (let i = 0; i < n; i++) {
    v.push(volume[i]!);
    a.push(adjClose[i]!);
    if (v.full) {
      mean[i] = v.mean();
      median[i] = a.median();
    }
  }
  return { mean, median };
}
