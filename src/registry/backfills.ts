/** @module registry/backfills
 * Backfills in the store (docs/pipelines.md): a `backfills` row (pipeline, from, to, day counts,
 * status) and one `backfill_days` row per NYSE trading day in its range (the day's pipeline run, its
 * state, seconds). pipeline/backfill decides what runs; this file only stores and reads. */
import { runnerGoneHere, thisRunner, type RunnerGoneCheck, type RunnerIdentity } from './pipeline.js';
import type { BACKFILL_DAY_STATUSES, RUN_STATUSES } from './schema.js';
import type { Registry } from './store.js';

export type BackfillDayStatus = (typeof BACKFILL_DAY_STATUSES)[number];
export type BackfillStatus = (typeof RUN_STATUSES)[number];
/** A backfill's status as read: 'abandoned' when it is stored 'running' but its process is gone (killed). */
export type BackfillReadStatus = BackfillStatus | 'abandoned';

export interface BackfillDay {
  date: string;
  run_id: string | null;
  status: BackfillDayStatus;
  seconds: number | null;
}

export interface BackfillRecord {
  backfill_id: string;
  pipeline: string;
  date_from: string;
  date_to: string;
  status: BackfillStatus;
  started_at: string;
  ended_at: string | null;
  days_total: number;
  days_succeeded: number;
  days_failed: number;
  days_skipped: number;
  error: string | null;
}

/** A backfill's columns as read (its runner, migration 9, is read only to judge it: backfillsAsRead). */
const COLUMNS = 'backfill_id, pipeline, date_from, date_to, status, started_at, ended_at, days_total, days_succeeded, days_failed, days_skipped, error';

export interface BackfillDetails extends BackfillRecord {
  days: BackfillDay[];
}

/** Starts a backfill with every day 'queued', in one transaction, recording its process (`runner`, this one by default). */
export function createBackfill(reg: Registry, input: { backfill_id: string; pipeline: string; from: string; to: string; days: readonly string[]; runner?: RunnerIdentity }): void {
  const runner = input.runner ?? thisRunner();
  reg.transaction(() => {
    reg.run('start backfill', `INSERT INTO backfills (backfill_id, pipeline, date_from, date_to, status, started_at, days_total, runner_pid, runner_host, runner_start)
      VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?)`, [
      input.backfill_id,
      input.pipeline,
      input.from,
      input.to,
      reg.timestamp(),
      input.days.length,
      runner.pid,
      runner.host,
      runner.start,
    ]);
    for (const d of input.days) reg.run('plan backfill day', "INSERT INTO backfill_days (backfill_id, date, status) VALUES (?, ?, 'queued')", [input.backfill_id, d]);
  });
}

/** The newest backfill of `pipeline` over exactly [from, to] that did not finish (to continue it), or null. */
export function unfinishedBackfill(reg: Registry, pipeline: string, from: string, to: string): BackfillRecord | null {
  const r = reg.get<BackfillRecord>(
    'find backfill',
    `SELECT ${COLUMNS} FROM backfills WHERE pipeline = ? AND date_from = ? AND date_to = ?
    ORDER BY started_at DESC, rowid DESC LIMIT 1`,
    [pipeline, from, to],
  );
  return r !== undefined && r.status !== 'finished' ? r : null;
}

/** Sets a backfill back to running (continued by a later call with the same arguments), run by `runner` (this process by default). */
export function reopenBackfill(reg: Registry, id: string, runner: RunnerIdentity = thisRunner()): void {
  reg.run('reopen backfill', "UPDATE backfills SET status = 'running', ended_at = NULL, error = NULL, runner_pid = ?, runner_host = ?, runner_start = ? WHERE backfill_id = ?", [
    runner.pid,
    runner.host,
    runner.start,
    id,
  ]);
}

/** The number of days in each final state (kept by the caller, stored with the days). */
export interface BackfillCounts {
  succeeded: number;
  failed: number;
  skipped: number;
}

/** Records the state of some days and the backfill's counts (in the caller's transaction, or one of its own). */
export function recordBackfillDays(reg: Registry, id: string, days: readonly BackfillDay[], counts: BackfillCounts): void {
  if (days.length === 0) return;
  reg.transaction(() => {
    for (const d of days)
      reg.run('record backfill day', 'UPDATE backfill_days SET run_id = ?, status = ?, seconds = ? WHERE backfill_id = ? AND date = ?', [d.run_id, d.status, d.seconds, id, d.date]);
    reg.run('count backfill days', 'UPDATE backfills SET days_succeeded = ?, days_failed = ?, days_skipped = ? WHERE backfill_id = ?', [counts.succeeded, counts.failed, counts.skipped, id]);
  });
}

/** Ends a backfill with its final status. */
export function endBackfill(reg: Registry, id: string, status: Exclude<BackfillStatus, 'running'>, error?: string): void {
  reg.run('end backfill', 'UPDATE backfills SET status = ?, ended_at = ?, error = ? WHERE backfill_id = ?', [status, reg.timestamp(), error ?? null, id]);
}

/** One backfill with its days in date order; null when unknown. */
export function getBackfill(reg: Registry, id: string): BackfillDetails | null {
  const b = reg.get<BackfillRecord>('read backfill', `SELECT ${COLUMNS} FROM backfills WHERE backfill_id = ?`, [id]);
  if (b === undefined) return null;
  return { ...b, days: reg.all<BackfillDay>('read backfill days', 'SELECT date, run_id, status, seconds FROM backfill_days WHERE backfill_id = ? ORDER BY date', [id]) };
}

/** The ids of the backfills `text` names: its full id, or else every id that starts with it (`runs list` shows the first 8 characters). */
export function backfillIdsFor(reg: Registry, text: string): string[] {
  if (getBackfill(reg, text) !== null) return [text];
  if (text === '') return [];
  return reg.all<{ backfill_id: string }>('find backfill', 'SELECT backfill_id FROM backfills WHERE substr(backfill_id, 1, length(@t)) = @t ORDER BY started_at DESC LIMIT 5', { t: text }).map((r) => r.backfill_id);
}

/** The one backfill an id given where a run's was expected names (`runs show|logs|cancel`, the API's run routes): its whole
 * id, or a start of at least 4 characters that one backfill's id alone has (`runs list` shows 8); null otherwise. */
export function backfillNamedBy(reg: Registry, id: string): string | null {
  const ids = backfillIdsFor(reg, id);
  return ids.length === 1 && (ids[0] === id || id.length >= 4) ? ids[0]! : null;
}

/** The newest `n` backfills as a hint names them: `ID (PIPELINE FROM..TO)`. */
export function newestBackfillsText(reg: Registry, n = 3): string[] {
  return listBackfills(reg, { limit: n }).map((b) => `${b.backfill_id} (${b.pipeline} ${b.date_from}..${b.date_to})`);
}

/**
 * Backfills as read (GET /backfills): one stored 'running' reads 'abandoned' when the process it
 * recorded is gone (killed: it stayed 'running' for good), judged as a pipeline run's runner is
 * (registry/pipeline runnerGoneHere), whatever process holds the run lock now. One started before its
 * process was recorded (migration 9) reads 'abandoned' when `holderLive` is false, i.e. no live
 * process held the workspace's run lock after it was read. Each one seen left running has its stored
 * status read again: one that ended meanwhile reads as it ended.
 */
export function backfillsAsRead<T extends BackfillRecord>(reg: Registry, list: readonly T[], holderLive: boolean, gone: RunnerGoneCheck = runnerGoneHere): (Omit<T, 'status'> & { status: BackfillReadStatus })[] {
  return list.map((b) => {
    if (b.status !== 'running') return b;
    const r = reg.get<{ pid: number | null; host: string | null; start: string | null }>('read backfill process',
      'SELECT runner_pid AS pid, runner_host AS host, runner_start AS start FROM backfills WHERE backfill_id = ?', [b.backfill_id]);
    const left = r === undefined || r.pid === null ? !holderLive : gone({ pid: r.pid, host: r.host ?? '', start: r.start });
    if (!left) return b;
    // Ended meanwhile (its process committed the end and exited after `b` was read): as it ended (a detailed one keeps the days read before).
    const fresh = reg.get<BackfillRecord>('read backfill', `SELECT ${COLUMNS} FROM backfills WHERE backfill_id = ?`, [b.backfill_id]);
    if (fresh !== undefined && fresh.status !== 'running') return { ...b, ...fresh };
    return { ...b, status: 'abandoned' as const };
  });
}

/** Backfills, newest first. */
export function listBackfills(reg: Registry, opts: { pipeline?: string; limit?: number; offset?: number } = {}): BackfillRecord[] {
  return reg.all<BackfillRecord>(
    'list backfills',
    `SELECT ${COLUMNS} FROM backfills WHERE (@pipeline IS NULL OR pipeline = @pipeline)
    ORDER BY started_at DESC, rowid DESC LIMIT @limit OFFSET @offset`,
    { pipeline: opts.pipeline ?? null, limit: opts.limit ?? 50, offset: opts.offset ?? 0 },
  );
}
