/** @module pipeline/schedule
 * Cron schedules (croner) on a trading calendar: which runs are due at a given time, pure and
 * clock-driven so a fake clock can test it; and the long-running scheduler loop that starts them
 * (never two of one pipeline at once, at most one catch-up run after downtime, missed trading days
 * alerted, a failed run logged and survived, a run left by a killed scheduler alerted at the next start).
 * State: <workspace>/pipeline/scheduler-state.json, and the runs in progress in scheduler-runs.json. */
import { readFile } from 'node:fs/promises';
import { Cron } from 'croner';
import { isTradingDay } from '../core/calendar.js';
import { StockpipeError, toStockpipeError } from '../core/errors.js';
import { writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';

export interface Schedule {
  pipeline: string;
  cron: string;
  timezone: string;
  trading_days_only: boolean;
}

export const scheduleKey = (s: Schedule): string => `${s.pipeline}@${s.cron}@${s.timezone}`;

/** Parses a schedule's cron expression, or SP_ERR_SCHEDULE_INVALID naming it. */
export function cronFor(s: Schedule): Cron {
  try {
    return new Cron(s.cron, { timezone: s.timezone, paused: true });
  } catch (err) {
    throw new StockpipeError('SP_ERR_SCHEDULE_INVALID', `schedule for ${s.pipeline}: '${s.cron}' (${s.timezone}) is not a valid cron schedule: ${(err as Error).message}`, { cause: err });
  }
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The calendar date of `at` in `timeZone`, YYYY-MM-DD. */
export function localDate(at: Date, timeZone: string): string {
  let f = dayFormats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timeZone, f);
  }
  return f.format(at);
}

/** Local midnights in a time zone (croner's arithmetic, DST included). */
const midnights = (timeZone: string): Cron => new Cron('0 0 0 * * *', { timezone: timeZone, paused: true });

/**
 * The NYSE's calendar day of an occurrence (its date in New York), which `trading_days_only` checks
 * whatever the schedule's own zone: 07:00 on a Saturday in Tokyo is Friday evening in New York, the
 * run after Friday's close (a schedule's local date skipped it, and ran on Sunday evenings instead).
 */
export const NYSE_TIME_ZONE = 'America/New_York';
const nyseDay = (at: Date): string => localDate(at, NYSE_TIME_ZONE);

/** The schedule's fire times in (after, until], on trading days only when asked; at most `limit`. */
export function occurrences(s: Schedule, after: Date, until: Date, limit = 1000): Date[] {
  const cron = cronFor(s);
  const midnight = s.trading_days_only ? midnights(NYSE_TIME_ZONE) : null;
  const out: Date[] = [];
  let t: Date | null = after;
  while (out.length < limit) {
    t = cron.nextRun(t);
    if (t === null || t.getTime() > until.getTime()) break;
    if (midnight === null || isTradingDay(nyseDay(t))) {
      out.push(t);
      continue;
    }
    // A closed day: go on from its last instant, not occurrence by occurrence (a schedule every
    // second would take 86,400 steps a day: seconds of CPU for a weekend).
    const next = midnight.nextRun(t);
    if (next !== null && next.getTime() - 1 > t.getTime()) t = new Date(next.getTime() - 1);
  }
  return out;
}

/** The schedule's latest fire time in (after, until], on a trading day when asked, or null. */
export function latestOccurrence(s: Schedule, after: Date, until: Date): Date | null {
  const cron = cronFor(s);
  const midnight = s.trading_days_only ? midnights(NYSE_TIME_ZONE) : null;
  // previousRuns takes a run earlier in the reference's second, so 1 ms on includes one at `until`.
  let ref = new Date(until.getTime() + 1);
  for (;;) {
    const t = cron.previousRuns(1, ref)[0];
    if (t === undefined || t.getTime() <= after.getTime()) return null;
    if (midnight === null || isTradingDay(nyseDay(t))) return t;
    // A closed day: go back to its start (its midnight), not occurrence by occurrence.
    const start = midnight.previousRuns(1, new Date(t.getTime() + 1))[0];
    ref = start !== undefined && start.getTime() < t.getTime() ? start : t;
  }
}

export interface Due {
  /** The occurrence to run now (the latest one due), or null. */
  run: Date | null;
  /** Earlier occurrences that passed while the scheduler was down: not run, alerted. */
  missed: Date[];
}

/**
 * What is due at `now` given the last occurrence handled. The first time (nothing handled) only
 * an occurrence in the last `graceMs` runs; after downtime the latest passed one runs once and the
 * earlier ones are reported missed.
 */
export function dueAt(s: Schedule, lastHandled: Date | null, now: Date, graceMs = 60_000): Due {
  const from = lastHandled ?? new Date(now.getTime() - graceMs);
  // The latest one, however many passed (not the last of the first thousand: a schedule every
  // minute down for a weekend would catch up on an occurrence of Friday, then again, and again).
  const run = latestOccurrence(s, from, now);
  if (run === null) return { run: null, missed: [] };
  // The first time nothing was down: the grace window's earlier occurrences are not missed runs (a schedule every
  // ten seconds alerted "5 scheduled run(s) missed while the scheduler was down" at its first start).
  if (lastHandled === null) return { run, missed: [] };
  return { run, missed: occurrences(s, from, new Date(run.getTime() - 1)) };
}

/** How far ahead the next occurrence is looked for: a leap day on a trading day (`0 18 29 2 *`) or a yearly date on
 * a weekend or holiday can be years away; 400 days said "next run never" of such a schedule, which then ran. */
const NEXT_HORIZON_MS = 12 * 366 * 86_400_000;

/** The schedule's next occurrence after `after` (on a trading day when asked), or null when none comes. */
export function nextOccurrence(s: Schedule, after: Date): Date | null {
  return occurrences(s, after, new Date(after.getTime() + NEXT_HORIZON_MS), 1)[0] ?? null;
}

/** When the next occurrence of any schedule fires after `now` (null: none ever). */
export function nextFire(schedules: readonly Schedule[], now: Date): Date | null {
  let best: Date | null = null;
  for (const s of schedules) {
    const n = nextOccurrence(s, now);
    if (n && (best === null || n < best)) best = n;
  }
  return best;
}

type State = Record<string, string>;

/** What is wrong with a parsed scheduler-state.json (no JSON object, a value that is no time), or null.
 * Its shape is checked: `null` or a value that is no time was SP_ERR_INTERNAL ("Cannot read properties of
 * null", "Invalid date passed to CronDate"), in the scheduler and in GET /schedules. */
export function schedulerStateProblem(state: unknown): string | null {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) return 'it is no JSON object';
  return Object.entries(state).map(([k, v]) => (typeof v === 'string' && Number.isFinite(Date.parse(v)) ? null : `${JSON.stringify(k)} is no time (${JSON.stringify(v)})`)).find((x) => x !== null) ?? null;
}

async function readState(file: string): Promise<State> {
  let state: unknown;
  try {
    state = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `scheduler state ${file} is unreadable: ${(err as Error).message}`, { hint: `Remove ${file}; the scheduler then starts without catch-up.`, cause: err });
  }
  const bad = schedulerStateProblem(state);
  if (bad) throw new StockpipeError('SP_ERR_CONFIG_INVALID', `scheduler state ${file} is unreadable: ${bad}`, { hint: `Remove ${file}; the scheduler then starts without catch-up.` });
  return state as State;
}

/** How a scheduled run ended (SchedulerDeps.startRun). */
export interface ScheduledRun {
  status: string;
  run_id?: string | null;
  error?: { code: string; message: string; log_path?: string };
}

export interface SchedulerDeps {
  ws: Workspace;
  schedules: readonly Schedule[];
  log: Logger;
  now: () => Date;
  /** Starts one pipeline run and resolves with its final status (a failure must not reject). `error`: it failed
   * with no alert of its own (the run's process refused to start — a config, lock or source error — or ended without
   * a result); the scheduler alerts it (`scheduled_run_failed`). A failed pipeline run alerted itself: no `error`. */
  startRun: (pipeline: string, occurrence: Date, started?: (pid: number) => void) => Promise<ScheduledRun>;
  /** Records and delivers an alert (missed runs, overlaps). */
  alert: (a: { kind: string; severity: 'warning' | 'error'; pipeline: string; run_id?: string; message: string; details: Record<string, unknown> }) => Promise<void>;
  /** The pipeline run a scheduled run's process (`started`'s pid) began, with its status as read; null when none began. */
  runOf?: (left: LeftRun) => { run_id: string; status: string } | null;
  /** Waits up to `ms` (resolves early when `signal` aborts). */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
  /** Longest single wait, so a changed clock (suspend, NTP) is noticed (default 60 s). */
  maxSleepMs?: number;
}

/** A scheduled run in progress, as <workspace>/pipeline/scheduler-runs.json keeps it until the scheduler sees it end. */
export interface LeftRun {
  pipeline: string;
  occurrence: string;
  /** When the scheduler started its process, and the process (the `stockpipe run` child). */
  started_at: string;
  pid: number | null;
}

/**
 * The scheduled runs in progress, written through to ws.schedulerRuns (one write at a time; a failed
 * write is logged: it is bookkeeping, never a reason to stop the scheduler). A run left there when
 * the scheduler starts was going when the last one was killed (SIGKILL, a power loss): nothing saw it end.
 */
export class RunsInFlight {
  private readonly runs = new Map<string, LeftRun>();
  private writing: Promise<void> = Promise.resolve();
  constructor(private readonly file: string, private readonly log: Logger) {}

  /** What the last scheduler left (an unreadable file is logged and read as nothing). */
  static async readLeft(file: string, log: Logger): Promise<LeftRun[]> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ err: (err as Error).message, file }, 'cannot read the scheduled runs the last scheduler left: not checked');
      return [];
    }
    try {
      const doc = JSON.parse(text) as unknown;
      if (!Array.isArray(doc)) throw new Error('it is no JSON array');
      return doc.filter((r): r is LeftRun => typeof r === 'object' && r !== null && typeof r.pipeline === 'string' && typeof r.occurrence === 'string' && typeof r.started_at === 'string' && (r.pid === null || Number.isInteger(r.pid)));
    } catch (err) {
      log.warn({ err: (err as Error).message, file }, 'the scheduled runs the last scheduler left are unreadable: not checked');
      return [];
    }
  }

  set(run: LeftRun): Promise<void> {
    this.runs.set(run.pipeline, run);
    return this.save();
  }

  drop(pipeline: string): Promise<void> {
    this.runs.delete(pipeline);
    return this.save();
  }

  save(): Promise<void> {
    this.writing = this.writing.then(async () => {
      try {
        await writeFileAtomic(this.file, JSON.stringify([...this.runs.values()], null, 2));
      } catch (err) {
        this.log.warn({ err, file: this.file }, 'cannot save the scheduled runs in progress; a scheduler killed now would not report them');
      }
    });
    return this.writing;
  }
}

/**
 * A scheduled run the last scheduler did not see end: it was killed meanwhile, and the run's process
 * with it (it dies with its parent). Nothing resumes such a run and it alerts nothing itself, so (as
 * Airflow fails a zombie task) it is alerted here, `scheduled_run_failed`, naming the abandoned run
 * and its resume, or saying that it never began. A run that ended on its own is left alone (a failed
 * one alerted itself).
 */
async function reportLeftRun(deps: SchedulerDeps, left: LeftRun): Promise<void> {
  const { pipeline, occurrence } = left;
  let found: { run_id: string; status: string } | null;
  try {
    found = deps.runOf?.(left) ?? null;
  } catch (err) {
    // The store unreadable now (locked, damaged): still said, without the run's id; the scheduler starts.
    deps.log.warn({ pipeline, occurrence, err: (err as Error).message }, 'cannot look up the run the last scheduler left');
    found = { run_id: '', status: 'unknown' };
  }
  if (found !== null && found.status === 'unknown') {
    deps.log.error({ pipeline, occurrence }, 'the last scheduler was killed during this scheduled run');
    await deps.alert({
      kind: 'scheduled_run_failed', severity: 'error', pipeline,
      message: `${pipeline}: the scheduled run due at ${occurrence} did not end under the scheduler, which was killed meanwhile; find it with \`stockpipe runs list --pipeline ${pipeline}\` and resume it if it reads abandoned`,
      details: { occurrence, reason: 'scheduler_killed', started_at: left.started_at },
    });
    return;
  }
  if (found !== null && found.status !== 'abandoned') {
    deps.log.info({ pipeline, occurrence, run: found.run_id, status: found.status }, 'the scheduled run the last scheduler left did not end under it, but is not abandoned');
    return;
  }
  const details = { occurrence, reason: 'scheduler_killed', started_at: left.started_at, ...(found === null ? {} : { run_id: found.run_id, resume: `stockpipe run ${pipeline} --resume ${found.run_id}` }) };
  const message = found === null
    ? `${pipeline}: the scheduled run due at ${occurrence} never ran: the scheduler was killed before its run began (it may have been waiting for the run lock); the next occurrence runs as usual, or run \`stockpipe run ${pipeline}\` now`
    : `${pipeline}: the scheduled run due at ${occurrence} was abandoned: the scheduler was killed while run ${found.run_id} was going, and nothing resumes it; resume it with \`stockpipe run ${pipeline} --resume ${found.run_id}\``;
  deps.log.error({ pipeline, occurrence, run: found?.run_id }, found === null ? 'the last scheduler was killed before this scheduled run began: nothing ran for it' : 'the last scheduler was killed during this scheduled run: it is abandoned');
  await deps.alert({ kind: 'scheduled_run_failed', severity: 'error', pipeline, ...(found === null ? {} : { run_id: found.run_id }), message, details });
}

/** One scheduler step at `now`: starts what is due, alerts what was missed. Returns the runs started. */
export async function schedulerTick(deps: SchedulerDeps, state: State, running: Map<string, Promise<unknown>>, inFlight?: RunsInFlight): Promise<string[]> {
  const now = deps.now();
  const started: string[] = [];
  for (const s of deps.schedules) {
    const key = scheduleKey(s);
    const last = state[key] ? new Date(state[key]) : null;
    const due = dueAt(s, last, now);
    if (due.missed.length > 0) {
      const days = [...new Set(due.missed.map((d) => (s.trading_days_only ? nyseDay(d) : localDate(d, s.timezone))))];
      await deps.alert({ kind: 'missing_run', severity: 'warning', pipeline: s.pipeline, message: `${s.pipeline}: ${due.missed.length} scheduled run(s) missed while the scheduler was down (${days.slice(0, 5).join(', ')}${days.length > 5 ? ', …' : ''}); running once to catch up`, details: { missed: due.missed.map((d) => d.toISOString()), cron: s.cron } });
    }
    if (due.run === null) continue;
    state[key] = due.run.toISOString();
    if (running.has(s.pipeline)) {
      deps.log.warn({ pipeline: s.pipeline, occurrence: due.run.toISOString() }, 'previous run still going: this occurrence is skipped (runs of one pipeline never overlap)');
      await deps.alert({ kind: 'overlap_skipped', severity: 'warning', pipeline: s.pipeline, message: `${s.pipeline}: the run due at ${due.run.toISOString()} was skipped because the previous run is still going`, details: { cron: s.cron } });
      continue;
    }
    const occurrence = due.run;
    deps.log.info({ pipeline: s.pipeline, occurrence: occurrence.toISOString() }, 'starting scheduled run');
    // A run that failed with no alert of its own (it never started: the config file broken since, the lock held past
    // --wait, another source) is alerted here: it only logged a warning, and every later occurrence failed the same way.
    const failed = async (error: NonNullable<ScheduledRun['error']>): Promise<void> => {
      deps.log.error({ pipeline: s.pipeline, error: `${error.code}: ${error.message}`, log: error.log_path }, 'scheduled run failed');
      await deps.alert({
        kind: 'scheduled_run_failed', severity: 'error', pipeline: s.pipeline,
        message: `${s.pipeline}: the scheduled run due at ${occurrence.toISOString()} failed: ${error.code}: ${error.message}`,
        details: { cron: s.cron, occurrence: occurrence.toISOString(), error_code: error.code, error: error.message, ...(error.log_path === undefined ? {} : { log_path: error.log_path }) },
      });
    };
    let pid: number | null = null;
    const startedAt = deps.now().toISOString();
    const p = deps.startRun(s.pipeline, occurrence, (x) => { pid = x; })
      .then(async (r) => {
        deps.log.info({ pipeline: s.pipeline, status: r.status, run: r.run_id }, 'scheduled run ended');
        if (r.error !== undefined) await failed(r.error);
      }, async (err: unknown) => {
        const e = toStockpipeError(err);
        await failed({ code: e.code, message: e.message });
      })
      .catch((err: unknown) => deps.log.error({ pipeline: s.pipeline, error: (err as Error).message }, 'scheduled run: could not alert its failure'))
      .finally(async () => {
        running.delete(s.pipeline);
        await inFlight?.drop(s.pipeline);
      });
    running.set(s.pipeline, p);
    started.push(s.pipeline);
    // Kept until the run ends: a scheduler killed meanwhile finds it at its next start (reportLeftRun).
    await inFlight?.set({ pipeline: s.pipeline, occurrence: occurrence.toISOString(), started_at: startedAt, pid });
  }
  return started;
}

/**
 * Writes the state; a failure (a full disk) is logged, not thrown: it would stop the scheduler and
 * its runs for good. The state stays in memory and the next occurrence writes it; until then a
 * restart catches up at most one occurrence that already ran (its unchanged tasks cached).
 */
async function saveState(file: string, state: State, log: Logger): Promise<void> {
  try {
    await writeFileAtomic(file, JSON.stringify(state, null, 2));
  } catch (err) {
    log.warn({ err, state: file }, 'cannot save the scheduler state; the next occurrence writes it');
  }
}

/** Runs until `signal` aborts, then waits for the runs in progress. */
export async function runScheduler(deps: SchedulerDeps): Promise<void> {
  for (const s of deps.schedules) cronFor(s);
  const file = deps.ws.schedulerState;
  const state = await readState(file);
  const running = new Map<string, Promise<unknown>>();
  for (const left of await RunsInFlight.readLeft(deps.ws.schedulerRuns, deps.log)) await reportLeftRun(deps, left);
  const inFlight = new RunsInFlight(deps.ws.schedulerRuns, deps.log);
  await inFlight.save();
  while (!deps.signal.aborted) {
    const before = JSON.stringify(state);
    await schedulerTick(deps, state, running, inFlight);
    if (JSON.stringify(state) !== before) await saveState(file, state, deps.log);
    const next = nextFire(deps.schedules, deps.now());
    const wait = next === null ? (deps.maxSleepMs ?? 60_000) : Math.max(0, Math.min(next.getTime() - deps.now().getTime() + 5, deps.maxSleepMs ?? 60_000));
    await deps.sleep(wait, deps.signal);
  }
  await Promise.allSettled(running.values());
}
