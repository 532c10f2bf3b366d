/** @module cli/train
 * `stockpipe train`: features.parquet → a trained volume model in models/<model-id>/ (model.json,
 * metrics.json, training.log, card.md), registered in the store with its run, params, metrics and
 * data version; then registry/promote: an empty `champion` takes the model (outcome `first`),
 * `--promote-if-better` moves it only when it beats the holder on the same test slice. */
import { createHash } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureWritableDir } from '../core/fs.js';
import { renderCard, writeModelFolder } from '../ml/artifacts.js';
import type { RegressionMetrics } from '../ml/metrics/regression.js';
import { trainVolumeModel, type TrainParams } from '../ml/train.js';
import { promote } from '../registry/promote.js';
import { openRegistry } from '../registry/store.js';
import type { ArtifactRecord, PromoteDecision } from '../registry/types.js';
import type { CommandContext, CommandResult } from './context.js';
import { loadWorkspaceDataset, workspaceRescorer } from './dataset.js';
import { promotionLine } from './promotion-text.js';

export interface TrainData {
  model_id: string;
  kind: string;
  path: string;
  rows_train: number;
  rows_valid: number;
  rows_test: number;
  split: { kind: string; test_from: string | null; valid_from: string | null; leaky: boolean };
  test: { date_min: string; date_max: string; rows: number };
  seconds: number;
  train_seconds: number;
  peak_rss_mb: number;
  best_iteration: number | null;
  metrics: Record<string, RegressionMetrics>;
  data_hash: string;
  /** What happened to `champion` (always present: outcome first | promoted | kept | not_requested). */
  promotion: PromoteDecision;
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

/** The four files of a model folder with their sha256, for reg.logArtifact. */
export async function artifactRecords(dir: string): Promise<ArtifactRecord[]> {
  return Promise.all(
    ['model.json', 'metrics.json', 'training.log', 'card.md'].map(async (name) => {
      const bytes = await readFile(join(dir, name));
      return { path: join(dir, name), kind: name.replace(/\..*$/, ''), sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
    }),
  );
}

/** Registry metric sets are plain number records. */
export function metricSets(metrics: Record<string, RegressionMetrics>): Record<string, Record<string, number>> {
  return Object.fromEntries(Object.entries(metrics).map(([k, m]) => [k, { ...m }]));
}

const fmt = (x: number): string => (Math.abs(x) >= 1e4 ? x.toExponential(3) : x.toFixed(4));

/** The metrics table people read: one row per model kind. */
export function metricsTable(metrics: Record<string, RegressionMetrics>, highlight: string): string {
  const head = `  ${'model'.padEnd(16)}${['MAE', 'RMSE', 'R2', 'MAE_log', 'RMSE_log', 'R2_log'].map((h) => h.padStart(12)).join('')}`;
  const rows = Object.entries(metrics).map(([k, m]) => `  ${(k === highlight ? `${k} *` : k).padEnd(16)}${[m.mae, m.rmse, m.r2, m.mae_log, m.rmse_log, m.r2_log].map((v) => fmt(v).padStart(12)).join('')}`);
  return [head, ...rows].join('\n');
}

export async function trainCommand(ctx: CommandContext, p: TrainParams & { promoteIfBetter: boolean }): Promise<CommandResult<TrainData>> {
  const t0 = performance.now();
  await ensureWritableDir(ctx.ws.root);
  const ds = await loadWorkspaceDataset(ctx);
  const reg = openRegistry(ctx.ws);
  const runId = reg.startRun({ kind: 'train', name: `train ${p.kind}`, seed: p.seed });
  try {
    const out = await trainVolumeModel(ds, p, { progress: ctx.progress });
    const createdAt = ctx.now().toISOString();
    const stamp = createdAt.replace(/[-:T]/g, '').slice(0, 14);
    const modelJson = out.scorer.toJSON();
    const modelId = `${p.kind}-${stamp}-${createHash('sha256').update(modelJson).update(runId).digest('hex').slice(0, 6)}`;
    const metricsDoc = { model_id: modelId, kind: p.kind, split: out.split, test: out.test, metrics: out.metrics, valid: out.valid_metrics, slices: out.slices, data_hash: ds.dataHash };
    const card = renderCard({
      modelId,
      kind: p.kind,
      createdAt,
      dataPath: ds.path,
      dataHash: ds.dataHash,
      split: { kind: out.split.kind, train_rows: out.rows_train, valid_rows: out.rows_valid, test_rows: out.rows_test, test_from: out.split.test_from, valid_from: out.split.valid_from },
      params: out.params,
      metrics: out.metrics,
      seconds: out.train_seconds,
      lineage: { run_id: runId, features: ds.path, data_hash: ds.dataHash, best_iteration: String(out.best_iteration ?? 'n/a') },
    });
    const dir = await writeModelFolder(ctx.ws, modelId, { modelJson, metrics: metricsDoc, trainingLog: out.training_log, card });
    const testSlice = { date_min: out.test.date_min, date_max: out.test.date_max, rows: out.test.rows, data_hash: `${ds.dataHash}:${out.split.kind}` };
    const artifacts = await artifactRecords(dir);
    // The folder is only kept when its registration commits: no orphan model folders.
    await registerOrRemove(dir, () =>
      reg.transaction(() => {
        for (const a of artifacts) reg.logArtifact(runId, a);
      reg.recordDataVersion({ hash: ds.dataHash, kind: 'features', path: ds.path, rows: ds.rows });
      reg.logParams(runId, { ...out.params, rows_train: out.rows_train, rows_valid: out.rows_valid, rows_test: out.rows_test });
      for (const [kind, m] of Object.entries(out.metrics)) reg.logMetrics(runId, { mae: m.mae, rmse: m.rmse, r2: m.r2, mae_log: m.mae_log, rmse_log: m.rmse_log, r2_log: m.r2_log }, { slice: `test/${kind}` });
        reg.registerModel({ model_id: modelId, kind: p.kind, path: dir, metrics: metricSets(out.metrics), test_slice: testSlice, run_id: runId, data_hash: ds.dataHash, created_at: createdAt });
      }),
    );
    const promotion = await promote(reg, modelId, 'champion', { metric: 'rmse_log', trigger: 'auto', mode: p.promoteIfBetter ? 'if-better' : 'if-empty', rescore: workspaceRescorer(ctx, { ds }) });
    reg.endRun(runId, 'finished');
    const data: TrainData = {
      model_id: modelId,
      kind: p.kind,
      path: dir,
      rows_train: out.rows_train,
      rows_valid: out.rows_valid,
      rows_test: out.rows_test,
      split: out.split,
      test: out.test,
      seconds: Math.round(performance.now() - t0) / 1000,
      train_seconds: out.train_seconds,
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
      best_iteration: out.best_iteration,
      metrics: out.metrics,
      data_hash: ds.dataHash,
      promotion,
    };
    const human = [
      `trained ${modelId} (${p.kind}) in ${data.train_seconds} s → ${dir}`,
      `  split ${out.split.kind}${out.split.leaky ? ' (random: leaky across time, for comparison only)' : ''}: train ${out.rows_train}, validation ${out.rows_valid}, test ${out.rows_test} rows (${out.test.date_min} .. ${out.test.date_max})`,
      metricsTable(out.metrics, p.kind),
      `  ${promotionLine(promotion)}`,
    ].filter(Boolean).join('\n');
    return { data, human };
  } catch (err) {
    reg.endRun(runId, 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  } finally {
    reg.close();
  }
}
