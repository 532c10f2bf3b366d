/** @module validate/workspace
 * Validating a workspace's table (`stockpipe validate`): the workspace's source (source.json) →
 * validate/validate (against the saved reference, inferring it on the first run; the report
 * written) → SP_ERR_VALIDATION_FAILED after writing it when the status reaches `fail_on`.
 * Returns the command's --json data. */
import { StockpipeError } from '../core/errors.js';
import { ensureWritableDir } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { readSourceRecord } from '../sources/workspace-source.js';
import type { TableName } from './reference.js';
import { fails } from './report.js';
import type { Anomaly, AnomalyCode, Severity, Status } from './types.js';
import { type ValidateOptions, validateTable, type ValidateSettings } from './validate.js';

/** `stockpipe validate --json` data. */
export interface ValidateData {
  status: Status;
  table: TableName;
  input: string;
  /** The store snapshot validated. */
  snapshot: number;
  rows: number;
  rows_in: number;
  /** full, or incremental: only the rows brought by the snapshots after since_snapshot were checked (their count: rows_checked). */
  mode: 'full' | 'incremental';
  since_snapshot: number | null;
  rows_checked: number;
  anomalies: Anomaly[];
  summary: Record<Severity, number>;
  report: string;
  latest: string;
  reference: { path: string; version: number; created: boolean };
  drift: Record<string, { psi: number; threshold: number }>;
  seconds: number;
}

export interface ValidateWorkspaceOptions {
  /** The workspace (with its threads and DuckDB settings). */
  ws: Workspace;
  /** The config's `validate` section: the table, fail_on and the check settings. */
  settings: ValidateSettings & { table: TableName; fail_on: 'error' | 'warning' | 'never' };
  /** A saved reference (absolute path) to validate against. */
  referencePath?: string;
  setReference: boolean;
  /** `--as-of SNAPSHOT|TIME`: the table as it was then. */
  asOf?: string;
  now: () => Date;
  log: Logger;
  /** Shows which pass runs. */
  progress?: Progress;
  /** A partitioned check's commit: the whole-table passes added up (validate/partitions). */
  partials?: ValidateOptions['partials'];
}

/** The workspace's source for validate: its identity and the time of its last switch (null: never switched). */
export async function workspaceSource(ws: Workspace): Promise<{ identity: string; switchedAt: string | null } | null> {
  const rec = await readSourceRecord(ws);
  if (rec === null) return null;
  const last = rec.history.at(-1);
  return { identity: rec.current.identity, switchedAt: last !== undefined && last.from !== null ? last.at : null };
}

/** The anomalies measured against the reference: a new reference (`--set-reference`) accepts them. The others
 * (bad values, dates, symbols' histories) are found in the data whatever the reference. */
const REFERENCE_RELATIVE: ReadonlySet<AnomalyCode> = new Set(['missing_column', 'type_changed', 'extra_column', 'null_spike', 'out_of_range', 'missing_symbols', 'rows_decreased', 'drift', 'identity_changed', 'source_changed']);

/**
 * SP_ERR_VALIDATION_FAILED's hint for the failing codes: `--set-reference` only where it helps. It was always hinted, and for
 * anomalies of the data itself (nonpositive_price, duplicate_date) the new reference failed the same way, and so did the resumed run.
 */
export function failedHint(failing: readonly Pick<Anomaly, 'code' | 'severity'>[]): { hint?: string } {
  const mine = failing.filter((a) => !REFERENCE_RELATIVE.has(a.code));
  const own = [...new Set(mine.map((a) => a.code))];
  if (own.length === 0) return {};
  const relative = [...new Set(failing.map((a) => a.code).filter((c) => REFERENCE_RELATIVE.has(c)))];
  const onlyWarnings = mine.every((a) => a.severity === 'warning');
  const example = `"validate": {"severity": {"${own[0]}": "info"}}`;
  return {
    hint: `${own.join(', ')} ${own.length === 1 ? 'is' : 'are'} found in the data whatever the reference (\`stockpipe validate --set-reference\` would find ${own.length === 1 ? 'it' : 'them'} again): fix the data, or give ${own.length === 1 ? 'it' : 'them'} another severity in the config (${example})${onlyWarnings ? ', or fail on errors only (validate.fail_on "error", --fail-on error)' : ''}.${relative.length > 0 ? ` If the change in ${relative.join(', ')} is intended, accept it with \`stockpipe validate --set-reference\`.` : ''} Read the named report for the rows.`,
  };
}

export async function validateWorkspace(o: ValidateWorkspaceOptions): Promise<ValidateData> {
  await ensureWritableDir(o.ws.root);
  const cfg = o.settings;
  const r = await validateTable({
    ws: o.ws,
    table: cfg.table,
    referencePath: o.referencePath,
    setReference: o.setReference,
    asOf: o.asOf,
    settings: cfg,
    now: o.now,
    log: o.log,
    progress: o.progress,
    source: await workspaceSource(o.ws),
    partials: o.partials,
  });
  const rep = r.report;
  const data: ValidateData = {
    status: rep.status,
    table: rep.table,
    input: rep.input,
    snapshot: rep.snapshot,
    rows: rep.rows,
    rows_in: rep.rows,
    mode: rep.mode,
    since_snapshot: rep.since_snapshot,
    rows_checked: rep.rows_checked,
    anomalies: rep.anomalies,
    summary: rep.summary,
    report: r.report_path,
    latest: r.latest_path,
    reference: { path: r.reference_path, version: rep.reference_version, created: rep.reference_created },
    drift: rep.drift,
    seconds: rep.seconds,
  };
  if (fails(rep.status, cfg.fail_on)) {
    const n = cfg.fail_on === 'warning' ? rep.summary.error + rep.summary.warning : rep.summary.error;
    const what = cfg.fail_on === 'warning' ? 'errors or warnings' : 'errors';
    const failing = rep.anomalies.filter((a) => a.severity === 'error' || (cfg.fail_on === 'warning' && a.severity === 'warning'));
    const codes = [...new Set(failing.map((a) => a.code))].join(', ');
    const replaced = rep.anomalies.some((a) => a.code === 'identity_changed' && a.severity === 'error');
    throw new StockpipeError('SP_ERR_VALIDATION_FAILED', `${rep.table} validation failed with ${n} ${what} (${codes}); report ${r.report_path}`, replaced
      ? { hint: 'The table holds other data than the reference (identity_changed). If the source changed on purpose, accept it with `stockpipe validate --set-reference`; otherwise restore the source\'s data and run again.' }
      : failedHint(failing));
  }
  return data;
}
