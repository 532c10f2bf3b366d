/** @module ml/forecast-train
 * Trains the day-ahead model (docs/models.md): one global gbdt over all symbols for the next trading
 * day's log return of Adj Close and one for its log1p(Volume) (boosted from persistence), on the
 * time split of ml/split cut on the target day (test = rows whose target day is on/after the 80th
 * percentile, validation = the 10% before, early stopping on validation; nothing is tuned on test),
 * then (protocol cv, the default) both boosters refitted on every pre-test row with the trees the
 * validation window chose. Scores the model and the baselines on the test rows — persistence (tomorrow = today) and, for
 * volume, the 20-day mean — with skill against persistence. Pure over the frame: no files, no
 * registry (ml/train-forecast-run does those). */
import { StockpipeError } from '../core/errors.js';
import { collectGarbage } from '../core/gc.js';
import type { Progress } from '../core/progress.js';
import { civilFromDays } from '../core/calendar.js';
import { logRatio } from '../features/lagged.js';
import type { ForecastFrame, InputSink } from './forecast-dataset.js';
import { scoreForecast, type ForecastModel } from './forecast-model.js';
import { binForecast, fillTarget, fitForecastVolume, inputs, range, size, type Range, type VolumeChoice } from './forecast-slices.js';
import { trainGbdt, type BinnedSets, type GbdtResult } from './gbdt/booster.js';
import { binColumn } from './gbdt/binning.js';
import { binSet, emptyBinned, featureEdges, sharedFloat64Array, type IterationInfo, type TrainSet } from './gbdt/dataset.js';
import type { BinnedMatrix } from './gbdt/histogram.js';
import { resolveGbdtParams } from './gbdt/params.js';
import { forecastMetrics, withSkill } from './metrics/forecast.js';
import { parseDay } from './split.js';
import { makeSlicesFromDays, STUDY_CUT_HINT } from './train.js';
import { FORECAST_VOLUME_LOSS } from './forecast-loss.js';
import type { GbdtParams } from './gbdt/params.js';
import { gbdtParams, type TreeTrainParams } from './tree-train.js';

export interface ForecastTrainParams extends TreeTrainParams {
  /** First test (target) day, YYYY-MM-DD; default: the 80th percentile of the target days. */
  testFrom?: string;
  /** A logical date: train on the rows dated up to it only (`train --task forecast --date D`). */
  until?: string;
  /** The volume booster's settings from a study (`--params-from`, ml/tune/forecast) instead of the tree flags; `record`: what the params record of it. */
  volume?: VolumeChoice & { record: Record<string, unknown> };
  /** The volume booster's learning rate when its loss is the default (FORECAST_VOLUME_LOSS): `--learning-rate` as given. */
  volumeLearningRate?: number;
  /** `cv` (default): both boosters early-stopped on the validation window, then refitted on every
   * pre-test row with the trees that chose; `holdout`: the early-stopped boosters are the model. */
  protocol?: 'cv' | 'holdout';
}

/** What metrics.json, card.md and `train --json` say about the day-ahead model's protocol. */
export interface ForecastProtocol {
  name: 'cv' | 'holdout';
  /** One line for people. */
  label: string;
  /** The volume booster's trees (chosen on the validation window), and the Adj Close booster's. */
  trees: number;
  trees_adj_close: number;
  /** Rows the final volume booster was fitted on (the train slice, or every pre-test row after the refit; a study's window of them). */
  rows_fit: number;
}

export interface ForecastOutcome {
  model: ForecastModel;
  rows_train: number;
  rows_valid: number;
  rows_test: number;
  /** The validation window (target days, first and last) promotion compares on, or null when empty. */
  valid_window: { from: string; to: string; rows: number } | null;
  /** Rows left out because the symbol's next bar was not the next NYSE trading day. */
  rows_skipped_gaps: number;
  split: { kind: 'time'; test_from: string | null; valid_from: string | null; leaky: false; on: 'target_day' };
  test: { date_min: string; date_max: string; rows: number };
  /** Test metrics keyed by model: forecast (this model), persistence, vol_ma_20. */
  metrics: Record<string, Record<string, number>>;
  valid_metrics: Record<string, number> | null;
  train_seconds: number;
  training_log: string;
  best_iteration: { adj_close: number; volume: number };
  params: Record<string, unknown>;
  protocol: ForecastProtocol;
}

/** The volume booster's settings: FORECAST_VOLUME_LOSS (Huber, its δ and learning rate) over the tree flags,
 * `--huber-delta` and `--learning-rate` when given; another `objective` (l2) with the tree flags as given. */
export function forecastVolumeParams(p: ForecastTrainParams): Partial<GbdtParams> {
  const given = gbdtParams(p);
  if (p.objective !== undefined && p.objective !== FORECAST_VOLUME_LOSS.objective) return given;
  return { ...given, ...FORECAST_VOLUME_LOSS, ...(p.huberDelta === undefined ? {} : { huber_delta: p.huberDelta }), ...(p.volumeLearningRate === undefined ? {} : { learning_rate: p.volumeLearningRate }) };
}

const f = (x: number | null): string => (x === null ? '-' : x.toPrecision(8));

/** The time split of the training rows as ranges (train, validation, test) and its cut days. */
function split(frame: ForecastFrame, testFrom: string | undefined): { train: Range; valid: Range; test: Range; testFrom: number | null; validFrom: number | null } {
  return splitDays(frame.set.targetDay, testFrom);
}

function splitDays(targetDay: Int32Array, testFrom: string | undefined): { train: Range; valid: Range; test: Range; testFrom: number | null; validFrom: number | null } {
  const s = makeSlicesFromDays(targetDay, testFrom);
  return { train: range(s.train), valid: range(s.valid), test: range(s.test), testFrom: s.testFrom, validFrom: s.validFrom };
}

/** Where training cuts the rows (sorted by target day) at `testFrom`: the starts of the validation and
 * test slices — ml/forecast-dataset's block cuts, so that the training rows' inputs can be released. */
export function forecastSplitCuts(testFrom: string | undefined): (targetDay: Int32Array) => number[] {
  return (targetDay) => {
    if (targetDay.length === 0) return []; // no row: training refuses the frame (SP_ERR_TRAIN_DATA)
    // Counts, not the slices' own bounds: an empty slice (a --test-from past the data) still cuts in order.
    const s = makeSlicesFromDays(targetDay, testFrom);
    return [s.train.length, s.train.length + s.valid.length];
  };
}

/** One cut, where the test slice at `testFrom` starts: the loader can then skip every pre-test row's inputs
 * (ml/forecast-dataset's 'skip'), as `evaluate`, which scores the test slice only, does. */
export function forecastTestCut(testFrom: string | undefined): (targetDay: Int32Array) => number[] {
  return (targetDay) => {
    if (targetDay.length === 0) return [];
    const s = makeSlicesFromDays(targetDay, testFrom);
    return [s.train.length + s.valid.length];
  };
}

/** Training bins made while the frame loads: the edges and the training rows' binned matrix. */
export interface TrainBins {
  edges: Float64Array[];
  train: BinnedMatrix;
}

/**
 * Cuts at the split and an InputSink that bins the training rows' inputs as the loader hands them
 * over (the edges and bins binSets would make from the whole columns: the same model), keeping
 * log_volume only. `bins()`: the result, handed over (the sink keeps no reference, so that training can
 * let go of it), or null when the loader kept the inputs instead.
 */
export function streamedTrainBins(testFrom: string | undefined, p: TreeTrainParams, features: readonly string[], perPass = 7): { cuts: (targetDay: Int32Array) => number[]; sink: InputSink; bins(): TrainBins | null } {
  const gp = resolveGbdtParams(gbdtParams(p));
  let trainRows = -1;
  let out: TrainBins | null = null;
  let taken = 0;
  return {
    cuts: (targetDay) => {
      const c = forecastSplitCuts(testFrom)(targetDay);
      trainRows = c[0]!;
      return c;
    },
    sink: {
      perPass,
      take(f, column, lo, hi) {
        // Only the training rows, whole, in feature order: anything else stays in the frame as read.
        if (lo !== 0 || hi !== trainRows || f !== taken) return true;
        out ??= { edges: [], train: emptyBinned(hi, features.length) };
        const e = featureEdges(column, f, gp.max_bin, gp.bin_sample_size, gp.seed);
        out.edges.push(e);
        binColumn(column, e, out.train.bins, f * hi);
        taken++;
        return features[f] === 'log_volume';
      },
    },
    bins: () => {
      const b = out !== null && taken === features.length ? out : null;
      out = null;
      return b;
    },
  };
}

/** Metrics of the model and the baselines on the rows `r`, with skill against persistence. */
function evaluate(model: ForecastModel, frame: ForecastFrame, r: Range): Record<string, Record<string, number>> {
  const n = r.hi - r.lo;
  const y = { adjClose: new Float64Array(n), ret: new Float64Array(n), volume: new Float64Array(n) };
  const lastAdj = new Float64Array(n);
  const lastVol = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const i = frame.set.row[r.lo + k]!;
    y.adjClose[k] = frame.adjClose[i + 1]!;
    y.ret[k] = logRatio(frame.adjClose[i + 1]!, frame.adjClose[i]!);
    y.volume[k] = frame.volume[i + 1]!;
    lastAdj[k] = frame.adjClose[i]!;
    lastVol[k] = frame.volume[i]!;
  }
  const pred = scoreForecast(model, inputs(frame, model.featureNames, r), lastAdj);
  const persistence = forecastMetrics(y, { adjClose: lastAdj, ret: new Float64Array(n), volume: lastVol });
  return {
    forecast: withSkill(forecastMetrics(y, pred), persistence),
    persistence: withSkill(persistence, persistence),
    vol_ma_20: withSkill(forecastMetrics(y, { volume: Float64Array.from(frame.set.ma20.subarray(r.lo, r.hi)) }), persistence),
  };
}

/** The train and validation rows' bins as one matrix over both (train rows first, the same edges): the refit's rows. */
function joinBins(b: BinnedSets): BinnedMatrix {
  const t = b.train;
  const v = b.valid!;
  const n = t.rows + v.rows;
  const m = emptyBinned(n, t.features);
  for (let f = 0; f < t.features; f++) {
    m.bins.set(t.bins.subarray(f * t.rows, (f + 1) * t.rows), f * n);
    m.bins.set(v.bins.subarray(f * v.rows, (f + 1) * v.rows), f * n + t.rows);
  }
  return m;
}

/** Bins made while loading, with the validation rows binned on their edges. */
function withValidBins(frame: ForecastFrame, t: TrainBins, train: Range, valid: Range | null): BinnedSets {
  if (train.lo !== 0 || t.train.rows !== size(train) || t.edges.length !== frame.set.features.length) throw new StockpipeError('SP_ERR_INTERNAL', `the bins made while loading hold ${t.train.rows} rows, the training slice ${size(train)}`);
  return { edges: t.edges, train: t.train, valid: valid ? binSet(inputs(frame, frame.set.features, valid), t.edges) : null };
}

const dayRange = (frame: ForecastFrame, r: Range): { date_min: string; date_max: string; rows: number } => ({ date_min: civilFromDays(frame.set.targetDay[r.lo]!), date_max: civilFromDays(frame.set.targetDay[r.hi - 1]!), rows: r.hi - r.lo });

/** `trainBins`: the training rows' bins made while loading (streamedTrainBins), for the split at p.testFrom. */
export async function trainForecastModel(frame: ForecastFrame, p: ForecastTrainParams, hooks: { progress: Progress; signal?: AbortSignal }, trainBins?: TrainBins | null): Promise<ForecastOutcome> {
  const rows = frame.set;
  if (rows.row.length === 0) {
    // Rows with history whose next bar is never the next trading day: weekly or otherwise sparse bars.
    const gaps = rows.skippedGaps > 0 ? `: the ${rows.skippedGaps} rows with enough history are each followed by a bar later than the next NYSE trading day` : '';
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${frame.path} has no row with complete lagged columns and a next trading day${gaps}`, {
      hint: gaps === '' ? 'Symbols need more than 21 rows of history (before --date, when it is given: a later --date may have them).' : 'The day-ahead model learns from daily bars: a symbol\'s bars on consecutive NYSE trading days (weekly or sparse bars give it no example).',
    });
  }
  const s = split(frame, p.testFrom);
  if (size(s.train) === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no training rows before the test slice (test from ${s.testFrom === null ? '?' : civilFromDays(s.testFrom)})`, { hint: p.volume === undefined ? 'Use a later --test-from or fewer --test-days, or more history.' : STUDY_CUT_HINT });
  if (size(s.test) === 0) {
    // With --date the rows end there, however far the table reaches: "the data's last day" would send the user to the wrong one.
    const last = civilFromDays(rows.targetDay.reduce((m, d) => Math.max(m, d), -Infinity));
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `the test slice is empty: no row's target day is on or after ${s.testFrom === null ? '?' : civilFromDays(s.testFrom)} (the last is ${last}${p.until === undefined ? '' : `: the rows end at --date ${p.until}`})`, {
      hint: p.until === undefined ? `Use an earlier --test-from (on or before ${last}).` : `Use a --test-from on or before ${last}, or a later --date (\`--test-days N\` tests on the last N trading days up to --date).`,
    });
  }
  const t0 = performance.now();
  const featureNames = [...rows.features];
  const logVolume = featureNames.indexOf('log_volume');
  if (logVolume < 0) throw new StockpipeError('SP_ERR_INTERNAL', 'the day-ahead inputs lack log_volume (the volume model\'s offset)');
  const hasValid = size(s.valid) > 0;
  const lines: string[] = [];
  // One booster at a time, on the same bins (made once, feature by feature); the training rows'
  // inputs are let go of as they are binned (but log_volume, the volume target's offset) unless the
  // volume booster trains on a window of them (a study's choice), which bins its rows again.
  // The second booster refills the first one's target buffers. All of it is let go of before the
  // slices are scored.
  let work: { binned: BinnedSets; yTrain: Float64Array; yValid: Float64Array | null } | null = {
    binned: trainBins ? withValidBins(frame, trainBins, s.train, hasValid ? s.valid : null) : binForecast(frame, s.train, hasValid ? s.valid : null, gbdtParams(p), p.volume?.windowDays === undefined),
    yTrain: sharedFloat64Array(size(s.train)),
    yValid: hasValid ? sharedFloat64Array(size(s.valid)) : null,
  };
  // `work` holds the bins now: this reference would keep them alive through the refit.
  trainBins = null;
  const onIterationOf = (): ((it: IterationInfo) => void) => (it) => {
    lines.push(`${it.iteration} ${f(it.train_loss)} ${f(it.valid_loss)}`);
    hooks.progress.update(it.iteration);
  };
  /** A step of training shown as progress (`total` trees), stopped however it ends. */
  const step = async <T>(label: string, total: number, run: () => Promise<T>): Promise<T> => {
    hooks.progress.start(label, total);
    try {
      return await run();
    } finally {
      hooks.progress.stop();
    }
  };
  const fit = async (name: string, which: 'ret' | 'volume', transform: 'identity' | 'log1p', what: string): Promise<GbdtResult> => {
    const w = work!;
    const y = fillTarget(frame, s.train, which, w.yTrain);
    const vy = w.yValid ? fillTarget(frame, s.valid, which, w.yValid) : null;
    lines.push(`# ${name}: gbdt on ${size(s.train)} rows, target ${what}; iteration train_loss valid_loss (mean squared error on the target)`);
    // The bins stand in for the input columns.
    const train: TrainSet = { columns: [], y, featureNames, targetTransform: transform };
    const valid: TrainSet | null = vy ? { columns: [], y: vy, featureNames, targetTransform: transform } : null;
    // --objective is the volume booster's: the Adj Close booster stays l2.
    const r = await step(`train forecast ${name}`, p.trees, () => trainGbdt(train, valid, { ...gbdtParams(p), objective: 'l2' }, { onIteration: onIterationOf(), signal: hooks.signal }, w.binned));
    lines.push(`# best iteration ${r.best_iteration} of ${r.iterations}; initial train loss ${f(r.initial_train_loss)}`);
    return r;
  };
  const ret = await fit('adj_close', 'ret', 'identity', 'ln(AdjClose_t+1 / AdjClose_t)');
  // The first booster's engine buffers (≈ 20 bytes a training row), before the second allocates its own.
  collectGarbage();
  // The volume booster: the tree flags, or a study's choice (ml/forecast-slices: what the study scored).
  const vp = p.volume === undefined ? forecastVolumeParams(p) : { ...p.volume.params, threads: Math.max(1, p.threads) };
  const choice = p.volume ?? {};
  const volObjective = vp.objective ?? 'l2';
  lines.push(`# volume: gbdt, target log1p(Volume_t+1) - log1p(Volume_t), i.e. boosting from persistence, objective ${volObjective}${p.volume === undefined ? '' : `; settings of ${JSON.stringify(p.volume.record)}`}; iteration train_loss valid_loss (mean ${volObjective === 'l2' ? 'squared error' : `${volObjective} loss`} on the target)`);
  // `work!` read inside the call: a local copy of it would keep the bins alive through the refit.
  const { result: vol, train: volRows } = await step('train forecast volume', vp.num_trees ?? p.trees, () => fitForecastVolume(frame, s.train, hasValid ? s.valid : null, vp, choice, { onIteration: onIterationOf(), signal: hooks.signal }, work!.binned, { train: work!.yTrain, valid: work!.yValid }));
  lines.push(`# best iteration ${vol.best_iteration} of ${vol.iterations} on ${size(volRows)} rows; initial train loss ${f(vol.initial_train_loss)}`);
  const chosen: ForecastModel = { featureNames, adjClose: ret.model, volume: vol.model };
  // What promotion compares: the early-stopped boosters on the validation window (held out from them).
  const valid = hasValid ? evaluate(chosen, frame, s.valid).forecast! : null;
  let model = chosen;
  let rowsFit = size(s.train);
  if ((p.protocol ?? 'cv') === 'cv' && hasValid) {
    // The refit: every pre-test row (train + validation), each booster with the trees the validation
    // window chose, no early stopping; the same edges. The two slices' bins become one matrix
    // before their own are let go of; the target buffers and the boosters' engine buffers are
    // collected first, so that only the bins are held twice while they are copied.
    const all: Range = { lo: s.train.lo, hi: s.valid.hi };
    let slices: BinnedSets | null = work.binned;
    work = null;
    collectGarbage();
    const joined: BinnedSets = { edges: slices.edges, train: joinBins(slices), valid: null };
    slices = null;
    collectGarbage();
    const y = sharedFloat64Array(size(all));
    const refitHooks = { onIteration: onIterationOf(), signal: hooks.signal };
    lines.push(`# adj_close refit: gbdt on ${size(all)} rows (every pre-test row), ${ret.best_iteration} trees (the best iteration on the validation window); iteration train_loss`);
    const adj = await step('train forecast adj_close refit', ret.best_iteration, () => trainGbdt({ columns: [], y: fillTarget(frame, all, 'ret', y), featureNames, targetTransform: 'identity' }, null, { ...gbdtParams(p), objective: 'l2', num_trees: ret.best_iteration, early_stopping_rounds: 0 }, refitHooks, joined));
    collectGarbage();
    lines.push(`# volume refit: gbdt on ${size(all)} rows (every pre-test row${p.volume?.windowDays === undefined ? '' : `, the study's window of them`}), ${vol.best_iteration} trees (the best iteration on the validation window), objective ${volObjective}; iteration train_loss`);
    const volFit = await step('train forecast volume refit', vol.best_iteration, () => fitForecastVolume(frame, all, null, { ...vp, num_trees: vol.best_iteration, early_stopping_rounds: 0 }, choice, refitHooks, joined, { train: y, valid: null }));
    model = { featureNames, adjClose: adj.model, volume: volFit.result.model };
    rowsFit = size(volFit.train);
  }
  work = null;
  collectGarbage();
  const trainSeconds = (performance.now() - t0) / 1000;
  const metrics = evaluate(model, frame, s.test);
  const refitted = model !== chosen;
  const protocol: ForecastProtocol = {
    name: refitted ? 'cv' : 'holdout',
    label: refitted
      ? `cv, 1 fold: the validation window (target days ${civilFromDays(rows.targetDay[s.valid.lo]!)}..${civilFromDays(rows.targetDay[s.valid.hi - 1]!)}) chose the trees (Adj Close ${ret.best_iteration}, volume ${vol.best_iteration}); both boosters refitted on the ${size(s.train) + size(s.valid)} pre-test rows${rowsFit < size(s.train) + size(s.valid) ? ` (the volume booster on the study's window of ${rowsFit})` : ''}`
      : `holdout: early-stopped on the validation window${hasValid ? '' : ' (empty: no early stopping)'}, fitted on the ${size(volRows)} training rows`,
    trees: vol.best_iteration,
    trees_adj_close: ret.best_iteration,
    rows_fit: rowsFit,
  };
  return {
    model,
    rows_train: size(s.train),
    rows_valid: size(s.valid),
    rows_test: size(s.test),
    valid_window: size(s.valid) > 0 ? { from: civilFromDays(rows.targetDay[s.valid.lo]!), to: civilFromDays(rows.targetDay[s.valid.hi - 1]!), rows: size(s.valid) } : null,
    rows_skipped_gaps: rows.skippedGaps,
    split: { kind: 'time', test_from: s.testFrom === null ? null : civilFromDays(s.testFrom), valid_from: s.validFrom === null ? null : civilFromDays(s.validFrom), leaky: false, on: 'target_day' },
    test: dayRange(frame, s.test),
    metrics,
    valid_metrics: valid,
    train_seconds: Math.round(trainSeconds * 1000) / 1000,
    training_log: `${lines.join('\n')}\n`,
    best_iteration: { adj_close: ret.best_iteration, volume: vol.best_iteration },
    protocol,
    params: { task: 'forecast', split: 'time', protocol: protocol.name, features: featureNames.join(','), adj_close_target: 'log_return', volume_target: 'log1p', volume_boost_from: 'persistence', ...ret.model.params, ...(p.volume === undefined && volObjective === 'l2' ? {} : { volume_params: vol.model.params }), ...(p.volume === undefined ? {} : p.volume.record) },
  };
}

/**
 * A trained forecast model's metrics (with skill) next to the baselines (persistence, vol_ma_20)
 * on the test slice of `frame` cut at `testFrom` — the rows a candidate trained on this frame was
 * tested on: re-scores a champion on new data, and `evaluate` re-scores a forecast model.
 */
export function scoreForecastOnTestSlice(model: ForecastModel, frame: ForecastFrame, testFrom: string | null, whose?: { modelId: string; trainedOn: number | null }): { metrics: Record<string, Record<string, number>>; test: { date_min: string; date_max: string; rows: number } } {
  const s = split(frame, testFrom ?? undefined);
  if (size(s.test) === 0) {
    const asOf = whose === undefined ? '' : whose.trainedOn === null ? ` (\`stockpipe evaluate ${whose.modelId} --as-of <snapshot>\`)` : `: \`stockpipe evaluate ${whose.modelId} --as-of ${whose.trainedOn}\``;
    throw new StockpipeError('SP_ERR_TRAIN_DATA', `${whose === undefined ? 'the model' : `model ${whose.modelId}`}'s test slice is empty in ${frame.path}: no row's target day is on or after ${s.testFrom === null ? '?' : civilFromDays(s.testFrom)}`, {
      hint: `The features table no longer reaches the model's test slice (the data was replaced by shorter data); score it on the snapshot it was trained on${asOf}.`,
    });
  }
  return { metrics: evaluate(model, frame, s.test), test: dayRange(frame, s.test) };
}

/**
 * A trained forecast model's own metrics on the rows of `frame` whose target day lies in
 * [from, to] (YYYY-MM-DD): a validation window promotion compares on. Null when no row is there.
 */
export function scoreForecastOnDays(model: ForecastModel, frame: ForecastFrame, from: string, to: string): Record<string, number> | null {
  const days = frame.set.targetDay;
  const lo = parseDay(from, 'window start');
  const hi = parseDay(to, 'window end');
  // The rows are sorted by target day: the window is one range.
  let a = 0;
  while (a < days.length && days[a]! < lo) a++;
  let b = a;
  while (b < days.length && days[b]! <= hi) b++;
  if (b === a) return null;
  return evaluate(model, frame, { lo: a, hi: b }).forecast!;
}
