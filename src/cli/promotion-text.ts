/** @module cli/promotion-text
 * The one line people read about a promotion attempt (train, models promote, the pipelines' logs):
 * rendered from registry/promote's PromoteDecision; the decision itself lives in registry/. */
import type { PromoteDecision } from '../registry/types.js';

const num = (x: number | null, digits = 4): string => (x === null ? '-' : Number(x.toPrecision(digits)).toString());

/** "a → b" in 4 significant digits, or as many more as tell two different values apart (a win by 3e-6 read "0.7262 → 0.7262"). */
function pair(a: number | null, b: number | null): string {
  let digits = 4;
  while (digits < 17 && a !== null && b !== null && a !== b && num(a, digits) === num(b, digits)) digits++;
  return `${num(a, digits)} → ${num(b, digits)}`;
}

/** e.g. "champion: gbdt-… (first model)", "promoted to champion: beat gbdt-…'s rmse_log 0.61 → 0.59 (cv over 3 pre-test folds …)". */
export function promotionLine(d: PromoteDecision): string {
  // The compared phrase names the rows (CV folds or validation window; never the test slice) and any re-scoring.
  const on = d.compared ? d.compared.slice(d.metric.length + 4) : null;
  const values = `${d.metric} ${pair(d.champion_value, d.candidate_value)}${on ? ` (${on})` : ''}`;
  switch (d.outcome) {
    case 'first':
      return `${d.alias}: ${d.to} (first model)`;
    case 'not_requested':
      return `${d.alias} unchanged: ${d.from} (not asked: use --promote-if-better)`;
    case 'kept':
      if (d.from === d.candidate) return `${d.alias} unchanged: ${d.candidate} already holds it`;
      return `kept the ${d.alias} ${d.from}: not beaten on ${values}`;
    case 'promoted':
      if (d.move?.reason === 'forced') return `promoted to ${d.alias} (forced): ${d.reason.replace(/^forced: /, '')}`;
      if (d.champion_value === null) return `promoted to ${d.alias}: ${d.reason}`;
      return `promoted to ${d.alias}: beat ${d.from}'s ${values}`;
  }
}

/** Whether promotionLine already says the decision's reason: a first model, the holder itself, a forced move, a move with no comparison. */
function lineSaysReason(d: PromoteDecision): boolean {
  if (d.outcome === 'first') return true;
  if (d.outcome === 'kept') return d.from === d.candidate;
  return d.outcome === 'promoted' && (d.move?.reason === 'forced' || d.champion_value === null);
}

/** `models promote`'s text: the line, and under it the reason where the line does not say it already. */
export function promotionText(d: PromoteDecision): string {
  const line = promotionLine(d);
  return lineSaysReason(d) ? line : `${line}\n  ${d.reason}`;
}
