/** @module core/rng
 * The one source of randomness: a seeded sfc32 generator (state from splitmix32), with uniform,
 * integer, normal, gamma and Student-t draws. Same seed → same sequence on every run. */

/** A seeded random stream. Not cryptographic. */
export interface Rng {
  /** A uniform 32-bit unsigned integer. */
  uint32(): number;
  /** A uniform double in [0, 1) with 32 random bits. */
  next(): number;
  /** A uniform integer in [0, n) for 1 ≤ n ≤ 2^32. */
  int(n: number): number;
  /** A standard normal draw (Marsaglia polar method). */
  normal(): number;
  /** Fills `out[0..count)` with standard normal draws (the hot-loop form of normal()). */
  fillNormal(out: Float64Array, count?: number): Float64Array;
  /** Fills `out[0..count)` with uniform draws in [0, 1). */
  fillUniform(out: Float64Array, count?: number): Float64Array;
  /** A Gamma(shape, 1) draw (Marsaglia–Tsang). */
  gamma(shape: number): number;
  /** A Student-t draw with `df` degrees of freedom (heavy tails; variance df/(df-2)). */
  studentT(df: number): number;
  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
}

/** One splitmix32 step: mixes a 32-bit value into a well-spread 32-bit value. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** Folds any safe integer into 32 bits (seeds beyond 2^32 stay distinct from small ones). */
function fold32(seed: number): number {
  const n = Math.trunc(seed);
  const lo = n >>> 0;
  const hi = Math.floor(n / 4294967296) | 0;
  return hi === 0 ? lo : (lo ^ mix32(hi)) >>> 0;
}

/** Derives a sub-seed from a seed and a stream number (e.g. one stream per symbol). */
export function deriveSeed(seed: number, stream: number): number {
  return mix32((mix32(fold32(seed)) ^ Math.imul(stream | 0, 0x632be5ab)) >>> 0);
}

/** A seeded generator for any safe integer seed (fractions are dropped). */
export function createRng(seed: number): Rng {
  return new Sfc32(fold32(seed));
}

const TWO_NEG_32 = 2 ** -32;

class Sfc32 implements Rng {
  // State lives in an Int32Array: plain number fields holding 32-bit values would be boxed.
  private readonly s = new Int32Array(4);
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    let x = seed | 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) | 0;
      this.s[i] = mix32(x);
    }
    for (let i = 0; i < 15; i++) this.uint32(); // discard the warm-up outputs
  }

  uint32(): number {
    const s = this.s;
    const a = s[0]!;
    const b = s[1]!;
    const c = s[2]!;
    const d = s[3]!;
    const t = (((a + b) | 0) + d) | 0;
    s[3] = (d + 1) | 0;
    s[0] = b ^ (b >>> 9);
    s[1] = (c + (c << 3)) | 0;
    s[2] = (((c << 21) | (c >>> 11)) + t) | 0;
    return t >>> 0;
  }

  next(): number {
    return this.uint32() * TWO_NEG_32;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spare;
    }
    this.polar();
    this.spare = this.pairB;
    this.hasSpare = true;
    return this.pairA;
  }

  private pairA = 0;
  private pairB = 0;

  /** Marsaglia's polar method: two independent standard normals into pairA, pairB. */
  private polar(): void {
    let u: number;
    let v: number;
    let r: number;
    do {
      u = 2 * this.next() - 1;
      v = 2 * this.next() - 1;
      r = u * u + v * v;
    } while (r >= 1 || r === 0);
    const f = Math.sqrt((-2 * Math.log(r)) / r);
    this.pairA = u * f;
    this.pairB = v * f;
  }

  fillNormal(out: Float64Array, count = out.length): Float64Array {
    let i = 0;
    if (this.hasSpare && count > 0) {
      this.hasSpare = false;
      out[i++] = this.spare;
    }
    while (i < count) {
      this.polar();
      out[i++] = this.pairA;
      if (i < count) out[i++] = this.pairB;
      else {
        this.spare = this.pairB;
        this.hasSpare = true;
      }
    }
    return out;
  }

  fillUniform(out: Float64Array, count = out.length): Float64Array {
    for (let i = 0; i < count; i++) out[i] = this.uint32() * TWO_NEG_32;
    return out;
  }

  gamma(shape: number): number {
    if (shape < 1) {
      // Boost: Gamma(a) = Gamma(a + 1) · U^(1/a).
      const u = 1 - this.next();
      return this.gamma(shape + 1) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = 1 - this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  studentT(df: number): number {
    const z = this.normal();
    const chi2 = 2 * this.gamma(df / 2);
    return z / Math.sqrt(chi2 / df);
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i]!;
      items[i] = items[j]!;
      items[j] = tmp;
    }
    return items;
  }
}
