/** @module registry/types
 * The registry's records. Field names are snake_case, as stored and as printed by `--json`. */
import type { ALIAS_REASONS, MODEL_KINDS, RUN_STATUSES } from './schema.js';

export type ModelKind = (typeof MODEL_KINDS)[number];
export type AliasReason = (typeof ALIAS_REASONS)[number];
export type RunStatus = (typeof RUN_STATUSES)[number];

/** One model kind's metrics: mae, rmse, r2, mae_log, rmse_log, r2_log (and maybe rows). */
export type MetricSet = Record<string, number>;
/** Test-slice metrics keyed by model kind (the model's own kind and the baselines), docs/cli.md */
export type ModelMetrics = Record<string, MetricSet>;

/** The rows a model was tested on (reported, never used to choose it). */
export interface TestSlice {
  date_min: string;
  date_max: string;
  rows: number;
  data_hash: string;
  /** What promotion compares (absent: a model trained before the protocol, or on a random split). */
  selection?: SelectionSlice | null;
}

/**
 * The rows and score promotion compares a model on (docs/models.md: never the test slice). `cv`: the
 * expanding-window folds inside the pre-test dates, score = mean of the folds' best rmse_log;
 * `validation`: one window held out before the test slice (the holdout protocol, rf, day-ahead).
 * Rows = the data's rows dated within a window (by target day for day-ahead models).
 */
export interface SelectionSlice {
  kind: 'cv' | 'validation';
  data_hash: string;
  /** First and last day of each validation window (one per fold for cv), with its rows. */
  windows: Array<{ from: string; to: string; rows: number }>;
  /** The model's scores there (cv: the mean over folds), e.g. { rmse_log }. */
  metrics: Record<string, number>;
  /** sha256 of how the model was chosen and fitted, whatever the data (ml/train-run `procedureHash`: its
   * kind, settings, inputs and protocol; not its test cut, logical date, snapshot or threads). Absent
   * for models registered before 2026-12-05. Two models of one procedure score the same on the same
   * backtest rows by construction (registry/compare `sameProcedureOnNewerData`). */
  procedure?: string;
}

export interface RunInput {
  kind: string;
  run_id?: string;
  name?: string;
  parent_run_id?: string;
  git_sha?: string;
  config_hash?: string;
  seed?: number;
  /** When it started (default: now); a run recorded after it began (the pipeline runner's) gives it. */
  started_at?: string;
}

export interface RunRecord {
  run_id: string;
  kind: string;
  name: string | null;
  parent_run_id: string | null;
  status: RunStatus;
  started_at: string;
  ended_at: string | null;
  git_sha: string | null;
  config_hash: string | null;
  seed: number | null;
  error: string | null;
}

export interface MetricInput {
  key: string;
  value: number;
  step?: number;
  slice?: string;
}

export interface MetricRecord {
  key: string;
  value: number;
  step: number;
  slice: string;
  at: string;
}

export interface ArtifactRecord {
  path: string;
  kind: string;
  sha256: string | null;
  bytes: number | null;
}

/** A run with everything logged under it. */
export interface RunDetails extends RunRecord {
  params: Record<string, string | null>;
  metrics: MetricRecord[];
  artifacts: ArtifactRecord[];
}

export interface DataVersion {
  hash: string;
  kind: string;
  path: string | null;
  rows: number | null;
  created_at: string;
  details: Record<string, unknown> | null;
}

export interface RegisterModelInput {
  model_id: string;
  kind: ModelKind;
  /** The model folder (holding model.json); stored relative to the workspace when inside it. */
  path: string;
  metrics: ModelMetrics;
  test_slice: TestSlice | null;
  run_id?: string;
  data_hash?: string;
  created_at?: string;
  /** The queued job registering it (executor bullmq): at most one model version per job, however often the job runs. */
  job_key?: string | null;
}

export interface ModelVersion {
  id: string;
  kind: ModelKind;
  created_at: string;
  aliases: string[];
  metrics: ModelMetrics;
  run_id: string | null;
  data_hash: string | null;
  /** Absolute path of the model folder. */
  path: string;
  test_slice: TestSlice | null;
}

export interface AliasMove {
  id: number;
  alias: string;
  model_id: string;
  previous_model_id: string | null;
  at: string;
  reason: AliasReason;
  actor: string | null;
  note: string | null;
}

/**
 * What a promotion attempt did: `first` (the alias was empty: the candidate took it), `promoted`
 * (it beat the holder, or was forced), `kept` (the holder stays: not better, or already the holder),
 * `not_requested` (plain `train` while the alias is held: no comparison asked for).
 */
export type PromoteOutcome = 'first' | 'promoted' | 'kept' | 'not_requested';

export interface PromoteDecision {
  promoted: boolean;
  outcome: PromoteOutcome;
  /** The alias holder before, and after (equal unless moved). */
  from: string | null;
  to: string | null;
  /** One sentence: why it was (not) promoted. */
  reason: string;
  alias: string;
  candidate: string;
  champion_before: string | null;
  metric: string;
  candidate_value: number | null;
  champion_value: number | null;
  same_test_slice: boolean | null;
  /** The holder was re-scored on the candidate's selection rows (their recorded selections differed). */
  holder_rescored: boolean;
  /** The candidate was re-scored too (it has no backtest score for the metric, or the data changed since). */
  candidate_rescored?: boolean;
  /** Which score was compared, for people: e.g. "cv rmse_log over 3 pre-test folds 2020-01-02..2020-03-31". */
  compared?: string | null;
  /** The history row written, when promoted. */
  move: AliasMove | null;
}

export interface MetricDifference {
  metric: string;
  a: number | null;
  b: number | null;
  /** b − a (null when either is missing). */
  diff: number | null;
  better: 'a' | 'b' | 'tie' | null;
}

export interface ModelComparison {
  a: { id: string; kind: ModelKind; metrics: MetricSet; test_slice: TestSlice | null };
  b: { id: string; kind: ModelKind; metrics: MetricSet; test_slice: TestSlice | null };
  same_test_slice: boolean;
  /** Each model's own-kind metrics side by side. */
  differences: MetricDifference[];
  /** What promotion compares: each model's backtest score (CV folds or validation window; never the test slice). */
  backtest: {
    a: { on: string; metrics: MetricSet };
    b: { on: string; metrics: MetricSet };
    same_rows: boolean;
    /** Both were trained by one procedure (SelectionSlice `procedure`). */
    same_procedure: boolean;
    /** The one that is the other's procedure on newer data (its data reaches later, its test cut no earlier):
     * promotion keeps it without a comparison; null when neither is. */
    retrain: 'a' | 'b' | null;
    differences: MetricDifference[];
  };
}

/** A data version to record (registry recordDataVersion): content-addressed by `hash`. */
export interface DataVersionInput {
  hash: string;
  kind: string;
  path?: string;
  rows?: number;
  details?: Record<string, unknown>;
}
