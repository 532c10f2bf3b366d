import { describe, expect, it } from 'vitest';
import { createRng } from '../core/rng.js';
import { calibrateConformal, conformalFromJSON, conformalQuantile, conformalRank, conformalToJSON, coverageReport, intervalAround, maxCoverage, TAIL_COVERAGES, unreportedCoverages } from './conformal.js';

/** log1p(volume) = 12 + 1.5·x + 0.6·t(5) noise; the model knows the mean but slightly biased (+0.05). */
function synthetic(n: number, seed: number): { y: Float64Array; pred: Float64Array } {
  const rng = createRng(seed);
  const y = new Float64Array(n);
  const pred = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = rng.next() * 4 - 2;
    const mean = 12 + 1.5 * x;
    y[i] = Math.round(Math.expm1(mean + 0.6 * rng.studentT(5)));
    pred[i] = Math.expm1(mean + 0.05);
  }
  return { y, pred };
}

const log1pAll = (a: Float64Array): Float64Array => a.map((v) => Math.log1p(v));

describe('split-conformal intervals', () => {
  it('cover 80/90/95% of new synthetic rows within ±2 points (heavy-tailed noise, biased model)', () => {
    const cal = synthetic(3000, 1);
    const test = synthetic(20000, 2);
    const c = calibrateConformal(log1pAll(cal.y), log1pAll(cal.pred), 'synthetic');
    const report = coverageReport(c, test.y, test.pred);
    expect(report.map((r) => r.coverage)).toEqual([0.8, 0.9, 0.95]);
    for (const r of report) {
      expect(Math.abs(r.covered - r.coverage)).toBeLessThanOrEqual(0.02);
      expect(r.rows).toBe(20000);
    }
    // Wider for higher coverage.
    expect(report[0]!.q_log).toBeLessThan(report[1]!.q_log);
    expect(report[1]!.q_log).toBeLessThan(report[2]!.q_log);
  });

  it('uses the k-th smallest |residual| with k = ⌈(n+1)·c⌉, and no finite interval past n/(n+1)', () => {
    const scores = [9, 1, 8, 2, 7, 3, 6, 4, 5];
    const c = calibrateConformal(scores.map((s, i) => (i % 2 === 0 ? s : -s)), scores.map(() => 0), 'test');
    expect(c.n).toBe(9);
    expect(c.scores).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(conformalRank(9, 0.9)).toBe(9); // 10 · 0.9 = 9, not 10 from binary rounding
    expect(conformalQuantile(c, 0.8)).toBe(8);
    expect(conformalQuantile(c, 0.85)).toBe(9);
    expect(conformalQuantile(c, 0.9)).toBe(9);
    expect(conformalQuantile(c, 0.5)).toBe(5);
    expect(conformalQuantile(c, 0.91)).toBeNull();
    expect(maxCoverage(c)).toBeCloseTo(0.9, 12);
  });

  it('says why a reported coverage is left out: too few residuals for it, and how many it needs', () => {
    const of = (n: number) => calibrateConformal(Array.from({ length: n }, (_, i) => i + 1), new Array<number>(n).fill(0), 'v');
    // 9 residuals give 90% (k = 9) but not 95%; the report leaves 95% out and says why.
    expect(coverageReport(of(9), [1], [1]).map((r) => r.coverage)).toEqual([0.8, 0.9]);
    expect(unreportedCoverages(of(9))).toEqual([{ coverage: 0.95, reason: 'no finite interval: 9 calibration residuals give at most 90.0% (n/(n + 1)); it needs at least 19' }]);
    // 18 residuals are one short of 95%, 19 give it; 3 give none of the three.
    expect(unreportedCoverages(of(18)).map((r) => r.coverage)).toEqual([0.95]);
    expect(unreportedCoverages(of(19))).toEqual([]);
    expect(unreportedCoverages(of(3)).map((r) => r.reason.split('; ')[1])).toEqual(['it needs at least 4', 'it needs at least 9', 'it needs at least 19']);
    // Exactly the coverages coverageReport leaves out, at every n.
    for (let n = 1; n <= 40; n++) {
      const shown = coverageReport(of(n), [1], [1]).map((r) => r.coverage);
      const left = unreportedCoverages(of(n)).map((r) => r.coverage);
      expect([...shown, ...left].sort()).toEqual([0.8, 0.9, 0.95]);
      for (const c of left) expect(n).toBeLessThan(Number(unreportedCoverages(of(n)).find((r) => r.coverage === c)!.reason.match(/at least (\d+)/)![1]));
    }
  });

  it('the finite-sample rule holds its coverage with small n (the uncorrected ⌈n·c⌉ would not)', () => {
    // n = 9, c = 0.85: k = ⌈8.5⌉ = 9, so P(covered) = 9/10; ⌈9 · 0.85⌉ = 8 would give 8/10 < 0.85.
    const rng = createRng(7);
    let covered = 0;
    const trials = 20000;
    for (let t = 0; t < trials; t++) {
      const yLog = Array.from({ length: 9 }, () => rng.normal());
      const c = calibrateConformal(yLog, new Array<number>(9).fill(0), 'mc');
      const q = conformalQuantile(c, 0.85)!;
      if (Math.abs(rng.normal()) <= q) covered++;
    }
    expect(Math.abs(covered / trials - 0.9)).toBeLessThan(0.01);
  });

  it('stores at most MAX_STORED order statistics (and the tail coverages\' ranks) and stays conservative', () => {
    const rng = createRng(3);
    const n = 100_000;
    const yLog = Float64Array.from({ length: n }, () => rng.normal());
    const c = calibrateConformal(yLog, new Float64Array(n), 'big');
    expect(c.scores.length).toBeGreaterThanOrEqual(1000);
    expect(c.scores.length).toBeLessThanOrEqual(1000 + TAIL_COVERAGES.length);
    expect(c.ranks[c.ranks.length - 1]).toBe(n);
    const sorted = Float64Array.from(yLog, Math.abs).sort();
    for (const cov of [0.5, 0.8, 0.9, 0.95, 0.99]) {
      const k = conformalRank(n, cov);
      const q = conformalQuantile(c, cov)!;
      expect(q).toBeGreaterThanOrEqual(sorted[k - 1]!);
      expect(q).toBeLessThanOrEqual(sorted[Math.min(n, k + n / 1000) - 1]!);
    }
    // The tail is exact at its coverages (evenly spaced ranks alone answered 0.999 with the largest
    // residual), and between them at most one of their steps more conservative.
    for (const cov of [0.995, 0.999, 0.9995, 0.9999, 0.99999]) expect(conformalQuantile(c, cov)).toBe(sorted[conformalRank(n, cov) - 1]);
    expect(conformalQuantile(c, 0.999)).toBeLessThan(sorted[n - 1]!);
    const between = conformalQuantile(c, 0.99935)!;
    expect(between).toBeGreaterThanOrEqual(sorted[conformalRank(n, 0.99935) - 1]!);
    expect(between).toBeLessThanOrEqual(sorted[conformalRank(n, 0.9994) - 1]!);
    // A file with them reads back.
    expect(conformalFromJSON(conformalToJSON(c), 'intervals.json')).toEqual(c);
  });

  it('intervals are expm1(log1p(pred) ± q), clipped at 0', () => {
    const i = intervalAround(1000, 0.5);
    expect(i.lower).toBeCloseTo(Math.expm1(Math.log1p(1000) - 0.5), 9);
    expect(i.upper).toBeCloseTo(Math.expm1(Math.log1p(1000) + 0.5), 9);
    expect(intervalAround(0, 0.5)).toEqual({ lower: 0, upper: Math.expm1(0.5) });
  });

  it('reads back what it writes, and refuses a malformed intervals.json with SP_ERR_MODEL_FORMAT', () => {
    const c = calibrateConformal([1, 2, 3, 4], [1.5, 1, 3.2, 2], 'validation');
    expect(conformalFromJSON(conformalToJSON(c), 'x')).toEqual(c);
    const bad = (patch: object): unknown => {
      try {
        conformalFromJSON(JSON.stringify({ ...c, ...patch }), 'models/m/intervals.json');
      } catch (err) {
        return (err as { code?: string }).code;
      }
      return 'accepted';
    };
    expect(bad({})).toBe('accepted');
    expect(bad({ format: 'other' })).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad({ version: 2 })).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad({ scores: [0.2, 0.1, 0.5, 2] })).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad({ ranks: [1, 2, 3, 5] })).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad({ n: 5 })).toBe('SP_ERR_MODEL_FORMAT');
    expect(bad({ scores: [0.2, 0.5, null, 2] })).toBe('SP_ERR_MODEL_FORMAT');
    expect(() => conformalFromJSON('{', 'f')).toThrow(/not valid JSON/);
  });
});
