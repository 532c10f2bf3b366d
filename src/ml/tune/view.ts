/** @module ml/tune/view
 * A study as people and the dashboard read it: one line per trial (its highest rung), the chosen
 * configuration, and the score against each parameter (the rung-0 evaluations: every trial with
 * the same tree budget, so their scores compare). Pure over the store's records. */
import type { StudyRecord, TrialRecord } from '../../registry/studies.js';
import { TRIAL_PARAM_NAMES } from './space.js';
import { bestOf } from './study.js';

export interface TrialSummary {
  number: number;
  params: Record<string, number | string | null>;
  /** The trial's state after its highest rung: complete (it reached the last rung or the study stopped there), pruned, running,
   * failed; abandoned: left running by a session that is gone (the study reads abandoned; `tune --resume` evaluates it again). */
  state: string;
  rung: number;
  budget: number;
  score: number | null;
  fold_scores: number[] | null;
  best_iteration: number | null;
  /** Seconds over all its rungs. */
  seconds: number;
  error: string | null;
}

export interface StudyView {
  study: StudyRecord;
  trials: TrialSummary[];
  /** The chosen evaluation: the best complete one at the highest rung reached (what `train --params-from` refits). */
  best: TrialRecord | null;
  /** Per parameter: [value, rung-0 score] of each trial evaluated at rung 0, by value (null last; the objective by name). */
  score_by_param: Record<string, [ParamValue, number][]>;
  /** Every evaluation (trial × rung). */
  evaluations: TrialRecord[];
}

type ParamValue = number | string | null;

/** Values in order: numbers ascending, names alphabetically, null last. */
function byValue(a: ParamValue, b: ParamValue): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

export function studyView(study: StudyRecord, rows: readonly TrialRecord[]): StudyView {
  const byNumber = new Map<number, TrialRecord[]>();
  for (const r of rows) byNumber.set(r.number, [...(byNumber.get(r.number) ?? []), r]);
  const trials: TrialSummary[] = [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([number, rs]) => {
    const top = rs.reduce((a, b) => (b.rung > a.rung ? b : a));
    return {
      number, params: top.params, state: study.state === 'abandoned' && top.state === 'running' ? 'abandoned' : top.state, rung: top.rung, budget: top.budget, score: top.score, fold_scores: top.fold_scores,
      best_iteration: top.best_iteration, seconds: Math.round(rs.reduce((s, r) => s + (r.seconds ?? 0), 0) * 1000) / 1000, error: top.error,
    };
  });
  const rung0 = rows.filter((r) => r.rung === 0 && r.score !== null && (r.state === 'complete' || r.state === 'pruned'));
  const score_by_param: Record<string, [ParamValue, number][]> = {};
  for (const k of TRIAL_PARAM_NAMES) {
    // A trial stored before the loss was searched is l2.
    score_by_param[k] = rung0.map((r): [ParamValue, number] => [r.params[k] ?? storedDefault(k), r.score!]).sort((a, b) => byValue(a[0], b[0]) || a[1] - b[1]);
  }
  const best = bestOf(rows, study.direction, study.state === 'complete');
  return { study, trials, best, score_by_param, evaluations: [...rows] };
}

/** What a trial stored before a dimension was searched had: l2, free of the monotone constraint. */
function storedDefault(k: string): ParamValue {
  return k === 'objective' ? 'l2' : k === 'monotone_vma' ? 0 : null;
}

const num = (x: ParamValue | undefined, digits = 4): string => (x === null || x === undefined ? '-' : typeof x === 'string' ? x : Number(x.toPrecision(digits)).toString());

/** The trials table and the score-by-parameter lines, for `stockpipe studies ID` and `tune`. */
export function renderStudy(v: StudyView): string {
  const s = v.study;
  const head = ['#', 'state', 'rung', 'trees', s.metric, 'iters', 'secs', 'lr', 'leaves', 'depth', 'min_leaf', 'l2', 'window_y', 'half_life', 'patience', 'loss', 'delta', 'mono'];
  const rows = v.trials.map((t) => [
    `${t.number}${t.number === s.best_trial ? '*' : ''}`, t.state, String(t.rung), String(t.budget), num(t.score, 5), num(t.best_iteration), num(t.seconds, 3),
    ...TRIAL_PARAM_NAMES.map((k) => num(t.params[k] ?? storedDefault(k))),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i <= 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const byParam = Object.entries(v.score_by_param).map(([k, pairs]) => `  ${k.padEnd(17)}${pairs.map(([x, y]) => `${num(x)}→${num(y)}`).join('  ')}`);
  // Each failed trial's error (SP_ERR_STUDY_FAILED's hint sends people here), one line each.
  const errors = v.trials.filter((t) => t.error !== null).map((t) => `  trial ${t.number}: ${t.error!.replace(/\s*\n\s*/g, ' ')}`);
  const st = s.settings as { rungs?: { budget: number; trials: number }[] };
  return [
    `study ${s.study_id}${s.name === s.study_id ? '' : ` (${s.name})`}: ${s.task}, ${s.metric} (${s.direction}), ${s.task === 'forecast' ? 'the validation window' : `${s.folds} folds`}, seed ${s.seed}, ${s.state}; ${num(s.seconds, 4)} s of evaluation`,
    `  rungs: ${(st.rungs ?? []).map((r) => `${r.trials} × ${r.budget} trees`).join(' → ')}`,
    v.best === null ? '  no complete trial yet' : `  best: trial ${v.best.number}, ${s.metric} ${num(v.best.score, 5)} at rung ${v.best.rung}, ${v.best.best_iteration} trees (train --params-from ${s.study_id})`,
    '',
    line(head),
    ...rows.map(line),
    '',
    `${s.metric} at rung 0 against each parameter (value→score):`,
    ...byParam,
    ...(errors.length === 0 ? [] : ['', 'errors of the failed trials:', ...errors]),
  ].join('\n');
}
