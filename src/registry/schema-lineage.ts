/** @module registry/schema-lineage
 * Migration 8 of the registry (registry/schema lists them all): which store snapshots each run read
 * and wrote (docs/cli.md, `stockpipe lineage`). Kept apart from schema.ts for size; written by
 * registry/run-scope (a command's reads) and registry/catalog (a commit), read by registry/lineage-docs. */

export const LINEAGE_MIGRATION = {
  version: 8,
  name: 'lineage: the snapshots each run read and wrote',
  sql: `
-- One row per (run, snapshot, role). No foreign keys: a task process on another machine may commit
-- before its run row is visible there, and a run's reads are flushed when it ends.
CREATE TABLE run_snapshots (
  run_id      TEXT NOT NULL,
  snapshot_id INTEGER NOT NULL,
  role        TEXT NOT NULL CHECK (role IN ('read', 'wrote')),
  PRIMARY KEY (run_id, snapshot_id, role)
);
CREATE INDEX run_snapshots_snapshot ON run_snapshots(snapshot_id, role);
CREATE INDEX runs_kind_started ON runs(kind, started_at);
-- Training runs recorded before this migration named the features snapshot they read as a param.
INSERT OR IGNORE INTO run_snapshots (run_id, snapshot_id, role)
  SELECT run_id, CAST(value AS INTEGER), 'read' FROM params
  WHERE key = 'data.features_snapshot' AND value GLOB '[0-9]*' AND value NOT GLOB '*[^0-9]*';
`,
};
