/** @module registry/studies
 * Tuning studies in the store (tables `studies` and `study_trials`, migration 6; docs/tuning.md):
 * a study's settings and state, and one row per trial and rung (parameters, fold scores, score,
 * best iteration, time, state). Plain functions over a Registry; ml/tune decides what runs. */
import { StockpipeError } from '../core/errors.js';
import type { STUDY_STATES, TRIAL_STATES } from './schema-studies.js';
import { abandonedRunIds, type RunnerGoneCheck } from './pipeline.js';
import type { Registry } from './store.js';

export type StudyState = (typeof STUDY_STATES)[number];
export type TrialState = (typeof TRIAL_STATES)[number];

export interface StudyInput {
  study_id: string;
  name: string;
  task: string;
  metric: string;
  direction: 'minimize' | 'maximize';
  seed: number;
  /** The search space (ml/tune/space). */
  space: Record<string, unknown>;
  /** trials, folds, eta, max_trees, rungs, data: what a resumed study must run with again. */
  settings: Record<string, unknown>;
  folds: number;
}

export interface StudyRecord extends StudyInput {
  /** As stored, except 'abandoned': left 'running' by a tune session that is gone (killed), read so
   * as a pipeline run is; `tune --resume` continues it. */
  state: StudyState | 'abandoned';
  created_at: string;
  finished_at: string | null;
  best_trial: number | null;
  /** Evaluation time summed over every session that worked on the study. */
  seconds: number;
  error: string | null;
}

/** One trial evaluated at one rung (its tree budget). */
export interface TrialRecord {
  study_id: string;
  number: number;
  rung: number;
  budget: number;
  params: Record<string, number | string | null>;
  state: TrialState;
  fold_scores: number[] | null;
  fold_iterations: number[] | null;
  /** Each fold's trees kept by early stopping (the booster stopped at kept + patience). */
  fold_trees: number[] | null;
  /** 1 when copied from the rung below without training (every fold had stopped early before that budget). */
  carried: number;
  score: number | null;
  best_iteration: number | null;
  seconds: number | null;
  started_at: string;
  finished_at: string | null;
  error: string | null;
}

interface StudyRow extends Omit<StudyRecord, 'space' | 'settings'> { space: string; settings: string }
interface TrialRow extends Omit<TrialRecord, 'params' | 'fold_scores' | 'fold_iterations' | 'fold_trees'> { params: string; fold_scores: string | null; fold_iterations: string | null; fold_trees: string | null }

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));
const toStudy = (r: StudyRow): StudyRecord => ({ ...r, space: JSON.parse(r.space) as Record<string, unknown>, settings: JSON.parse(r.settings) as Record<string, unknown> });
const toTrial = (r: TrialRow): TrialRecord => ({
  ...r,
  params: JSON.parse(r.params) as Record<string, number | string | null>,
  fold_scores: parse<number[]>(r.fold_scores),
  fold_iterations: parse<number[]>(r.fold_iterations),
  fold_trees: parse<number[]>(r.fold_trees),
});

export function createStudy(reg: Registry, s: StudyInput): StudyRecord {
  reg.run('create study', `INSERT INTO studies (study_id, name, task, metric, direction, seed, space, settings, folds, state, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?)`, [s.study_id, s.name, s.task, s.metric, s.direction, s.seed, JSON.stringify(s.space), JSON.stringify(s.settings), s.folds, reg.timestamp()]);
  return getStudy(reg, s.study_id);
}

/** A study by id, or the newest study with this name; null when neither matches. */
export function findStudy(reg: Registry, idOrName: string): StudyRecord | null {
  const r = reg.get<StudyRow>('read study', 'SELECT * FROM studies WHERE study_id = ?', [idOrName])
    ?? reg.get<StudyRow>('read study', 'SELECT * FROM studies WHERE name = ? ORDER BY created_at DESC, rowid DESC LIMIT 1', [idOrName]);
  return r === undefined ? null : readState(reg, toStudy(r), abandonedOnce(reg));
}

/** Like findStudy; SP_ERR_STUDY_NOT_FOUND when none matches. */
export function getStudy(reg: Registry, idOrName: string): StudyRecord {
  const s = findStudy(reg, idOrName);
  if (s === null) throw new StockpipeError('SP_ERR_STUDY_NOT_FOUND', `no tuning study with id or name '${idOrName.slice(0, 100)}' in ${reg.file}`);
  return s;
}

/** Studies, newest first. */
export function listStudies(reg: Registry, opts: { limit?: number; offset?: number; gone?: RunnerGoneCheck } = {}): StudyRecord[] {
  const abandoned = abandonedOnce(reg, opts.gone);
  return reg.all<StudyRow>('list studies', 'SELECT * FROM studies ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?', [opts.limit ?? 50, opts.offset ?? 0]).map((r) => readState(reg, toStudy(r), abandoned));
}

/** The abandoned runs' ids, looked up (every running run's process checked) at most once. */
function abandonedOnce(reg: Registry, gone?: RunnerGoneCheck): () => ReadonlySet<string> {
  let ids: ReadonlySet<string> | undefined;
  return () => (ids ??= new Set(abandonedRunIds(reg, gone, true)));
}

/** A stored 'running' study whose every tune session that worked on it (its runs of kind tune,
 * by their `study_id` param) is gone reads 'abandoned'. No session recorded yet: as stored. */
function readState(reg: Registry, s: StudyRecord, abandoned: () => ReadonlySet<string>): StudyRecord {
  if (s.state !== 'running') return s;
  const sessions = reg.all<{ run_id: string }>('find study sessions', `SELECT r.run_id FROM runs r JOIN params p ON p.run_id = r.run_id AND p.key = 'study_id' AND p.value = ?
    WHERE r.kind = 'tune' AND r.status = 'running'`, [s.study_id]);
  if (sessions.length === 0 || !sessions.every((r) => abandoned().has(r.run_id))) return s;
  // Read 'running' before its sessions were seen gone: the last one may have ended the study and
  // exited in between (a busy machine pauses a reader that long). Only a study still stored running
  // now was left by them.
  const now = reg.get<StudyRow>('read study', 'SELECT * FROM studies WHERE study_id = ?', [s.study_id]);
  if (now === undefined) return s;
  return now.state === 'running' ? { ...s, state: 'abandoned' } : toStudy(now);
}

/** Every row of a study (trial × rung), by number then rung. */
export function studyTrials(reg: Registry, studyId: string): TrialRecord[] {
  return reg.all<TrialRow>('read study trials', 'SELECT * FROM study_trials WHERE study_id = ? ORDER BY number, rung', [studyId]).map(toTrial);
}

/** Sets the study's state (a final one stamps finished_at; `running` clears it and the error). */
export function setStudyState(reg: Registry, studyId: string, state: StudyState, error?: string): void {
  reg.run('set study state', 'UPDATE studies SET state = ?, finished_at = ?, error = ? WHERE study_id = ?', [state, state === 'running' ? null : reg.timestamp(), error ?? null, studyId]);
}

export function setBestTrial(reg: Registry, studyId: string, number: number | null): void {
  reg.run('set best trial', 'UPDATE studies SET best_trial = ? WHERE study_id = ?', [number, studyId]);
}

/** Starts (or restarts: a killed or failed attempt) a trial's evaluation at a rung. */
export function startTrial(reg: Registry, t: { study_id: string; number: number; rung: number; budget: number; params: Record<string, number | string | null> }): void {
  reg.run('start trial', `INSERT INTO study_trials (study_id, number, rung, budget, params, state, started_at) VALUES (?, ?, ?, ?, ?, 'running', ?)
    ON CONFLICT (study_id, number, rung) DO UPDATE SET budget = excluded.budget, params = excluded.params, state = 'running', started_at = excluded.started_at,
    finished_at = NULL, error = NULL, fold_scores = NULL, fold_iterations = NULL, fold_trees = NULL, carried = 0, score = NULL, best_iteration = NULL, seconds = NULL`,
  [t.study_id, t.number, t.rung, t.budget, JSON.stringify(t.params), reg.timestamp()]);
}

/**
 * Records a finished evaluation of a `running` row and adds its time to the study's, in one
 * transaction; false (nothing written) when the row is not running: an evaluation is written once
 * (a queued trial's redelivered job finds its row complete).
 */
export function completeTrial(reg: Registry, key: { study_id: string; number: number; rung: number }, r: { fold_scores: number[]; fold_iterations: number[]; fold_trees?: number[] | null; score: number; best_iteration: number; seconds: number }, carried = false): boolean {
  return reg.transaction(() => {
    const { changes } = reg.run('complete trial', `UPDATE study_trials SET state = 'complete', fold_scores = ?, fold_iterations = ?, fold_trees = ?, carried = ?, score = ?, best_iteration = ?, seconds = ?, finished_at = ?
      WHERE study_id = ? AND number = ? AND rung = ? AND state = 'running'`, [JSON.stringify(r.fold_scores), JSON.stringify(r.fold_iterations), r.fold_trees ? JSON.stringify(r.fold_trees) : null, carried ? 1 : 0, r.score, r.best_iteration, r.seconds, reg.timestamp(), key.study_id, key.number, key.rung]);
    if (changes === 0) return false;
    reg.run('add study time', 'UPDATE studies SET seconds = seconds + ? WHERE study_id = ?', [r.seconds, key.study_id]);
    return true;
  });
}

/** One row (trial × rung), or null. */
export function studyTrial(reg: Registry, key: { study_id: string; number: number; rung: number }): TrialRecord | null {
  const r = reg.get<TrialRow>('read study trial', 'SELECT * FROM study_trials WHERE study_id = ? AND number = ? AND rung = ?', [key.study_id, key.number, key.rung]);
  return r === undefined ? null : toTrial(r);
}

/** Marks a `running` row failed (a row completed meanwhile, e.g. by a queued job, stays complete). */
export function failTrial(reg: Registry, key: { study_id: string; number: number; rung: number }, error: string, seconds: number): void {
  reg.run('fail trial', `UPDATE study_trials SET state = 'failed', error = ?, seconds = ?, finished_at = ? WHERE study_id = ? AND number = ? AND rung = ? AND state = 'running'`,
    [error, seconds, reg.timestamp(), key.study_id, key.number, key.rung]);
}

/** Marks complete evaluations of a rung pruned (not kept for the next rung). */
export function pruneTrials(reg: Registry, studyId: string, rung: number, numbers: readonly number[]): void {
  reg.transaction(() => {
    for (const n of numbers) reg.run('prune trial', "UPDATE study_trials SET state = 'pruned' WHERE study_id = ? AND number = ? AND rung = ? AND state = 'complete'", [studyId, n, rung]);
  });
}
