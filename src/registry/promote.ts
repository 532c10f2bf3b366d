/** @module registry/promote
 * Model comparison and promotion: an alias moves to a candidate only when it beats the current holder
 * on the same test slice, unless forced (recorded as such). Reads and writes through the Registry. */
import { StockpipeError } from '../core/errors.js';
import { describeSlice, isBetter, metricDifferences, promotionDirection, sameTestSlice } from './compare.js';
import type { Registry } from './store.js';
import type { AliasMove, AliasReason, ModelComparison, ModelVersion, PromoteDecision } from './types.js';

/** The metric promotion compares by default: rmse_log for volume models; for day-ahead (`forecast`)
 * models the Adj Close MAE (on the same slice, the same order as its skill against persistence). */
export function defaultPromoteMetric(kind: string): string {
  return kind === 'forecast' ? 'mae_adj_close' : 'rmse_log';
}

export interface PromoteOptions {
  /** Compared on each model's own kind (default defaultPromoteMetric(kind); lower is better for mae/rmse, higher for r2/skill). */
  metric?: string;
  /** Promote even when not better or not comparable; recorded with reason 'forced'. */
  force?: boolean;
  /** The reason recorded for a regular promotion: 'auto' (pipelines, default) or 'manual' (a person). */
  trigger?: 'auto' | 'manual';
  actor?: string;
  note?: string;
  /**
   * The holder's value of `metric` re-measured on the candidate's test slice (same rows, new data):
   * compared instead of its recorded value when the two recorded slices differ (the champion /
   * challenger evaluation a retrain on new data needs).
   */
  holderOnCandidateSlice?: { model_id: string; value: number };
}

/** `m`'s own-kind value of `metric`, or null when absent or NaN. */
function ownMetric(m: ModelVersion, metric: string): number | null {
  const v = m.metrics[m.kind]?.[metric];
  return typeof v === 'number' && !Number.isNaN(v) ? v : null;
}

/** Each model's own-kind test metrics side by side, with b − a and which is better. */
export function compareModelVersions(reg: Registry, a: string, b: string): ModelComparison {
  const side = (m: ModelVersion): ModelComparison['a'] => ({ id: m.id, kind: m.kind, metrics: m.metrics[m.kind] ?? {}, test_slice: m.test_slice });
  const sa = side(reg.getModel(a, { checkFiles: false }));
  const sb = side(reg.getModel(b, { checkFiles: false }));
  return { a: sa, b: sb, same_test_slice: sameTestSlice(sa.test_slice, sb.test_slice), differences: metricDifferences(sa.metrics, sb.metrics) };
}

/**
 * Moves `alias` to the candidate when it beats the current holder on the same test slice, or when no
 * model holds it. Not better → {promoted: false}. Not comparable (different test slices, a missing
 * metric) → SP_ERR_PROMOTE_REFUSED. `force` promotes in both cases with reason 'forced'.
 * Read and write happen in one IMMEDIATE transaction, so two concurrent promotions serialise.
 */
export function promote(reg: Registry, candidateId: string, alias: string, opts: PromoteOptions): PromoteDecision {
  return reg.transaction(() => {
    const cand = reg.getModel(candidateId);
    const metric = opts.metric ?? defaultPromoteMetric(cand.kind);
    const direction = promotionDirection(metric);
    const holderId = reg.aliasTarget(alias);
    const cv = ownMetric(cand, metric);
    const base = { alias, candidate: cand.id, champion_before: holderId, metric, candidate_value: cv, champion_value: null as number | null, same_test_slice: null as boolean | null, holder_rescored: false };
    const move = (reason: AliasReason, why?: string): AliasMove | null => {
      const note = why === undefined ? opts.note : opts.note === undefined ? why : `${opts.note} (${why})`;
      return reg.setAlias(alias, cand.id, reason, { actor: opts.actor, note });
    };
    if (holderId === cand.id) return { ...base, promoted: false, reason: `${cand.id} already holds '${alias}'`, move: null };
    if (holderId === null) return { ...base, promoted: true, reason: `no model held '${alias}'`, move: move(opts.trigger ?? 'auto') };

    const holder = reg.getModel(holderId, { checkFiles: false });
    const rescored = opts.holderOnCandidateSlice?.model_id === holder.id && !sameTestSlice(cand.test_slice, holder.test_slice) ? opts.holderOnCandidateSlice.value : null;
    const hv = rescored ?? ownMetric(holder, metric);
    const same = rescored !== null || sameTestSlice(cand.test_slice, holder.test_slice);
    const decided = { ...base, champion_value: hv, same_test_slice: same, holder_rescored: rescored !== null };
    const label = `${metric} ${cv} (${cand.id}) vs ${hv} (${holder.id}, '${alias}'${rescored !== null ? `, re-scored on ${cand.id}'s test slice` : ''}); ${direction} is better`;
    let refusal: string;
    let comparable = false;
    if (!same) {
      refusal = `${cand.id} and ${holder.id} were evaluated on different test slices (${describeSlice(cand.test_slice)} vs ${describeSlice(holder.test_slice)}); re-evaluate both on the same slice to compare them`;
    } else if (cv === null || hv === null) {
      refusal = `${cv === null ? cand.id : holder.id} has no ${metric} for its own kind on the test slice`;
    } else if (isBetter(direction, cv, hv)) {
      return { ...decided, promoted: true, reason: `better: ${label}`, move: move(opts.trigger ?? 'auto') };
    } else {
      refusal = `not better: ${label}`;
      comparable = true;
    }
    if (opts.force) return { ...decided, promoted: true, reason: `forced: ${refusal}`, move: move('forced', `forced: ${refusal}`) };
    if (comparable) return { ...decided, promoted: false, reason: refusal, move: null };
    throw new StockpipeError('SP_ERR_PROMOTE_REFUSED', `cannot promote ${cand.id} to '${alias}': ${refusal}`);
  });
}
