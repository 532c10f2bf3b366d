/** @module dashboard/client/api-models
 * The Models and Monitoring views' response shapes and fetchers: GET /models (search, summaries),
 * /models/:id/page, /curves, /importance, /residuals, /models/history, /models/champion-compare
 * (docs/api.md). The shared plumbing (errors, JSON) is api.ts'. */
import { getJson, type ModelVersion } from './api.js';

export interface ScoreRow { name: string; model: boolean; metrics: Record<string, number | null> }
export interface BaselineWin { metric: string; scale: 'raw' | 'log'; unit: string; baselines: string[]; note: string }
export interface VolumeSummary { task: 'volume'; columns: { metric: string; scale: 'raw' | 'log'; unit: string }[]; rows: ScoreRow[]; wins: BaselineWin[] }
export interface ForecastSummary { task: 'forecast'; columns: { metric: string; unit: string }[]; rows: ScoreRow[]; skill_volume: number | null; skill_adj_close: number | null; notes: string[] }
export type Summary = VolumeSummary | ForecastSummary;

export type ListedModel = ModelVersion & { tags: Record<string, string>; summary: Summary; run_id?: string | null };
export interface ModelList { serving: string | null; models: ListedModel[]; total: number; limit: number; offset: number }

export interface Fold { index: number; train_from: string; valid_from: string; valid_to: string; rows_train: number; rows_valid: number; best_iter: number; best_score: number }
export interface ModelPage {
  model: { id: string; kind: string; created_at: string; aliases: string[]; run_id: string | null; data_hash: string | null; test_slice: { date_min: string; date_max: string; rows: number } | null; tags: Record<string, string> };
  family: 'volume' | 'forecast';
  summary: Summary;
  units: Record<string, string>;
  backtest: { on: string; metrics: Record<string, number> } | null;
  params: Record<string, string | null>;
  protocol: { name?: string; label?: string; folds?: Fold[]; cv_rmse_log?: number; trees?: number } | null;
  split: { kind?: string; test_from?: string; valid_from?: string; leaky?: boolean } | null;
  intervals: { source: string; n: number; coverage: { coverage: number; q_log: number; covered: number; rows: number }[]; not_reported?: { coverage: number; reason: string }[] } | null;
  /** Whether intervals.json (what the server serves) is there and valid; null without intervals. */
  intervals_file: 'ok' | 'missing' | 'invalid' | null;
  /** The model's files the page could not read (not a regular file, not valid JSON): the rest is shown. */
  problems: string[];
  lineage: { features_snapshot: number | null; prices_snapshot: number | null; link: string };
  alias_moves: { alias: string; model_id: string; previous_model_id: string | null; at: string; reason: string; note: string | null }[];
  card: string | null;
}
export interface Curve { key: string; part: string; series: string; metric: 'mse' | 'rmse_log'; unit: string; steps: number[]; values: number[]; total: number }
export interface Curves { model_id: string; source: string; curves: Curve[] }
export interface Importance { model_id: string; measure: string; boosters: { booster: string; trees: number; gain: boolean; features: { feature: string; splits: number; share: number; gain: number | null; gain_share: number | null }[] }[] }
export interface ResidualsBody {
  model_id: string;
  residuals: { rows: number; rmse_log: number; mae_log: number; bias_log: number; histogram: { unit: string; edges: number[]; counts: number[]; below: number; above: number }; sample: { actual: number[]; predicted: number[] } } | null;
  reason: string | null;
}
export interface History { family: string; alias: string; metric: string; unit: string; models: { id: string; kind: string; created_at: string; value: number | null; backtest: number | null; serving: boolean }[]; moves: { model_id: string; at: string; reason: string }[] }
export interface ChampionCompare {
  alias: string;
  champion: string | null;
  models: { id: string; kind: string; created_at: string; aliases: string[]; tags: Record<string, string>; lineage: { features_snapshot: number | null; prices_snapshot: number | null }; data_hash: string | null; test_slice: { date_min: string; date_max: string; rows: number } | null; backtest: { on: string; rmse_log: number | null } | null; params: Record<string, string | null>; metrics: Record<string, number | null> }[];
  differing_params: string[];
  units: Record<string, string>;
}

const enc = encodeURIComponent;

/** The model `alias` points at: from `list` when it is in it, else asked of the server (GET /models?alias=): a
 * search (?q=, ?tag=) or the list's first page can leave the champion out, which is no sign that there is none. */
export async function aliasHolder(list: readonly ListedModel[], alias: string, signal?: AbortSignal): Promise<ListedModel | null> {
  const listed = list.find((m) => m.aliases.includes(alias));
  if (listed !== undefined) return listed;
  return (await getJson<ModelList>(`/models?alias=${enc(alias)}&limit=1`, signal)).models[0] ?? null;
}

export const listModels = (q: { q?: string; tag?: string }, signal?: AbortSignal): Promise<ModelList> => {
  const p = new URLSearchParams();
  if (q.q) p.set('q', q.q);
  if (q.tag) p.set('tag', q.tag);
  const s = p.toString();
  return getJson<ModelList>(`/models${s ? `?${s}` : ''}`, signal);
};
export const modelPage = (id: string, signal?: AbortSignal): Promise<ModelPage> => getJson(`/models/${enc(id)}/page`, signal);
export const modelCurves = (id: string, signal?: AbortSignal): Promise<Curves> => getJson(`/models/${enc(id)}/curves?points=400`, signal);
export const modelImportance = (id: string, signal?: AbortSignal): Promise<Importance> => getJson(`/models/${enc(id)}/importance`, signal);
export const modelResiduals = (id: string, signal?: AbortSignal): Promise<ResidualsBody> => getJson(`/models/${enc(id)}/residuals?points=1500`, signal);
export const modelHistory = (family: 'volume' | 'forecast', metric: string, signal?: AbortSignal): Promise<History> => getJson(`/models/history?family=${family}&metric=${enc(metric)}`, signal);
export const championCompare = (family: 'volume' | 'forecast', signal?: AbortSignal): Promise<ChampionCompare> => getJson(`/models/champion-compare?family=${family}`, signal);
