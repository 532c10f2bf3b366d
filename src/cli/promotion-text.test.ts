/** The promotion line people read: its two scores tell a win apart from a tie. */
import { describe, expect, it } from 'vitest';
import type { PromoteDecision } from '../registry/types.js';
import { promotionLine } from './promotion-text.js';

const decision = (champion: number, candidate: number, promoted: boolean): PromoteDecision => ({
  promoted, outcome: promoted ? 'promoted' : 'kept', from: 'gbdt-a', to: promoted ? 'gbdt-b' : 'gbdt-a', reason: '', alias: 'champion', candidate: 'gbdt-b', champion_before: 'gbdt-a',
  metric: 'rmse_log', candidate_value: candidate, champion_value: champion, same_test_slice: true, holder_rescored: false, compared: 'rmse_log on cv over 3 pre-test folds', move: null,
});

describe('promotionLine', () => {
  // Probed: a candidate that won by 3e-6 read "promoted to champion: beat gbdt-a's rmse_log 0.7262 → 0.7262", as if a tie had promoted it.
  it('shows as many digits as tell the two scores apart, 4 when they differ there or are equal', () => {
    expect(promotionLine(decision(0.726213, 0.72621, true))).toBe("promoted to champion: beat gbdt-a's rmse_log 0.726213 → 0.72621 (cv over 3 pre-test folds)");
    expect(promotionLine(decision(0.7262, 0.7262, false))).toBe('kept the champion gbdt-a: not beaten on rmse_log 0.7262 → 0.7262 (cv over 3 pre-test folds)');
    expect(promotionLine(decision(0.61, 0.5912345, true))).toBe("promoted to champion: beat gbdt-a's rmse_log 0.61 → 0.5912 (cv over 3 pre-test folds)");
  });
});
