/** @module dashboard/routes-models
 * The Models view's read-only routes (docs/api.md): one model's page (parameters, card, protocol,
 * intervals, lineage, tags, raw and log scores beside the baselines or a day-ahead model's skill),
 * its loss curves (the training run's step metrics, else training.log), its feature importance
 * (splits and total split gain per feature), its test-slice residuals (scored here, cached per model), a metric of
 * every model over time with the alias moves, and the serving champion against the three models
 * of its family before it. Reads the server's registry handle, the model folder and the features
 * table (db/feature-table); writes nothing. */
import { modelFileProblem, readModelFileOrNull, readModelJson } from '../ml/artifacts.js';
import { conformalFromJSON } from '../ml/conformal.js';
import { NO_QUERY } from '../http/validation.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clip, StockpipeError } from '../core/errors.js';
import { statOrNull } from '../core/fs.js';
import type { FeatureTableReader } from '../db/feature-table.js';
import { CURVE_SLICE, curveLosses, curvesFromMetrics, parseTrainingLog } from '../ml/training-curve.js';
import { scorerFromJSON } from '../ml/volume-model.js';
import { describeSelection, isForecastMetric } from '../registry/compare.js';
import { modelLineage } from '../registry/lineage.js';
import { METRIC_UNITS, modelSummary } from '../registry/model-summary.js';
import type { RegistryReader } from '../registry/reader.js';
import type { ModelVersion, Registry } from '../registry/store.js';
import { tagsOf } from '../registry/tags.js';
import { featureImportance, residuals, thinCurve, type Residuals } from './model-insights.js';

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['id'] } as const;
const pointsQuery = (dflt: number) => ({ type: 'object', properties: { points: { type: 'integer', minimum: 10, maximum: 5000, default: dflt } }, additionalProperties: false }) as const;
const FAMILY = { type: 'string', enum: ['volume', 'forecast'], default: 'volume' } as const;


/** The model (by id or alias), or SP_ERR_MODEL_NOT_FOUND (404); its files are checked by the reader (SP_ERR_MODEL_MISSING 409, SP_ERR_MODEL_FORMAT 422). */
function model(reg: Registry, id: string): ModelVersion {
  return reg.getModel(id, { checkFiles: false });
}

/** The training run's params (null values as null), or {} when the model has no run. */
function runParams(reg: Registry, runId: string | null): Record<string, string | null> {
  if (runId === null) return {};
  const rows = reg.all<{ key: string; value: string | null }>('read run params', 'SELECT key, value FROM params WHERE run_id = ? ORDER BY key', [runId]);
  return Object.fromEntries(rows.map((r) => [r.key, r.value]));
}

/** Run params that record the process that ran it (registry/pipeline recordRunner), not the model's settings. */
const RUNNER_PARAMS: ReadonlySet<string> = new Set(['runner_pid', 'runner_host', 'runner_start']);

/**
 * The run params two models that have them disagree on (a key some lack — a polyreg has no
 * learning_rate — differs only where two that have it disagree; the kind row shows the rest),
 * without the runner's process identity: bookkeeping of which process trained it, not a setting.
 */
export function differingParams(params: readonly Record<string, string | null>[]): string[] {
  const keys = [...new Set(params.flatMap((p) => Object.keys(p)))].filter((k) => !RUNNER_PARAMS.has(k)).sort();
  return keys.filter((k) => new Set(params.map((p) => p[k]).filter((v) => v !== undefined)).size > 1);
}

/** The test metrics GET /models/history plots, per family (those with a unit, registry/model-summary), the default first. */
const HISTORY_DEFAULT = { volume: 'rmse_log', forecast: 'skill_volume' } as const;
const HISTORY_METRICS: Readonly<Record<'volume' | 'forecast', readonly string[]>> = Object.fromEntries((['volume', 'forecast'] as const).map((f) =>
  [f, [HISTORY_DEFAULT[f], ...Object.keys(METRIC_UNITS).filter((k) => isForecastMetric(k) === (f === 'forecast') && k !== HISTORY_DEFAULT[f])]])) as Record<'volume' | 'forecast', string[]>;

const isForecast = (kind: string): boolean => kind === 'forecast';
const family = (kind: string): 'volume' | 'forecast' => (isForecast(kind) ? 'forecast' : 'volume');
const familyAlias = (f: 'volume' | 'forecast'): string => (f === 'forecast' ? 'forecast_champion' : 'champion');

/** A model file for its page: its text (null when absent), or `bad` when it is no readable regular file
 * (ml/artifacts modelFileProblem) or not valid JSON (`json`), which is then said in `problems`: the page shows the rest. */
async function pageFile(dir: string, name: string, problems: string[], json = false): Promise<{ text: string | null; bad: boolean }> {
  const file = join(dir, name);
  const st = await statOrNull(file);
  if (st === null) return { text: null, bad: false };
  const problem = modelFileProblem(st);
  if (problem !== null) {
    problems.push(`${name} ${problem}`);
    return { text: null, bad: true };
  }
  const text = await readFile(file, 'utf8');
  if (json) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      problems.push(`${name} is not valid JSON (${(err as Error).message})`);
      return { text: null, bad: true };
    }
    // The page reads fields of it: `null`, a number or an array is no metrics file.
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${name} is not a JSON object`);
      return { text: null, bad: true };
    }
  }
  return { text, bad: false };
}

/** A model's own-kind test metrics that the compare table shows, raw first then log (volume), or skill first (forecast). */
function shownMetrics(m: ModelVersion): Record<string, number | null> {
  const own = m.metrics[isForecast(m.kind) ? 'forecast' : m.kind] ?? m.metrics[m.kind] ?? {};
  const keys = isForecast(m.kind) ? ['skill_volume', 'skill_adj_close', 'mae_volume', 'rmse_volume', 'mae_volume_log', 'mae_adj_close'] : ['mae', 'rmse', 'r2', 'mae_log', 'rmse_log', 'r2_log'];
  return Object.fromEntries(keys.map((k) => [k, typeof own[k] === 'number' && Number.isFinite(own[k]) ? own[k]! : null]));
}

export function registerModelRoutes(app: FastifyInstance, opts: { registry: RegistryReader; table: FeatureTableReader }): void {
  const { registry, table } = opts;
  // Residuals score every test row: computed once per model (a model's files and data never change).
  const residualCache = new Map<string, Promise<Residuals | string>>();

  app.get('/models/:id/page', {
    schema: { summary: 'One model version for its page: parameters, model card, protocol (folds, cv_rmse_log, trees), intervals, data lineage, tags, alias moves, and its test scores beside the baselines (raw shares and log1p, with units and the baselines that win) or its skill against persistence', params: idParams, querystring: NO_QUERY },
  }, async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const { m, params, lineage, tags, moves } = registry.read((reg) => {
      const mv = model(reg, id);
      return { m: mv, params: runParams(reg, mv.run_id), lineage: modelLineage(reg, mv.run_id), tags: tagsOf(reg, [mv.id]).get(mv.id) ?? {}, moves: reg.aliasHistory().filter((h) => h.model_id === mv.id || h.previous_model_id === mv.id) };
    });
    const problems: string[] = [];
    // A folder or model.json gone (deleted outside stockpipe) is said too: absent files are otherwise just not shown.
    const folder = await statOrNull(m.path);
    if (folder === null || !folder.isDirectory()) problems.push(`the model's folder ${folder === null ? 'is missing' : 'is not a folder'} (removed outside stockpipe): it cannot be served, evaluated or promoted`);
    else if ((await statOrNull(join(m.path, 'model.json'))) === null) problems.push('model.json is missing: the model cannot be served, evaluated or promoted');
    const [card, metrics, iv] = await Promise.all([pageFile(m.path, 'card.md', problems), pageFile(m.path, 'metrics.json', problems, true), pageFile(m.path, 'intervals.json', problems)]);
    const d = (metrics.text === null ? {} : JSON.parse(metrics.text)) as { protocol?: unknown; split?: unknown; intervals?: unknown; slices?: unknown; valid?: unknown };
    // What the server can serve of them: the coverage table comes from metrics.json, the intervals from intervals.json.
    let intervalsFile: 'ok' | 'missing' | 'invalid' | null = null;
    if (d.intervals != null) {
      intervalsFile = 'ok';
      if (iv.text === null) intervalsFile = iv.bad ? 'invalid' : 'missing';
      else {
        try {
          conformalFromJSON(iv.text, 'intervals.json');
        } catch {
          intervalsFile = 'invalid';
        }
      }
    }
    return {
      model: { id: m.id, kind: m.kind, created_at: m.created_at, aliases: m.aliases, run_id: m.run_id, data_hash: m.data_hash, test_slice: m.test_slice, tags },
      family: family(m.kind),
      summary: modelSummary(m),
      units: METRIC_UNITS,
      backtest: m.test_slice?.selection ? { on: describeSelection(m.test_slice.selection), metrics: m.test_slice.selection.metrics } : null,
      params,
      protocol: d.protocol ?? null,
      split: d.split ?? null,
      intervals: d.intervals ?? null,
      intervals_file: intervalsFile,
      slices: d.slices ?? null,
      lineage: { ...lineage, link: `#/lineage/model/${encodeURIComponent(m.id)}` },
      alias_moves: moves,
      card: card.text,
      problems,
    };
  });

  app.get('/models/:id/curves', {
    schema: { summary: 'A model\'s loss curves per tree (CV folds\' validation rmse_log, refit / holdout / day-ahead train and valid loss: MSE, or the objective\'s loss), each cut to at most `points` points (first, last and minimum kept)', params: idParams, querystring: pointsQuery(400) },
  }, async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const { points } = req.query as { points: number };
    const { m, rows } = registry.read((reg) => {
      const mv = model(reg, id);
      return { m: mv, rows: mv.run_id === null ? [] : reg.all<{ key: string; step: number; value: number | null }>('read curves', 'SELECT key, step, value FROM metrics WHERE run_id = ? AND slice = ? ORDER BY id', [mv.run_id, CURVE_SLICE]) };
    });
    let curves = curvesFromMetrics(rows);
    let source = 'registry';
    // A training.log that is no regular file (a folder) is SP_ERR_MODEL_FORMAT naming it, as model.json is.
    const log = (await readModelFileOrNull(m, 'training.log'))?.text ?? null;
    if (curves.length === 0) {
      curves = log === null ? [] : parseTrainingLog(log);
      source = log === null ? 'none' : 'training.log';
    } else if (log !== null) {
      const fromLog = parseTrainingLog(log);
      const stored = new Set(curves.map((c) => c.key));
      if (fromLog.some((c) => !stored.has(c.key))) {
        // A day-ahead model registered before its volume booster's section was read: its step
        // metrics filed the volume curve under adj_close. Its log has each booster apart.
        curves = fromLog;
        source = 'training.log';
      } else {
        // Step metrics do not record the loss: a booster trained with huber (the day-ahead volume's default) says so in its log.
        const losses = curveLosses(fromLog);
        curves = curves.map((c) => (c.metric === 'rmse_log' ? c : { ...c, metric: losses.get(c.part) ?? c.metric }));
      }
    }
    const unitOf = (metric: string): string => (metric === 'rmse_log' ? 'log1p(shares)' : metric === 'mse' ? 'mean squared error of the fitted target' : `mean ${metric} loss of the fitted target`);
    return { model_id: m.id, source, curves: curves.map((c) => ({ ...thinCurve(c, points), unit: unitOf(c.metric) })) };
  });

  app.get('/models/:id/importance', {
    schema: { summary: 'Feature importance of a tree model: splits per feature in each booster, and the total gain of those splits when the trees record it (none for polyreg and naive)', params: idParams, querystring: NO_QUERY },
  }, async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const m = registry.read((reg) => model(reg, id));
    const { file, text } = await readModelJson(m);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new StockpipeError('SP_ERR_MODEL_FORMAT', `${file} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const boosters = featureImportance(json);
    return { model_id: m.id, kind: m.kind, measure: boosters.length > 0 && boosters.every((b) => b.gain) ? 'splits+gain' : 'splits', boosters };
  });

  app.get('/models/:id/residuals', {
    schema: { summary: 'A volume model scored on its test slice (the features snapshot it was trained on): log1p residual histogram, recomputed rmse_log, bias, and an even sample of actual vs predicted volume (shares)', params: idParams, querystring: pointsQuery(1500) },
  }, async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const { points } = req.query as { points: number };
    const { m, lineage } = registry.read((reg) => {
      const mv = model(reg, id);
      return { m: mv, lineage: modelLineage(reg, mv.run_id) };
    });
    const base = { model_id: m.id, kind: m.kind, test_slice: m.test_slice, features_snapshot: lineage.features_snapshot };
    if (isForecast(m.kind)) return { ...base, residuals: null, reason: 'a day-ahead model: its errors per day are on the Monitoring view' };
    if (m.test_slice === null) return { ...base, residuals: null, reason: 'no recorded test slice' };
    const key = `${m.id}:${points}`;
    let p = residualCache.get(key);
    if (p === undefined) {
      const slice = m.test_slice;
      p = (async () => {
        const { file, text } = await readModelJson(m);
        const scorer = scorerFromJSON(text, file);
        const rows = await table.featureRows(slice.date_min, slice.date_max, lineage.features_snapshot === null ? undefined : String(lineage.features_snapshot));
        return typeof rows === 'string' ? rows : residuals(scorer, rows, { points });
      })();
      residualCache.set(key, p);
      p.catch(() => residualCache.delete(key));
      if (residualCache.size > 16) residualCache.delete(residualCache.keys().next().value!);
    }
    const r = await p;
    if (typeof r === 'string') residualCache.delete(key); // no rows to read yet: a later build may give some
    return typeof r === 'string' ? { ...base, residuals: null, reason: r } : { ...base, residuals: r, reason: null };
  });

  app.get('/models/history', {
    schema: {
      summary: 'One test metric of every model of a family (volume or forecast) in registration order, with its backtest score and the family alias\'s moves (which model served when)',
      querystring: { type: 'object', properties: { family: FAMILY, metric: { type: 'string', maxLength: 64, pattern: '^[a-z][a-z0-9_]{0,63}$', description: `one of the family's test metrics: volume ${HISTORY_METRICS.volume.join(', ')} (default ${HISTORY_DEFAULT.volume}); forecast ${HISTORY_METRICS.forecast.join(', ')} (default ${HISTORY_DEFAULT.forecast})` }, limit: { type: 'integer', minimum: 1, maximum: 2000, default: 500 } }, additionalProperties: false },
    },
  }, (req: FastifyRequest) => {
    const query = req.query as { family: 'volume' | 'forecast'; metric?: string; limit: number };
    const known = HISTORY_METRICS[query.family];
    const q = { ...query, metric: query.metric ?? known[0]! };
    if (!known.includes(q.metric)) {
      throw new StockpipeError('SP_ERR_BAD_REQUEST', `GET /models/history: metric '${clip(q.metric)}' is not a test metric of the ${q.family} family (${known.join(', ')})`, { hint: `Use one of ${known.join(', ')}${q.family === 'volume' ? ', or family=forecast for the day-ahead metrics' : ''}.` });
    }
    const alias = familyAlias(q.family);
    return registry.read((reg) => {
      const kinds = q.family === 'forecast' ? ['forecast'] : ['gbdt', 'rf', 'polyreg', 'naive'];
      const ids = reg.all<{ model_id: string }>('read model history', `SELECT model_id FROM model_versions WHERE kind IN (${kinds.map(() => '?').join(',')}) ORDER BY created_at DESC, rowid DESC LIMIT ?`, [...kinds, q.limit]).map((r) => r.model_id).reverse();
      const holder = reg.aliasTarget(alias);
      const models = ids.map((id) => reg.findModel(id)).filter((m): m is ModelVersion => m !== null).map((m) => {
        const own = m.metrics[isForecast(m.kind) ? 'forecast' : m.kind] ?? {};
        const v = own[q.metric];
        return { id: m.id, kind: m.kind, created_at: m.created_at, value: typeof v === 'number' && Number.isFinite(v) ? v : null, backtest: m.test_slice?.selection?.metrics?.rmse_log ?? null, serving: m.id === holder };
      });
      return { family: q.family, alias, metric: q.metric, unit: METRIC_UNITS[q.metric]!, models, moves: reg.aliasHistory(alias) };
    });
  });

  app.get('/models/champion-compare', {
    schema: {
      summary: 'The serving champion (or forecast_champion) and the models of its family registered before it (default 3): data (snapshots, hash, test slice), parameters (differing_params: the keys two models that have them disagree on), backtest and test metrics (raw and log)',
      querystring: { type: 'object', properties: { family: FAMILY, previous: { type: 'integer', minimum: 1, maximum: 10, default: 3 } }, additionalProperties: false },
    },
  }, (req: FastifyRequest) => {
    const q = req.query as { family: 'volume' | 'forecast'; previous: number };
    const alias = familyAlias(q.family);
    return registry.read((reg) => {
      const holderId = reg.aliasTarget(alias);
      if (holderId === null) return { alias, champion: null, models: [], differing_params: [], units: METRIC_UNITS };
      const holder = model(reg, holderId);
      const kinds = q.family === 'forecast' ? ['forecast'] : ['gbdt', 'rf', 'polyreg', 'naive'];
      const before = reg.all<{ model_id: string }>('read previous models',
        `SELECT model_id FROM model_versions WHERE kind IN (${kinds.map(() => '?').join(',')}) AND model_id <> ? AND (created_at < ? OR (created_at = ? AND rowid < (SELECT rowid FROM model_versions WHERE model_id = ?))) ORDER BY created_at DESC, rowid DESC LIMIT ?`,
        [...kinds, holder.id, holder.created_at, holder.created_at, holder.id, q.previous]).map((r) => r.model_id);
      const list = [holder, ...before.map((id) => model(reg, id))];
      const tags = tagsOf(reg, list.map((m) => m.id));
      const models = list.map((m) => ({
        id: m.id, kind: m.kind, created_at: m.created_at, aliases: m.aliases, tags: tags.get(m.id) ?? {},
        lineage: modelLineage(reg, m.run_id), data_hash: m.data_hash, test_slice: m.test_slice === null ? null : { date_min: m.test_slice.date_min, date_max: m.test_slice.date_max, rows: m.test_slice.rows },
        backtest: m.test_slice?.selection ? { on: describeSelection(m.test_slice.selection), rmse_log: m.test_slice.selection.metrics.rmse_log ?? null } : null,
        params: runParams(reg, m.run_id), metrics: shownMetrics(m),
      }));
      return { alias, champion: holder.id, models, differing_params: differingParams(models.map((m) => m.params)), units: METRIC_UNITS };
    });
  });
}
