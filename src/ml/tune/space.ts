/** @module ml/tune/space
 * The search space of `stockpipe tune` (docs/tuning.md) and its seeded sampler: booster parameters
 * (learning rate, leaves, depth, rows per leaf, L2), data choices (training window, recency
 * half-life, early-stopping patience) and the loss (objective l2 or huber, huber's δ). Trial 0 is
 * the defaults; trial i ≥ 1 is drawn from its own random stream (seed, i), so adding trials never
 * changes the earlier ones. The loss dimensions come after the others in the stream and the monotone
 * constraint last (a volume study's only), so a trial's other parameters are those a space without
 * them draws; a space stored without them (a study from before) samples l2, free, for every trial, as
 * it did. Pure. */
import { StockpipeError } from '../../core/errors.js';
import { createRng, deriveSeed, type Rng } from '../../core/rng.js';
import { FORECAST_VOLUME_LOSS } from '../forecast-loss.js';

/** One dimension: log-uniform (integer when asked), a power of two, a choice, or "none" with a probability. */
export type Dim =
  | { kind: 'log'; low: number; high: number; integer?: boolean }
  | { kind: 'pow2'; low: number; high: number }
  | { kind: 'choice'; values: readonly (number | string | null)[] }
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
  /** The booster's loss on its log-scale target: l2, or huber (robust to outlying days). */
  objective: TrialObjective;
  /** Huber's δ (log scale: where the loss turns from squared to absolute); null with l2. */
  huber_delta: number | null;
  /** 1: the booster held monotone in vol_moving_avg (`train --monotone-vma`); 0 free. A volume study's dimension only. */
  monotone_vma: number;
}

/** The objectives a study samples: the ones that fit its metrics (docs/tuning.md, "The loss"). */
export const TRIAL_OBJECTIVES = ['l2', 'huber'] as const;
export type TrialObjective = (typeof TRIAL_OBJECTIVES)[number];

/** The dimensions every space has (a study's space from before the loss was searched has only these). */
const BASE_PARAM_NAMES = ['learning_rate', 'num_leaves', 'max_depth', 'min_data_in_leaf', 'lambda_l2', 'window_years', 'half_life_days', 'patience'] as const;
const LOSS_PARAM_NAMES = ['objective', 'huber_delta'] as const;
/** The monotone constraint: the volume task's last dimension (a forecast study's space leaves it out). */
const MONOTONE_PARAM_NAMES = ['monotone_vma'] as const;
export const TRIAL_PARAM_NAMES = [...BASE_PARAM_NAMES, ...LOSS_PARAM_NAMES, ...MONOTONE_PARAM_NAMES] as const;

/** The dimensions of a space (the loss's and the constraint's may be absent: a study stored before they were searched, or a forecast study's). */
export type SearchSpace = Record<(typeof BASE_PARAM_NAMES)[number], Dim> & Partial<Record<(typeof LOSS_PARAM_NAMES)[number] | (typeof MONOTONE_PARAM_NAMES)[number], Dim>>;

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
  objective: 'l2',
  huber_delta: null,
  monotone_vma: 0,
});

/** Trial 0 of a `--task forecast` study: `train --task forecast`'s volume booster (ml/forecast-loss). */
export const FORECAST_DEFAULT_TRIAL: Readonly<TrialParams> = Object.freeze({ ...DEFAULT_TRIAL, ...FORECAST_VOLUME_LOSS });

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
  objective: { kind: 'choice', values: TRIAL_OBJECTIVES },
  huber_delta: { kind: 'log', low: 0.05, high: 1 },
  monotone_vma: { kind: 'choice', values: [0, 1] },
});

/** A `--task forecast` study's space: the volume model's but the monotone constraint (its booster has other inputs). */
export const FORECAST_SPACE: Readonly<SearchSpace> = Object.freeze((({ monotone_vma: _m, ...rest }) => rest)(DEFAULT_SPACE));

/** Four significant digits: readable in tables, and exact in JSON. */
const round4 = (x: number): number => Number(x.toPrecision(4));

function draw(d: Dim, rng: Rng): number | string | null {
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

/** Checks a space read back from the store (or given by a caller): every dimension, or every one but the loss's (a study from before). */
export function checkSpace(space: unknown): SearchSpace {
  const names = typeof space === 'object' && space !== null ? Object.keys(space).sort() : [];
  const ok = [TRIAL_PARAM_NAMES, [...BASE_PARAM_NAMES, ...LOSS_PARAM_NAMES], BASE_PARAM_NAMES].some((want) => names.length === want.length && [...want].sort().every((k, i) => names[i] === k));
  if (!ok) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `a search space needs exactly the dimensions ${TRIAL_PARAM_NAMES.join(', ')} (or all but ${MONOTONE_PARAM_NAMES.join(', ')}, or all but those and ${LOSS_PARAM_NAMES.join(', ')})`);
  return space as SearchSpace;
}

/** Trial `number`'s parameters: the defaults for 0, else a draw from the stream (seed, number). */
export function sampleTrial(space: SearchSpace, seed: number, number: number, defaults: TrialParams = DEFAULT_TRIAL): TrialParams {
  if (number === 0) return { ...defaults };
  const rng = createRng(deriveSeed(seed, number));
  const out: Record<string, number | string | null> = { objective: 'l2', huber_delta: null, monotone_vma: 0 };
  for (const k of TRIAL_PARAM_NAMES) {
    const d = space[k];
    if (d !== undefined) out[k] = draw(d, rng);
  }
  // δ is always drawn (each trial uses the same amount of its stream) and kept with huber only.
  if (out.objective !== 'huber') out.huber_delta = null;
  return out as unknown as TrialParams;
}

/** Trials 0 … n−1. */
export function sampleTrials(space: SearchSpace, seed: number, n: number, defaults: TrialParams = DEFAULT_TRIAL): TrialParams[] {
  return Array.from({ length: n }, (_, i) => sampleTrial(space, seed, i, defaults));
}

/** Reads stored params back (study_trials.params): every name present, numbers or null where allowed; a trial stored without the loss (a study from before) is l2. */
export function toTrialParams(stored: Record<string, number | string | null>): TrialParams {
  const p: Record<string, number | string | null> = { objective: 'l2', huber_delta: null, monotone_vma: 0, ...stored };
  for (const k of BASE_PARAM_NAMES) {
    const v = p[k];
    const nullable = k === 'window_years' || k === 'half_life_days';
    if (!(typeof v === 'number' && Number.isFinite(v)) && !(nullable && v === null)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `stored trial parameter ${k} is ${JSON.stringify(v)}`);
  }
  if (!(TRIAL_OBJECTIVES as readonly unknown[]).includes(p.objective)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `stored trial parameter objective is ${JSON.stringify(p.objective)} (expected one of ${TRIAL_OBJECTIVES.join(', ')})`);
  const delta = p.huber_delta;
  const deltaOk = p.objective === 'huber' ? typeof delta === 'number' && Number.isFinite(delta) && delta > 0 : delta === null;
  if (!deltaOk) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `stored trial parameter huber_delta is ${JSON.stringify(delta)} with objective ${String(p.objective)} (a number > 0 with huber, null with l2)`);
  if (p.monotone_vma !== 0 && p.monotone_vma !== 1) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `stored trial parameter monotone_vma is ${JSON.stringify(p.monotone_vma)} (0 or 1)`);
  return p as unknown as TrialParams;
}
