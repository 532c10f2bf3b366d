/** An undefined metric — R² of a test slice whose volumes do not vary (one row, one volume
 * throughout), a skill whose persistence error is 0 — is null in --json and `-` wherever people read
 * it (the CLI tables, card.md, models show), never "NaN", "-Infinity" or "null". */
import { describe, expect, it } from 'vitest';
import { metricsTable } from '../cli/train.js';
import { renderCard } from './artifacts.js';
import { forecastMetricRows } from './forecast-card.js';
import { regressionMetrics } from './metrics/regression.js';

const UNDEFINED_TEXT = /NaN|Infinity|null/;

describe('undefined metrics for people', () => {
  // one volume throughout: R² is 1 − SSE/0 (−Infinity), or 0/0 (NaN) for a perfect prediction
  const y = Float64Array.from([1000, 1000, 1000]);
  const metrics = { gbdt: regressionMetrics(y, Float64Array.from([990, 1000, 1010])), naive: regressionMetrics(y, y) };

  it('the volume metrics table and card.md show `-` for R² of a slice whose volumes do not vary', () => {
    expect(metrics.gbdt.r2).toBe(-Infinity);
    expect(metrics.naive.r2).toBeNaN();
    expect(metricsTable(metrics, 'gbdt')).not.toMatch(UNDEFINED_TEXT);
    const card = renderCard({
      modelId: 'gbdt-x', kind: 'gbdt', createdAt: '2026-12-06T00:00:00.000Z', dataPath: 'tables/features', dataHash: 'a'.repeat(64),
      split: { kind: 'time', train_rows: 10, valid_rows: 0, test_rows: 3, test_from: '2016-02-25', valid_from: null },
      params: {}, metrics, seconds: 1, lineage: {},
    });
    const rows = card.split('\n').filter((l) => l.startsWith('| gbdt') || l.startsWith('| naive'));
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row).not.toMatch(UNDEFINED_TEXT);
    expect(rows[0]).toContain('| - |');
  });

  it('the day-ahead table shows `-` for a skill whose persistence error is 0, computed (NaN) or read back from the registry (null)', () => {
    const m = { forecast: { mae_volume: 5, skill_volume: NaN }, persistence: { mae_volume: 0, skill_volume: null as unknown as number } };
    const rows = forecastMetricRows(m);
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(UNDEFINED_TEXT);
  });
});
