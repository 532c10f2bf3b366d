/** @module registry/schema
 * The registry's SQLite schema as an ordered list of migrations, applied in one transaction at open.
 * Append new migrations at the end; never edit one that has shipped. The typed API is store.ts. */
import type { Database } from 'better-sqlite3';
import { StockpipeError } from '../core/errors.js';
import { LINEAGE_MIGRATION } from './schema-lineage.js';
import { STUDIES_MIGRATION } from './schema-studies.js';
import { TAGS_MIGRATION } from './schema-tags.js';

export { STUDY_STATES, TRIAL_STATES } from './schema-studies.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The kinds migration 1 allowed (frozen: a shipped migration is never edited). */
const V1_MODEL_KINDS = ['gbdt', 'rf', 'polyreg', 'naive'] as const;
/** Volume model kinds, plus `forecast` (the day-ahead model, docs/models.md). */
export const MODEL_KINDS = ['gbdt', 'rf', 'polyreg', 'naive', 'forecast'] as const;
export const ALIAS_REASONS = ['auto', 'manual', 'forced'] as const;
export const RUN_STATUSES = ['running', 'finished', 'failed', 'cancelled'] as const;
/** The kinds of runs recorded: a pipeline run, and each writing command's (its CommandSpec `records`). */
export const RUN_KINDS = ['pipeline', 'fetch', 'ingest', 'features', 'validate', 'export', 'vacuum', 'train', 'tune', 'evaluate', 'forecast', 'monitor', 'promote', 'tag'] as const;
/** A pipeline run's status as read: a stored 'running' run whose recorded runner process is gone reads 'abandoned' (never stored). */
export const PIPELINE_RUN_STATUSES = [...RUN_STATUSES, 'abandoned'] as const;
/** A pipeline task's states (docs/pipelines.md); `retried` = an attempt failed and the next one is waiting. */
export const TASK_STATUSES = ['queued', 'running', 'retried', 'succeeded', 'failed', 'skipped', 'cached', 'cancelled'] as const;
export const ALERT_SEVERITIES = ['info', 'warning', 'error'] as const;
/** A backfill day's states: `skipped` = its logical date already had a run that finished (docs/pipelines.md). */
export const BACKFILL_DAY_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;

const list = (xs: readonly string[]): string => xs.map((x) => `'${x}'`).join(', ');

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'runs, params, metrics, artifacts, data versions, model versions, aliases',
    sql: `
CREATE TABLE runs (
  run_id        TEXT PRIMARY KEY,
  kind          TEXT NOT NULL,               -- 'train' | 'evaluate' | 'pipeline' | 'task' | …
  name          TEXT,                        -- e.g. the pipeline or task name
  parent_run_id TEXT REFERENCES runs(run_id),-- a task run points at its pipeline run
  status        TEXT NOT NULL CHECK (status IN (${list(RUN_STATUSES)})),
  started_at    TEXT NOT NULL,
  ended_at      TEXT,
  git_sha       TEXT,
  config_hash   TEXT,
  seed          INTEGER,
  error         TEXT
);
CREATE INDEX runs_started ON runs(started_at);
CREATE INDEX runs_parent ON runs(parent_run_id);

CREATE TABLE params (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,
  value  TEXT,
  PRIMARY KEY (run_id, key)
);

CREATE TABLE metrics (
  id     INTEGER PRIMARY KEY,
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  key    TEXT NOT NULL,                      -- 'rmse_log', 'mae', …
  value  REAL,                               -- NULL stands for NaN
  step   INTEGER NOT NULL DEFAULT 0,
  slice  TEXT NOT NULL DEFAULT '',           -- 'test', 'test/etf', 'valid', … ('' = none)
  at     TEXT NOT NULL
);
CREATE INDEX metrics_run_key ON metrics(run_id, key, slice, step);

CREATE TABLE artifacts (
  run_id TEXT NOT NULL REFERENCES runs(run_id),
  path   TEXT NOT NULL,
  kind   TEXT NOT NULL,
  sha256 TEXT,
  bytes  INTEGER,
  PRIMARY KEY (run_id, path)
);

CREATE TABLE data_versions (
  hash       TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,                  -- 'raw' | 'prices' | 'features' | …
  path       TEXT,
  rows       INTEGER,
  created_at TEXT NOT NULL,
  details    TEXT                            -- JSON
);

CREATE TABLE model_versions (
  model_id   TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN (${list(V1_MODEL_KINDS)})),
  run_id     TEXT REFERENCES runs(run_id),
  data_hash  TEXT,
  created_at TEXT NOT NULL,
  path       TEXT NOT NULL,                  -- the model folder; relative to the workspace when inside it
  metrics    TEXT NOT NULL,                  -- JSON: model kind → {mae, rmse, r2, mae_log, rmse_log, r2_log}
  test_slice TEXT                            -- JSON: {date_min, date_max, rows, data_hash}
);
CREATE INDEX model_versions_created ON model_versions(created_at);

CREATE TABLE aliases (
  alias      TEXT PRIMARY KEY,
  model_id   TEXT NOT NULL REFERENCES model_versions(model_id),
  updated_at TEXT NOT NULL
);

CREATE TABLE alias_history (
  id                INTEGER PRIMARY KEY AUTOINCREMENT,
  alias             TEXT NOT NULL,
  model_id          TEXT NOT NULL REFERENCES model_versions(model_id),
  previous_model_id TEXT REFERENCES model_versions(model_id),
  at                TEXT NOT NULL,
  reason            TEXT NOT NULL CHECK (reason IN (${list(ALIAS_REASONS)})),
  actor             TEXT,
  note              TEXT
);
CREATE INDEX alias_history_alias_at ON alias_history(alias, at);
CREATE TRIGGER alias_history_no_update BEFORE UPDATE ON alias_history
BEGIN SELECT RAISE(ABORT, 'alias_history is append-only: rows are never updated'); END;
CREATE TRIGGER alias_history_no_delete BEFORE DELETE ON alias_history
BEGIN SELECT RAISE(ABORT, 'alias_history is append-only: rows are never deleted'); END;
`,
  },
  {
    version: 2,
    name: 'pipeline task runs and cache, forecasts, alerts, monitoring points; forecast model kind',
    sql: `
CREATE TABLE task_runs (
  run_id      TEXT NOT NULL REFERENCES runs(run_id), -- the pipeline run (runs.kind = 'pipeline')
  task        TEXT NOT NULL,
  position    INTEGER NOT NULL,                      -- topological order in the plan
  status      TEXT NOT NULL CHECK (status IN (${list(TASK_STATUSES)})),
  attempts    INTEGER NOT NULL DEFAULT 0,
  started_at  TEXT,
  ended_at    TEXT,
  seconds     REAL,
  rows_in     INTEGER,
  rows_out    INTEGER,
  cache_key   TEXT,
  outputs     TEXT,                                  -- JSON: [{path, sha256, bytes}]
  summary     TEXT,                                  -- JSON: the task's own result (its --json data)
  log_path    TEXT,
  error_code  TEXT,
  error       TEXT,
  PRIMARY KEY (run_id, task)
);
CREATE INDEX task_runs_task ON task_runs(task, status);

CREATE TABLE task_cache (
  task       TEXT NOT NULL,
  cache_key  TEXT NOT NULL,
  run_id     TEXT NOT NULL REFERENCES runs(run_id),
  outputs    TEXT NOT NULL,                          -- JSON: [{path, sha256, bytes}] as written
  summary    TEXT,
  created_at TEXT NOT NULL,
  PRIMARY KEY (task, cache_key)
);

CREATE TABLE forecasts (
  model_id       TEXT NOT NULL,
  symbol         TEXT NOT NULL,
  asof_date      TEXT NOT NULL,                      -- the last bar the forecast saw
  target_date    TEXT NOT NULL,                      -- the next trading day it predicts
  adj_close      REAL,
  volume         REAL,
  last_adj_close REAL,                               -- persistence baseline
  last_volume    REAL,
  created_at     TEXT NOT NULL,
  run_id         TEXT,
  PRIMARY KEY (model_id, symbol, target_date)
);
CREATE INDEX forecasts_symbol ON forecasts(symbol, target_date);
CREATE INDEX forecasts_target ON forecasts(target_date);

CREATE TABLE alerts (
  id        INTEGER PRIMARY KEY AUTOINCREMENT,
  at        TEXT NOT NULL,
  kind      TEXT NOT NULL,                           -- 'task_failed' | 'error_threshold' | 'drift' | 'missing_run' | …
  severity  TEXT NOT NULL CHECK (severity IN (${list(ALERT_SEVERITIES)})),
  pipeline  TEXT,
  run_id    TEXT,
  message   TEXT NOT NULL,
  details   TEXT,                                    -- JSON
  delivered TEXT                                     -- JSON: channel → 'ok' | error message
);
CREATE INDEX alerts_at ON alerts(at);

CREATE TABLE monitor_points (
  id       INTEGER PRIMARY KEY,
  model_id TEXT NOT NULL,
  date     TEXT NOT NULL,                            -- the target trading day
  symbol   TEXT NOT NULL DEFAULT '',                 -- '' = all symbols
  metric   TEXT NOT NULL,                            -- 'mae_adj_close', 'mape_volume', 'psi:<column>', …
  value    REAL,
  n        INTEGER,
  at       TEXT NOT NULL,
  UNIQUE (model_id, date, symbol, metric)
);
CREATE INDEX monitor_points_date ON monitor_points(date);

-- model_versions again with the forecast kind allowed (SQLite cannot alter a CHECK): SQLite's
-- documented table rebuild; migrate() runs it with foreign keys off and checks them before commit.
CREATE TABLE model_versions_v2 (
  model_id   TEXT PRIMARY KEY,
  kind       TEXT NOT NULL CHECK (kind IN (${list(MODEL_KINDS)})),
  run_id     TEXT REFERENCES runs(run_id),
  data_hash  TEXT,
  created_at TEXT NOT NULL,
  path       TEXT NOT NULL,
  metrics    TEXT NOT NULL,
  test_slice TEXT
);
INSERT INTO model_versions_v2 SELECT model_id, kind, run_id, data_hash, created_at, path, metrics, test_slice FROM model_versions;
DROP TABLE model_versions;
ALTER TABLE model_versions_v2 RENAME TO model_versions;
CREATE INDEX model_versions_created ON model_versions(created_at);
`,
  },
  {
    version: 3,
    name: 'table catalog: snapshots, data files, changed symbols, ingest file state',
    sql: `
-- The store's catalog (docs/store.md), after DuckLake / Iceberg: one snapshot sequence for every
-- table; a data file is live in the snapshots from the one that added it up to (not including)
-- the one that removed it. Files are immutable; only vacuum deletes them from disk.
CREATE TABLE table_snapshots (
  snapshot_id INTEGER PRIMARY KEY,
  table_name  TEXT NOT NULL,
  parent_id   INTEGER REFERENCES table_snapshots(snapshot_id),  -- the table's previous snapshot
  created_at  TEXT NOT NULL,
  operation   TEXT NOT NULL CHECK (operation IN ('overwrite', 'append', 'restate', 'compact')),
  rows        INTEGER NOT NULL,                                 -- the table's rows in this snapshot
  files       INTEGER NOT NULL,                                 -- its live files
  source      TEXT,                                             -- JSON: what it was built from
  summary     TEXT                                              -- JSON: rows/files added and removed, settings
);
CREATE INDEX table_snapshots_table ON table_snapshots(table_name, snapshot_id);

CREATE TABLE table_files (
  file_id          INTEGER PRIMARY KEY,
  table_name       TEXT NOT NULL,
  path             TEXT NOT NULL UNIQUE,                        -- workspace-relative, under store/
  partition        TEXT NOT NULL,                               -- e.g. bucket=07
  rows             INTEGER NOT NULL,
  bytes            INTEGER NOT NULL,
  symbol_min       TEXT,
  symbol_max       TEXT,
  date_min         TEXT,
  date_max         TEXT,
  added_snapshot   INTEGER NOT NULL REFERENCES table_snapshots(snapshot_id),
  removed_snapshot INTEGER REFERENCES table_snapshots(snapshot_id),
  deleted_at       TEXT                                         -- when vacuum deleted it from disk
);
CREATE INDEX table_files_live ON table_files(table_name, removed_snapshot, added_snapshot);

-- What a snapshot changed, per symbol: its rows from from_date on were added or replaced (NULL:
-- the symbol was removed). Incremental features read it to recompute only the window tails.
CREATE TABLE snapshot_changes (
  snapshot_id INTEGER NOT NULL REFERENCES table_snapshots(snapshot_id),
  symbol      TEXT NOT NULL,
  from_date   TEXT,
  PRIMARY KEY (snapshot_id, symbol)
);

-- The source files as the prices table's current snapshot read them (incremental ingest).
CREATE TABLE ingest_files (
  path        TEXT PRIMARY KEY,                                 -- relative to the source root
  symbol      TEXT NOT NULL,
  size        INTEGER NOT NULL,
  mtime_ms    REAL NOT NULL,
  head_hash   TEXT NOT NULL,                                    -- sha256 of the first 4 KiB
  tail_hash   TEXT NOT NULL,                                    -- sha256 of the 4 KiB before size
  lines       INTEGER NOT NULL,                                 -- data lines read
  last_date   TEXT,                                             -- the symbol's last stored date
  snapshot_id INTEGER NOT NULL REFERENCES table_snapshots(snapshot_id)
);
`,
  },
  {
    version: 4,
    name: 'logical dates of pipeline runs; backfills and their days',
    sql: `
ALTER TABLE runs ADD COLUMN logical_date TEXT;     -- a pipeline run's trading day (run --date, a backfill day); NULL = none
ALTER TABLE runs ADD COLUMN backfill_id TEXT;      -- the backfill a pipeline run belongs to
CREATE INDEX runs_logical_date ON runs(name, logical_date) WHERE logical_date IS NOT NULL;

CREATE TABLE backfills (
  backfill_id    TEXT PRIMARY KEY,
  pipeline       TEXT NOT NULL,
  date_from      TEXT NOT NULL,
  date_to        TEXT NOT NULL,
  status         TEXT NOT NULL CHECK (status IN (${list(RUN_STATUSES)})),
  started_at     TEXT NOT NULL,
  ended_at       TEXT,
  days_total     INTEGER NOT NULL,
  days_succeeded INTEGER NOT NULL DEFAULT 0,
  days_failed    INTEGER NOT NULL DEFAULT 0,
  days_skipped   INTEGER NOT NULL DEFAULT 0,
  error          TEXT
);
CREATE INDEX backfills_started ON backfills(started_at);

CREATE TABLE backfill_days (
  backfill_id TEXT NOT NULL REFERENCES backfills(backfill_id),
  date        TEXT NOT NULL,                         -- the logical date (an NYSE trading day)
  run_id      TEXT REFERENCES runs(run_id),          -- the day's pipeline run (a skipped day: the earlier run that succeeded)
  status      TEXT NOT NULL CHECK (status IN (${list(BACKFILL_DAY_STATUSES)})),
  seconds     REAL,
  PRIMARY KEY (backfill_id, date)
);
`,
  },
  {
    version: 5,
    name: 'scale-out: which worker ran each task (and partition); job fences; idempotent model registration',
    sql: `
ALTER TABLE task_runs ADD COLUMN workers TEXT;       -- JSON: [{partition, worker, host, pid, seconds}] (executor bullmq); NULL = ran locally
-- The execution of a queued job allowed to commit: a worker claims its job before running it; a
-- task process commits only while its token is the job's (a redelivered job's new claim fences the old one).
CREATE TABLE job_claims (
  job_id     TEXT PRIMARY KEY,
  token      TEXT NOT NULL,
  worker     TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  claims     INTEGER NOT NULL DEFAULT 1                 -- how many executions claimed it (1 = never redelivered)
);
ALTER TABLE model_versions ADD COLUMN job_key TEXT;  -- the queued job that registered it: a replay of the job registers nothing new
CREATE UNIQUE INDEX model_versions_job_key ON model_versions(job_key) WHERE job_key IS NOT NULL;
`,
  },
  STUDIES_MIGRATION,
  TAGS_MIGRATION,
  LINEAGE_MIGRATION,
  {
    version: 9,
    name: 'the process running each backfill',
    sql: `
-- The backfill's process (as a pipeline run's params runner_pid, runner_host, runner_start): a backfill
-- stored 'running' whose process is gone reads 'abandoned'. NULL in backfills started before this migration.
ALTER TABLE backfills ADD COLUMN runner_pid INTEGER;
ALTER TABLE backfills ADD COLUMN runner_host TEXT;
ALTER TABLE backfills ADD COLUMN runner_start TEXT;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** The store's schema version (0 for an empty file). */
export function schemaVersion(db: Database): number {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (table === undefined) return 0;
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null };
  return row.v ?? 0;
}

function newerError(file: string, version: number): StockpipeError {
  return new StockpipeError('SP_ERR_REGISTRY', `registry ${file} has schema version ${version}, newer than this stockpipe (${SCHEMA_VERSION})`, {
    hint: 'Upgrade stockpipe to the version that wrote this workspace, or use another --workspace.',
  });
}

/** Fails with SP_ERR_REGISTRY when the store was written by a newer stockpipe. */
export function assertNotNewer(file: string, version: number): void {
  if (version > SCHEMA_VERSION) throw newerError(file, version);
}

/**
 * Applies the pending migrations in one IMMEDIATE transaction (safe when two processes open at
 * once). Foreign keys are off while it runs (a table rebuild drops and renames a referenced table,
 * SQLite's documented procedure) and checked before commit: a violation rolls everything back.
 */
export function migrate(db: Database, file: string, now: () => Date): number {
  const apply = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = schemaVersion(db);
    assertNotNewer(file, current);
    const insert = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      db.exec(m.sql);
      insert.run(m.version, m.name, now().toISOString());
    }
    const broken = db.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new StockpipeError('SP_ERR_REGISTRY', `registry ${file}: migration left ${broken.length} foreign key violation(s); nothing was changed`);
    return SCHEMA_VERSION;
  });
  const fk = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    return apply.immediate();
  } finally {
    if (fk) db.pragma('foreign_keys = ON');
  }
}
