/** @module cli/validate
 * `stockpipe validate [--table prices|features] [--set-reference] [--reference FILE]`: checks the
 * table against the saved reference (inferring it on the first run) and writes the report; throws
 * SP_ERR_VALIDATION_FAILED after writing it when the status reaches validate.fail_on. */
import { resolve } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { ensureWritableDir } from '../core/fs.js';
import { readSourceRecord } from '../sources/workspace-source.js';
import type { TableName } from '../validate/reference.js';
import { fails, renderReport } from '../validate/report.js';
import type { Anomaly, Severity, Status } from '../validate/types.js';
import { validateTable } from '../validate/validate.js';
import type { CommandContext, CommandResult } from './context.js';

export interface ValidateData {
  status: Status;
  table: TableName;
  input: string;
  rows: number;
  rows_in: number;
  anomalies: Anomaly[];
  summary: Record<Severity, number>;
  report: string;
  latest: string;
  reference: { path: string; version: number; created: boolean };
  drift: Record<string, { psi: number; threshold: number }>;
  seconds: number;
}

/** The workspace's source for validate: its identity and the time of its last switch (null: never switched). */
async function workspaceSource(ws: Workspace): Promise<{ identity: string; switchedAt: string | null } | null> {
  const rec = await readSourceRecord(ws);
  if (rec === null) return null;
  const last = rec.history.at(-1);
  return { identity: rec.current.identity, switchedAt: last !== undefined && last.from !== null ? last.at : null };
}

export async function validateCommand(ctx: CommandContext, opts: { setReference: boolean; reference?: string }): Promise<CommandResult<ValidateData>> {
  await ensureWritableDir(ctx.ws.root);
  const cfg = ctx.config.validate;
  const r = await validateTable({
    ws: ctx.ws,
    table: cfg.table,
    referencePath: opts.reference === undefined ? undefined : resolve(opts.reference),
    setReference: opts.setReference,
    settings: cfg,
    now: ctx.now,
    log: ctx.log,
    source: await workspaceSource(ctx.ws),
  });
  const rep = r.report;
  const data: ValidateData = {
    status: rep.status,
    table: rep.table,
    input: rep.input,
    rows: rep.rows,
    rows_in: rep.rows,
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
    const codes = [...new Set(rep.anomalies.filter((a) => a.severity === 'error' || (cfg.fail_on === 'warning' && a.severity === 'warning')).map((a) => a.code))].join(', ');
    const replaced = rep.anomalies.some((a) => a.code === 'identity_changed' && a.severity === 'error');
    throw new StockpipeError('SP_ERR_VALIDATION_FAILED', `${rep.table} validation failed with ${n} ${what} (${codes}); report ${r.report_path}`, replaced
      ? { hint: 'The table holds other data than the reference (identity_changed). If the source changed on purpose, accept it with `stockpipe validate --set-reference`; otherwise restore the source\'s data and run again.' }
      : {});
  }
  return { data, human: renderReport({ ...data, reference: data.reference }) };
}
