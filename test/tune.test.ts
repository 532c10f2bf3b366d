/** stockpipe tune / studies / train --params-from through the CLI on a small synthetic workspace
 * (docs/tuning.md): the same seed gives the same study; a study killed mid-trial (SIGKILL) resumes
 * without evaluating its complete trials again and ends where an unkilled one does. */
import { readFileSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { runCli, startCli } from './helpers/cli.js';
import { silentLog, tempWorkspace } from './helpers/workspace.js';

const sp = (ws: string, args: string[]) => runCli([...args, '-w', ws, '--json', '--threads', '1']);
/** 4 trials at 10 trees, the best at 30, on 2 folds. */
const TUNE = ['tune', '--trials', '4', '--folds', '2', '--max-trees', '30', '--seed', '5'];

interface Row { number: number; rung: number; state: string; params: string; score: number | null; fold_scores: string | null; best_iteration: number | null; started_at: string }
const rowsOf = (ws: string, study: string): Row[] => {
  const db = new Database(join(ws, 'stockpipe.db'), { readonly: true });
  try {
    return db.prepare('SELECT * FROM study_trials WHERE study_id = ? ORDER BY number, rung').all(study) as Row[];
  } finally {
    db.close();
  }
};
/** What must be equal between two runs of a study (not its times). */
const outcome = (rows: Row[]) => rows.map((r) => ({ number: r.number, rung: r.rung, state: r.state, params: r.params, score: r.score, fold_scores: r.fold_scores, best_iteration: r.best_iteration }));

let base = '';
beforeAll(async () => {
  base = await tempWorkspace('tune-base');
  for (const step of [['fetch', '--symbols', '30', '--years', '4'], ['ingest'], ['features']]) {
    const r = sp(base, step);
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);

async function copy(): Promise<string> {
  const ws = await tempWorkspace('tune');
  await cp(base, ws, { recursive: true });
  return ws;
}

let reference: { ws: string; id: string } | null = null;
async function referenceStudy(): Promise<{ ws: string; id: string }> {
  if (reference !== null) return reference;
  const ws = await copy();
  const r = sp(ws, TUNE);
  expect(r.code, r.stderr).toBe(0);
  reference = { ws, id: r.json.data.study_id as string };
  return reference;
}

describe('stockpipe tune', () => {
  it('runs successive halving, stores the study, and the same seed gives the same study', async () => {
    const { ws, id } = await referenceStudy();
    const again = sp(ws, [...TUNE, '--name', 'again']);
    expect(again.code, again.stderr).toBe(0);
    const d = again.json.data;
    expect(d).toMatchObject({ state: 'complete', evaluated: 5, reused: 0, folds: 2, seed: 5, metric: 'rmse_log' });
    expect(d.settings.rungs).toEqual([{ rung: 0, budget: 10, trials: 4 }, { rung: 1, budget: 30, trials: 1 }]);
    const a = rowsOf(ws, id);
    expect(outcome(rowsOf(ws, d.study_id))).toEqual(outcome(a));
    expect(a.filter((r) => r.rung === 0 && r.state === 'pruned')).toHaveLength(3);
    // The one kept has the best rung-0 score, and is the study's choice.
    const best0 = [...a.filter((r) => r.rung === 0)].sort((x, y) => x.score! - y.score!)[0]!;
    expect(a.filter((r) => r.rung === 1).map((r) => r.number)).toEqual([best0.number]);
    expect(d.best.number).toBe(best0.number);
    expect(JSON.parse(a[0]!.params)).toMatchObject({ learning_rate: 0.1, num_leaves: 64, max_depth: 6, window_years: null, half_life_days: null });
    // Another seed: other trials.
    const other = sp(ws, [...TUNE.slice(0, -1), '6']);
    expect(outcome(rowsOf(ws, other.json.data.study_id)).slice(1).map((r) => r.params)).not.toEqual(outcome(a).slice(1).map((r) => r.params));

    const list = sp(ws, ['studies']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.json.data.studies.map((s: { study_id: string }) => s.study_id)).toContain(id);
    const show = sp(ws, ['studies', 'again']);
    expect(show.json.data.study.study_id).toBe(d.study_id);
    expect(show.json.data.trials).toHaveLength(4);
    expect(Object.keys(show.json.data.score_by_param)).toContain('learning_rate');
    expect(sp(ws, ['studies', 'nope']).json.error?.code).toBe('SP_ERR_STUDY_NOT_FOUND');
  }, 180_000);

  // Probed after issue 16: a study whose every evaluation failed ended `complete` with exit 0 and no choice;
  // a --test-from past the data tuned on every row, a study train --params-from could then not refit.
  // Probed: a test cut too early for the folds created a study whose every trial failed the same way
  // (SP_ERR_STUDY_FAILED), where train refuses the cut before training.
  it('a test cut too early for the folds, or an empty test slice, is refused up front as train refuses it; a failed study is not refitted', async () => {
    const ws = await copy();
    const r = sp(ws, ['tune', '--trials', '2', '--folds', '2', '--max-trees', '10', '--test-from', '2010-02-18']);
    expect([r.code, r.json.error?.code], r.stderr).toEqual([1, 'SP_ERR_TRAIN_DATA']);
    expect(r.json.error?.message).toContain('has no validation rows');
    expect(r.json.error).toEqual(sp(ws, ['train', '--folds', '2', '--test-from', '2010-02-18']).json.error);
    expect(sp(ws, ['studies']).json.data.studies).toEqual([]);
    // A study whose every evaluation failed (as a lost worker's can): marked so by hand.
    const ok = sp(ws, ['tune', '--trials', '2', '--folds', '2', '--max-trees', '10']);
    expect(ok.code, ok.stderr).toBe(0);
    const id = ok.json.data.study_id as string;
    const db = new Database(join(ws, 'stockpipe.db'));
    try {
      db.prepare("UPDATE study_trials SET state = 'failed', score = NULL, error = 'lost' WHERE study_id = ?").run(id);
      db.prepare("UPDATE studies SET state = 'failed', error = 'every evaluation failed' WHERE study_id = ?").run(id);
    } finally {
      db.close();
    }
    // train --params-from on it says so, and does not send the user to --resume (which would fail again).
    const refit = sp(ws, ['train', '--params-from', String(id)]);
    expect([refit.json.error?.code, refit.json.error?.hint?.includes('--resume')]).toEqual(['SP_ERR_STUDY_INCOMPLETE', false]);
    expect(refit.json.error?.message).toContain('every evaluation failed');
    // A name that is another study's id, or empty, is refused (the study could never be reached by it).
    expect(sp(ws, ['tune', '--trials', '2', '--name', String(id)]).json.error?.code).toBe('SP_ERR_USAGE');
    expect(sp(ws, ['tune', '--trials', '2', '--name', '']).json.error?.code).toBe('SP_ERR_USAGE');
    expect(sp(ws, ['tune', '--trials', '2', '--name', ' ']).json.error?.code).toBe('SP_ERR_USAGE');
    // --name beside --resume must be the study's (it was ignored).
    expect(sp(ws, ['tune', '--resume', String(id), '--name', 'other']).json.error?.code).toBe('SP_ERR_STUDY_MISMATCH');
    const late = sp(ws, ['tune', '--trials', '2', '--folds', '2', '--max-trees', '10', '--test-from', '2020-01-02']);
    expect([late.code, late.json.error?.code]).toEqual([1, 'SP_ERR_TRAIN_DATA']);
    expect(late.json.error?.message).toContain('the test slice is empty');
  });

  // Probed: a seed beyond the boosters' range was taken, and every evaluation then failed (SP_ERR_STUDY_FAILED, a failed study stored).
  it('a --seed beyond ±(2^53 − 1) is SP_ERR_USAGE before a study is stored', async () => {
    const ws = await copy();
    const r = sp(ws, [...TUNE.slice(0, -1), '99999999999999999999']);
    expect([r.code, r.json.error?.code]).toEqual([2, 'SP_ERR_USAGE']);
    expect(r.json.error?.message).toContain('--seed');
    expect(sp(ws, ['studies']).json.data.studies).toEqual([]);
  });

  /** Starts a study named `name` that its 1 s timeout stops unfinished; the features snapshot it tunes on. */
  function stoppedStudy(ws: string, name: string): number {
    const st = sp(ws, ['tune', '--trials', '27', '--max-trees', '900', '--folds', '2', '--timeout', '1', '--name', name]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.json.data.state).toBe('stopped');
    return st.json.data.settings.data.features_snapshot as number;
  }

  // Probed after issue 16: vacuum deleted the features snapshot a stopped study tunes on, so it could never resume.
  it('vacuum keeps the features snapshot of a study that is not complete: it still resumes after newer snapshots', async () => {
    const ws = await copy();
    const snapshot = stoppedStudy(ws, 'st');
    for (let k = 0; k < 2; k++) expect(sp(ws, ['features', '--force']).code).toBe(0);
    const v = sp(ws, ['vacuum', '--keep-snapshots', '1']);
    expect(v.code, v.stderr).toBe(0);
    expect(v.json.data.kept_snapshots).toContain(snapshot);
    const resumed = sp(ws, ['tune', '--resume', 'st', '--timeout', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json.data.settings.data.features_snapshot).toBe(snapshot);
  });

  it('tune --resume --as-of: any spelling of the study\'s own snapshot is accepted; a malformed or unknown one is its own error, not SP_ERR_STUDY_MISMATCH', async () => {
    const ws = await copy();
    const own = stoppedStudy(ws, 'asof');
    const code = (asOf: string): string | undefined => sp(ws, ['tune', '--resume', 'asof', '--as-of', asOf, '--timeout', '1']).json.error?.code;
    expect(code('abc')).toBe('SP_ERR_USAGE');
    expect(code('999')).toBe('SP_ERR_SNAPSHOT_NOT_FOUND');
    expect(code(String(own - 1))).toBe('SP_ERR_STUDY_MISMATCH'); // the prices snapshot before it: no features then
    expect(code(`00${own}`)).toBeUndefined();
    expect(code('2999-01-01T00:00:00Z')).toBeUndefined(); // a time after it: the newest features snapshot, the study's
  });

  it('a study killed mid-trial resumes without repeating complete trials and ends as an unkilled one', async () => {
    const ref = await referenceStudy();
    const ws = await copy();
    const cli = startCli([...TUNE, '--name', 'killed', '-w', ws, '--json', '--threads', '1'], { timeoutMs: 120_000 });
    // Killed once two evaluations are complete and the third is running (as the store shows it).
    await new Promise<void>((res, rej) => {
      const timer = setInterval(() => {
        if (!/\[2\/5\] trial \d+ rung 0/.test(cli.stderr())) return;
        const db = new Database(join(ws, 'stockpipe.db'), { readonly: true });
        const states = (db.prepare('SELECT state FROM study_trials').all() as { state: string }[]).map((r) => r.state);
        db.close();
        if (states.filter((x) => x === 'complete').length >= 2 && states.includes('running')) {
          clearInterval(timer);
          cli.child.kill('SIGKILL');
          res();
        }
      }, 10);
      cli.done.then(() => { clearInterval(timer); rej(new Error(`tune ended before it was killed: ${cli.stderr()}`)); }, rej);
    });
    const killed = await cli.done;
    expect(killed.signal).toBe('SIGKILL');
    const id = sp(ws, ['studies', 'killed']).json.data.study.study_id as string;
    const before = rowsOf(ws, id);
    const complete = before.filter((r) => r.state === 'complete');
    expect(complete.length).toBeGreaterThanOrEqual(2);
    expect(before.some((r) => r.state === 'running')).toBe(true);

    const resumed = sp(ws, ['tune', '--resume', 'killed']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json.data).toMatchObject({ study_id: id, state: 'complete', reused: complete.length, evaluated: 5 - complete.length });
    const after = rowsOf(ws, id);
    // The complete evaluations were not run again: same start time.
    for (const c of complete) expect(after.find((r) => r.number === c.number && r.rung === c.rung)!.started_at).toBe(c.started_at);
    expect(outcome(after)).toEqual(outcome(rowsOf(ref.ws, ref.id)));
    // A resume that contradicts the study is refused.
    expect(sp(ws, ['tune', '--resume', id, '--trials', '7']).json.error?.code).toBe('SP_ERR_STUDY_MISMATCH');
    // --as-of: its own snapshot says nothing new (accepted), another contradicts it.
    const own = String(resumed.json.data.settings.data.features_snapshot);
    expect(sp(ws, ['tune', '--resume', id, '--as-of', own]).code).toBe(0);
    expect(sp(ws, ['tune', '--resume', id, '--as-of', String(Number(own) - 1)]).json.error?.code).toBe('SP_ERR_STUDY_MISMATCH');
  }, 180_000);

  // Probed after issue 16: a second session on a running study ran its trials again; now it is refused,
  // and the lock of a session killed outright is taken over.
  it('a second session on a running study is SP_ERR_STUDY_BUSY; a killed session\'s study resumes', async () => {
    const ws = await copy();
    const cli = startCli(['tune', '--trials', '27', '--max-trees', '900', '--folds', '2', '--name', 'busy', '-w', ws, '--json', '--threads', '1'], { timeoutMs: 120_000 });
    await new Promise<void>((res, rej) => {
      const timer = setInterval(() => {
        if (/\[1\/\d+\] trial \d+ rung 0/.test(cli.stderr())) {
          clearInterval(timer);
          res();
        }
      }, 10);
      cli.done.then(() => { clearInterval(timer); rej(new Error(`tune ended first: ${cli.stderr()}`)); }, rej);
    });
    const busy = sp(ws, ['tune', '--resume', 'busy']);
    cli.child.kill('SIGKILL');
    await cli.done;
    expect([busy.code, busy.json.error?.code], busy.stderr).toEqual([1, 'SP_ERR_STUDY_BUSY']);
    expect(busy.json.error?.message).toMatch(/is being tuned by another session \(pid \d+/);
    const resumed = sp(ws, ['tune', '--resume', 'busy', '--timeout', '1']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.json.data.state).toBe('stopped');
  });

  it('SIGTERM mid-trial: the running evaluation is recorded failed (interrupted), exit 1 with SP_ERR_TUNE_INTERRUPTED', async () => {
    const ws = await copy();
    const cli = startCli([...TUNE, '--name', 'termed', '-w', ws, '--json', '--threads', '1'], { timeoutMs: 120_000 });
    await new Promise<void>((res, rej) => {
      const timer = setInterval(() => {
        if (/\[1\/5\] trial \d+ rung 0/.test(cli.stderr())) {
          clearInterval(timer);
          cli.child.kill('SIGTERM');
          res();
        }
      }, 10);
      cli.done.then(() => { clearInterval(timer); rej(new Error(`tune ended before SIGTERM: ${cli.stderr()}`)); }, rej);
    });
    const r = await cli.done;
    expect(r.code).toBe(1);
    expect(r.json.error?.code).toBe('SP_ERR_TUNE_INTERRUPTED');
    const v = sp(ws, ['studies', 'termed']).json.data;
    expect(v.study.state).toBe('interrupted');
    expect(v.evaluations.filter((e: { state: string }) => e.state === 'running')).toEqual([]);
    const failed = v.evaluations.filter((e: { state: string }) => e.state === 'failed');
    for (const f of failed) expect(f.error).toBe('interrupted (SIGTERM)');
    const resumed = sp(ws, ['tune', '--resume', 'termed']);
    expect(resumed.json.data).toMatchObject({ state: 'complete', evaluated: 5 - v.evaluations.filter((e: { state: string }) => e.state === 'complete').length });
  }, 180_000);

  it('train --params-from refits the chosen configuration on the pre-test rows and records the study', async () => {
    const { ws, id } = await referenceStudy();
    const t = sp(ws, ['train', '--params-from', id]);
    expect(t.code, t.stderr).toBe(0);
    const d = t.json.data;
    const study = sp(ws, ['studies', id]).json.data;
    expect(d.rows_valid).toBe(0);
    expect(d.split.test_from).toBe(study.study.settings.data.test_from);
    // Every pre-test row, or those in the choice's training window (the label says which).
    if (study.best.params.window_years === null) expect(d.rows_train).toBe(study.study.settings.data.rows);
    else {
      expect(d.rows_train).toBeLessThan(study.study.settings.data.rows);
      expect(d.protocol.label).toContain(`refit on the ${d.rows_train} of the ${study.study.settings.data.rows} pre-test rows in the study's training window`);
    }
    expect(d.best_iteration).toBe(study.best.best_iteration);
    // The backtest promotion compares is the study's CV of the choice (the same pre-test rows).
    expect(d.selection).toMatchObject({ kind: 'cv', metrics: { rmse_log: study.best.score } });
    expect(d.selection.windows).toHaveLength(2);
    expect(d.protocol).toMatchObject({ name: 'cv', cv_rmse_log: study.best.score, trees: study.best.best_iteration });
    expect(d.protocol.folds.map((f: { best_score: number }) => f.best_score)).toEqual(study.best.fold_scores);
    expect(sp(ws, ['train', '--params-from', id, '--protocol', 'holdout']).json.error?.code).toBe('SP_ERR_USAGE');
    expect(sp(ws, ['train', '--params-from', 'nope']).json.error?.code).toBe('SP_ERR_STUDY_NOT_FOUND');
    expect(Number.isFinite(d.metrics.gbdt.rmse_log)).toBe(true);
    const run = sp(ws, ['models', 'show', d.model_id]).json.data;
    expect(run.id).toBe(d.model_id);
    const db = new Database(join(ws, 'stockpipe.db'), { readonly: true });
    const p = db.prepare("SELECT value FROM params p JOIN model_versions m ON m.run_id = p.run_id WHERE m.model_id = ? AND key = 'study_id'").get(d.model_id) as { value: string };
    db.close();
    expect(p.value).toBe(id);
    // models compare names the study behind each model (none for a model trained without one);
    // the other model is a poisson one, whose objective and link are in model.json and the card.
    const pois = sp(ws, ['train', '--objective', 'poisson', '--trees', '8', '--folds', '2']);
    expect(pois.code, pois.stderr).toBe(0);
    expect(pois.json.data.protocol.label).toMatch(/objective poisson/);
    const model = JSON.parse(readFileSync(join(pois.json.data.path, 'model.json'), 'utf8'));
    expect(model).toMatchObject({ target_transform: 'log', params: { objective: 'poisson', max_delta_step: 0.7 } });
    expect(readFileSync(join(pois.json.data.path, 'card.md'), 'utf8')).toMatch(/"objective": "poisson"/);
    const cmp = sp(ws, ['models', 'compare', d.model_id, pois.json.data.model_id]);
    expect(cmp.code, cmp.stderr).toBe(0);
    expect(cmp.json.data.study.a).toMatchObject({ study_id: id, trial: study.best.number, score: study.best.score, metric: 'rmse_log', task: 'volume' });
    expect(cmp.json.data.study.b).toBeNull();
    const human = runCli(['models', 'compare', d.model_id, pois.json.data.model_id, '-w', ws]);
    expect(human.stdout).toContain(`settings from a tuning study: A ${id} trial ${study.best.number}`);
    expect(sp(ws, ['train', '--objective', 'tweedie', '--tweedie-power', '2']).json.error?.code).toBe('SP_ERR_TRAIN_PARAMS');
    expect(sp(ws, ['train', '--objective', 'poisson', '--kind', 'rf']).json.error?.code).toBe('SP_ERR_USAGE');
  }, 180_000);

  it('GET /studies and GET /studies/:id serve the studies for the dashboard', async () => {
    const { ws, id } = await referenceStudy();
    const holder = new ChampionHolder(ws, silentLog);
    const { app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: join(ws, 'no-dashboard') });
    try {
      const list = (await app.inject('/studies')).json<{ studies: { study_id: string; state: string; best_score: number | null }[] }>();
      const mine = list.studies.find((s) => s.study_id === id)!;
      expect(mine.state).toBe('complete');
      expect(Number.isFinite(mine.best_score)).toBe(true);
      const one = await app.inject(`/studies/${id}`);
      expect(one.statusCode).toBe(200);
      const v = one.json<{ trials: unknown[]; best: { score: number }; score_by_param: Record<string, unknown[]>; evaluations: unknown[] }>();
      expect(v.trials).toHaveLength(4);
      expect(v.evaluations).toHaveLength(5);
      expect(v.best.score).toBe(mine.best_score);
      expect(v.score_by_param.learning_rate).toHaveLength(4);
      const missing = await app.inject('/studies/nope');
      expect(missing.statusCode).toBe(404);
      expect(missing.json<{ error: { code: string } }>().error.code).toBe('SP_ERR_STUDY_NOT_FOUND');
      expect((await app.inject('/studies?limit=0')).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  }, 180_000);
});
