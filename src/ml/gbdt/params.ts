/** @module ml/gbdt/params
 * Training parameters of the tree engine (LightGBM names where one exists), their defaults and
 * strict validation: an unknown or out-of-range parameter throws SP_ERR_TRAIN_PARAMS. */
import { StockpipeError } from '../../core/errors.js';
import { HUBER_DEFAULT_DELTA, isObjectiveName, OBJECTIVE_NAMES, TWEEDIE_DEFAULT_POWER, type ObjectiveName } from './objectives/index.js';

export interface GbdtParams {
  objective: ObjectiveName;
  /** Tweedie's variance power ρ, 1 < ρ < 2 (read with objective tweedie only). */
  tweedie_variance_power: number;
  /** Huber's δ > 0: the residual size where the loss turns from squared to absolute (read with objective huber only). */
  huber_delta: number;
  /** Bound on each leaf's Newton step −G/(H+λ) before the learning rate (0 = none; XGBoost's
   * max_delta_step). Default 0 for l2 and huber, 0.7 for the log-link objectives (poisson, tweedie). */
  max_delta_step: number;
  num_trees: number;
  learning_rate: number;
  /** Leaf-wise growth stops at this many leaves. */
  num_leaves: number;
  /** Deepest leaf depth (root = 0); ≤ 0 means no limit. */
  max_depth: number;
  min_data_in_leaf: number;
  min_sum_hessian_in_leaf: number;
  lambda_l2: number;
  min_gain_to_split: number;
  /** Share of features drawn (seeded) for each tree. */
  feature_fraction: number;
  /** Share of rows drawn (seeded, Bernoulli) for each tree; < 1 makes each tree cheaper. */
  bagging_fraction: number;
  /** Value bins per feature, 2..255 (NaN has its own bin on top). */
  max_bin: number;
  /** Values sampled per feature to place the bin edges. */
  bin_sample_size: number;
  /** Stop when the validation loss has not improved for this many trees (0 = off). */
  early_stopping_rounds: number;
  seed: number;
  /** Worker threads (1 = in-process). Not stored in the model: it does not change it. */
  threads: number;
  /** LightGBM's monotone_constraints, one per input in order, comma-separated: 1 the prediction never
   * falls as that input rises (the others fixed), −1 never rises, 0 free; '' none (the default). */
  monotone_constraints: string;
}

export const GBDT_DEFAULTS: Readonly<GbdtParams> = Object.freeze({
  objective: 'l2',
  tweedie_variance_power: TWEEDIE_DEFAULT_POWER,
  huber_delta: HUBER_DEFAULT_DELTA,
  max_delta_step: 0,
  num_trees: 100,
  learning_rate: 0.1,
  num_leaves: 31,
  max_depth: -1,
  min_data_in_leaf: 20,
  min_sum_hessian_in_leaf: 1e-3,
  lambda_l2: 0,
  min_gain_to_split: 0,
  feature_fraction: 1,
  bagging_fraction: 1,
  max_bin: 255,
  bin_sample_size: 200_000,
  early_stopping_rounds: 20,
  seed: 42,
  threads: 1,
  monotone_constraints: '',
});

export interface ForestParams {
  num_trees: number;
  max_depth: number;
  /** Leaf limit; 0 = 2^max_depth (full trees). */
  num_leaves: number;
  /** Features drawn for each split; 0 = all. */
  max_features: number;
  /** Least bootstrap draws (Σ multiplicity) per leaf. */
  min_data_in_leaf: number;
  lambda_l2: number;
  /** Poisson rate of each row's bootstrap multiplicity (1 = the classic bootstrap). */
  sample_fraction: number;
  max_bin: number;
  bin_sample_size: number;
  seed: number;
  threads: number;
}

export const FOREST_DEFAULTS: Readonly<ForestParams> = Object.freeze({
  num_trees: 100,
  max_depth: 6,
  num_leaves: 0,
  max_features: 0,
  min_data_in_leaf: 1,
  lambda_l2: 0,
  sample_fraction: 1,
  max_bin: 255,
  bin_sample_size: 200_000,
  seed: 42,
  threads: 1,
});

type Rule = [min: number, max: number, integer: boolean];

const GBDT_RULES: Record<Exclude<keyof GbdtParams, 'objective' | 'monotone_constraints'>, Rule> = {
  tweedie_variance_power: [1, 2, false],
  huber_delta: [Number.MIN_VALUE, Number.MAX_VALUE, false],
  max_delta_step: [0, Number.MAX_VALUE, false],
  num_trees: [0, 1e6, true],
  learning_rate: [Number.MIN_VALUE, 1e3, false],
  num_leaves: [2, 1 << 17, true],
  max_depth: [-1, 64, true],
  min_data_in_leaf: [0, Number.MAX_SAFE_INTEGER, false],
  min_sum_hessian_in_leaf: [0, Number.MAX_VALUE, false],
  lambda_l2: [0, Number.MAX_VALUE, false],
  min_gain_to_split: [0, Number.MAX_VALUE, false],
  feature_fraction: [Number.MIN_VALUE, 1, false],
  bagging_fraction: [Number.MIN_VALUE, 1, false],
  max_bin: [2, 255, true],
  bin_sample_size: [1, 1e8, true],
  early_stopping_rounds: [0, 1e6, true],
  seed: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true],
  threads: [1, 256, true],
};

const FOREST_RULES: Record<keyof ForestParams, Rule> = {
  num_trees: [1, 65535, true],
  max_depth: [1, 30, true],
  num_leaves: [0, 1 << 17, true],
  max_features: [0, 1e6, true],
  min_data_in_leaf: [1, Number.MAX_SAFE_INTEGER, false],
  lambda_l2: [0, Number.MAX_VALUE, false],
  sample_fraction: [Number.MIN_VALUE, 10, false],
  max_bin: [2, 255, true],
  bin_sample_size: [1, 1e8, true],
  seed: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true],
  threads: [1, 256, true],
};

/** A rule's range in words: its bounds as written, without the doubles' extremes that stand for "above 0" and "no
 * upper bound" (`huber_delta 0` was told "must be a number in [5e-324, 1.7976931348623157e+308]"). */
function ruleText([min, max, integer]: Rule): string {
  const what = integer ? 'an integer' : 'a number';
  const above = min === Number.MIN_VALUE;
  if (max === Number.MAX_VALUE) return above ? `${what} greater than 0` : `${what} of at least ${min}`;
  return `${what} in ${above ? '(0' : `[${min}`}, ${max}]`;
}

function check(name: string, v: unknown, rule: Rule): number {
  const [min, max, integer] = rule;
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max && (!integer || Number.isInteger(v));
  if (!ok) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `${name} must be ${ruleText(rule)} (got ${JSON.stringify(v)})`);
  return v;
}

function resolve<T extends object>(given: object, defaults: T, rules: Record<string, Rule>, kind: string): T {
  const out: Record<string, unknown> = { ...(defaults as Record<string, unknown>) };
  for (const [k, v] of Object.entries(given)) {
    if (v === undefined) continue;
    if (!(k in defaults)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `unknown ${kind} parameter ${JSON.stringify(k)}; known: ${Object.keys(defaults).join(', ')}`);
    out[k] = v;
  }
  for (const [k, rule] of Object.entries(rules)) out[k] = check(k, out[k], rule);
  return out as T;
}

const tweediePowerError = (rho: number): StockpipeError =>
  new StockpipeError('SP_ERR_TRAIN_PARAMS', `tweedie_variance_power must be strictly between 1 and 2 (got ${rho})`, { hint: '1 is Poisson (use objective poisson), 2 is Gamma; 1.5 is the default.' });

/** The log-link objectives' default max_delta_step (XGBoost's for count:poisson; LightGBM's poisson_max_delta_step). */
export const LOG_LINK_MAX_DELTA_STEP = 0.7;

/** Defaults filled in and every value checked. */
export function resolveGbdtParams(given: Partial<GbdtParams> = {}): GbdtParams {
  // Tweedie's power first: its range rule ([1, 2], the value is inert for other objectives) would name the wrong bounds.
  const power = given.tweedie_variance_power;
  if (given.objective === 'tweedie' && typeof power === 'number' && !(power > 1 && power < 2)) throw tweediePowerError(power);
  const p: GbdtParams = { ...resolve(given, GBDT_DEFAULTS, GBDT_RULES, 'gbdt') };
  if (typeof p.objective !== 'string' || !isObjectiveName(p.objective)) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `objective must be one of: ${OBJECTIVE_NAMES.join(', ')} (got ${JSON.stringify(p.objective)})`);
  const rho = p.tweedie_variance_power;
  if (p.objective === 'tweedie' && !(rho > 1 && rho < 2)) throw tweediePowerError(rho);
  if ((p.objective === 'poisson' || p.objective === 'tweedie') && given.max_delta_step === undefined) p.max_delta_step = LOG_LINK_MAX_DELTA_STEP;
  if (typeof p.monotone_constraints !== 'string' || !/^$|^(-1|0|1)(,(-1|0|1))*$/.test(p.monotone_constraints)) {
    throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `monotone_constraints must be -1, 0 or 1 per input, comma-separated (got ${JSON.stringify(p.monotone_constraints)})`, { hint: 'e.g. "1,0": the prediction never falls as the first input rises; the second is free.' });
  }
  return p;
}

/** monotone_constraints for `features` inputs (null when none is constrained); SP_ERR_TRAIN_PARAMS when it names another number of inputs. */
export function monotoneOf(p: Pick<GbdtParams, 'monotone_constraints'>, features: number): Int8Array | null {
  if (p.monotone_constraints === '') return null;
  const c = Int8Array.from(p.monotone_constraints.split(',').map(Number));
  if (c.length !== features) throw new StockpipeError('SP_ERR_TRAIN_PARAMS', `monotone_constraints names ${c.length} inputs (${p.monotone_constraints}), the training set has ${features}`);
  return c.some((x) => x !== 0) ? c : null;
}

/** Defaults filled in and every value checked. */
export function resolveForestParams(given: Partial<ForestParams> = {}): ForestParams {
  return resolve(given, FOREST_DEFAULTS, FOREST_RULES, 'rf');
}

/** The params as stored in model.json: everything but threads (it does not change the model). */
export function storedParams(p: GbdtParams | ForestParams): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  const objective = 'objective' in p ? p.objective : null;
  for (const [k, v] of Object.entries(p)) {
    if (k === 'threads') continue;
    // Settings that do not apply are left out (an l2 model's params are those before the log-link objectives).
    if (k === 'tweedie_variance_power' && objective !== 'tweedie') continue;
    if (k === 'huber_delta' && objective !== 'huber') continue;
    if (k === 'max_delta_step' && (objective === 'l2' || objective === 'huber') && v === 0) continue;
    if (k === 'monotone_constraints' && v === '') continue;
    out[k] = v as number | string;
  }
  return out;
}
