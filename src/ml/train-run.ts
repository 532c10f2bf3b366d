/** @module ml/train-run
 * The steps every training run shares, once: a tracked run in the store, the model id, the model
 * folder (ml/artifacts), its registration (artifacts, data version, params, metrics, model version,
 * in one transaction; the folder removed when that fails: no orphan folders), then registry/promote
 * on the family's alias. The trainers (ml/train-volume, ml/train-forecast-run) supply the data,
 * the fit and what to record; rendering is the CLI's. */
import { currentJobKey } from '../core/commit-guard.js';
import { hashJson } from '../core/fs.js';
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Progress } from '../core/progress.js';
import type { Workspace } from '../core/workspace.js';
import { promote, type HolderRescorer } from '../registry/promote.js';
import { openRegistry, type Registry } from '../registry/store.js';
import type { ArtifactRecord, ModelKind, PromoteDecision, SelectionSlice } from '../registry/types.js';
import { assertModelLoads, writeModelFolder } from './artifacts.js';
import { curveMetrics, parseTrainingLog } from './training-curve.js';
import type { DataLineage } from './dataset.js';
import type { RegressionMetrics } from './metrics/regression.js';

/** Where and how a training run works: the workspace (with its DuckDB settings), the clock, progress. */
export interface TrainEnv {
  ws: Workspace;
  now: () => Date;
  progress: Progress;
}

/** What a trainer hands to registration: the folder's files and the store's records. */
export interface TrainedModel {
  kind: ModelKind;
  modelJson: string;
  /** metrics.json after its `model_id` and `kind`. */
  metricsDoc: Record<string, unknown>;
  trainingLog: string;
  /** intervals.json (ml/conformal), when the model has prediction intervals. */
  intervalsJson?: string;
  card: (ids: { modelId: string; createdAt: string; runId: string }) => string;
  /** The run's params (row counts are added). */
  params: Record<string, unknown>;
  rows: { train: number; valid: number; test: number };
  /** Logged per slice `test/<key>`. */
  loggedMetrics: Record<string, Record<string, number>>;
  /** The model version's metric sets. */
  metrics: Record<string, Record<string, number>>;
  test: { date_min: string; date_max: string; rows: number };
  /** What promotion compares (never the test slice): the CV folds or a validation window, with the score; null = none (random split). */
  selection: SelectionSlice | null;
  /** Suffix of the test slice's data hash (`<data hash>:<split>`): the split kind, or `forecast`. */
  sliceTag: string;
  /** The data version; `lineage`: the store snapshots it was read from (recorded as the run's `data.*` params). */
  data: { hash: string; path: string; rows: number; lineage?: DataLineage };
}

/** A training request's fields that choose its data or its machine, not how it trains: the test cut, the
 * logical date, the snapshot, the threads, promotion; and the study as named on the command line and its
 * whole record (its test cut and data hash): the request carries the study's choice itself (the volume
 * task's `choice`, the day-ahead task's `volume`). */
const NOT_PROCEDURE: ReadonlySet<string> = new Set(['testFrom', 'until', 'asOf', 'threads', 'promoteIfBetter', 'fit', 'study', 'paramsFrom']);

/** `v` without NOT_PROCEDURE's fields at any depth (a study's volume settings carry their own threads). */
function procedureOf(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(procedureOf);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([k, x]) => !NOT_PROCEDURE.has(k) && typeof x !== 'function').map(([k, x]) => [k, procedureOf(x)]));
}

/** The fingerprint of how a model is chosen and fitted whatever the data (SelectionSlice `procedure`):
 * sha256 of its kind, inputs and training request (settings, protocol, seed, a study's choice, and the
 * features build the trainers add: ml/rescore featuresBuild) less the fields that choose the data or the machine. */
export function procedureHash(kind: string, inputs: readonly string[], request: Record<string, unknown>): string {
  return hashJson({ kind, inputs, request: procedureOf(request) });
}

/** The run params that record a model's data lineage (registry/lineage reads them back). */
export function lineageParams(l: DataLineage | undefined): Record<string, number | null> {
  return l === undefined ? {} : { 'data.features_snapshot': l.features_snapshot, 'data.prices_snapshot': l.prices_snapshot };
}

/** A model card's lineage lines for the snapshots. */
export function lineageCard(l: DataLineage | undefined): Record<string, string> {
  return l === undefined ? {} : { features_snapshot: String(l.features_snapshot), prices_snapshot: l.prices_snapshot === null ? 'n/a' : String(l.prices_snapshot) };
}

/** Runs `register`; on failure removes the model folder it was about to register, then rethrows. */
export async function registerOrRemove(dir: string, register: () => void): Promise<void> {
  try {
    register();
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The files of a model folder (the four, and intervals.json when `intervals`) with their sha256, for reg.logArtifact. */
export async function artifactRecords(dir: string, intervals = false): Promise<ArtifactRecord[]> {
  return Promise.all(
    ['model.json', 'metrics.json', 'training.log', 'card.md', ...(intervals ? ['intervals.json'] : [])].map(async (name) => {
      const bytes = await readFile(join(dir, name));
      return { path: join(dir, name), kind: name.replace(/\..*$/, ''), sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    }),
  );
}

/** Registry metric sets are plain number records. */
export function metricSets(metrics: Record<string, RegressionMetrics>): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, { ...m }]));
}

/** A registered model: its id, folder and creation time. */
export interface Registered { modelId: string; dir: string; createdAt: string }

/** Writes the model folder and registers it under `runId` (one transaction; no orphan folder). */
export async function registerTrainedModel(reg: Registry, ws: Workspace, runId: string, createdAt: string, m: TrainedModel): Promise<Registered> {
  // A queued job run again (its worker stalled and the job was redelivered) registers nothing new:
  // the model its first execution registered is the job's result.
  const jobKey = currentJobKey();
  const prior = jobKey === null ? null : reg.modelOfJob(jobKey);
  if (prior !== null) return { modelId: prior.id, dir: prior.path, createdAt: prior.created_at };
  const stamp = createdAt.replace(/[-:T]/g, '').slice(0, 14);
  const modelId = `${m.kind}-${stamp}-${createHash('sha256').update(m.modelJson).update(runId).digest('hex').slice(0, 6)}`;
  const card = m.card({ modelId, createdAt, runId });
  const dir = await writeModelFolder(ws, modelId, { modelJson: m.modelJson, metrics: { model_id: modelId, kind: m.kind, ...m.metricsDoc }, trainingLog: m.trainingLog, card, intervals: m.intervalsJson });
  const testSlice = { ...m.test, data_hash: `${m.data.hash}:${m.sliceTag}`, selection: m.selection };
  const artifacts = await artifactRecords(dir, m.intervalsJson !== undefined);
  await registerOrRemove(dir, () =>
    reg.transaction(() => {
      for (const a of artifacts) reg.logArtifact(runId, a);
      reg.recordDataVersion({ hash: m.data.hash, kind: 'features', path: m.data.path, rows: m.data.rows, details: m.data.lineage === undefined ? undefined : { ...m.data.lineage } });
      reg.logParams(runId, { ...m.params, rows_train: m.rows.train, rows_valid: m.rows.valid, rows_test: m.rows.test, ...lineageParams(m.data.lineage) });
      for (const [kind, x] of Object.entries(m.loggedMetrics)) reg.logMetrics(runId, x, { slice: `test/${kind}` });
      // The loss curves as step metrics (ml/training-curve): what the dashboard's model page draws.
      reg.logMetrics(runId, curveMetrics(parseTrainingLog(m.trainingLog)));
      reg.registerModel({ model_id: modelId, kind: m.kind, path: dir, metrics: m.metrics, test_slice: testSlice, run_id: runId, data_hash: m.data.hash, created_at: createdAt, job_key: jobKey });
    }),
  );
  return { modelId, dir, createdAt };
}

/** One training run: what to fit, how to describe it, where to promote it. */
export interface TrainJob<O> {
  runName: string;
  seed: number;
  fit: () => Promise<O>;
  describe: (out: O) => TrainedModel;
  alias: string;
  metric: string;
  promoteIfBetter: boolean;
  rescore: HolderRescorer;
}

export interface TrainRunResult<O> extends Registered {
  out: O;
  runId: string;
  /** What happened to the alias (outcome first | promoted | kept | not_requested). */
  promotion: PromoteDecision;
}

/**
 * The shared skeleton: a tracked run (finished, or failed with the error), the fit, the folder and
 * its registration, then promotion (an empty alias takes the model; if-better only when asked).
 */
export async function trainAndRegister<O>(ws: Workspace, now: () => Date, job: TrainJob<O>): Promise<TrainRunResult<O>> {
  const reg = openRegistry(ws);
  const runId = reg.startRun({ kind: 'train', name: job.runName, seed: job.seed });
  try {
    const out = await job.fit();
    const registered = await registerTrainedModel(reg, ws, runId, now().toISOString(), job.describe(out));
    const promotion = await promote(reg, registered.modelId, job.alias, { metric: job.metric, trigger: 'auto', mode: job.promoteIfBetter ? 'if-better' : 'if-empty', rescore: job.rescore, loads: (m) => (m.id === registered.modelId ? Promise.resolve() : assertModelLoads(m)) }); // the model just written needs no second parse
    reg.endRun(runId, 'finished');
    return { ...registered, out, runId, promotion };
  } catch (err) {
    reg.endRun(runId, 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    reg.close();
  }
}
