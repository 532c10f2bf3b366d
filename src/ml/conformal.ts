/** @module ml/conformal
 * Split-conformal prediction intervals for the volume models (docs/models.md, "Prediction
 * intervals"). Calibration: the residuals r = y_log − pred_log (log1p scale) of rows the model was
 * not fitted on; the conformity score is |r|. For a requested coverage c the interval is
 * expm1(pred_log ± q), clipped at 0, where q is the k-th smallest score with
 * k = ⌈(n + 1)·c⌉ (the finite-sample correction: if the calibration and new rows are
 * exchangeable, P(new row covered) = k/(n + 1) ≥ c). k > n (c > n/(n + 1)) has no finite q.
 * Stored: the sorted scores when n ≤ MAX_STORED, else the order statistics at MAX_STORED evenly
 * spaced ranks and at the exact ranks of the tail's coverages (TAIL_COVERAGES: 0.991 … 0.99999),
 * with their ranks; q is the stored score of the smallest stored rank ≥ k, so a stored calibration
 * is never less conservative than the full one (at most n/MAX_STORED ranks more; in the tail, exact
 * at its coverages and at most one of their steps more between them — evenly spaced ranks alone
 * answered 0.999 with the largest residual). Pure: no files (intervals.json is written by
 * ml/artifacts, read by serve/champion). */
import { StockpipeError } from '../core/errors.js';

export const CONFORMAL_FORMAT = 'stockpipe-conformal';
export const CONFORMAL_VERSION = 1;
/** At most this many order statistics are stored. */
export const MAX_STORED = 1000;
/** High coverages whose exact ranks are stored besides the evenly spaced ones: 0.991 … 0.999 by
 * 0.001, 0.9991 … 0.9999 by 0.0001, 0.99991 … 0.99999 by 0.00001 (27 ranks at most). */
export const TAIL_COVERAGES: readonly number[] = [1e-3, 1e-4, 1e-5].flatMap((step) => Array.from({ length: 9 }, (_, i) => Number((1 - 10 * step + (i + 1) * step).toFixed(6))));
/** The coverages reported on the test slice (metrics.json, the model card). */
export const REPORTED_COVERAGES = [0.8, 0.9, 0.95] as const;

/** intervals.json: a model's calibration. */
export interface ConformalCalibration {
  format: typeof CONFORMAL_FORMAT;
  version: typeof CONFORMAL_VERSION;
  /** Where the residuals came from (e.g. `validation`: the time-ordered slice before the test slice). */
  source: string;
  scale: 'log1p';
  score: 'abs_residual';
  /** Calibration residuals. */
  n: number;
  /** 1-based ranks (increasing, the last = n) of the stored scores. */
  ranks: number[];
  /** The |residual| order statistics at those ranks (non-decreasing, finite, ≥ 0). */
  scores: number[];
}

export interface Interval {
  lower: number;
  upper: number;
}

/** The coverage seen on rows not used for calibration. */
export interface CoverageRow {
  coverage: number;
  /** The half-width on the log1p scale. */
  q_log: number;
  /** The fraction of rows whose actual value lies within their interval. */
  covered: number;
  rows: number;
}

/** The rank k = ⌈(n + 1)·c⌉ (a tiny tolerance keeps 0.9·10 at 9 despite binary fractions). */
export function conformalRank(n: number, coverage: number): number {
  return Math.max(1, Math.ceil((n + 1) * coverage - 1e-9));
}

/** The largest coverage with a finite interval: n/(n + 1). */
export function maxCoverage(cal: Pick<ConformalCalibration, 'n'>): number {
  return cal.n / (cal.n + 1);
}

/**
 * Calibrates from residuals on the log1p scale: `yLog[i]` the actual log1p(volume), `predLog[i]`
 * the model's log1p(prediction), for rows the model was not fitted on. Non-finite pairs are skipped.
 */
export function calibrateConformal(yLog: ArrayLike<number>, predLog: ArrayLike<number>, source: string, maxStored = MAX_STORED): ConformalCalibration {
  if (yLog.length !== predLog.length) throw new RangeError(`calibrateConformal: ${yLog.length} actual values, ${predLog.length} predictions`);
  const s: number[] = [];
  for (let i = 0; i < yLog.length; i++) {
    const r = Math.abs(yLog[i]! - predLog[i]!);
    if (Number.isFinite(r)) s.push(r);
  }
  const sorted = Float64Array.from(s).sort();
  const n = sorted.length;
  if (n === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no finite calibration residuals for the prediction intervals (source: ${source})`, { hint: 'The calibration slice is empty: use a later --test-from or more history.' });
  const m = Math.min(n, maxStored);
  const wanted = new Set<number>();
  for (let j = 1; j <= m; j++) wanted.add(m === n ? j : Math.ceil((j * n) / m));
  if (m < n) for (const c of TAIL_COVERAGES) if (conformalRank(n, c) <= n) wanted.add(conformalRank(n, c));
  const ranks = [...wanted].sort((a, b) => a - b);
  const scores = ranks.map((rank) => sorted[rank - 1]!);
  return { format: CONFORMAL_FORMAT, version: CONFORMAL_VERSION, source, scale: 'log1p', score: 'abs_residual', n, ranks, scores };
}

/** The half-width q (log1p scale) for `coverage`, or null when c > n/(n + 1) (no finite interval). */
export function conformalQuantile(cal: ConformalCalibration, coverage: number): number | null {
  const k = conformalRank(cal.n, coverage);
  if (k > cal.n) return null;
  // The smallest stored rank ≥ k (ranks increase; the last is n).
  let lo = 0;
  let hi = cal.ranks.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cal.ranks[mid]! >= k) hi = mid;
    else lo = mid + 1;
  }
  return cal.scores[lo]!;
}

/** The interval around a predicted volume (≥ 0) for half-width q on the log1p scale; bounds clipped at 0. */
export function intervalAround(prediction: number, q: number): Interval {
  const p = Math.log1p(prediction > 0 ? prediction : 0);
  const lower = Math.expm1(p - q);
  return { lower: lower > 0 ? lower : 0, upper: Math.expm1(p + q) };
}

/** The coverage of the intervals on rows not used for calibration (actual volumes `y`, predictions `pred`). */
export function coverageReport(cal: ConformalCalibration, y: ArrayLike<number>, pred: ArrayLike<number>, coverages: readonly number[] = REPORTED_COVERAGES): CoverageRow[] {
  const out: CoverageRow[] = [];
  for (const c of coverages) {
    const q = conformalQuantile(cal, c);
    if (q === null) continue;
    let inside = 0;
    for (let i = 0; i < y.length; i++) {
      const { lower, upper } = intervalAround(pred[i]!, q);
      if (y[i]! >= lower && y[i]! <= upper) inside++;
    }
    out.push({ coverage: c, q_log: q, covered: y.length > 0 ? inside / y.length : NaN, rows: y.length });
  }
  return out;
}

/** A reported coverage the calibration cannot give (above n/(n + 1): too few residuals), and why. */
export interface UnreportedCoverage {
  coverage: number;
  reason: string;
}

/** The coverages of `coverages` that coverageReport leaves out, each with its reason. */
export function unreportedCoverages(cal: ConformalCalibration, coverages: readonly number[] = REPORTED_COVERAGES): UnreportedCoverage[] {
  const most = maxCoverage(cal);
  return coverages.filter((c) => conformalQuantile(cal, c) === null).map((c) => ({
    coverage: c,
    reason: `no finite interval: ${cal.n} calibration residuals give at most ${(100 * most).toFixed(1)}% (n/(n + 1)); it needs at least ${Math.ceil(c / (1 - c) - 1e-9)}`,
  }));
}

/** intervals.json text. */
export function conformalToJSON(cal: ConformalCalibration): string {
  return `${JSON.stringify(cal)}\n`;
}

/** Reads intervals.json (text); `where` names the file in errors (SP_ERR_MODEL_FORMAT). */
export function conformalFromJSON(text: string, where: string): ConformalCalibration {
  const bad = (what: string): StockpipeError => new StockpipeError('SP_ERR_MODEL_FORMAT', `${where}: ${what}`, { hint: 'Train the model again to rewrite its intervals.json (docs/model-format.md).' });
  let j: Partial<ConformalCalibration>;
  try {
    j = JSON.parse(text) as Partial<ConformalCalibration>;
  } catch (err) {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${where} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (j === null || typeof j !== 'object' || j.format !== CONFORMAL_FORMAT) throw bad(`format must be "${CONFORMAL_FORMAT}"`);
  if (j.version !== CONFORMAL_VERSION) throw bad(`unsupported version ${JSON.stringify(j.version)} (this stockpipe reads ${CONFORMAL_VERSION})`);
  if (j.scale !== 'log1p' || j.score !== 'abs_residual') throw bad('scale must be "log1p" and score "abs_residual"');
  if (typeof j.source !== 'string') throw bad('source must be a string');
  const n = j.n;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw bad('n must be a whole number ≥ 1');
  const { ranks, scores } = j;
  if (!Array.isArray(ranks) || !Array.isArray(scores) || ranks.length === 0 || ranks.length !== scores.length) throw bad('ranks and scores must be non-empty arrays of the same length');
  for (let i = 0; i < ranks.length; i++) {
    const r = ranks[i];
    const s = scores[i];
    if (typeof r !== 'number' || !Number.isSafeInteger(r) || r < 1 || r > n || (i > 0 && r <= ranks[i - 1]!)) throw bad(`ranks[${i}] must be a whole number in 1..n, increasing`);
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || (i > 0 && s < scores[i - 1]!)) throw bad(`scores[${i}] must be finite, ≥ 0 and non-decreasing`);
  }
  if (ranks[ranks.length - 1] !== n) throw bad('the last rank must be n');
  return { format: CONFORMAL_FORMAT, version: CONFORMAL_VERSION, source: j.source, scale: 'log1p', score: 'abs_residual', n, ranks, scores };
}
