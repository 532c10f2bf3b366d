import { describe, expect, it } from 'vitest';
import { monitorHuman, type MonitorData } from './monitor.js';

const base = {
  matured: 0, scored: 0, pending: 0, points: 3, models: [], checks: [], alerts: [], retrain_needed: false, logical_date: null, rows_in: 0, rows_out: 3, seconds: 0.1,
  drift: [{ column: 'log_volume', psi: 0.01, n: 400, reference_n: 1600, date: '2024-03-28', from: '2024-03-15', to: '2024-03-28', reference_from: '2024-01-03', reference_to: '2024-03-14', status: 'ok', new: true }],
  drift_reference: { configured: 'previous', used: 'previous', model_id: null, fallback: null },
} as unknown as MonitorData;

describe('monitor in a terminal', () => {
  it('says when drift_reference "training" measured against the window before (without a forecast champion it said nothing)', () => {
    const fallback = 'no forecast champion yet (forecast_champion names no model)';
    const text = monitorHuman({ ...base, drift_reference: { configured: 'training', used: 'previous', model_id: null, fallback } });
    expect(text).toContain(`  drift reference: the days before the recent window, not the forecast champion's training period (monitor.drift_reference "training"): ${fallback}`);
    expect(monitorHuman(base)).not.toContain('drift reference');
    expect(monitorHuman({ ...base, drift: [], drift_reference: { configured: 'training', used: 'previous', model_id: null, fallback } })).not.toContain('drift reference');
  });
});
