/** @module ml/tune/trial-job
 * One queued trial evaluation (`tune --executor bullmq`; docs/tuning.md "Trials on BullMQ workers"):
 * what `stockpipe tune --evaluate <study>.<trial>.<rung>` does on a `stockpipe worker`. It reads the
 * row its coordinator started (parameters and tree budget), loads the study's pinned rows (its
 * features snapshot and test cut; a different data hash is SP_ERR_STUDY_MISMATCH), evaluates them
 * as a local lane would, and records the fold scores in the row — in one registry transaction that
 * the job's fence checks (queue/fence: a superseded execution writes nothing) and that writes only a
 * `running` row. A redelivered job whose row is already complete evaluates nothing and answers the
 * stored row: each evaluation is written once. */
import { StockpipeError } from '../../core/errors.js';
import type { Workspace } from '../../core/workspace.js';
import { completeTrial, getStudy, studyTrial, type TrialRecord } from '../../registry/studies.js';
import { openRegistry } from '../../registry/store.js';
import type { TrialKey } from './queued.js';
import { toTrialParams } from './space.js';
import { loadStudyData, type StudySettings } from './tune-run.js';

/** Reads `<study>.<trial>.<rung>` back. */
export function parseTrialJob(spec: string): TrialKey {
  const m = /^([A-Za-z0-9_-]{1,100})\.(\d{1,6})\.(\d{1,3})$/.exec(spec);
  if (m === null) throw new StockpipeError('SP_ERR_USAGE', `--evaluate expects <study-id>.<trial>.<rung> (got '${spec.slice(0, 120)}')`, { hint: 'It is what a queued trial job runs; `stockpipe tune --executor bullmq` makes these jobs.' });
  return { study_id: m[1]!, number: Number(m[2]), rung: Number(m[3]) };
}

/** `tune --evaluate --json` data: the row as stored, and whether this execution wrote it. */
export interface TrialJobData {
  trial: TrialRecord;
  /** False: the row was complete already (a redelivered job) or no longer running; nothing was written. */
  wrote: boolean;
}

export async function runTrialJob(ws: Workspace, spec: string, threads: number, signal?: AbortSignal): Promise<TrialJobData> {
  const key = parseTrialJob(spec);
  const reg = openRegistry(ws);
  try {
    const study = getStudy(reg, key.study_id);
    if (study.study_id !== key.study_id) throw new StockpipeError('SP_ERR_STUDY_NOT_FOUND', `--evaluate takes a study id, not a name ('${key.study_id}')`);
    const row = studyTrial(reg, key);
    if (row === null) throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `study ${key.study_id} has no trial ${key.number} at rung ${key.rung}`, { hint: 'A queued trial is started in the study by its coordinator (`stockpipe tune`) before its job is queued.' });
    if (row.state !== 'running') return { trial: row, wrote: false };
    const st = study.settings as unknown as StudySettings;
    const data = await loadStudyData(ws, study.task === 'forecast' ? 'forecast' : 'volume', st.data.features_snapshot === null ? undefined : String(st.data.features_snapshot), st.data.test_from);
    if (data.data_hash !== st.data.data_hash) throw new StockpipeError('SP_ERR_STUDY_MISMATCH', `the pre-test rows of features snapshot ${st.data.features_snapshot} no longer hash as when study ${study.study_id} began`, { hint: 'The worker must see the coordinator\'s workspace (the same path, shared).' });
    const lanes = data.lanes(study.folds, 1, threads);
    try {
      const r = await lanes.evaluators[0]!({ params: toTrialParams(row.params), budget: row.budget, seed: study.seed, threads, signal });
      const wrote = completeTrial(reg, key, r);
      return { trial: studyTrial(reg, key)!, wrote };
    } finally {
      await lanes.close();
    }
  } finally {
    reg.close();
  }
}
