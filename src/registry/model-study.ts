/** @module registry/model-study
 * The tuning study a model's settings came from: `train --params-from STUDY` records study_id,
 * study_trial and study_cv_score with the model's run; this reads them back with the study's name,
 * task and metric (null when the model was not trained from a study). */
import { findStudy } from './studies.js';
import type { Registry } from './store.js';
import type { ModelComparison } from './types.js';

export interface ModelStudy {
  study_id: string;
  /** The study's name, or null when the study is no longer in the registry. */
  name: string | null;
  task: string | null;
  /** What the score is: rmse_log (volume: the mean over the CV folds) or volume_mae_ratio (forecast: the validation window). */
  metric: string | null;
  trial: number | null;
  /** The chosen evaluation's score in the study (the backtest the choice was made on). */
  score: number | null;
}

const num = (v: string | null | undefined): number | null => (v === null || v === undefined || v === '' || Number.isNaN(Number(v)) ? null : Number(v));

/** The study behind model `idOrAlias`, or null when it was not trained with --params-from. */
export function modelStudy(reg: Registry, idOrAlias: string): ModelStudy | null {
  const m = reg.getModel(idOrAlias, { checkFiles: false });
  if (m.run_id === null) return null;
  const rows = reg.all<{ key: string; value: string | null }>('read model study', "SELECT key, value FROM params WHERE run_id = ? AND key IN ('study_id', 'study_trial', 'study_cv_score')", [m.run_id]);
  const p = Object.fromEntries(rows.map((r) => [r.key, r.value]));
  const id = p.study_id;
  if (id === undefined || id === null || id === '') return null;
  const s = findStudy(reg, id);
  return { study_id: id, name: s?.name ?? null, task: s?.task ?? null, metric: s?.metric ?? null, trial: num(p.study_trial), score: num(p.study_cv_score) };
}

/** Two models side by side with the study each one's settings came from: `models compare --json` and GET /models/compare. */
export type ModelComparisonData = ModelComparison & { study: { a: ModelStudy | null; b: ModelStudy | null } };

export function compareWithStudies(reg: Registry, a: string, b: string): ModelComparisonData {
  const cmp = reg.compareModels(a, b);
  return { ...cmp, study: { a: modelStudy(reg, cmp.a.id), b: modelStudy(reg, cmp.b.id) } };
}
