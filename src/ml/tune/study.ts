/** @module ml/tune/study
 * Runs a study's successive halving against the store: rung by rung, the trials without a complete
 * evaluation at that rung are evaluated (by `parallel` lanes, each with its own evaluator), then
 * the best 1/η go on and the rest are marked pruned. Resuming is running it again: complete rows
 * are reused, `running` (a killed session's) and `failed` rows are evaluated again. Decisions wait
 * for a whole rung, so the study does not depend on the lanes' timing. --timeout (`stopAt`) starts
 * no new evaluation; a signal aborts the running ones (recorded failed: interrupted). */
import { StockpipeError } from '../../core/errors.js';
import type { Registry } from '../../registry/store.js';
import {
  completeTrial, failTrial, pruneTrials, setBestTrial, setStudyState, startTrial, studyTrials, type StudyRecord, type TrialRecord,
} from '../../registry/studies.js';
import type { Evaluator } from './evaluate.js';
import { promote, rank, type Rung } from './halving.js';
import type { TrialParams } from './space.js';

export interface RunStudyOptions {
  reg: Registry;
  study: StudyRecord;
  /** Trial i's parameters (trial 0 = the defaults). */
  trials: readonly TrialParams[];
  rungs: readonly Rung[];
  /** One evaluator per lane: `parallel` = their number. */
  lanes: readonly Evaluator[];
  seed: number;
  /** Threads each lane's evaluation uses. */
  threads: number;
  /** Start no evaluation once this returns true (--timeout). */
  stopAt?: () => boolean;
  signal?: AbortSignal;
  /** After each evaluation ends (progress lines). */
  onEvaluation?: (row: TrialRecord, done: number, total: number) => void;
}

export interface StudyOutcome {
  state: 'complete' | 'stopped' | 'interrupted';
  /** Evaluations run by this session, and complete ones taken from the store. */
  evaluated: number;
  reused: number;
  best: TrialRecord | null;
}

const isAborted = (signal: AbortSignal | undefined): boolean => signal?.aborted === true;
const key = (study: string, number: number, rung: number) => ({ study_id: study, number, rung });

/** The chosen evaluation: the best complete one at the highest rung that has any (`whole` false: a
 * study stopped or interrupted, whose highest rung may be partial — see below). */
export function bestOf(rows: readonly TrialRecord[], direction: 'minimize' | 'maximize', whole = true): TrialRecord | null {
  const done = rows.filter((r) => (r.state === 'complete' || r.state === 'pruned') && r.score !== null);
  if (done.length === 0) return null;
  const top = Math.max(...done.map((r) => r.rung));
  // A whole study: the best at the highest rung. One stopped or interrupted: its highest rung may be
  // partial (trials kept for it still waiting), so the rung below — complete, since a rung starts
  // only after the one below is decided — competes too, each trial at its higher evaluation there.
  const floor = whole ? top : Math.max(0, top - 1);
  const latest = new Map<number, TrialRecord>();
  for (const r of done) {
    if (r.rung < floor) continue;
    const seen = latest.get(r.number);
    if (seen === undefined || r.rung > seen.rung) latest.set(r.number, r);
  }
  const first = rank([...latest.values()].map((r) => ({ number: r.number, score: r.score })), direction)[0]!;
  return latest.get(first.number)!;
}

/**
 * The rung-below evaluation of a trial when more trees cannot change it: every fold stopped early
 * (kept trees + patience ≤ that budget: the booster broke off before the budget, and the trees it grew
 * depend on the seed and tree number only), so the larger budget grows the same trees. Else null.
 */
export function carriable(below: TrialRecord | undefined, patience: number): { fold_scores: number[]; fold_iterations: number[]; fold_trees: number[]; score: number; best_iteration: number } | null {
  if (below === undefined || below.state !== 'complete' || patience <= 0) return null;
  const { fold_scores, fold_iterations, fold_trees, score, best_iteration } = below;
  if (fold_scores === null || fold_iterations === null || fold_trees === null || score === null || best_iteration === null) return null;
  if (!fold_trees.every((t) => t + patience <= below.budget)) return null;
  return { fold_scores, fold_iterations, fold_trees, score, best_iteration };
}

export async function runStudy(o: RunStudyOptions): Promise<StudyOutcome> {
  const { reg, study } = o;
  const id = study.study_id;
  const direction = study.direction;
  let evaluated = 0;
  let reused = 0;
  let stopped = false;
  let candidates = o.trials.map((_, i) => i);
  const total = o.rungs.reduce((a, r) => a + r.trials, 0);
  let done = 0;
  setStudyState(reg, id, 'running');
  for (const rung of o.rungs) {
    const stored = new Map(studyTrials(reg, id).filter((r) => r.rung === rung.rung).map((r) => [r.number, r]));
    const todo = candidates.filter((n) => {
      const s = stored.get(n)?.state;
      return s !== 'complete' && s !== 'pruned';
    });
    const studyBelow = new Map(rung.rung === 0 ? [] : studyTrials(reg, id).filter((r) => r.rung === rung.rung - 1).map((r) => [r.number, r]));
    reused += candidates.length - todo.length;
    done += candidates.length - todo.length;
    let next = 0;
    let fatal: StockpipeError | null = null;
    const lane = async (evaluate: Evaluator): Promise<void> => {
      while (next < todo.length && !stopped && fatal === null && !isAborted(o.signal)) {
        if (o.stopAt?.() === true) {
          stopped = true;
          return;
        }
        const number = todo[next++]!;
        const params = o.trials[number]!;
        startTrial(reg, { ...key(id, number, rung.rung), budget: rung.budget, params: { ...params } });
        const below = carriable(studyBelow.get(number), params.patience);
        if (below !== null) {
          completeTrial(reg, key(id, number, rung.rung), { ...below, seconds: 0 }, true);
          evaluated++;
          done++;
          o.onEvaluation?.(studyTrials(reg, id).find((r) => r.number === number && r.rung === rung.rung)!, done, total);
          continue;
        }
        const t0 = performance.now();
        try {
          const r = await evaluate({ params, budget: rung.budget, seed: o.seed, threads: o.threads, signal: o.signal, trial: key(id, number, rung.rung) });
          if (r.recorded !== true) completeTrial(reg, key(id, number, rung.rung), r);
        } catch (err) {
          const interrupted = isAborted(o.signal);
          failTrial(reg, key(id, number, rung.rung), interrupted ? `interrupted (${String(o.signal?.reason ?? 'signal')})` : err instanceof Error ? err.message : String(err), (performance.now() - t0) / 1000);
          if (interrupted) return;
          // The queue's Redis is gone: no evaluation can run, and going on would halve on the trials that
          // happened to finish. The session ends (the study stays resumable), not the trial alone.
          if (err instanceof StockpipeError && err.code === 'SP_ERR_REDIS_UNREACHABLE') {
            fatal ??= err;
            return;
          }
        }
        evaluated++;
        done++;
        const row = studyTrials(reg, id).find((r) => r.number === number && r.rung === rung.rung)!;
        o.onEvaluation?.(row, done, total);
      }
    };
    await Promise.all(o.lanes.map((e) => lane(e)));
    if (fatal !== null) throw fatal;
    const rows = studyTrials(reg, id);
    // Stopped or interrupted, this rung may be partial (bestOf's `whole`).
    const whole = !isAborted(o.signal) && !stopped;
    setBestTrial(reg, id, bestOf(rows, direction, whole)?.number ?? null);
    if (isAborted(o.signal)) return { state: 'interrupted', evaluated, reused, best: bestOf(rows, direction, false) };
    if (stopped) return { state: 'stopped', evaluated, reused, best: bestOf(rows, direction, false) };
    const last = rung.rung === o.rungs.length - 1;
    if (last) break;
    const atRung = rows.filter((r) => r.rung === rung.rung && candidates.includes(r.number));
    const { kept, pruned } = promote(atRung.map((r) => ({ number: r.number, score: r.state === 'failed' ? null : r.score })), o.rungs[rung.rung + 1]!.trials, direction);
    pruneTrials(reg, id, rung.rung, pruned);
    candidates = kept.sort((a, b) => a - b);
    if (candidates.length === 0) break;
  }
  const rows = studyTrials(reg, id);
  const best = bestOf(rows, direction);
  setBestTrial(reg, id, best?.number ?? null);
  return { state: 'complete', evaluated, reused, best };
}
