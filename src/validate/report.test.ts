import { describe, expect, it } from 'vitest';
import { checkOverrides, fails, finalizeAnomalies, renderReport, statusOf, summarize } from './report.js';
import type { Anomaly } from './types.js';

const a = (code: Anomaly['code'], severity: Anomaly['severity'], column: string | null = null): Anomaly => ({ code, severity, column, detail: `${code} detail` });

describe('validation report', () => {
  it('overrides change or drop severities, then errors come first; status and fail_on follow', () => {
    const raw = [a('zero_volume', 'info', 'Volume'), a('nonpositive_price', 'warning', 'Open'), a('stale_symbol', 'warning'), a('missing_column', 'error', 'Asset')];
    const out = finalizeAnomalies(raw, checkOverrides({ zero_volume: 'off', stale_symbol: 'error' }));
    expect(out.map((x) => [x.code, x.severity])).toEqual([['missing_column', 'error'], ['stale_symbol', 'error'], ['nonpositive_price', 'warning']]);
    expect(summarize(out)).toEqual({ error: 2, warning: 1, info: 0 });
    expect(statusOf({ error: 0, warning: 1, info: 5 })).toBe('warn');
    expect(statusOf({ error: 0, warning: 0, info: 5 })).toBe('ok');
    expect(fails('error', 'error')).toBe(true);
    expect(fails('warn', 'error')).toBe(false);
    expect(fails('warn', 'warning')).toBe(true);
    expect(fails('error', 'never')).toBe(false);
  });

  it('an override naming an unknown code is SP_ERR_CONFIG_INVALID', () => {
    expect(() => checkOverrides({ zero_volumes: 'off' })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID' }));
  });

  it('renders anomalies grouped by severity', () => {
    const anomalies = [a('missing_column', 'error', 'Asset'), a('zero_volume', 'info', 'Volume')];
    const text = renderReport({ status: 'error', table: 'prices', input: '/w/tables/prices.parquet', rows: 10, reference: { path: '/w/validation/reference.json', version: 3, created: false }, report: '/w/validation/report-x.json', anomalies, summary: summarize(anomalies), seconds: 0.5 });
    const lines = text.split('\n');
    expect(lines[0]).toBe('ERROR: prices /w/tables/prices.parquet (10 rows) against reference v3');
    expect(lines.indexOf('error:')).toBeLessThan(lines.indexOf('info:'));
    expect(lines.indexOf('warning:')).toBe(-1);
    expect(text).toMatch(/missing_column\s+Asset\s+missing_column detail/);
  });
});
