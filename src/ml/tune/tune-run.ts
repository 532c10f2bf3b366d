/** @module ml/tune/tune-run
 * `stockpipe tune` end to end: the features table (the study's snapshot when resuming) → the
 * pre-test rows (ml/tune/data) → a new or resumed study in the store → successive halving over the
 * sampled trials (ml/tune/study) with `parallel` lanes → the command's --json data. A tracked run
 * (kind `tune`) records the session. Rendering is cli/'s. */
import { randomUUID } from 'node:crypto';
import { StockpipeError } from '../../core/errors.js';
import type { Workspace } from '../../core/workspace.js';
import { parseAsOf, snapshotAsOf } from '../../registry/catalog.js';
import { openRegistry, type Registry } from '../../registry/store.js';
import { createStudy, getStudy, setStudyState, studyTrials, type StudyRecord, type TrialRecord } from '../../registry/studies.js';
import { timeSeriesFolds } from '../cv.js';
import { loadWorkspaceForecastData, loadWorkspaceVolumeData } from '../rescore.js';
import { preTestRows } from './data.js';
import { assertScorable, FORECAST_MAX_TREES, FORECAST_METRIC, forecastLanes, forecastTuneData } from './forecast.js';
import { rungPlan, type Rung } from './halving.js';
import { laneEvaluators, type Lanes } from './lanes.js';
import { queuedLanes, type TrialQueue } from './queued.js';
import { checkSpace, DEFAULT_SPACE, DEFAULT_TRIAL, FORECAST_DEFAULT_TRIAL, FORECAST_SPACE, sampleTrials } from './space.js';
import { runStudy } from './study.js';
import { lockStudySession } from './session-lock.js';

/** What `tune` was asked; unset fields take the study's values (resume) or the defaults (new). */
export interface TuneOptions {
  /** volume: the serving model, by CV; forecast: the day-ahead model's volume booster, on its validation window (ml/tune/forecast). */
  task?: 'volume' | 'forecast';
  trials?: number;
  folds?: number;
  metric?: 'rmse_log' | 'volume_mae_ratio';
  seed?: number;
  maxTrees?: number;
  name?: string;
  resume?: string;
  testFrom?: string;
  asOf?: string;
  timeoutS?: number;
  /** Evaluations at once: lanes (local, default 1) or jobs queued at once (bullmq, default every trial of a rung). */
  parallel?: number;
  threads: number;
}

export const TUNE_DEFAULTS = { trials: 9, folds: 3, metric: 'rmse_log', seed: 42, maxTrees: 300, eta: 3 } as const;

/** A study's settings column (what a resumed session must run with again). */
export interface StudySettings {
  trials: number;
  eta: number;
  max_trees: number;
  rungs: Rung[];
  data: { features_snapshot: number | null; test_from: string; rows: number; data_hash: string };
}

/** `stockpipe tune --json` data. */
export interface TuneData {
  study_id: string;
  name: string;
  state: string;
  task: string;
  metric: string;
  direction: string;
  seed: number;
  folds: number;
  settings: StudySettings;
  /** Where this session's evaluations ran: local worker threads or bullmq jobs. */
  executor: 'local' | 'bullmq';
  /** Evaluations this session ran, and complete ones it took from the store (resume). */
  evaluated: number;
  reused: number;
  seconds: number;
  best: TrialRecord | null;
  trials: TrialRecord[];
}

export interface TuneEnv {
  ws: Workspace;
  signal?: AbortSignal;
  /** Progress lines (stderr). */
  note?: (line: string) => void;
  /** Evaluate on BullMQ workers (executor bullmq) instead of this machine's lanes. */
  queue?: Omit<TrialQueue, 'reg' | 'runId'>;
}

function mismatch(study: StudyRecord, what: string, given: unknown, stored: unknown): StockpipeError {
  return new StockpipeError('SP_ERR_STUDY_MISMATCH', `study ${study.study_id} was created with ${what} ${JSON.stringify(stored)}; --resume was given ${JSON.stringify(given)}`);
}

/** The study to continue: its options must not contradict the ones given. */
function resumeStudy(reg: Registry, o: TuneOptions): StudyRecord {
  const s = getStudy(reg, o.resume!);
  const st = s.settings as unknown as StudySettings;
  // An option the study's task never takes (a forecast study's --folds) is the usage error a new study gets, not a "mismatch".
  if (o.task === undefined || o.task === s.task) taskDefaults({ ...o, task: s.task as TuneOptions['task'] });
  const checks: [string, unknown, unknown][] = [['--name', o.name, s.name], ['--task', o.task, s.task], ['--trials', o.trials, st.trials], ['--folds', o.folds, s.folds], ['--metric', o.metric, s.metric], ['--seed', o.seed, s.seed], ['--max-trees', o.maxTrees, st.max_trees], ['--test-from', o.testFrom, st.data.test_from]];
  for (const [what, given, stored] of checks) if (given !== undefined && given !== stored) throw mismatch(s, what, given, stored);
  // Its own snapshot is accepted (it says nothing new), however --as-of names it (006, a later prices
  // snapshot's id, a time); any other is refused. An --as-of that names no snapshot is its own error.
  if (o.asOf !== undefined && snapshotAsOf(reg, 'features', parseAsOf(o.asOf))?.id !== st.data.features_snapshot) throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `--as-of ${o.asOf} contradicts study ${s.study_id}, which tunes on features snapshot ${st.data.features_snapshot}`, { hint: 'Drop --as-of: --resume reads the study\'s own snapshot.' });
  return s;
}

/** A task's pre-test rows, and how to evaluate trials on them. */
export interface StudyData {
  test_from: string;
  rows: number;
  data_hash: string;
  snapshot: number | null;
  lanes(folds: number, parallel: number, threads: number): Lanes;
  /** Throws train's own error when the pre-test rows cannot make `folds` folds (a forecast study has none). */
  checkFolds(folds: number): void;
}

export async function loadStudyData(ws: Workspace, task: TuneOptions['task'], asOf: string | undefined, testFrom: string | undefined): Promise<StudyData> {
  if (task === 'forecast') {
    const frame = await loadWorkspaceForecastData(ws, asOf);
    const d = forecastTuneData(frame, testFrom);
    assertScorable(d);
    return { test_from: d.test_from, rows: d.rows, data_hash: d.data_hash, snapshot: frame.lineage?.features_snapshot ?? null, lanes: (_folds, parallel, threads) => forecastLanes(d, parallel, threads), checkFolds: () => undefined };
  }
  const ds = await loadWorkspaceVolumeData(ws, asOf);
  const d = preTestRows(ds, testFrom);
  return {
    test_from: d.test_from, rows: d.rows, data_hash: d.data_hash, snapshot: ds.lineage?.features_snapshot ?? null, lanes: (folds, parallel, threads) => laneEvaluators(d, folds, parallel, threads),
    // train's check of its cv folds (ml/cv): every pre-test row, no training window (a trial's window is the trial's to fail).
    checkFolds: (folds) => void timeSeriesFolds(d.day, Int32Array.from({ length: d.rows }, (_, i) => i), folds),
  };
}

/** A task's defaults: forecast studies score one validation window (folds 1) with up to 1000 trees. */
function taskDefaults(o: TuneOptions): { folds: number; metric: string; maxTrees: number } {
  if ((o.task ?? 'volume') === 'forecast') {
    if (o.folds !== undefined && o.folds !== 1) throw new StockpipeError('SP_ERR_USAGE', `--folds is for the volume task (got ${o.folds}); a forecast study scores the validation window before the test slice`, { hint: 'Drop --folds.' });
    if (o.metric !== undefined && o.metric !== FORECAST_METRIC) throw new StockpipeError('SP_ERR_USAGE', `--metric ${o.metric} is not a forecast metric; --task forecast minimises ${FORECAST_METRIC}`, { hint: 'Drop --metric.' });
    return { folds: 1, metric: FORECAST_METRIC, maxTrees: FORECAST_MAX_TREES };
  }
  if (o.metric !== undefined && o.metric !== 'rmse_log') throw new StockpipeError('SP_ERR_USAGE', `--metric ${o.metric} is a forecast metric; the volume task minimises rmse_log`, { hint: 'Drop --metric, or add --task forecast.' });
  return { folds: TUNE_DEFAULTS.folds, metric: TUNE_DEFAULTS.metric, maxTrees: TUNE_DEFAULTS.maxTrees };
}

export async function tuneVolume(env: TuneEnv, o: TuneOptions): Promise<TuneData> {
  const reg = openRegistry(env.ws);
  const runId = reg.startRun({ kind: 'tune', name: o.resume === undefined ? 'tune new study' : `tune --resume ${o.resume}`, seed: o.seed });
  let studyId: string | null = null;
  // One session per study (ml/tune/session-lock): taken before the study is touched, released at the end.
  let release: (() => Promise<void>) | null = null;
  try {
    let study: StudyRecord;
    let data: StudyData;
    if (o.resume !== undefined) {
      study = resumeStudy(reg, o);
      release = await lockStudySession(env.ws, study.study_id);
      const st = study.settings as unknown as StudySettings;
      data = await loadStudyData(env.ws, study.task === 'forecast' ? 'forecast' : 'volume', st.data.features_snapshot === null ? undefined : String(st.data.features_snapshot), st.data.test_from);
      if (data.data_hash !== st.data.data_hash) throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `the pre-test rows of features snapshot ${st.data.features_snapshot} no longer hash as when study ${study.study_id} began`);
    } else {
      // A name may repeat (it then means the newest study of that name) but never shadow another study's id.
      if (o.name !== undefined && reg.get('read study', 'SELECT 1 FROM studies WHERE study_id = ?', [o.name]) !== undefined) {
        throw new StockpipeError('SP_ERR_USAGE', `--name ${o.name} is the id of another study: the new study could never be reached by its name`, { hint: `Pick another name, or continue that study with \`stockpipe tune --resume ${o.name}\`.` });
      }
      const defaults = taskDefaults(o);
      data = await loadStudyData(env.ws, o.task ?? 'volume', o.asOf, o.testFrom);
      // A test cut that leaves a fold without rows fails as `train` fails, before a study is created (not as a study of failed trials).
      data.checkFolds(o.folds ?? defaults.folds);
      const trials = o.trials ?? TUNE_DEFAULTS.trials;
      const maxTrees = o.maxTrees ?? defaults.maxTrees;
      const settings: StudySettings = {
        trials, eta: TUNE_DEFAULTS.eta, max_trees: maxTrees, rungs: rungPlan(trials, maxTrees, TUNE_DEFAULTS.eta),
        data: { features_snapshot: data.snapshot, test_from: data.test_from, rows: data.rows, data_hash: data.data_hash },
      };
      const id = `study-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomUUID().slice(0, 6)}`;
      study = createStudy(reg, {
        study_id: id, name: o.name ?? id, task: o.task ?? 'volume', metric: defaults.metric, direction: 'minimize', seed: o.seed ?? TUNE_DEFAULTS.seed,
        space: { ...(o.task === 'forecast' ? FORECAST_SPACE : DEFAULT_SPACE) }, settings: settings as unknown as Record<string, unknown>, folds: o.folds ?? defaults.folds,
      });
      release = await lockStudySession(env.ws, study.study_id);
    }
    studyId = study.study_id;
    reg.logParams(runId, { study_id: study.study_id, executor: env.queue === undefined ? 'local' : 'bullmq' });
    const st = study.settings as unknown as StudySettings;
    const trials = sampleTrials(checkSpace(study.space), study.seed, st.trials, study.task === 'forecast' ? FORECAST_DEFAULT_TRIAL : DEFAULT_TRIAL);
    // A trial that already ran keeps its stored parameters (they are the study's record).
    for (const r of studyTrials(reg, study.study_id)) if (r.rung === 0) trials[r.number] = r.params as never;
    const parallel = Math.max(1, Math.min(o.parallel ?? (env.queue === undefined ? 1 : trials.length), trials.length));
    const deadline = o.timeoutS === undefined ? null : performance.now() + o.timeoutS * 1000;
    const t0 = performance.now();
    const lanes = env.queue === undefined ? data.lanes(study.folds, parallel, o.threads) : queuedLanes({ ...env.queue, reg, runId }, parallel);
    let outcome;
    try {
      outcome = await runStudy({
        reg, study, trials, rungs: st.rungs, lanes: lanes.evaluators, seed: study.seed, threads: lanes.threadsPerLane, signal: env.signal,
        stopAt: deadline === null ? undefined : () => performance.now() >= deadline,
        onEvaluation: (r, done, total) => env.note?.(`[${done}/${total}] trial ${r.number} rung ${r.rung} (${r.budget} trees): ${r.state}${r.score === null ? ` ${r.error ?? ''}` : ` ${study.metric} ${r.score.toFixed(5)}`} in ${(r.seconds ?? 0).toFixed(1)} s`),
      });
    } finally {
      await lanes.close();
    }
    const state = outcome.state;
    if (state === 'complete' && outcome.best === null) {
      // Nothing was chosen: a failure (the catch below marks the study failed), never an empty success.
      const failed = studyTrials(reg, study.study_id).filter((r) => r.error !== null);
      throw new StockpipeError('SP_ERR_STUDY_FAILED', `every evaluation of study ${study.study_id} failed (${failed.length}), so it chose nothing; the first error: ${failed[0]?.error ?? 'none recorded'}`);
    }
    reg.transaction(() => {
      reg.run('end study session', 'UPDATE studies SET state = ?, finished_at = ?, error = NULL WHERE study_id = ?', [state === 'complete' ? 'complete' : state, reg.timestamp(), study.study_id]);
    });
    reg.endRun(runId, state === 'interrupted' ? 'cancelled' : 'finished');
    const fresh = getStudy(reg, study.study_id);
    const data_: TuneData = {
      study_id: fresh.study_id, name: fresh.name, state: fresh.state, task: fresh.task, metric: fresh.metric, direction: fresh.direction, seed: fresh.seed, folds: fresh.folds,
      settings: st, executor: env.queue === undefined ? 'local' : 'bullmq', evaluated: outcome.evaluated, reused: outcome.reused, seconds: Math.round((performance.now() - t0) / 10) / 100, best: outcome.best, trials: studyTrials(reg, study.study_id),
    };
    if (state === 'interrupted') throw new StockpipeError('SP_ERR_TUNE_INTERRUPTED', `study ${fresh.study_id} was interrupted after ${outcome.evaluated} evaluation(s) this session`, { hint: `Continue it with \`stockpipe tune --resume ${fresh.study_id}${env.queue === undefined ? '' : ' --executor bullmq'}\`: complete trials are not run again.` });
    return data_;
  } catch (caught) {
    // Redis gone mid-study: the tune's own hint (the executor's names `run --resume`).
    const err = caught instanceof StockpipeError && caught.code === 'SP_ERR_REDIS_UNREACHABLE' && studyId !== null
      ? new StockpipeError('SP_ERR_REDIS_UNREACHABLE', caught.message, { hint: `Start Redis again (or fix STOCKPIPE_REDIS_URL), then \`stockpipe tune --resume ${studyId} --executor bullmq\`: complete trials are kept.`, cause: caught })
      : caught;
    if (!(err instanceof StockpipeError && err.code === 'SP_ERR_TUNE_INTERRUPTED')) {
      const message = err instanceof Error ? err.message : String(err);
      reg.endRun(runId, 'failed', message);
      // A study this session was working on ends failed (still resumable), never left `running`.
      if (studyId !== null) setStudyState(reg, studyId, 'failed', message);
    }
    throw err;
  } finally {
    reg.close();
    await release?.();
  }
}
