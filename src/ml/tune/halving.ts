/** @module ml/tune/halving
 * Successive halving (docs/tuning.md): rungs of growing tree budgets; every trial runs at rung 0,
 * and after each rung the best ⌊n/η⌋ (at least one) go on to the next with η times the trees, the
 * others are pruned. Budgets grow in trees, not in data: the folds stay the folds, so a rung's
 * score is the CV score the final rung would give with fewer trees. Pure. */
import { StockpipeError } from '../../core/errors.js';

export interface Rung {
  rung: number;
  /** Trees per fold at most (early stopping may use fewer). */
  budget: number;
  /** Trials evaluated at this rung. */
  trials: number;
}

/**
 * The rungs for `trials` configurations: counts n, ⌊n/η⌋, … down to 1, budgets maxTrees/η^k up
 * to maxTrees; rungs whose budget would fall under `minTrees` are dropped from the start (the
 * first rung then evaluates every trial with at least minTrees trees).
 */
export function rungPlan(trials: number, maxTrees: number, eta = 3, minTrees = 10): Rung[] {
  if (!Number.isInteger(trials) || trials < 1) throw new StockpipeError('SP_ERR_USAGE', `--trials must be a whole number ≥ 1 (got ${trials})`);
  if (!Number.isInteger(eta) || eta < 2) throw new StockpipeError('SP_ERR_USAGE', `eta must be a whole number ≥ 2 (got ${eta})`);
  if (!Number.isInteger(maxTrees) || maxTrees < 1) throw new StockpipeError('SP_ERR_USAGE', `--max-trees must be a whole number ≥ 1 (got ${maxTrees})`);
  const counts = [trials];
  while (Math.floor(counts[counts.length - 1]! / eta) >= 1) counts.push(Math.floor(counts[counts.length - 1]! / eta));
  // Too small a first budget says nothing about a configuration: fewer rungs, each with more trees.
  while (counts.length > 1 && maxTrees / eta ** (counts.length - 1) < minTrees) counts.pop();
  const last = counts.length - 1;
  return counts.map((n, k) => ({ rung: k, budget: Math.max(1, Math.round(maxTrees / eta ** (last - k))), trials: n }));
}

/** A rung's result for one trial: its score, or null when it failed. */
export interface RungResult {
  number: number;
  score: number | null;
}

/** Orders results best first: lower score first (maximize: higher), failures last, ties by trial number. */
export function rank(results: readonly RungResult[], direction: 'minimize' | 'maximize' = 'minimize'): RungResult[] {
  const sign = direction === 'minimize' ? 1 : -1;
  return [...results].sort((a, b) => {
    if (a.score === null || b.score === null) return a.score === null && b.score === null ? a.number - b.number : a.score === null ? 1 : -1;
    return sign * (a.score - b.score) || a.number - b.number;
  });
}

/** The trial numbers kept for the next rung (the best `keep`, never a failed one) and those pruned. */
export function promote(results: readonly RungResult[], keep: number, direction: 'minimize' | 'maximize' = 'minimize'): { kept: number[]; pruned: number[] } {
  const ranked = rank(results, direction);
  const kept = ranked.slice(0, keep).filter((r) => r.score !== null).map((r) => r.number);
  const pruned = ranked.filter((r) => !kept.includes(r.number)).map((r) => r.number);
  return { kept, pruned };
}
