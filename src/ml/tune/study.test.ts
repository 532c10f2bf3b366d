import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { completeTrial, createStudy, failTrial, getStudy, listStudies, setStudyState, startTrial, studyTrial, studyTrials, type TrialRecord } from '../../registry/studies.js';
import { hostname } from 'node:os';
import { openRegistry, type Registry } from '../../registry/store.js';
import type { Evaluator } from './evaluate.js';
import { rungPlan } from './halving.js';
import { DEFAULT_SPACE, sampleTrials } from './space.js';
import { bestOf, runStudy } from './study.js';
import { studyChoice } from './refit.js';
import { StockpipeError } from '../../core/errors.js';

let dir: string;
let reg: Registry;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-study-'));
  reg = openRegistry(dir);
});
afterEach(async () => {
  reg.close();
  await rm(dir, { recursive: true, force: true });
});

/** A fake CV: the score depends on the parameters and shrinks with the budget; it counts its calls. */
function fakeEvaluator(calls: string[], opts: { failOn?: number; abortAfter?: { n: number; ac: AbortController }; keep?: number } = {}): Evaluator {
  return async (req) => {
    calls.push(`${req.params.learning_rate}@${req.budget}`);
    await new Promise((r) => setTimeout(r, 1));
    if (opts.abortAfter && calls.length > opts.abortAfter.n) {
      opts.abortAfter.ac.abort('SIGTERM');
      throw new Error('aborted');
    }
    if (opts.failOn !== undefined && req.params.learning_rate === opts.failOn) throw new Error('boom');
    // `keep`: every fold keeps that many trees (it stopped early), so the score does not depend on the budget.
    const trees = opts.keep === undefined ? req.budget : Math.min(opts.keep, req.budget);
    const s = Math.abs(Math.log(req.params.learning_rate / 0.05)) + Math.abs(Math.log(req.params.min_data_in_leaf / 300)) / 4 + 10 / trees;
    return { fold_scores: [s, s + 0.01], fold_iterations: [trees, trees - 1], fold_trees: [trees, trees], score: s + 0.005, best_iteration: trees - 1, seconds: 0.001 };
  };
}

function newStudy(id: string, trials = 9) {
  const rungs = rungPlan(trials, 270);
  const study = createStudy(reg, { study_id: id, name: id, task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 3, space: { ...DEFAULT_SPACE }, settings: { trials, rungs }, folds: 2 });
  return { study, rungs, trials: sampleTrials(DEFAULT_SPACE, 3, trials) };
}

const summary = (rows: TrialRecord[]) => rows.map((r) => [r.number, r.rung, r.budget, r.state, r.score]);

describe('runStudy (successive halving over the store)', () => {
  it('evaluates every trial at rung 0, keeps the best third at each rung, prunes the rest', async () => {
    const s = newStudy('a');
    const calls: string[] = [];
    const out = await runStudy({ reg, ...s, lanes: [fakeEvaluator(calls)], seed: 3, threads: 1 });
    expect(out.state).toBe('complete');
    expect(out.evaluated).toBe(9 + 3 + 1);
    const rows = studyTrials(reg, 'a');
    const at = (k: number) => rows.filter((r) => r.rung === k);
    expect(at(0)).toHaveLength(9);
    expect(at(1)).toHaveLength(3);
    expect(at(2)).toHaveLength(1);
    expect(at(0).filter((r) => r.state === 'pruned')).toHaveLength(6);
    expect(at(1).filter((r) => r.state === 'pruned')).toHaveLength(2);
    // The three kept at rung 0 are the three best rung-0 scores.
    const best3 = [...at(0)].sort((x, y) => x.score! - y.score!).slice(0, 3).map((r) => r.number).sort();
    expect(at(1).map((r) => r.number).sort()).toEqual(best3);
    expect(at(0).filter((r) => best3.includes(r.number)).every((r) => r.state === 'complete')).toBe(true);
    expect(out.best?.rung).toBe(2);
    expect(out.best?.number).toBe(at(2)[0]!.number);
    expect(reg.get<{ best_trial: number }>('t', 'SELECT best_trial FROM studies WHERE study_id = ?', ['a'])!.best_trial).toBe(out.best!.number);
  });

  it('two lanes give the same study as one', async () => {
    const one = newStudy('one');
    await runStudy({ reg, ...one, lanes: [fakeEvaluator([])], seed: 3, threads: 1 });
    const two = newStudy('two');
    await runStudy({ reg, ...two, lanes: [fakeEvaluator([]), fakeEvaluator([])], seed: 3, threads: 1 });
    expect(summary(studyTrials(reg, 'two'))).toEqual(summary(studyTrials(reg, 'one')));
  });

  it('an interrupted study resumes without evaluating complete trials again, to the same result', async () => {
    const ref = newStudy('ref');
    await runStudy({ reg, ...ref, lanes: [fakeEvaluator([])], seed: 3, threads: 1 });
    const s = newStudy('cut');
    const ac = new AbortController();
    const first: string[] = [];
    const cut = await runStudy({ reg, ...s, lanes: [fakeEvaluator(first, { abortAfter: { n: 5, ac } })], seed: 3, threads: 1, signal: ac.signal });
    expect(cut.state).toBe('interrupted');
    const rows = studyTrials(reg, 'cut');
    expect(rows.filter((r) => r.state === 'complete')).toHaveLength(5);
    expect(rows.filter((r) => r.state === 'failed').map((r) => r.error)).toEqual(['interrupted (SIGTERM)']);
    const second: string[] = [];
    const done = await runStudy({ reg, ...s, lanes: [fakeEvaluator(second)], seed: 3, threads: 1 });
    expect(done).toMatchObject({ state: 'complete', reused: 5, evaluated: 13 - 5 });
    expect(second).toHaveLength(8);
    // None of the five complete evaluations ran again.
    const firstDone = first.slice(0, 5);
    expect(second.filter((c) => firstDone.includes(c))).toEqual([]);
    expect(summary(studyTrials(reg, 'cut'))).toEqual(summary(studyTrials(reg, 'ref')));
  });

  it('a stop request (--timeout) starts no new evaluation and leaves the study resumable', async () => {
    const s = newStudy('t');
    const calls: string[] = [];
    const out = await runStudy({ reg, ...s, lanes: [fakeEvaluator(calls)], seed: 3, threads: 1, stopAt: () => calls.length >= 4 });
    expect(out).toMatchObject({ state: 'stopped', evaluated: 4 });
    expect(studyTrials(reg, 't').every((r) => r.state === 'complete')).toBe(true);
    expect(out.best).not.toBeNull();
  });

  it('a failing trial is recorded failed and never kept', async () => {
    const s = newStudy('f');
    const failing = s.trials[0]!.learning_rate;
    await runStudy({ reg, ...s, lanes: [fakeEvaluator([], { failOn: failing })], seed: 3, threads: 1 });
    const rows = studyTrials(reg, 'f');
    expect(rows.find((r) => r.number === 0)).toMatchObject({ state: 'failed', error: 'boom', rung: 0 });
    expect(rows.filter((r) => r.number === 0)).toHaveLength(1);
  });

  it('train --params-from: a study without a complete evaluation is SP_ERR_STUDY_INCOMPLETE; then the best at the highest rung', async () => {
    const s = newStudy('c');
    const code = (fn: () => unknown): string => {
      try {
        fn();
        return 'none';
      } catch (err) {
        return err instanceof StockpipeError ? err.code : String(err);
      }
    };
    expect(code(() => studyChoice(reg, 'c'))).toBe('SP_ERR_STUDY_INCOMPLETE');
    expect(code(() => studyChoice(reg, 'nope'))).toBe('SP_ERR_STUDY_NOT_FOUND');
    // Probed: `train --params-from <a forecast study>` without --task forecast hinted `stockpipe tune --task volume`, not the --task the train lacked.
    expect(() => studyChoice(reg, 'c', 'forecast')).toThrow(expect.objectContaining({ code: 'SP_ERR_STUDY_MISMATCH', hint: 'Train the volume model on it (`stockpipe train --params-from c`), or tune the forecast model first (`stockpipe tune --task forecast`).' }));
    const out = await runStudy({ reg, ...s, lanes: [fakeEvaluator([])], seed: 3, threads: 1 });
    const c = studyChoice(reg, 'c');
    expect(c).toMatchObject({ trial: out.best!.number, rung: 2, trees: out.best!.best_iteration, cv_score: out.best!.score, folds: 2, budget: 270 });
  });

  it('an evaluation whose folds all stopped early is carried to the next rung without training', async () => {
    const s = newStudy('carry');
    const calls: string[] = [];
    const out = await runStudy({ reg, ...s, lanes: [fakeEvaluator(calls, { keep: 5 })], seed: 3, threads: 1 });
    expect(out.state).toBe('complete');
    // 5 trees kept + patience (10, 20 or 50) ≤ 30 or more: only the trials whose patience fits were carried.
    const rows = studyTrials(reg, 'carry');
    const later = rows.filter((r) => r.rung > 0);
    expect(later.length).toBe(4);
    for (const r of later) {
      const below = rows.find((x) => x.number === r.number && x.rung === r.rung - 1)!;
      const fits = 5 + (r.params.patience as number) <= below.budget;
      expect(r.carried, `trial ${r.number} rung ${r.rung}`).toBe(fits ? 1 : 0);
      if (fits) expect(r).toMatchObject({ score: below.score, fold_scores: below.fold_scores, best_iteration: below.best_iteration, seconds: 0 });
    }
    expect(calls.length).toBe(9 + later.filter((r) => r.carried === 0).length);
    expect(later.some((r) => r.carried === 1)).toBe(true);
  });

  it('an evaluation is written once: complete only a running row (the study\'s time added once); a completed row is never failed', () => {
    newStudy('once');
    const k = { study_id: 'once', number: 0, rung: 0 };
    const r = { fold_scores: [0.5, 0.6], fold_iterations: [9, 10], fold_trees: [9, 10], score: 0.55, best_iteration: 9, seconds: 2 };
    startTrial(reg, { ...k, budget: 10, params: { learning_rate: 0.1 } });
    expect(completeTrial(reg, k, r)).toBe(true);
    expect(completeTrial(reg, k, { ...r, score: 0.1, seconds: 5 })).toBe(false);
    failTrial(reg, k, 'interrupted (SIGTERM)', 1);
    expect(studyTrial(reg, k)).toMatchObject({ state: 'complete', score: 0.55, seconds: 2, error: null });
    expect(getStudy(reg, 'once').seconds).toBe(2);
    // A failed row (the coordinator gave up on it) takes no late write either.
    const k1 = { ...k, number: 1 };
    startTrial(reg, { ...k1, budget: 10, params: { learning_rate: 0.2 } });
    failTrial(reg, k1, 'interrupted (SIGTERM)', 1);
    expect(completeTrial(reg, k1, r)).toBe(false);
    expect(studyTrial(reg, k1)).toMatchObject({ state: 'failed', score: null });
    expect(studyTrial(reg, { ...k, number: 7 })).toBeNull();
  });
});

describe('the best evaluation', () => {
  const row = (number: number, rung: number, score: number, state: TrialRecord['state'] = 'complete'): TrialRecord => ({
    study_id: 's', number, rung, budget: 10 * 3 ** rung, params: {}, state, fold_scores: [score], fold_iterations: [1], fold_trees: [1], carried: 0, score, best_iteration: 1, seconds: 1, started_at: '', finished_at: '', error: null,
  });
  // Rung 0 whole (trial 3 best), rung 1 begun: trial 0 scored there, trials 3 and 1 still waiting.
  const rows = [row(0, 0, 0.5791), row(1, 0, 0.59), row(2, 0, 0.60, 'pruned'), row(3, 0, 0.5780), row(0, 1, 0.5790)];

  it('of a whole study is the best at its highest rung', () => {
    expect(bestOf(rows, 'minimize', true)?.number).toBe(0);
  });

  it('of a study stopped mid-rung counts the complete rung below: a trial still waiting for the partial rung can be the best', () => {
    expect(bestOf(rows, 'minimize', false)).toMatchObject({ number: 3, rung: 0, score: 0.578 });
    // Trial 0 is taken at its higher evaluation when it is the best one.
    expect(bestOf([...rows.slice(0, 4), row(0, 1, 0.57)], 'minimize', false)).toMatchObject({ number: 0, rung: 1 });
  });
});

describe('a study whose session was killed', () => {
  it('reads abandoned (as a pipeline run does), not running for ever; a live session keeps it running', () => {
    createStudy(reg, { study_id: 'k', name: 'k', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 1, space: {}, settings: {}, folds: 2 });
    expect(getStudy(reg, 'k').state).toBe('running'); // no session recorded yet
    const killed = reg.startRun({ kind: 'tune', name: 'tune' });
    reg.logParams(killed, { study_id: 'k', runner_pid: 2 ** 22 + 12345, runner_host: hostname(), runner_start: null });
    expect(getStudy(reg, 'k').state).toBe('abandoned');
    expect(listStudies(reg).find((s) => s.study_id === 'k')?.state).toBe('abandoned');
    // A resumed session (this process, alive) on it: running again.
    const live = reg.startRun({ kind: 'tune', name: 'tune --resume k' });
    reg.logParams(live, { study_id: 'k', runner_pid: process.pid, runner_host: hostname(), runner_start: null });
    expect(getStudy(reg, 'k').state).toBe('running');
    expect(listStudies(reg, { gone: () => true }).find((s) => s.study_id === 'k')?.state).toBe('abandoned');
  });

  it('a session that finishes the study after it was read running, and exits before the reader looks for it, leaves it complete', () => {
    createStudy(reg, { study_id: 'f', name: 'f', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 1, space: {}, settings: {}, folds: 2 });
    const session = reg.startRun({ kind: 'tune', name: 'tune' });
    reg.logParams(session, { study_id: 'f', runner_pid: process.pid, runner_host: hostname(), runner_start: null });
    // The reader is paused between reading the study and looking for its session: meanwhile the session finishes it and exits.
    const finishesThenGone = (): boolean => {
      setStudyState(reg, 'f', 'complete');
      return true;
    };
    expect(listStudies(reg, { gone: finishesThenGone }).find((s) => s.study_id === 'f')?.state).toBe('complete');
  });
});
