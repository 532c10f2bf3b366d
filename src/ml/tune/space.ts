/** @module ml/tune/space
 * The search space of `stockpipe tune` (docs/tuning.md) and its seeded sampler: booster parameters
 * (learning rate, leaves, depth, rows per leaf, L2) and data choices (training window, recency
 * half-life, early-stopping patience). Trial 0 is the defaults; trial i ≥ 1 is drawn from its own
 * random stream (seed, i), so adding trials never changes the earlier ones. Pure. */
import { StockpipeError } from '../../core/errors.js';
import { createRng, deriveSeed, type Rng } from '../../core/rng.js';

/** One dimension: log-uniform (integer when asked), a power of two, a choice, or "none" with a probability. */
export type Dim =
  | { kind: 'log'; low: number; high: number; integer?: boolean }
  | { kind: 'pow2'; low: number; high: number }
  | { kind: 'choice'; values: readonly (number | null)[] }
  | { kind: 'maybe'; none: number; of: Dim };

/** A configuration's parameters (snake_case, as stored in study_trials.params). */
export interface TrialParams {
  learning_rate: number;
  num_leaves: number;
  /** ≤ 0: no depth limit. */
  max_depth: number;
  min_data_in_leaf: number;
  lambda_l2: number;
  /** Train on the last N years before each fold's first validation day (the refit: before the first test day); null = all the history. */
  window_years: number | null;
  /** Sample weight 2^(−age/half-life) by a row's age in days at the fold's validation start; null = equal weights. */
  half_life_days: number | null;
  /** Early-stopping patience: rounds without a validation improvement before a fold stops. */
  patience: number;
}

export const TRIAL_PARAM_NAMES = ['learning_rate', 'num_leaves', 'max_depth', 'min_data_in_leaf', 'lambda_l2', 'window_years', 'half_life_days', 'patience'] as const;

export type SearchSpace = Record<keyof TrialParams, Dim>;

/** Trial 0: `stockpipe train`'s defaults. */
export const DEFAULT_TRIAL: Readonly<TrialParams> = Object.freeze({
  learning_rate: 0.1,
  num_leaves: 64,
  max_depth: 6,
  min_data_in_leaf: 100,
  lambda_l2: 1,
  window_years: null,
  half_life_days: null,
  patience: 10,
});

/** The ranges of the scikit-learn reference's random configurations where they overlap (sklearn_protocol). */
export const DEFAULT_SPACE: Readonly<SearchSpace> = Object.freeze({
  learning_rate: { kind: 'log', low: 0.01, high: 0.3 },
  num_leaves: { kind: 'pow2', low: 3, high: 8 },
  max_depth: { kind: 'choice', values: [4, 6, 8, 10, -1] },
  min_data_in_leaf: { kind: 'log', low: 10, high: 10_000, integer: true },
  lambda_l2: { kind: 'log', low: 0.001, high: 100 },
  window_years: { kind: 'choice', values: [null, 2, 3, 5, 10] },
  half_life_days: { kind: 'maybe', none: 0.5, of: { kind: 'log', low: 180, high: 3650, integer: true } },
  patience: { kind: 'choice', values: [10, 20, 50] },
});

/** Four significant digits: readable in tables, and exact in JSON. */
const round4 = (x: number): number => Number(x.toPrecision(4));

function draw(d: Dim, rng: Rng): number | null {
  switch (d.kind) {
    case 'log': {
      const x = Math.exp(Math.log(d.low) + rng.next() * (Math.log(d.high) - Math.log(d.low)));
      return d.integer === true ? Math.round(x) : round4(x);
    }
    case 'pow2':
      return 2 ** (d.low + rng.int(d.high - d.low + 1));
    case 'choice':
      return d.values[rng.int(d.values.length)]!;
    case 'maybe': {
      // Both draws are always made, so each dimension uses the same amount of the stream.
      const none = rng.next() < d.none;
      const v = draw(d.of, rng);
      return none ? null : v;
    }
  }
}

/** Checks a space read back from the store (or given by a caller). */
export function checkSpace(space: unknown): SearchSpace {
  const ok = typeof space === 'object' && space !== null && TRIAL_PARAM_NAMES.every((k) => k in space) && Object.keys(space).length === TRIAL_PARAM_NAMES.length;
  if (!ok) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `a search space needs exactly the dimensions ${TRIAL_PARAM_NAMES.join(', ')}`);
  return space as SearchSpace;
}

/** Trial `number`'s parameters: the defaults for 0, else a draw from the stream (seed, number). */
export function sampleTrial(space: SearchSpace, seed: number, number: number, defaults: TrialParams = DEFAULT_TRIAL): TrialParams {
  if (number === 0) return { ...defaults };
  const rng = createRng(deriveSeed(seed, number));
  const out: Record<string, number | null> = {};
  for (const k of TRIAL_PARAM_NAMES) out[k] = draw(space[k], rng);
  return out as unknown as TrialParams;
}

/** Trials 0 … n−1. */
export function sampleTrials(space: SearchSpace, seed: number, n: number, defaults: TrialParams = DEFAULT_TRIAL): TrialParams[] {
  return Array.from({ length: n }, (_, i) => sampleTrial(space, seed, i, defaults));
}

/** Reads stored params back (study_trials.params): every name present, numbers or null where allowed. */
export function toTrialParams(p: Record<string, number | null>): TrialParams {
  for (const k of TRIAL_PARAM_NAMES) {
    const v = p[k];
    const nullable = k === 'window_years' || k === 'half_life_days';
    if (!(typeof v === 'number' && Number.isFinite(v)) && !(nullable && v === null)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `stored trial parameter ${k} is ${JSON.stringify(v)}`);
  }
  return p as unknown as TrialParams;
}
