import { describe, expect, it } from 'vitest';
import type { StudyRecord, TrialRecord } from '../../registry/studies.js';
import { DEFAULT_TRIAL } from './space.js';
import { renderStudy, studyView } from './view.js';

const study: StudyRecord = {
  study_id: 's', name: 's', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 1, space: {}, settings: { rungs: [{ rung: 0, budget: 10, trials: 3 }] }, folds: 2,
  state: 'complete', created_at: '2026-12-03T00:00:00Z', finished_at: null, best_trial: 1, seconds: 3, error: null,
};
const row = (number: number, params: Record<string, number | string | null>, score: number): TrialRecord => ({
  study_id: 's', number, rung: 0, budget: 10, params, state: 'complete', fold_scores: [score], fold_iterations: [5], fold_trees: [5], carried: 0, score, best_iteration: 5, seconds: 1, started_at: '', finished_at: null, error: null,
});

describe('a study as people read it', () => {
  it('shows the loss: by name in score_by_param (a trial stored without it is l2), δ with huber only, both in the table', () => {
    const { objective: _o, huber_delta: _d, ...old } = DEFAULT_TRIAL;
    const v = studyView(study, [row(0, { ...DEFAULT_TRIAL }, 0.6), row(1, { ...DEFAULT_TRIAL, objective: 'huber', huber_delta: 0.2 }, 0.5), row(2, old, 0.7)]);
    expect(v.score_by_param.objective).toEqual([['huber', 0.5], ['l2', 0.6], ['l2', 0.7]]);
    expect(v.score_by_param.huber_delta).toEqual([[0.2, 0.5], [null, 0.6], [null, 0.7]]);
    const text = renderStudy(v);
    expect(text).toMatch(/loss\s+delta\s+mono/);
    expect(text).toMatch(/\n1\*.*huber\s+0\.2\s+0\n/);
    expect(text).toMatch(/\n2 .*l2\s+-\s+0\n/);
  });

  it('shows the monotone constraint: 0/1 in score_by_param and the table, 0 for a trial stored without it', () => {
    const { monotone_vma: _m, ...old } = DEFAULT_TRIAL;
    const v = studyView(study, [row(0, { ...DEFAULT_TRIAL }, 0.6), row(1, { ...DEFAULT_TRIAL, monotone_vma: 1 }, 0.5), row(2, old, 0.7)]);
    expect(v.score_by_param.monotone_vma).toEqual([[0, 0.6], [0, 0.7], [1, 0.5]]);
    expect(renderStudy(v)).toMatch(/\n1\*.*l2\s+-\s+1\n/);
  });

  it('lists each failed trial\'s error under the table, one line each (SP_ERR_STUDY_FAILED\'s hint sends people here; only --json had them)', () => {
    const failed = (number: number, error: string): TrialRecord => ({ ...row(number, { ...DEFAULT_TRIAL }, 0), state: 'failed', score: null, best_iteration: null, error });
    const v = studyView({ ...study, state: 'failed', best_trial: null }, [failed(0, 'SP_ERR_TRAIN_DATA: no rows\nin the fold'), row(1, { ...DEFAULT_TRIAL }, 0.5), failed(2, 'out of memory')]);
    const text = renderStudy(v);
    expect(text.split('\n').slice(-3)).toEqual(['errors of the failed trials:', '  trial 0: SP_ERR_TRAIN_DATA: no rows in the fold', '  trial 2: out of memory']);
    expect(renderStudy(studyView(study, [row(0, { ...DEFAULT_TRIAL }, 0.6)]))).not.toMatch(/errors of the failed trials/);
  });

  it('reads a trial left running by a killed session as abandoned, as its study reads (running while a session works on it)', () => {
    const running = (number: number): TrialRecord => ({ ...row(number, { ...DEFAULT_TRIAL }, 0), state: 'running', score: null, best_iteration: null });
    const rows = [row(0, { ...DEFAULT_TRIAL }, 0.6), running(1)];
    expect(studyView({ ...study, state: 'abandoned', best_trial: null }, rows).trials.map((t) => t.state)).toEqual(['complete', 'abandoned']);
    expect(studyView({ ...study, state: 'running', best_trial: null }, rows).trials.map((t) => t.state)).toEqual(['complete', 'running']);
    expect(studyView({ ...study, state: 'abandoned', best_trial: null }, rows).evaluations.map((e) => e.state)).toEqual(['complete', 'running']);
  });
});
