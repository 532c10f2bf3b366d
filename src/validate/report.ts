/** @module validate/report
 * Assembling a validation result (severity overrides, order, summary, status) and rendering it
 * for people: anomalies grouped by severity. Pure; writing the files is validate/validate's job. */
import { StockpipeError } from '../core/errors.js';
import { ANOMALY_CODES, type Anomaly, type AnomalyCode, type Severity, type Status } from './types.js';

export type SeverityOverride = Severity | 'off';
const ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Checks that every override names a known anomaly code. */
export function checkOverrides(overrides: Readonly<Record<string, SeverityOverride>>): Partial<Record<AnomalyCode, SeverityOverride>> {
  for (const k of Object.keys(overrides)) {
    if (!(ANOMALY_CODES as readonly string[]).includes(k)) {
      throw new StockpipeError('SP_ERR_CONFIG_INVALID', `validate.severity: unknown anomaly code '${k}'`, { hint: `Use one of: ${ANOMALY_CODES.join(', ')}.` });
    }
  }
  return overrides as Partial<Record<AnomalyCode, SeverityOverride>>;
}

/** Applies overrides ('off' drops the anomaly) and sorts: errors first, then by code. */
export function finalizeAnomalies(anomalies: readonly Anomaly[], overrides: Partial<Record<AnomalyCode, SeverityOverride>>): Anomaly[] {
  const out: Anomaly[] = [];
  for (const a of anomalies) {
    const o = overrides[a.code];
    if (o === 'off') continue;
    out.push(o === undefined ? a : { ...a, severity: o });
  }
  return out.sort((a, b) => ORDER[a.severity] - ORDER[b.severity] || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0) || String(a.column) .localeCompare(String(b.column)));
}

export function summarize(anomalies: readonly Anomaly[]): Record<Severity, number> {
  const s: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const a of anomalies) s[a.severity] += 1;
  return s;
}

export function statusOf(summary: Record<Severity, number>): Status {
  return summary.error > 0 ? 'error' : summary.warning > 0 ? 'warn' : 'ok';
}

/** Whether this status fails the command under `fail_on`. */
export function fails(status: Status, failOn: 'error' | 'warning' | 'never'): boolean {
  if (failOn === 'never') return false;
  return status === 'error' || (failOn === 'warning' && status === 'warn');
}

export interface RenderInput {
  status: Status;
  table: string;
  input: string;
  rows: number;
  reference: { path: string; version: number; created: boolean };
  report: string;
  anomalies: readonly Anomaly[];
  summary: Record<Severity, number>;
  seconds: number;
}

const cut = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The human report: a header, then one line per anomaly under its severity. */
export function renderReport(r: RenderInput): string {
  const lines = [
    `${r.status.toUpperCase()}: ${r.table} ${r.input} (${r.rows.toLocaleString('en-US')} rows) against reference v${r.reference.version}${r.reference.created ? ' (inferred from this table now)' : ''}`,
    `  ${r.summary.error} errors, ${r.summary.warning} warnings, ${r.summary.info} info · ${r.seconds} s · report ${r.report}`,
  ];
  for (const sev of ['error', 'warning', 'info'] as const) {
    const group = r.anomalies.filter((a) => a.severity === sev);
    if (group.length === 0) continue;
    lines.push('', `${sev}:`);
    const w = Math.max(...group.map((a) => a.code.length));
    const cw = Math.min(14, Math.max(...group.map((a) => (a.column ?? '-').length)));
    for (const a of group) {
      const ex = a.examples && a.examples.length > 0 ? `  e.g. ${cut(a.examples.slice(0, 3).join('; '), 90)}` : '';
      lines.push(`  ${a.code.padEnd(w)}  ${cut(a.column ?? '-', 14).padEnd(cw)}  ${a.detail}${ex}`);
    }
  }
  if (r.anomalies.length === 0) lines.push('', 'no anomalies');
  return lines.join('\n');
}
