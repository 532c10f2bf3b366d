/** @module registry/promote
 * Model comparison and the one promotion path (docs/models.md), used by `train` (both tasks), `models
 * promote`, the API's POST /models/:id/promote and the pipelines' register and retrain steps:
 * - an alias only takes a model of its kind (alias-kinds.ts; SP_ERR_PROMOTE_KIND, even forced);
 * - an empty alias takes the first model of its kind (outcome `first`, noted "first" in the history);
 * - otherwise the alias moves only when the candidate beats the holder on its selection score
 *   (docs/models.md: the backtest over the pre-test folds, or a validation window held out before the test
 *   slice; never the test slice). When the two were scored on different rows (the data grew, a
 *   different protocol, a holder trained before the protocol), the caller's `rescore` measures the
 *   holder on the candidate's selection rows — unless the candidate was trained by the holder's own
 *   procedure on newer data (compare.ts `sameProcedureOnNewerData`: the backtest cannot tell them apart,
 *   and the holder's refit has seen those rows), which promotes it; forced promotions are recorded as such.
 * Re-scoring needs the model files and the data: the caller passes it in (ml/rescore.ts), so the
 * registry reads and writes only the store. */
import { StockpipeError } from '../core/errors.js';
import { aliasFamily, assertAliasTakes, kindFamily } from './alias-kinds.js';
import { checkMetricForKind, describeSelection, isBetter, metricDifferences, metricDirection, promotionDirection, sameProcedureOnNewerData, sameSelection, sameTestSlice } from './compare.js';
import type { AliasMove, AliasReason, ModelComparison, ModelKind, ModelVersion, PromoteDecision, PromoteOutcome } from './types.js';

/** The part of store.ts's Registry promotion uses (declared here: the store calls into this file). */
export interface PromotionStore {
  getModel(idOrAlias: string, opts?: { checkFiles?: boolean }): ModelVersion;
  aliasTarget(alias: string): string | null;
  aliasFirstKind(alias: string): ModelKind | null;
  setAlias(alias: string, modelId: string, reason: AliasReason, opts?: { note?: string; actor?: string }): AliasMove | null;
  transaction<T>(fn: () => T): T;
}

/** The metric promotion compares by default: rmse_log for volume models; for day-ahead (`forecast`)
 * models the volume MAE on the validation window (the same order as its volume skill against
 * persistence there, what `tune --task forecast` chooses by; the Adj Close booster, a random walk's,
 * hardly differs between two models). */
export function defaultPromoteMetric(kind: string): string {
  return kind === 'forecast' ? 'mae_volume' : 'rmse_log';
}

export interface PromoteOptions {
  /** Compared on each model's own kind (default defaultPromoteMetric(kind); lower is better for mae/rmse, higher for r2/skill). */
  metric?: string;
  /** Promote even when not better or not comparable; recorded with reason 'forced'. Never overrides the kind. */
  force?: boolean;
  /** The reason recorded for a regular promotion: 'auto' (pipelines, default) or 'manual' (a person). */
  trigger?: 'auto' | 'manual';
  actor?: string;
  note?: string;
  /**
   * 'if-better' (default): compare with the holder. 'if-empty' (plain `train`): take the alias only
   * when no model of its kind holds it; otherwise outcome `not_requested`, nothing compared.
   */
  mode?: 'if-better' | 'if-empty';
  /** A person asked (models promote, the API): a comparable candidate that is not better → SP_ERR_PROMOTE_REFUSED instead of `kept`. */
  refuseIfNotBetter?: boolean;
  /**
   * The holder's value of `metric` re-measured on the candidate's selection rows (and the
   * candidate's, when it had to be re-measured too): compared instead of the recorded scores when
   * the two recorded selections differ (the champion / challenger evaluation a retrain on new data needs).
   */
  holderOnCandidateSlice?: Rescored & { model_id: string };
  /** Why the re-scorer could not measure the holder (the data it reads), said in a refusal instead of a guess. */
  holderNotRescored?: Unmeasured & { model_id: string };
  /** Set by promote() when the holder's model.json is there but does not load (`loads` threw
   * SP_ERR_MODEL_FORMAT): why; such a holder is replaced as a missing one is. */
  holderUnloadable?: { model_id: string; why: string };
}

/** A re-scoring: the holder's value, the candidate's when re-measured too (else null), and where. */
export interface Rescored {
  value: number;
  candidate_value: number | null;
  /** The rows both values are on, in one phrase. */
  on: string;
}

/** Why a re-scoring could not be made (e.g. the features table lacks the columns the models read), and what to do. */
export interface Unmeasured {
  unmeasured: string;
  hint: string;
}

/** The holder (and, when needed, the candidate) measured on the candidate's selection rows (undefined or Unmeasured: not measurable). */
export type HolderRescorer = (candidate: ModelVersion, holder: ModelVersion, metric: string) => Promise<Rescored | Unmeasured | undefined>;

/** False when the model's folder no longer holds its model.json (getModel's file check fails). */
function holderLoadable(reg: PromotionStore, id: string): boolean {
  try {
    reg.getModel(id);
    return true;
  } catch (e) {
    if (e instanceof StockpipeError && e.code === 'SP_ERR_MODEL_MISSING') return false;
    throw e;
  }
}

/** `m`'s selection score for `metric`, or null when absent or NaN. */
function selectionMetric(m: ModelVersion, metric: string): number | null {
  const v = m.test_slice?.selection?.metrics[metric];
  return typeof v === 'number' && !Number.isNaN(v) ? v : null;
}

/** The candidate is the holder's procedure on newer data (compare.ts) with a backtest score for `metric`:
 * it takes the alias without a comparison. A metric its backtest lacks is refused as for any candidate. */
function isRetrain(cand: ModelVersion, holder: ModelVersion, metric: string): boolean {
  return selectionMetric(cand, metric) !== null && sameProcedureOnNewerData(cand.test_slice, holder.test_slice);
}

/** Each model's own-kind test metrics side by side, with b − a and which is better, and their backtest scores (what promotion compares). */
export function compareModelVersions(reg: PromotionStore, a: string, b: string): ModelComparison {
  const side = (m: ModelVersion): ModelComparison['a'] => ({ id: m.id, kind: m.kind, metrics: m.metrics[m.kind] ?? {}, test_slice: m.test_slice });
  const sa = side(reg.getModel(a, { checkFiles: false }));
  const sb = side(reg.getModel(b, { checkFiles: false }));
  const bt = (m: ModelComparison['a']): { on: string; metrics: Record<string, number> } => ({ on: describeSelection(m.test_slice?.selection), metrics: m.test_slice?.selection?.metrics ?? {} });
  const pa = sa.test_slice?.selection?.procedure;
  const retrain: 'a' | 'b' | null = sameProcedureOnNewerData(sb.test_slice, sa.test_slice) ? 'b' : sameProcedureOnNewerData(sa.test_slice, sb.test_slice) ? 'a' : null;
  const backtest = { a: bt(sa), b: bt(sb), same_rows: sameSelection(sa.test_slice?.selection, sb.test_slice?.selection), same_procedure: pa !== undefined && pa === sb.test_slice?.selection?.procedure, retrain, differences: metricDifferences(bt(sa).metrics, bt(sb).metrics) };
  return { a: sa, b: sb, same_test_slice: sameTestSlice(sa.test_slice, sb.test_slice), differences: metricDifferences(sa.metrics, sb.metrics), backtest };
}

/**
 * The one promotion entry point: checks the kind, re-scores the holder on the candidate's selection rows
 * when their recorded selections differ (with `rescore`, outside the write transaction), then decides and
 * moves in one transaction (decidePromotion).
 */
/** `loads`: throws SP_ERR_MODEL_FORMAT when a model's model.json does not load (ml/artifacts assertModelLoads): the
 * candidate is refused then, and a holder replaced. */
export async function promote(reg: PromotionStore, candidateId: string, alias: string, opts: PromoteOptions & { rescore?: HolderRescorer; loads?: (m: ModelVersion) => Promise<void> } = {}): Promise<PromoteDecision> {
  const { rescore, loads, ...rest } = opts;
  const cand = reg.getModel(candidateId);
  assertAliasTakes(alias, cand, reg.aliasFirstKind(alias));
  // A model.json nothing can load never takes an alias, forced or not (the server would refuse it).
  if (loads !== undefined) await loads(cand);
  if (rest.metric !== undefined) {
    promotionDirection(rest.metric);
    checkMetricForKind(rest.metric, cand.kind);
  }
  let holderOnCandidateSlice = rest.holderOnCandidateSlice;
  let holderNotRescored = rest.holderNotRescored;
  const holderId = reg.aliasTarget(alias);
  let holderUnloadable = rest.holderUnloadable;
  if (loads !== undefined && rest.mode !== 'if-empty' && holderId !== null && holderId !== cand.id && holderLoadable(reg, holderId)) {
    // A model.json that is there but does not parse cannot be served either (the API answers 503 for it).
    try {
      await loads(reg.getModel(holderId));
    } catch (err) {
      if (!(err instanceof StockpipeError && err.code === 'SP_ERR_MODEL_FORMAT')) throw err;
      holderUnloadable = { model_id: holderId, why: 'whose model.json does not load' };
    }
  }
  if (rescore !== undefined && rest.mode !== 'if-empty' && holderId !== null && holderId !== cand.id && holderLoadable(reg, holderId) && holderUnloadable?.model_id !== holderId) {
    const holder = reg.getModel(holderId);
    const metric = rest.metric ?? defaultPromoteMetric(cand.kind);
    const direct = sameSelection(cand.test_slice?.selection, holder.test_slice?.selection) && selectionMetric(cand, metric) !== null && selectionMetric(holder, metric) !== null;
    if (kindFamily(holder.kind) === kindFamily(cand.kind) && !direct && !isRetrain(cand, holder, metric)) {
      const r = await rescore(cand, holder, metric);
      if (r !== undefined && 'unmeasured' in r) holderNotRescored = { model_id: holder.id, ...r };
      else if (r !== undefined && !Number.isNaN(r.value) && (r.candidate_value === null || !Number.isNaN(r.candidate_value))) holderOnCandidateSlice = { model_id: holder.id, ...r };
    }
  }
  const d = decidePromotion(reg, cand.id, alias, { ...rest, holderOnCandidateSlice, holderNotRescored, holderUnloadable });
  if (rest.refuseIfNotBetter === true && d.outcome === 'kept' && d.from !== d.candidate) {
    throw new StockpipeError('SP_ERR_PROMOTE_REFUSED', `cannot promote ${d.candidate} to '${alias}': ${d.reason}`, {
      hint: 'Keep the current model, or force the promotion (--force; {"force": true} on the API), recorded as forced.',
    });
  }
  return d;
}

/**
 * The decision and the move, in one IMMEDIATE transaction (two concurrent promotions serialise).
 * Empty alias (or a holder of a kind the alias does not take, from before the kind rule) → the
 * candidate takes it. Not better → outcome `kept`. Not comparable (different backtest rows not re-scored, a missing
 * metric) → SP_ERR_PROMOTE_REFUSED. `force` promotes in both cases with reason 'forced'.
 */
export function decidePromotion(reg: PromotionStore, candidateId: string, alias: string, opts: PromoteOptions): PromoteDecision {
  return reg.transaction(() => {
    const cand = reg.getModel(candidateId);
    assertAliasTakes(alias, cand, reg.aliasFirstKind(alias));
    const metric = opts.metric ?? defaultPromoteMetric(cand.kind);
    const direction = promotionDirection(metric);
    const holderId = reg.aliasTarget(alias);
    const cs = cand.test_slice?.selection;
    const base = { alias, candidate: cand.id, champion_before: holderId, from: holderId, metric, candidate_value: selectionMetric(cand, metric), champion_value: null as number | null, same_test_slice: null as boolean | null, holder_rescored: false, candidate_rescored: false, compared: null as string | null };
    const move = (reason: AliasReason, why?: string): AliasMove | null => {
      const note = why === undefined ? opts.note : opts.note === undefined || opts.note === '' ? why : `${opts.note} (${why})`;
      return reg.setAlias(alias, cand.id, reason, { actor: opts.actor, note });
    };
    const stay = (outcome: PromoteOutcome, reason: string, extra: Partial<PromoteDecision> = {}): PromoteDecision => ({ ...base, ...extra, promoted: false, outcome, to: holderId, reason, move: null });
    const moved = (outcome: PromoteOutcome, reason: string, m: AliasMove | null, extra: Partial<PromoteDecision> = {}): PromoteDecision => ({ ...base, ...extra, promoted: true, outcome, to: cand.id, reason, move: m });

    if (holderId === cand.id) return stay('kept', `${cand.id} already holds '${alias}'`);
    if (holderId === null) return moved('first', `first model of its kind: no model held '${alias}'`, move(opts.trigger ?? 'auto', 'first'));
    const holder = reg.getModel(holderId, { checkFiles: false });
    const rule = aliasFamily(alias, reg.aliasFirstKind(alias));
    if (rule !== null && rule.family !== kindFamily(holder.kind)) {
      const why = `replaces ${holder.id}, a ${holder.kind} model '${alias}' does not take`;
      return moved('promoted', why, move(opts.trigger ?? 'auto', why));
    }
    if (opts.mode === 'if-empty') return stay('not_requested', `${holder.id} holds '${alias}'; not compared (not asked: use --promote-if-better)`);
    const unloadable = !holderLoadable(reg, holder.id) ? 'whose model.json is missing' : opts.holderUnloadable?.model_id === holder.id ? opts.holderUnloadable.why : null;
    if (unloadable !== null) {
      // A holder whose model.json is gone or does not load cannot be served (the API answers 503) nor re-scored: any loadable candidate replaces it.
      const why = `replaces ${holder.id}, ${unloadable} (it cannot be served)`;
      return moved('promoted', why, move(opts.trigger ?? 'auto', why));
    }

    const hs = holder.test_slice?.selection;
    if (!sameSelection(cs, hs) && isRetrain(cand, holder, metric)) {
      const compared = `the same training procedure as ${holder.id} (${cs!.procedure!.slice(0, 12)}) on newer data (to ${cand.test_slice!.date_max}, against ${holder.test_slice!.date_max}): its backtest is the holder's procedure's on these rows by construction`;
      const why = `retrained: ${compared}`;
      return moved('promoted', why, move(opts.trigger ?? 'auto', why), { compared, same_test_slice: false });
    }
    const r = opts.holderOnCandidateSlice?.model_id === holder.id ? opts.holderOnCandidateSlice : null;
    const same = r !== null || sameSelection(cs, hs);
    const cv = r?.candidate_value ?? selectionMetric(cand, metric);
    const hv = r !== null ? r.value : same ? selectionMetric(holder, metric) : null;
    const compared = `${metric} on ${r !== null ? r.on : describeSelection(cs)}`;
    const decided = { candidate_value: cv, champion_value: hv, same_test_slice: sameTestSlice(cand.test_slice, holder.test_slice), holder_rescored: r !== null, candidate_rescored: r !== null && r.candidate_value !== null, compared };
    // Six significant digits in words (candidate_value and champion_value keep every digit).
    const show = (x: number | null): string => (x === null ? 'none' : String(Number(x.toPrecision(6))));
    const label = `${compared}: ${show(cv)} (${cand.id}${decided.candidate_rescored ? ', re-scored' : ''}) vs ${show(hv)} (${holder.id}, '${alias}'${r !== null ? ', re-scored there' : ''}); ${direction} is better`;
    // The history row says which score was compared.
    const note = (why: string): string => `${why}; compared ${compared}`;
    let refusal: string;
    let hint: string | undefined;
    let comparable = false;
    const missing = (m: ModelVersion): string => {
      const has = Object.keys(m.test_slice?.selection?.metrics ?? {}).filter((k) => metricDirection(k) !== null);
      return has.length > 0
        ? `${m.id}'s backtest (${describeSelection(m.test_slice?.selection)}) has no metric ${metric}; it has ${has.join(', ')}${m.id === cand.id ? ` (a candidate is not re-scored for another metric: it may have been fitted on those rows; compare by ${has.join(' or ')})` : ''}`
        : `${m.id} has no backtest ${metric} (${describeSelection(m.test_slice?.selection)}; a random split has none)`;
    };
    if (cs != null && cv === null) {
      refusal = missing(cand);
    } else if (!same) {
      const notRescored = opts.holderNotRescored?.model_id === holder.id ? opts.holderNotRescored : undefined;
      refusal = `${cand.id} and ${holder.id} were not scored on the same rows (${describeSelection(cs)} vs ${describeSelection(hs)}) and the holder could not be re-scored on the candidate's rows${notRescored === undefined ? '; train both under the same protocol on a time split to compare them' : `: ${notRescored.unmeasured}`}`;
      hint = notRescored === undefined ? undefined : `${notRescored.hint} Then promote again, or force the promotion (--force; {"force": true} on the API), recorded as forced.`;
    } else if (cv === null || hv === null) {
      refusal = missing(cv === null ? cand : holder);
    } else if (isBetter(direction, cv, hv)) {
      return moved('promoted', `better: ${label}`, move(opts.trigger ?? 'auto', note('better')), decided);
    } else {
      refusal = `not better: ${label}`;
      comparable = true;
    }
    if (opts.force) return moved('promoted', `forced: ${refusal}`, move('forced', `forced: ${refusal}`), decided);
    if (comparable) return stay('kept', refusal, decided);
    throw new StockpipeError('SP_ERR_PROMOTE_REFUSED', `cannot promote ${cand.id} to '${alias}': ${refusal}`, { hint });
  });
}
