/** @module registry/schema-studies
 * Migration 6 of the registry (registry/schema lists them all): tuning studies and their trials
 * (docs/tuning.md). Kept apart from schema.ts for size; the typed API is registry/studies. */

/** A tuning study's states (docs/tuning.md): `stopped` = --timeout ended it, `interrupted` = a signal did; both resume. */
export const STUDY_STATES = ['running', 'complete', 'stopped', 'interrupted', 'failed'] as const;
/** One trial's evaluation at one rung: `pruned` = complete, but not among the best 1/η kept for the next rung. */
export const TRIAL_STATES = ['running', 'complete', 'pruned', 'failed'] as const;

const list = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

export const STUDIES_MIGRATION = {
  version: 6,
  name: 'tuning studies and their trials',
  sql: `
-- A tuning study (stockpipe tune, docs/tuning.md), after Optuna's: the search space and seed fix the
-- trials' parameters; successive halving evaluates them at growing tree budgets (rungs).
CREATE TABLE studies (
  study_id     TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  task         TEXT NOT NULL,                         -- 'volume'
  metric       TEXT NOT NULL,                         -- 'rmse_log'
  direction    TEXT NOT NULL CHECK (direction IN ('minimize', 'maximize')),
  seed         INTEGER NOT NULL,
  space        TEXT NOT NULL,                         -- JSON: the search space
  settings     TEXT NOT NULL,                         -- JSON: trials, folds, eta, max trees, rungs, data (snapshot, test cut, hash)
  folds        INTEGER NOT NULL,
  state        TEXT NOT NULL CHECK (state IN (${list(STUDY_STATES)})),
  created_at   TEXT NOT NULL,
  finished_at  TEXT,
  best_trial   INTEGER,                               -- the chosen trial's number (NULL until a rung finished)
  seconds      REAL NOT NULL DEFAULT 0,               -- evaluation time summed over every session
  error        TEXT
);
CREATE INDEX studies_created ON studies(created_at);

-- One row per trial and rung: the trial's parameters evaluated with the rung's tree budget.
CREATE TABLE study_trials (
  study_id       TEXT NOT NULL REFERENCES studies(study_id),
  number         INTEGER NOT NULL,                    -- trial 0 = the defaults
  rung           INTEGER NOT NULL,
  budget         INTEGER NOT NULL,                    -- trees at most, per fold
  params         TEXT NOT NULL,                       -- JSON
  state          TEXT NOT NULL CHECK (state IN (${list(TRIAL_STATES)})),
  fold_scores    TEXT,                                -- JSON: the metric per fold (at its best iteration)
  fold_iterations TEXT,                               -- JSON: each fold's best iteration
  fold_trees     TEXT,                                -- JSON: each fold's trees kept by early stopping (stopped at kept + patience)
  carried        INTEGER NOT NULL DEFAULT 0,          -- 1: copied from the rung below (every fold had stopped early: more trees change nothing)
  score          REAL,                                -- mean over folds
  best_iteration INTEGER,                             -- median of the folds' best iterations
  seconds        REAL,
  started_at     TEXT NOT NULL,
  finished_at    TEXT,
  error          TEXT,
  PRIMARY KEY (study_id, number, rung)
);
`,
};
