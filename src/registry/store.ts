/** @module registry/store
 * The typed registry and tracking API over <workspace>/stockpipe.db: runs, params, metrics,
 * artifacts, data versions, model versions, aliases with an append-only history, and promotion.
 * Synchronous (better-sqlite3); opening and schema live in open.ts and schema.ts. */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { beforeCommit } from '../core/commit-guard.js';
import { clip, StockpipeError } from '../core/errors.js';
import { NO_CONTROL_TEXT } from '../core/terminal.js';
import { assertAliasTakes, FIXED_ALIAS_FAMILIES } from './alias-kinds.js';
import { toWorkspace, type Workspace, type WorkspaceRef } from '../core/workspace.js';
import { connect, registryError } from './open.js';
import { compareModelVersions, decidePromotion, type PromoteOptions } from './promote.js';
import { currentRunScope } from './run-scope.js';
import type {
  AliasMove, AliasReason, ArtifactRecord, DataVersion, MetricInput, MetricRecord, ModelComparison, ModelKind, ModelMetrics,
  ModelVersion, PromoteDecision, RegisterModelInput, RunDetails, RunInput, RunRecord, RunStatus, TestSlice,
} from './types.js';

/** The store file of a workspace (a Workspace, or its folder). */
export function registryPath(ref: WorkspaceRef): string {
  return toWorkspace(ref).registryPath;
}
export type { PromoteOptions };
export type * from './types.js';

export interface OpenOptions {
  /** No writes through this handle; a missing store reads as empty and is not created. */
  readonly?: boolean;
  /** The clock for every timestamp (tests inject one). */
  now?: () => Date;
}

interface ModelRow {
  model_id: string; kind: ModelKind; run_id: string | null; data_hash: string | null;
  created_at: string; path: string; metrics: string; test_slice: string | null;
}

/** An alias name: a letter, then up to 63 letters, digits, _ . or - (the CLI and the API check it first). */
export const ALIAS_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** The longest note a promotion keeps in the alias history (the CLI and the API check it first). */
export const NOTE_MAX_LENGTH = 500;
/** A note has no control character (as a tag value): `models history` prints it to a terminal, where an
 * escape sequence sent through POST /models/:id/promote would act and a newline would break the table. */
export const NOTE_TEXT = NO_CONTROL_TEXT;
const jsonOr = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));

/** ISO-8601 date or date-time: date, hours, minutes, seconds, zone (captured to check them). */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * Parses a time for aliasAt: ISO-8601; a date or a time without a zone is taken as UTC. A date that
 * does not exist is refused: `new Date` rolled 2020-02-30 over to March 1, took 99999-01-01, and read
 * other text ('1' as 2001-01-01) as it liked.
 */
export function parseTime(time: Date | string): Date {
  if (time instanceof Date) return time;
  const m = ISO_TIME.exec(time);
  const d = new Date(m && m[4] !== undefined && m[7] === undefined ? `${time}Z` : time);
  const day = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))).toISOString().slice(0, 10) : null;
  if (!m || day !== time.slice(0, 10) || Number(m[4] ?? 0) > 23 || Number.isNaN(d.getTime())) {
    throw new StockpipeError('SP_ERR_USAGE', `invalid time '${clip(time)}'`, { hint: 'Use ISO-8601 in UTC, e.g. 2024-05-01 or 2024-05-01T14:30:00Z.' });
  }
  return d;
}

export class Registry {
  readonly file: string;
  readonly readonly: boolean;
  private readonly db: BetterSqlite3.Database;
  private readonly ws: Workspace;
  private readonly now: () => Date;
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(db: BetterSqlite3.Database, ws: Workspace, readonly: boolean, now: () => Date) {
    this.db = db;
    this.ws = ws;
    this.file = ws.registryPath;
    this.readonly = readonly;
    this.now = now;
  }

  close(): void {
    this.db.close();
  }

  /** Read from memory: an empty store (no file yet) or a copy of a store on read-only media (registry/open). */
  get inMemory(): boolean {
    return this.db.memory;
  }

  // ---- runs -------------------------------------------------------------------------------------

  /**
   * Starts a run (status 'running'); returns its run_id. Inside a command's run scope
   * (registry/run-scope) the first run without an id of its own is the command's run (its row takes
   * the name and seed); later ones are nested under it.
   */
  startRun(input: RunInput): string {
    const scope = input.run_id === undefined && input.kind !== 'pipeline' ? currentRunScope() : null;
    if (scope !== null && !scope.adopted) {
      scope.adopted = true;
      this.write('start run', () => {
        this.q(`INSERT INTO runs (run_id, kind, name, parent_run_id, status, started_at, git_sha, config_hash, seed) VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)
          ON CONFLICT (run_id) DO UPDATE SET name = COALESCE(excluded.name, name), git_sha = COALESCE(excluded.git_sha, git_sha),
          config_hash = COALESCE(excluded.config_hash, config_hash), seed = COALESCE(excluded.seed, seed)`)
          .run(scope.runId, scope.kind, input.name ?? null, scope.parentRunId, this.stamp(), input.git_sha ?? null, input.config_hash ?? null, input.seed ?? null);
      });
      return scope.runId;
    }
    const runId = input.run_id ?? randomUUID().replaceAll('-', '');
    this.write('start run', () => {
      this.q(`INSERT INTO runs (run_id, kind, name, parent_run_id, status, started_at, git_sha, config_hash, seed)
        VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?)`).run(runId, input.kind, input.name ?? null, input.parent_run_id ?? scope?.runId ?? null, input.started_at ?? this.stamp(),
        input.git_sha ?? null, input.config_hash ?? null, input.seed ?? null);
    });
    return runId;
  }

  /** Ends a run with its final status (and the error message of a failed run). */
  endRun(runId: string, status: Exclude<RunStatus, 'running'>, error?: string): void {
    this.write('end run', () => {
      const r = this.q('UPDATE runs SET status = ?, ended_at = ?, error = ? WHERE run_id = ?').run(status, this.stamp(), error ?? null, runId);
      if (r.changes === 0) throw new StockpipeError('SP_ERR_REGISTRY', `registry ${this.file}: no run '${runId}' to end`);
    });
  }

  /** Records params (non-strings as JSON); a key logged again keeps the last value. */
  logParams(runId: string, params: Record<string, unknown>): void {
    this.write('log params', () => {
      const st = this.q('INSERT INTO params (run_id, key, value) VALUES (?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value');
      for (const [k, v] of Object.entries(params)) st.run(runId, k, v === null || v === undefined ? null : typeof v === 'string' ? v : JSON.stringify(v));
    });
  }

  /** Appends metrics: either {key: value} with one step/slice, or a list of entries. NaN is stored as NULL. */
  logMetrics(runId: string, metrics: Record<string, number> | readonly MetricInput[], opts: { step?: number; slice?: string } = {}): void {
    const list: MetricInput[] = Array.isArray(metrics) ? [...(metrics as readonly MetricInput[])]
      : Object.entries(metrics).map(([key, value]) => ({ key, value, step: opts.step, slice: opts.slice }));
    this.write('log metrics', () => {
      const st = this.q('INSERT INTO metrics (run_id, key, value, step, slice, at) VALUES (?, ?, ?, ?, ?, ?)');
      const at = this.stamp();
      for (const m of list) st.run(runId, m.key, Number.isNaN(m.value) ? null : m.value, m.step ?? opts.step ?? 0, m.slice ?? opts.slice ?? '', at);
    });
  }

  logArtifact(runId: string, artifact: ArtifactRecord): void {
    this.write('log artifact', () => {
      this.q(`INSERT INTO artifacts (run_id, path, kind, sha256, bytes) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (run_id, path) DO UPDATE SET kind = excluded.kind, sha256 = excluded.sha256, bytes = excluded.bytes`)
        .run(runId, artifact.path, artifact.kind, artifact.sha256, artifact.bytes);
    });
  }

  /** A run with its params, metrics (in logging order) and artifacts; null when unknown. */
  getRun(runId: string): RunDetails | null {
    return this.read('read run', () => {
      const run = this.q('SELECT * FROM runs WHERE run_id = ?').get(runId) as RunRecord | undefined;
      if (run === undefined) return null;
      const params = Object.fromEntries((this.q('SELECT key, value FROM params WHERE run_id = ? ORDER BY key').all(runId) as { key: string; value: string | null }[]).map((p) => [p.key, p.value]));
      const metrics = (this.q('SELECT key, value, step, slice, at FROM metrics WHERE run_id = ? ORDER BY id').all(runId) as MetricRecord[])
        .map((m) => ({ ...m, value: m.value ?? Number.NaN }));
      const artifacts = this.q('SELECT path, kind, sha256, bytes FROM artifacts WHERE run_id = ? ORDER BY path').all(runId) as ArtifactRecord[];
      return { ...run, params, metrics, artifacts };
    });
  }

  /** Runs, newest first. */
  listRuns(opts: { kind?: string; limit?: number; offset?: number } = {}): RunRecord[] {
    return this.read('list runs', () => this.q('SELECT * FROM runs WHERE (@kind IS NULL OR kind = @kind) ORDER BY started_at DESC, rowid DESC LIMIT @limit OFFSET @offset')
      .all({ kind: opts.kind ?? null, limit: opts.limit ?? 100, offset: opts.offset ?? 0 }) as RunRecord[]);
  }

  // ---- data versions ----------------------------------------------------------------------------

  /** Records a content-addressed data version; recording the same hash again keeps the first. */
  recordDataVersion(input: { hash: string; kind: string; path?: string; rows?: number; details?: Record<string, unknown> }): DataVersion {
    this.write('record data version', () => {
      this.q('INSERT OR IGNORE INTO data_versions (hash, kind, path, rows, created_at, details) VALUES (?, ?, ?, ?, ?, ?)')
        .run(input.hash, input.kind, input.path ?? null, input.rows ?? null, this.stamp(), input.details === undefined ? null : JSON.stringify(input.details));
    });
    return this.getDataVersion(input.hash) as DataVersion;
  }

  getDataVersion(hash: string): DataVersion | null {
    const row = this.read('read data version', () => this.q('SELECT * FROM data_versions WHERE hash = ?').get(hash)) as (Omit<DataVersion, 'details'> & { details: string | null }) | undefined;
    return row === undefined ? null : { ...row, details: jsonOr(row.details, null) };
  }

  // ---- model versions ---------------------------------------------------------------------------

  /** Registers a model version whose folder holds model.json. */
  registerModel(input: RegisterModelInput): ModelVersion {
    const abs = this.ws.path(input.path);
    this.assertFiles(input.model_id, abs);
    this.write('register model', () => {
      if (this.q('SELECT 1 FROM model_versions WHERE model_id = ?').get(input.model_id) !== undefined) {
        throw new StockpipeError('SP_ERR_REGISTRY', `model id '${input.model_id}' is already registered in ${this.file}`, { hint: 'Model ids are unique; train again to get a new id.' });
      }
      this.q(`INSERT INTO model_versions (model_id, kind, run_id, data_hash, created_at, path, metrics, test_slice, job_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(input.model_id, input.kind, input.run_id ?? null, input.data_hash ?? null, input.created_at ?? this.stamp(), this.storedPath(abs),
          JSON.stringify(input.metrics), input.test_slice === null ? null : JSON.stringify(input.test_slice), input.job_key ?? null);
    });
    return this.getModel(input.model_id);
  }

  /** The model version a queued job registered (its job key), or null. */
  modelOfJob(jobKey: string): ModelVersion | null {
    const row = this.read('read model', () => this.q('SELECT model_id FROM model_versions WHERE job_key = ?').get(jobKey)) as { model_id: string } | undefined;
    return row === undefined ? null : this.findModel(row.model_id);
  }

  /** A model version by id, or by alias (e.g. 'champion'); its folder must still hold model.json. */
  getModel(idOrAlias: string, opts: { checkFiles?: boolean } = {}): ModelVersion {
    const m = this.findModel(idOrAlias);
    if (m === null) {
      const aliases = Object.keys(this.aliasTargets());
      throw new StockpipeError('SP_ERR_MODEL_NOT_FOUND', `no model version or alias '${clip(idOrAlias)}' in ${this.file}${aliases.length ? ` (aliases: ${aliases.join(', ')})` : ''}`);
    }
    if (opts.checkFiles !== false) this.assertFiles(m.id, m.path);
    return m;
  }

  /** Like getModel, without the file check; null when neither an id nor an alias matches. */
  findModel(idOrAlias: string): ModelVersion | null {
    return this.read('read model', () => {
      const sql = 'SELECT * FROM model_versions WHERE model_id = ?';
      let row = this.q(sql).get(idOrAlias) as ModelRow | undefined;
      if (row === undefined) {
        const target = this.aliasTarget(idOrAlias);
        if (target !== null) row = this.q(sql).get(target) as ModelRow | undefined;
      }
      return row === undefined ? null : this.toModel(row, this.aliasTargets());
    });
  }

  /** Model versions, newest first, each with the aliases that point at it. */
  listModels(opts: { limit?: number; offset?: number } = {}): ModelVersion[] {
    return this.read('list models', () => {
      const targets = this.aliasTargets();
      const rows = this.q('SELECT * FROM model_versions ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?').all(opts.limit ?? -1, opts.offset ?? 0) as ModelRow[];
      return rows.map((r) => this.toModel(r, targets));
    });
  }

  // ---- aliases ----------------------------------------------------------------------------------

  /** The model id an alias points at now, or null. */
  aliasTarget(alias: string): string | null {
    const row = this.read('read alias', () => this.q('SELECT model_id FROM aliases WHERE alias = ?').get(alias)) as { model_id: string } | undefined;
    return row?.model_id ?? null;
  }

  /** The kind of the first model `alias` ever pointed at (its first history row), or null when it never moved. */
  aliasFirstKind(alias: string): ModelKind | null {
    const row = this.read('read alias history', () => this.q('SELECT m.kind FROM alias_history h JOIN model_versions m ON m.model_id = h.model_id WHERE h.alias = ? ORDER BY h.id LIMIT 1').get(alias)) as { kind: ModelKind } | undefined;
    return row?.kind ?? null;
  }

  /**
   * Points `alias` at `modelId` and appends the move to the history, in one transaction; null when it
   * already points there. SP_ERR_PROMOTE_KIND when the alias does not take the model's kind (alias-kinds.ts).
   */
  setAlias(alias: string, modelId: string, reason: AliasReason, opts: { note?: string; actor?: string } = {}): AliasMove | null {
    if (!ALIAS_NAME.test(alias)) throw new StockpipeError('SP_ERR_USAGE', `invalid alias name '${alias}'`, { hint: 'An alias starts with a letter and has up to 64 letters, digits, _ . or -, e.g. champion.' });
    return this.write('set alias', () => {
      const model = this.q('SELECT kind FROM model_versions WHERE model_id = ?').get(modelId) as { kind: ModelKind } | undefined;
      if (model === undefined) throw new StockpipeError('SP_ERR_MODEL_NOT_FOUND', `no model version '${modelId}' in ${this.file}`);
      // A model id is looked up before an alias (findModel): an alias spelled as a model id would be one nothing reads.
      if (this.q('SELECT 1 FROM model_versions WHERE model_id = ?').get(alias) !== undefined) {
        throw new StockpipeError('SP_ERR_USAGE', `alias '${alias}' is the id of a model version: \`${alias}\` names that model, so the alias could never be read`, { hint: 'Choose an alias name that is no model id, e.g. staging.' });
      }
      // A new alias that differs from a known one only by case (`Champion`) is a typo: it would start an alias that
      // nothing reads (GET /predict serves `champion`). Refused, naming the one meant; an alias's history keeps its case.
      if (this.aliasFirstKind(alias) === null) {
        const known = [...Object.keys(FIXED_ALIAS_FAMILIES), ...(this.q('SELECT DISTINCT alias FROM alias_history').all() as { alias: string }[]).map((r) => r.alias)];
        const meant = known.find((k) => k !== alias && k.toLowerCase() === alias.toLowerCase());
        if (meant !== undefined) throw new StockpipeError('SP_ERR_USAGE', `alias '${alias}' differs from the alias '${meant}' only by case: aliases are case-sensitive, and a new one would be an alias nothing reads`, { hint: `Use '${meant}'.` });
      }
      assertAliasTakes(alias, { id: modelId, kind: model.kind }, this.aliasFirstKind(alias));
      const previous = this.aliasTarget(alias);
      if (previous === modelId) return null;
      const at = this.stamp();
      this.q('INSERT INTO aliases (alias, model_id, updated_at) VALUES (?, ?, ?) ON CONFLICT (alias) DO UPDATE SET model_id = excluded.model_id, updated_at = excluded.updated_at').run(alias, modelId, at);
      const r = this.q('INSERT INTO alias_history (alias, model_id, previous_model_id, at, reason, actor, note) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(alias, modelId, previous, at, reason, opts.actor ?? null, opts.note ?? null);
      return { id: Number(r.lastInsertRowid), alias, model_id: modelId, previous_model_id: previous, at, reason, actor: opts.actor ?? null, note: opts.note ?? null };
    });
  }

  /** The history row in force for `alias` at `time` (the last move at or before it), or null. */
  aliasMoveAt(alias: string, time: Date | string): AliasMove | null {
    const at = parseTime(time).toISOString();
    const row = this.read('read alias history', () => this.q('SELECT * FROM alias_history WHERE alias = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1').get(alias, at));
    return (row as AliasMove | undefined) ?? null;
  }

  /** The model id that held `alias` at `time`, or null when nothing did. */
  aliasAt(alias: string, time: Date | string): string | null {
    return this.aliasMoveAt(alias, time)?.model_id ?? null;
  }

  /** Alias moves, oldest first (all aliases when `alias` is omitted). */
  aliasHistory(alias?: string): AliasMove[] {
    return this.read('read alias history', () => this.q('SELECT * FROM alias_history WHERE (@alias IS NULL OR alias = @alias) ORDER BY id').all({ alias: alias ?? null }) as AliasMove[]);
  }

  // ---- compare and promote ----------------------------------------------------------------------

  /** Each model's own-kind test metrics side by side, with b − a and which is better (promote.ts). */
  compareModels(a: string, b: string): ModelComparison {
    return compareModelVersions(this, a, b);
  }

  /** The decision step of registry/promote's promote() (no re-scoring): moves `alias` only when the candidate beats the holder on the same backtest rows (never the test slice). */
  promoteIfBetter(candidateId: string, alias = 'champion', opts: PromoteOptions = {}): PromoteDecision {
    return decidePromotion(this, candidateId, alias, opts);
  }

  /** Runs `fn` (registry calls) in one write transaction: all of it is stored, or none. */
  transaction<T>(fn: () => T): T {
    return this.write('write', fn);
  }

  // ---- SQL for the area stores (registry/pipeline.ts, registry/forecasts.ts, …) ------------------

  /** All rows of a read (named `@x` or positional parameters); SQLite failures → SP_ERR_REGISTRY. */
  all<T>(what: string, sql: string, params: Record<string, unknown> | unknown[] = []): T[] {
    return this.read(what, () => (Array.isArray(params) ? this.q(sql).all(...params) : this.q(sql).all(params)) as T[]);
  }

  /** The first row of a read, or undefined. */
  get<T>(what: string, sql: string, params: Record<string, unknown> | unknown[] = []): T | undefined {
    return this.read(what, () => (Array.isArray(params) ? this.q(sql).get(...params) : this.q(sql).get(params)) as T | undefined);
  }

  /** One write statement (its own IMMEDIATE transaction unless inside `transaction`); returns rows changed and the last rowid. */
  run(what: string, sql: string, params: Record<string, unknown> | unknown[] = []): { changes: number; lastInsertRowid: number } {
    return this.write(what, () => {
      const r = Array.isArray(params) ? this.q(sql).run(...params) : this.q(sql).run(params);
      return { changes: r.changes, lastInsertRowid: Number(r.lastInsertRowid) };
    });
  }

  /** The clock's now as stored (ISO-8601, UTC). */
  timestamp(): string {
    return this.stamp();
  }

  // ---- helpers ----------------------------------------------------------------------------------

  /** A prepared statement, compiled once per handle. */
  private q(sql: string): BetterSqlite3.Statement {
    let st = this.statements.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  private stamp(): string {
    return this.now().toISOString();
  }

  private read<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw registryError(this.file, what, err);
    }
  }

  /** Runs `fn` in an IMMEDIATE transaction (so a concurrent writer waits instead of failing mid-way). */
  private write<T>(what: string, fn: () => T): T {
    if (this.readonly) throw new StockpipeError('SP_ERR_REGISTRY', `registry ${this.file} was opened read-only; cannot ${what}`, { hint: 'Open the registry without readonly to write (a bug if you see this from the CLI).' });
    beforeCommit();
    // The guard runs again at the end of the outermost transaction: a task whose runner died
    // meanwhile stops there and its writes are never committed.
    return this.read(what, () => (this.db.inTransaction ? fn() : this.db.transaction(() => { const r = fn(); beforeCommit(this.db); return r; }).immediate()));
  }

  private aliasTargets(): Record<string, string> {
    const rows = this.q('SELECT alias, model_id FROM aliases ORDER BY alias').all() as { alias: string; model_id: string }[];
    return Object.fromEntries(rows.map((r) => [r.alias, r.model_id]));
  }

  private toModel(r: ModelRow, targets: Record<string, string>): ModelVersion {
    return {
      id: r.model_id, kind: r.kind, created_at: r.created_at,
      aliases: Object.entries(targets).filter(([, id]) => id === r.model_id).map(([a]) => a),
      metrics: jsonOr<ModelMetrics>(r.metrics, {}), run_id: r.run_id, data_hash: r.data_hash,
      path: this.ws.path(r.path), test_slice: jsonOr<TestSlice | null>(r.test_slice, null),
    };
  }

  /** Inside the workspace: stored relative (the workspace can move); outside: absolute. */
  private storedPath(abs: string): string {
    return this.ws.relative(abs);
  }

  private assertFiles(modelId: string, dir: string): void {
    const file = join(dir, 'model.json');
    if (!existsSync(file)) {
      throw new StockpipeError('SP_ERR_MODEL_MISSING', `model ${modelId}: ${file} is missing`, { hint: `Restore ${dir}, or train again and promote the new model.` });
    }
  }
}

/** Opens (creating and migrating when needed) a workspace's registry (a Workspace, or its folder). Close it when done. */
export function openRegistry(ref: WorkspaceRef, opts: OpenOptions = {}): Registry {
  const ws = toWorkspace(ref);
  const now = opts.now ?? (() => new Date());
  const readonly = opts.readonly === true;
  return new Registry(connect(ws.registryPath, readonly, now), ws, readonly, now);
}
