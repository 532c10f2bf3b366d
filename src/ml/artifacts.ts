/** @module ml/artifacts
 * The files of a model version (docs/models.md): models/<model-id>/ model.json, metrics.json,
 * training.log, card.md, and intervals.json when the model has prediction intervals (ml/conformal)
 * — written into a temp folder and renamed, so a model folder is complete or absent. */
import { StockpipeError } from '../core/errors.js';
import { notRegular, removeStaleTempsInDir, statOrNull, tempPathFor } from '../core/fs.js';
import type { Stats } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CoverageRow, UnreportedCoverage } from './conformal.js';
import type { RegressionMetrics } from './metrics/regression.js';
import { beforeCommit } from '../core/commit-guard.js';
import type { ModelFileName, Workspace } from '../core/workspace.js';
import { forecastFromJSON } from './forecast-model.js';
import { scorerFromJSON } from './volume-model.js';

export interface ModelFiles {
  modelJson: string;
  metrics: unknown;
  trainingLog: string;
  card: string;
  /** intervals.json (ml/conformal), when the model has prediction intervals. */
  intervals?: string;
}

/**
 * Every model folder is written in a temp named as a temp of one name, models/model
 * (`models/.model.tmp-<pid>-<stamp>`), whatever its model id. A write first sweeps the temps that
 * killed writers left in models/ (core/fs removeStaleTempsInDir, by their dead pid): those, and those
 * earlier versions named after the model id (`models/<id>.tmp-<pid>`), which no later write repeats.
 */
const modelTempTarget = (ws: Workspace): string => join(ws.modelsDir, 'model');

/** Writes the files to models/<id>/ atomically; returns the folder. */
export async function writeModelFolder(ws: Workspace, modelId: string, files: ModelFiles): Promise<string> {
  const dir = ws.modelDir(modelId);
  await removeStaleTempsInDir(ws.modelsDir);
  const tmp = tempPathFor(modelTempTarget(ws));
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(join(tmp, 'model.json'), files.modelJson);
    await writeFile(join(tmp, 'metrics.json'), `${JSON.stringify(files.metrics, null, 2)}\n`);
    await writeFile(join(tmp, 'training.log'), files.trainingLog);
    await writeFile(join(tmp, 'card.md'), files.card);
    if (files.intervals !== undefined) await writeFile(join(tmp, 'intervals.json'), files.intervals);
    beforeCommit();
    await rename(tmp, dir);
    return dir;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

export interface CardInput {
  modelId: string;
  kind: string;
  createdAt: string;
  dataPath: string;
  dataHash: string;
  split: { kind: string; train_rows: number; valid_rows: number; test_rows: number; test_from: string | null; valid_from: string | null };
  params: Record<string, unknown>;
  metrics: Record<string, RegressionMetrics>;
  /** How the model was chosen, and what promotion compares (absent: not recorded). */
  protocol?: { label: string; folds: Array<{ index: number; train_from: string; valid_from: string; valid_to: string; rows_train: number; rows_valid: number; best_iter: number; best_score: number }> };
  selection?: { kind: string; windows: Array<{ from: string; to: string; rows: number }>; metrics: Record<string, number> } | null;
  seconds: number;
  lineage: Record<string, string>;
  /** Prediction intervals: where they were calibrated, and their coverage on the test slice. */
  intervals?: { source: string; n: number; coverage: CoverageRow[]; not_reported?: UnreportedCoverage[] };
}

/** The card's protocol section: how the model was chosen and the score promotion compares. */
function protocolLines(c: CardInput): string[] {
  if (!c.protocol) return [];
  const folds = c.protocol.folds.map((f) => `| ${f.index + 1} | ${f.train_from} | ${f.valid_from} .. ${f.valid_to} | ${f.rows_train} | ${f.rows_valid} | ${f.best_iter || '-'} | ${fmt(f.best_score)} |`);
  const sel = c.selection;
  const compared = sel
    ? `rmse_log ${fmt(sel.metrics.rmse_log ?? NaN)} on ${sel.kind === 'cv' ? `the ${sel.windows.length} CV folds' validation rows (mean of the fold scores)` : `the validation window ${sel.windows[0]?.from} .. ${sel.windows[0]?.to}`}; never the test slice`
    : 'nothing: a random split has no pre-test backtest (promotion needs --force)';
  return [
    '## Evaluation protocol',
    '',
    `- ${c.protocol.label}`,
    `- promotion compares: ${compared}`,
    '- the test slice below was scored once, after the model was chosen',
    ...(folds.length > 0 ? ['', '| fold | train from | validation | train rows | validation rows | best trees | rmse_log |', '|---|---|---|---|---|---|---|', ...folds] : []),
    '',
  ];
}

/** `-` for an undefined metric (R² of a slice whose volumes do not vary: NaN or −Infinity; null in --json). */
const fmt = (x: number): string => (Number.isFinite(x) ? (Math.abs(x) >= 1000 ? x.toExponential(4) : x.toPrecision(5)) : '-');

/** A human-readable model card. */
export function renderCard(c: CardInput): string {
  const rows = Object.entries(c.metrics).map(([k, m]) => `| ${k}${k === c.kind ? ' (this model)' : ''} | ${fmt(m.mae)} | ${fmt(m.rmse)} | ${fmt(m.r2)} | ${fmt(m.mae_log)} | ${fmt(m.rmse_log)} | ${fmt(m.r2_log)} |`);
  return [
    `# Model card: ${c.modelId}`,
    '',
    `- kind: \`${c.kind}\` — predicts Volume from vol_moving_avg and adj_close_rolling_med`,
    `- created: ${c.createdAt}; training took ${c.seconds.toFixed(1)} s`,
    `- data: \`${c.dataPath}\` (hash \`${c.dataHash.slice(0, 16)}\`)`,
    // Under cv the final model trains on every pre-test row (the folds validate inside them): no validation slice.
    c.split.valid_rows === 0 && c.protocol !== undefined && c.protocol.folds.length > 0
      ? `- split: ${c.split.kind}; fitted on ${c.split.train_rows} pre-test rows (the CV folds below validate inside them), test ${c.split.test_rows}${c.split.test_from ? ` (test from ${c.split.test_from})` : ''}`
      : `- split: ${c.split.kind}${c.split.kind === 'random' ? ' (80/20, seed 42 — leaky across time, for comparison only)' : ''}; train ${c.split.train_rows} rows, validation ${c.split.valid_rows}, test ${c.split.test_rows}${c.split.test_from ? ` (test from ${c.split.test_from}, validation from ${c.split.valid_from})` : ''}`,
    '',
    ...protocolLines(c),
    '## Test metrics (next to the baselines)',
    '',
    '| model | MAE | RMSE | R² | MAE log1p | RMSE log1p | R² log1p |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...intervalSection(c.intervals),
    ...cardTail(c.params, c.lineage),
  ].join('\n');
}

/** The card's prediction-interval section (none without intervals). */
function intervalSection(iv: CardInput['intervals']): string[] {
  if (iv === undefined) return [];
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  return [
    '## Prediction intervals (split-conformal)',
    '',
    `Calibrated on ${iv.n} residuals (log1p scale) of the ${iv.source} slice; intervals.json. Coverage on the test slice:`,
    '',
    '| asked | seen | half-width (log1p) | rows |',
    '|---|---|---|---|',
    ...iv.coverage.map((r) => `| ${pct(r.coverage)} | ${pct(r.covered)} | ${r.q_log.toFixed(4)} | ${r.rows} |`),
    ...(iv.not_reported ?? []).map((r) => `| ${pct(r.coverage)} | - | - | ${r.reason} |`),
    '',
  ];
}

/** The end every model card shares: its parameters as JSON and its lineage. */
export function cardTail(params: unknown, lineage: Record<string, string>): string[] {
  return ['## Parameters', '', '```json', JSON.stringify(params, null, 2), '```', '', '## Lineage', '', ...Object.entries(lineage).map(([k, v]) => `- ${k}: ${v}`), ''];
}

/** The longest model.json stockpipe reads: a larger file is refused, not parsed (1,000 trees of 64 leaves are ≈ 10 MB). */
export const MODEL_JSON_MAX = 256 << 20;

/** A file of a registered model's folder, or null when it is absent: SP_ERR_MODEL_FORMAT naming it when it
 * is no regular file (a folder, a device) or larger than MODEL_JSON_MAX. */
export async function readModelFileOrNull(m: { id: string; path: string }, name: ModelFileName): Promise<{ file: string; text: string } | null> {
  const file = join(m.path, name);
  const st = await statOrNull(file);
  if (st === null) return null;
  const problem = modelFileProblem(st);
  if (problem !== null) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `model ${m.id}: ${file} ${problem}`, { hint: `Restore ${m.path} from a backup, or train again.` });
  return { file, text: await readFile(file, 'utf8') };
}

/** A registered model's model.json text: SP_ERR_MODEL_MISSING when it is gone, else as readModelFileOrNull. */
export async function readModelJson(m: { id: string; path: string }): Promise<{ file: string; text: string }> {
  const read = await readModelFileOrNull(m, 'model.json');
  if (read === null) throw new StockpipeError('SP_ERR_MODEL_MISSING', `model ${m.id}: ${join(m.path, 'model.json')} is missing`, { hint: `Restore ${m.path}, or train again and promote the new model.` });
  return read;
}

/** The split a model recorded in its metrics.json (what evaluate and a re-scoring re-cut the data with). */
export interface RecordedSplit { kind: 'time' | 'random'; test_from: string | null }

/** What evaluate and a re-scoring read of a model's metrics.json: its split, its protocol's name, and (a day-ahead
 * model trained with `--date D`) the logical date its rows were bounded by: its test slice ends there. */
export interface RecordedMetrics { split: RecordedSplit; protocol?: { name?: string } | null; data_until?: string | null }

/** A registered model's metrics.json as a JSON object, or null when it is absent: SP_ERR_MODEL_FORMAT naming it
 * when it is no regular file, not valid JSON or no JSON object (`null`, a list): damaged outside stockpipe. */
export async function readMetricsOrNull(m: { id: string; path: string }): Promise<{ file: string; doc: Record<string, unknown> } | null> {
  const read = await readModelFileOrNull(m, 'metrics.json');
  if (read === null) return null;
  const hint = `Restore ${m.path} from a backup, or train again.`;
  let doc: unknown;
  try {
    doc = JSON.parse(read.text);
  } catch (err) {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `model ${m.id}: ${read.file} is not valid JSON: ${(err as Error).message}`, { hint, cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `model ${m.id}: ${read.file} holds no JSON object`, { hint });
  return { file: read.file, doc: doc as Record<string, unknown> };
}

const isDay = (v: unknown): v is string => typeof v === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(v);

/** A registered model's metrics.json: SP_ERR_MODEL_MISSING when it is gone, SP_ERR_MODEL_FORMAT naming it
 * when it is no regular file, not JSON, or holds no valid `split` (kind time or random, test_from a day or null)
 * or `data_until` (a day, null or absent). */
export async function readRecordedMetrics(m: { id: string; path: string }): Promise<RecordedMetrics> {
  const hint = `Restore ${m.path} from a backup, or train again.`;
  const read = await readMetricsOrNull(m);
  if (read === null) throw new StockpipeError('SP_ERR_MODEL_MISSING', `model ${m.id}: ${join(m.path, 'metrics.json')} is missing`, { hint });
  const { file, doc: json } = read as { file: string; doc: { split?: { kind?: unknown; test_from?: unknown }; data_until?: unknown } };
  const split = json.split;
  const day = (v: unknown): boolean => v === null || isDay(v);
  if ((split?.kind !== 'time' && split?.kind !== 'random') || !day(split.test_from)) {
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `model ${m.id}: ${file} has no valid split (kind time or random, test_from a day or null)`, { hint });
  }
  if (json.data_until !== undefined && !day(json.data_until)) throw new StockpipeError('SP_ERR_MODEL_FORMAT', `model ${m.id}: ${file} has a data_until that is no day (YYYY-MM-DD) or null`, { hint });
  return json as RecordedMetrics;
}

/** The first day a model held out of its training (its split's valid_from, else its test_from), from its
 * metrics.json; null when it has none or records no split (nothing held out). SP_ERR_MODEL_FORMAT naming the file
 * as readMetricsOrNull, and when that day is no day (YYYY-MM-DD). */
export async function readHeldOutFrom(m: { id: string; path: string }): Promise<string | null> {
  const read = await readMetricsOrNull(m);
  const split = read?.doc.split as { valid_from?: unknown; test_from?: unknown } | null | undefined;
  if (read === null || split === undefined || split === null) return null;
  const first = split.valid_from ?? split.test_from ?? null;
  if (first === null || isDay(first)) return first;
  throw new StockpipeError('SP_ERR_MODEL_FORMAT', `model ${m.id}: ${read.file} has no valid split (valid_from or test_from ${JSON.stringify(first)?.slice(0, 40)} is no day YYYY-MM-DD)`, {
    hint: `Restore ${m.path} from a backup, or train again.`,
  });
}

/** Why a model folder's file cannot be read as one (not a regular file, larger than MODEL_JSON_MAX), or null. */
export function modelFileProblem(st: Stats): string | null {
  if (!st.isFile()) return `is ${notRegular(st).message}`;
  return st.size > MODEL_JSON_MAX ? `is larger than ${MODEL_JSON_MAX} bytes (${st.size})` : null;
}

/** Reads and parses a registered model's model.json as its kind's format (the volume scorer's, or the
 * day-ahead model's): SP_ERR_MODEL_FORMAT naming the file when it is not one. What a person's promotion
 * checks first, so an alias never moves to a model nothing can load. */
export async function assertModelLoads(m: { id: string; kind: string; path: string }): Promise<void> {
  const { file, text } = await readModelJson(m);
  if (m.kind === 'forecast') forecastFromJSON(text, file);
  else scorerFromJSON(text, file);
}
