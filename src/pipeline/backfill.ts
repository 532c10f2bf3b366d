/** @module pipeline/backfill
 * `stockpipe backfill PIPELINE --from D1 --to D2` (Airflow's `dags backfill`): one pipeline run per
 * NYSE trading day in the range, in date order, one after another, each with that logical date. A
 * day whose newest run with that date finished is skipped without running anything (recorded as
 * skipped, pointing at that run); a day whose newest run failed, was cancelled or was killed is
 * resumed in that run. So a backfill stopped in any way and started again with the same arguments
 * continues with the days not yet succeeded (in the same backfill record). The run lock is the
 * caller's (taken once for the whole backfill); the runner (runner.ts) does each day. */
import { randomUUID } from 'node:crypto';
import { createBackfill, endBackfill, getBackfill, recordBackfillDays, reopenBackfill, unfinishedBackfill, type BackfillDay, type BackfillStatus } from '../registry/backfills.js';
import { latestRunForDate } from '../registry/pipeline.js';
import type { Registry } from '../registry/store.js';
import { FileHasher } from './hash.js';
import { runPipeline } from './runner.js';
import type { RunOptions, RunOutcome } from './types.js';

export interface BackfillOptions extends Omit<RunOptions, 'resume' | 'from' | 'to' | 'logicalDate' | 'backfillId' | 'hasher'> {
  /** The trading days to run, in date order (logical-date.ts's backfillDays). */
  days: readonly string[];
  /** The range as given (recorded; a later call with the same range continues this backfill). */
  from: string;
  to: string;
  /** Keep going after a failed day (default: stop at the first). */
  continueOnFailure?: boolean;
  /** Told each day's result as it ends. */
  onDay?: (day: BackfillDayResult, run: RunOutcome | null) => void;
}

export interface BackfillDayResult {
  date: string;
  run_id: string | null;
  status: 'succeeded' | 'failed' | 'skipped' | 'cancelled';
  seconds: number;
}

export interface BackfillOutcome {
  backfill_id: string;
  pipeline: string;
  from: string;
  to: string;
  /** A backfill with the same arguments had not finished: this call continued it. */
  resumed: boolean;
  status: Exclude<BackfillStatus, 'running'>;
  /** The days that were handled, in date order (days after a stopping failure are left out). */
  days: BackfillDayResult[];
  /** The first failed day and its run's failed task. */
  failed: { date: string; run_id: string; task: string; code: string; message: string; hint: string | null; log_path: string } | null;
}

/** What a backfill would do with each day: run it, resume its unfinished run, or skip it (finished). */
export interface PlannedDay {
  date: string;
  action: 'run' | 'resume' | 'skip';
  run_id: string | null;
}

/**
 * Each day's action, from the store only (a dry run). `continuing`: the unfinished backfill a --force
 * call continues; a day it already ran forced is not forced again (skipped when its run finished,
 * that run resumed otherwise), so a forced backfill stopped and started again continues it.
 */
export function planBackfill(reg: Registry, pipeline: string, days: readonly string[], force = false, continuing: string | null = null): PlannedDay[] {
  return days.map((date) => {
    const last = latestRunForDate(reg, pipeline, date);
    if (last === null) return { date, action: 'run', run_id: null };
    const forced = force && !(continuing !== null && last.backfill_id === continuing && last.forced);
    if (last.status === 'finished') return forced ? { date, action: 'run', run_id: null } : { date, action: 'skip', run_id: last.run_id };
    return { date, action: forced ? 'run' : 'resume', run_id: forced ? null : last.run_id };
  });
}

/** Runs the backfill to its end (or its first failed day); never throws for a failed day. */
export async function runBackfill(o: BackfillOptions): Promise<BackfillOutcome> {
  const { registry: reg, pipeline } = o;
  const prev = unfinishedBackfill(reg, pipeline.name, o.from, o.to);
  const id = prev?.backfill_id ?? randomUUID().replaceAll('-', '');
  if (prev) reopenBackfill(reg, id);
  else createBackfill(reg, { backfill_id: id, pipeline: pipeline.name, from: o.from, to: o.to, days: o.days });

  // One hasher (its memo read once) for every day; skipped days are recorded in batches, a run day
  // in the transaction that ends its run; the counts are kept here.
  const hasher = new FileHasher(o.ws);
  const results: BackfillDayResult[] = [];
  const unrecorded: BackfillDay[] = [];
  const state = new Map<string, string>((prev ? getBackfill(reg, id)!.days : []).map((d) => [d.date, d.status]));
  const counts = { succeeded: 0, failed: 0, skipped: 0 };
  for (const st of state.values()) if (st === 'succeeded' || st === 'failed' || st === 'skipped') counts[st]++;
  const note = (day: BackfillDay): void => {
    const before = state.get(day.date);
    if (before === 'succeeded' || before === 'failed' || before === 'skipped') counts[before]--;
    if (day.status === 'succeeded' || day.status === 'failed' || day.status === 'skipped') counts[day.status]++;
    state.set(day.date, day.status);
    unrecorded.push(day);
  };
  const record = (): void => {
    recordBackfillDays(reg, id, unrecorded, counts);
    unrecorded.length = 0;
  };
  let failed: BackfillOutcome['failed'] = null;
  let cancelled = false;
  const { days: _d, from: _f, to: _t, continueOnFailure: _c, onDay: _o, ...runOpts } = o;
  try {
    for (const date of o.days) {
      if (o.signal?.aborted) {
        cancelled = true;
        break;
      }
      const plan = planBackfill(reg, pipeline.name, [date], o.force, prev ? id : null)[0]!;
      if (plan.action === 'skip') {
        const day: BackfillDayResult = { date, run_id: plan.run_id, status: 'skipped', seconds: 0 };
        results.push(day);
        note(day);
        o.onDay?.(day, null);
        continue;
      }
      const t0 = performance.now();
      let day: BackfillDayResult | undefined;
      const out = await runPipeline({
        ...runOpts,
        hasher,
        backfillId: id,
        ...(plan.action === 'resume' ? { resume: plan.run_id! } : { logicalDate: date }),
        onEndRecord: (runId, st) => {
          day = { date, run_id: runId, status: st === 'finished' ? 'succeeded' : st, seconds: Math.round(performance.now() - t0) / 1000 };
          note(day);
          record();
        },
      });
      const status = day!.status;
      results.push(day!);
      o.onDay?.(day!, out);
      if (status === 'cancelled') {
        cancelled = true;
        break;
      }
      if (status === 'failed') {
        failed ??= { date, run_id: out.run_id, task: out.failed?.task ?? '', code: out.failed?.code ?? 'SP_ERR_TASK_FAILED', message: out.failed?.message ?? '', hint: out.failed?.hint ?? null, log_path: out.failed?.log_path ?? '' };
        if (o.continueOnFailure !== true) break;
      }
    }
  } finally {
    record();
    await hasher.saveOrWarn(o.log);
  }
  const status = cancelled ? 'cancelled' : failed ? 'failed' : 'finished';
  endBackfill(reg, id, status, failed ? `day ${failed.date}: ${failed.task}: ${failed.code}: ${failed.message}` : cancelled ? 'cancelled' : undefined);
  return { backfill_id: id, pipeline: pipeline.name, from: o.from, to: o.to, resumed: prev !== null, status, days: results, failed };
}
