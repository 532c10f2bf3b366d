/** @module registry/promote
 * Model comparison and the one promotion path (docs/models.md), used by `train` (both tasks), `models
 * promote`, the API's POST /models/:id/promote and the pipelines' register and retrain steps:
 * - an alias only takes a model of its kind (alias-kinds.ts; SP_ERR_PROMOTE_KIND, even forced);
 * - an empty alias takes the first model of its kind (outcome `first`, noted "first" in the history);
 * - otherwise the alias moves only when the candidate beats the holder on the same test slice (the
 *   holder re-scored on the candidate's slice by the caller's `rescore` when the data grew), unless
 *   forced (recorded as such).
 * Re-scoring needs the model files and the data: the caller passes it in (ml/rescore.ts), so the
 * registry reads and writes only the store. */
import { StockpipeError } from '../core/errors.js';
import { aliasFamily, assertAliasTakes, kindFamily } from './alias-kinds.js';
import { describeSlice, isBetter, metricDifferences, promotionDirection, sameTestSlice } from './compare.js';
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
 * models the Adj Close MAE (on the same slice, the same order as its skill against persistence). */
export function defaultPromoteMetric(kind: string): string {
  return kind === 'forecast' ? 'mae_adj_close' : 'rmse_log';
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
   * The holder's value of `metric` re-measured on the candidate's test slice (same rows, new data):
   * compared instead of its recorded value when the two recorded slices differ (the champion /
   * challenger evaluation a retrain on new data needs).
   */
  holderOnCandidateSlice?: { model_id: string; value: number };
}

/** The holder's `metric` on the candidate's test slice (NaN or undefined: not measurable). */
export type HolderRescorer = (candidate: ModelVersion, holder: ModelVersion, metric: string) => Promise<number | undefined>;

/** `m`'s own-kind value of `metric`, or null when absent or NaN. */
function ownMetric(m: ModelVersion, metric: string): number | null {
  const v = m.metrics[m.kind]?.[metric];
  return typeof v === 'number' && !Number.isNaN(v) ? v : null;
}

/** Each model's own-kind test metrics side by side, with b − a and which is better. */
export function compareModelVersions(reg: PromotionStore, a: string, b: string): ModelComparison {
  const side = (m: ModelVersion): ModelComparison['a'] => ({ id: m.id, kind: m.kind, metrics: m.metrics[m.kind] ?? {}, test_slice: m.test_slice });
  const sa = side(reg.getModel(a, { checkFiles: false }));
  const sb = side(reg.getModel(b, { checkFiles: false }));
  return { a: sa, b: sb, same_test_slice: sameTestSlice(sa.test_slice, sb.test_slice), differences: metricDifferences(sa.metrics, sb.metrics) };
}

/**
 * The one promotion entry point: checks the kind, re-scores the holder on the candidate's test slice
 * when their recorded slices differ (with `rescore`, outside the write transaction), then decides and
 * moves in one transaction (decidePromotion).
 */
export async function promote(reg: PromotionStore, candidateId: string, alias: string, opts: PromoteOptions & { rescore?: HolderRescorer } = {}): Promise<PromoteDecision> {
  const { rescore, ...rest } = opts;
  const cand = reg.getModel(candidateId);
  assertAliasTakes(alias, cand, reg.aliasFirstKind(alias));
  let holderOnCandidateSlice = rest.holderOnCandidateSlice;
  const holderId = reg.aliasTarget(alias);
  if (rescore !== undefined && rest.mode !== 'if-empty' && holderId !== null && holderId !== cand.id) {
    const holder = reg.getModel(holderId);
    if (kindFamily(holder.kind) === kindFamily(cand.kind) && !sameTestSlice(cand.test_slice, holder.test_slice)) {
      const value = await rescore(cand, holder, rest.metric ?? defaultPromoteMetric(cand.kind));
      if (value !== undefined && !Number.isNaN(value)) holderOnCandidateSlice = { model_id: holder.id, value };
    }
  }
  const d = decidePromotion(reg, cand.id, alias, { ...rest, holderOnCandidateSlice });
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
 * candidate takes it. Not better → outcome `kept`. Not comparable (different test slices, a missing
 * metric) → SP_ERR_PROMOTE_REFUSED. `force` promotes in both cases with reason 'forced'.
 */
export function decidePromotion(reg: PromotionStore, candidateId: string, alias: string, opts: PromoteOptions): PromoteDecision {
  return reg.transaction(() => {
    const cand = reg.getModel(candidateId);
    assertAliasTakes(alias, cand, reg.aliasFirstKind(alias));
    const metric = opts.metric ?? defaultPromoteMetric(cand.kind);
    const direction = promotionDirection(metric);
    const holderId = reg.aliasTarget(alias);
    const cv = ownMetric(cand, metric);
    const base = { alias, candidate: cand.id, champion_before: holderId, from: holderId, metric, candidate_value: cv, champion_value: null as number | null, same_test_slice: null as boolean | null, holder_rescored: false };
    const move = (reason: AliasReason, why?: string): AliasMove | null => {
      const note = why === undefined ? opts.note : opts.note === undefined ? why : `${opts.note} (${why})`;
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

    const rescored = opts.holderOnCandidateSlice?.model_id === holder.id && !sameTestSlice(cand.test_slice, holder.test_slice) ? opts.holderOnCandidateSlice.value : null;
    const hv = rescored ?? ownMetric(holder, metric);
    const same = rescored !== null || sameTestSlice(cand.test_slice, holder.test_slice);
    const decided = { champion_value: hv, same_test_slice: same, holder_rescored: rescored !== null };
    const label = `${metric} ${cv} (${cand.id}) vs ${hv} (${holder.id}, '${alias}'${rescored !== null ? `, re-scored on ${cand.id}'s test slice` : ''}); ${direction} is better`;
    let refusal: string;
    let comparable = false;
    if (!same) {
      refusal = `${cand.id} and ${holder.id} were evaluated on different test slices (${describeSlice(cand.test_slice)} vs ${describeSlice(holder.test_slice)}); re-evaluate both on the same slice to compare them`;
    } else if (cv === null || hv === null) {
      refusal = `${cv === null ? cand.id : holder.id} has no ${metric} for its own kind on the test slice`;
    } else if (isBetter(direction, cv, hv)) {
      return moved('promoted', `better: ${label}`, move(opts.trigger ?? 'auto'), decided);
    } else {
      refusal = `not better: ${label}`;
      comparable = true;
    }
    if (opts.force) return moved('promoted', `forced: ${refusal}`, move('forced', `forced: ${refusal}`), decided);
    if (comparable) return stay('kept', refusal, decided);
    throw new StockpipeError('SP_ERR_PROMOTE_REFUSED', `cannot promote ${cand.id} to '${alias}': ${refusal}`);
  });
}
