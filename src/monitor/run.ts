/** @module monitor/run
 * One monitoring pass (docs/data.md): joins the stored forecasts with the actuals that arrived since
 * (the prices table's current snapshot), upserts error points, measures input drift (PSI of the recent window
 * against the one before), checks the thresholds and records alerts. It never trains: it says
 * whether a retrain is needed. Delivering alerts is the caller's (pipeline/alerts.ts). */
import { previousTradingDay, toDayNumber } from '../core/calendar.js';
import type { MonitorConfig } from '../core/config.js';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import type { DuckDBConnection } from '../db/duckdb.js';
import { readActuals, readDriftWindows } from '../db/monitor-reads.js';
import { readHeldOutFrom } from '../ml/artifacts.js';
import { driftAlerted, recordAlert, type AlertRecord } from '../registry/alerts.js';
import {
  driftSeries, forecastCounts, forecastsBetween, INPUTS_MODEL_ID, modelWindow, unscoredForecasts, upsertMonitorPoints,
  type ForecastRow, type MonitorPoint, type SeriesMetric,
} from '../registry/monitoring.js';
import type { Registry } from '../registry/store.js';
import { FORECAST_ALIAS } from '../registry/alias-kinds.js';
import { currentSnapshot } from '../registry/catalog.js';
import { sourceOf, tableAt } from '../store/read.js';
import { psi } from './psi.js';
import { driftSourceUntil } from './until.js';
import { scorePoints } from './score.js';

export interface MonitorOptions {
  ws: Workspace;
  reg: Registry;
  conn: DuckDBConnection;
  thresholds: MonitorConfig;
  /** Only this model's forecasts (drift is always measured). */
  modelId?: string;
  /**
   * A logical date (`monitor --date D`): forecasts whose target day is up to D are matured, the
   * others pending; errors and drift windows end at D; no row dated after D is read.
   */
  until?: string;
  log: Logger;
}

export interface ThresholdCheck {
  model_id: string;
  metric: 'mape_adj_close' | 'mape_volume';
  value: number | null;
  threshold: number;
  n: number;
  from: string | null;
  to: string | null;
  /** 'exceeded' | 'ok' | 'too_few_rows' (fewer than min_rows: not judged). */
  status: 'exceeded' | 'ok' | 'too_few_rows';
  /** False when no forecast of this model matured in this pass: the state is reported, no alert is recorded again. */
  new: boolean;
}

export interface DriftResult {
  column: string;
  psi: number | null;
  n: number;
  reference_n: number;
  date: string;
  from: string;
  to: string;
  reference_from: string;
  reference_to: string;
  status: 'exceeded' | 'ok' | 'too_few_rows';
  /** False when an earlier run measured this window end to the same value. */
  new: boolean;
}

export interface ModelSummary {
  model_id: string;
  forecasts: number;
  matured: number;
  pending: number;
  scored_now: number;
  window: { from: string | null; to: string | null; days: number };
  mae_adj_close: number | null;
  mape_adj_close: number | null;
  mae_volume: number | null;
  mape_volume: number | null;
  mae_adj_close_persistence: number | null;
  mae_volume_persistence: number | null;
  /** 1 − MAE / MAE_persistence over the window (docs/models.md). */
  skill_adj_close: number | null;
  skill_volume: number | null;
}

/** The reference window drift was measured against: the one configured, the one used, and why they differ. */
export interface DriftReference {
  /** monitor.drift_reference. */
  configured: 'training' | 'previous';
  /** 'training': the last reference_days of the forecast champion's training period; 'previous': the days before the recent window. */
  used: 'training' | 'previous';
  /** The forecast champion whose training period was the reference (used 'training'), else null. */
  model_id: string | null;
  /** Why "training" was configured and the window before used (no forecast champion, no split, …); else null. */
  fallback: string | null;
}

export interface MonitorResult {
  matured: number;
  scored: number;
  pending: number;
  points: number;
  models: ModelSummary[];
  checks: ThresholdCheck[];
  drift: DriftResult[];
  drift_reference: DriftReference;
  alerts: AlertRecord[];
  retrain_needed: boolean;
}

const key = (sym: number, day: number): number => sym * 65536 + day;

/** Scores what matured since the last pass; returns the points written, and which models got new ones. */
async function scoreMatured(o: MonitorOptions, prices: string): Promise<{ points: number; fresh: Map<string, number> }> {
  const cand = unscoredForecasts(o.reg, o.modelId, o.until);
  const fresh = new Map<string, number>();
  if (cand.length === 0) return { points: 0, fresh };
  let from = cand[0]!.target_date;
  let to = from;
  for (const c of cand) {
    if (c.target_date < from) from = c.target_date;
    if (c.target_date > to) to = c.target_date;
  }
  const isNew = new Set(cand.map((c) => `${c.model_id}\t${c.target_date}\t${c.symbol}`));
  const rows: ForecastRow[] = forecastsBetween(o.reg, [...new Set(cand.map((c) => c.model_id))], from, to);
  const symIdx = new Map<string, number>();
  for (const r of rows) if (!symIdx.has(r.symbol)) symIdx.set(r.symbol, symIdx.size);
  const act = await readActuals(o.conn, prices, [...symIdx.keys()], from, to);
  const at = new Map<number, number>();
  for (let i = 0; i < act.rows; i++) at.set(key(act.sym[i]!, act.day[i]!), i);
  const n = rows.length;
  const nan = (x: number | null): number => (x === null ? Number.NaN : x);
  const cols = {
    model: rows.map((r) => r.model_id), date: rows.map((r) => r.target_date), symbol: rows.map((r) => r.symbol),
    predAdj: new Float64Array(n), predVol: new Float64Array(n), lastAdj: new Float64Array(n), lastVol: new Float64Array(n),
    actAdj: new Float64Array(n).fill(Number.NaN), actVol: new Float64Array(n).fill(Number.NaN), fresh: new Uint8Array(n),
  };
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    cols.predAdj[i] = nan(r.adj_close);
    cols.predVol[i] = nan(r.volume);
    cols.lastAdj[i] = nan(r.last_adj_close);
    cols.lastVol[i] = nan(r.last_volume);
    cols.fresh[i] = isNew.has(`${r.model_id}\t${r.target_date}\t${r.symbol}`) ? 1 : 0;
    const j = at.get(key(symIdx.get(r.symbol)!, toDayNumber(r.target_date)));
    if (j !== undefined) {
      cols.actAdj[i] = act.adjClose[j]!;
      cols.actVol[i] = act.volume[j]!;
    }
  }
  const s = scorePoints(cols);
  for (let i = 0; i < n; i++) {
    if (cols.fresh[i] === 1 && !Number.isNaN(cols.actAdj[i]!)) fresh.set(cols.model[i]!, (fresh.get(cols.model[i]!) ?? 0) + 1);
  }
  return { points: upsertMonitorPoints(o.reg, s.points), fresh };
}

/**
 * The last day the forecast champion trained on (the day before its validation slice), from its
 * metrics.json, and its id; without such a day, why not (no such model, no split recorded).
 */
async function trainingEnd(reg: Registry): Promise<{ end: string; model_id: string } | { fallback: string }> {
  const holder = reg.aliasTarget(FORECAST_ALIAS);
  if (holder === null) return { fallback: `no forecast champion yet (${FORECAST_ALIAS} names no model)` };
  const m = reg.findModel(holder);
  if (m === null) return { fallback: `the forecast champion ${holder} is not in the registry` };
  // A metrics.json damaged outside stockpipe (cut short, `null`, a folder) was SP_ERR_INTERNAL ("Unexpected end of JSON
  // input", "Cannot read properties of null"), failing the daily pipeline's monitor task; it is the model's format error.
  let first: string | null;
  try {
    first = await readHeldOutFrom(m); // null: no metrics.json, or no split: compare with the window before
  } catch (err) {
    if (!(err instanceof StockpipeError) || err.code !== 'SP_ERR_MODEL_FORMAT') throw err;
    throw new StockpipeError('SP_ERR_MODEL_FORMAT', `monitor.drift_reference "training" reads the forecast champion's metrics.json: ${err.message}`, {
      hint: `Restore ${m.path} from a backup, promote another forecast model, or set monitor.drift_reference to "previous".`,
      cause: err,
    });
  }
  if (first === null) return { fallback: `the forecast champion ${m.id} records no training split (metrics.json)` };
  return { end: previousTradingDay(first), model_id: m.id };
}

/** PSI of each input column; points for the recent window's last day. */
async function measureDrift(o: MonitorOptions, prices: string): Promise<{ drift: DriftResult[]; points: number; reference: DriftReference }> {
  const features = currentSnapshot(o.reg, 'features') === null ? null : tableAt(o.ws, o.reg, 'features');
  const src = features === null ? prices : sourceOf(features);
  const t = o.thresholds;
  const training = t.drift_reference === 'training' ? await trainingEnd(o.reg) : null;
  const refEnd = training !== null && 'end' in training ? training.end : undefined;
  // Said, not silent: "training" configured and the window before measured read as drift from the training period.
  let reference: DriftReference = training === null
    ? { configured: 'previous', used: 'previous', model_id: null, fallback: null }
    : 'end' in training
      ? { configured: 'training', used: 'training', model_id: training.model_id, fallback: null }
      : { configured: 'training', used: 'previous', model_id: null, fallback: training.fallback };
  const bounded = o.until === undefined ? null : await driftSourceUntil(o.conn, o.ws, src, o.until, t.window_days, t.reference_days, refEnd);
  let w: Awaited<ReturnType<typeof readDriftWindows>>;
  try {
    w = await readDriftWindows(o.conn, bounded?.path ?? src, t.window_days, t.reference_days, refEnd);
  } finally {
    await bounded?.remove();
  }
  if (w === null) return { drift: [], points: 0, reference };
  if (reference.used === 'training' && w.reference.kind === 'before_recent') {
    const why = refEnd! >= w.recent.from ? `inside the recent window (from ${w.recent.from})` : 'with fewer than 2 days of data up to it';
    reference = { ...reference, used: 'previous', model_id: null, fallback: `the forecast champion ${reference.model_id} trained up to ${refEnd}, ${why}` };
  }
  const before = new Map(driftSeries(o.reg, { date: w.recent.to }).map((d) => [d.column, d.psi]));
  const drift: DriftResult[] = [];
  const points: MonitorPoint[] = [];
  const finite = (xs: Float64Array): number => xs.reduce((c, x) => c + (Number.isFinite(x) ? 1 : 0), 0);
  for (const [column, { reference, recent }] of Object.entries(w.columns)) {
    const n = finite(recent);
    const refN = finite(reference);
    const value = n > 0 && refN > 0 ? psi(reference, recent) : Number.NaN;
    const v = Number.isFinite(value) ? value : null;
    const status = n < t.min_rows || refN < t.min_rows || v === null ? 'too_few_rows' : v > t.max_psi ? 'exceeded' : 'ok';
    // New: not measured before, or measured to another value (another reference window, other rows).
    const fresh = !before.has(column) || before.get(column) !== v;
    drift.push({ column, psi: v, n, reference_n: refN, date: w.recent.to, from: w.recent.from, to: w.recent.to, reference_from: w.reference.from, reference_to: w.reference.to, status, new: fresh });
    points.push({ model_id: INPUTS_MODEL_ID, date: w.recent.to, symbol: '', metric: `psi:${column}`, value: v, n });
  }
  return { drift, points: upsertMonitorPoints(o.reg, points), reference };
}

const num = (x: { value: number } | undefined): number | null => x?.value ?? null;
const skill = (mae: number | null, base: number | null): number | null => (mae === null || base === null || base === 0 ? null : 1 - mae / base);

/** One monitoring pass over the workspace's forecasts and prices. */
export async function runMonitor(o: MonitorOptions): Promise<MonitorResult> {
  if (currentSnapshot(o.reg, 'prices') === null) {
    throw new StockpipeError('SP_ERR_PRICES_MISSING', `monitor needs the actuals in the prices table of ${o.ws.root} and it has no snapshot yet`, { hint: 'Run `stockpipe fetch` and `stockpipe ingest` first.' });
  }
  const prices = sourceOf(tableAt(o.ws, o.reg, 'prices'));
  const t = o.thresholds;
  const scored = await scoreMatured(o, prices);
  const drift = await measureDrift(o, prices);
  const checks: ThresholdCheck[] = [];
  const models: ModelSummary[] = [];
  for (const c of forecastCounts(o.reg, o.modelId, o.until)) {
    const w = modelWindow(o.reg, c.model_id, t.window_days, o.until);
    const m = (k: SeriesMetric): number | null => num(w.metrics[k]);
    models.push({
      model_id: c.model_id, forecasts: c.total, matured: c.scored, pending: c.total - c.scored, scored_now: scored.fresh.get(c.model_id) ?? 0,
      window: { from: w.from, to: w.to, days: w.days },
      mae_adj_close: m('mae_adj_close'), mape_adj_close: m('mape_adj_close'), mae_volume: m('mae_volume'), mape_volume: m('mape_volume'),
      mae_adj_close_persistence: m('mae_adj_close_persistence'), mae_volume_persistence: m('mae_volume_persistence'),
      skill_adj_close: skill(m('mae_adj_close'), m('mae_adj_close_persistence')), skill_volume: skill(m('mae_volume'), m('mae_volume_persistence')),
    });
    for (const [metric, threshold] of [['mape_adj_close', t.max_mape_adj_close], ['mape_volume', t.max_mape_volume]] as const) {
      const s = w.metrics[metric];
      const status = s === undefined || s.n < t.min_rows ? 'too_few_rows' : s.value > threshold ? 'exceeded' : 'ok';
      checks.push({ model_id: c.model_id, metric, value: s?.value ?? null, threshold, n: s?.n ?? 0, from: w.from, to: w.to, status, new: scored.fresh.has(c.model_id) });
    }
  }
  const alerts: AlertRecord[] = [];
  // An alert is recorded once per new data, not on every re-run.
  for (const c of checks.filter((x) => x.status === 'exceeded' && x.new)) {
    alerts.push(recordAlert(o.reg, {
      kind: 'error_threshold', severity: 'error',
      message: `model ${c.model_id}: ${c.metric} ${c.value!.toFixed(4)} over ${c.from}..${c.to} exceeds ${c.threshold} (${c.n} rows)`,
      details: { ...c },
    }));
  }
  // A drift alert is recorded once per measurement: the same window against the same reference past
  // the same threshold (a re-run, --force) alerts once; another reference or a lower threshold is news.
  for (const d of drift.drift.filter((x) => x.status === 'exceeded')) {
    if (driftAlerted(o.reg, { ...d, threshold: t.max_psi })) continue;
    alerts.push(recordAlert(o.reg, {
      kind: 'drift', severity: 'warning',
      message: `input drift: PSI of ${d.column} ${d.psi!.toFixed(3)} (${d.from}..${d.to} vs ${d.reference_from}..${d.reference_to}) exceeds ${t.max_psi}`,
      details: { ...d, threshold: t.max_psi },
    }));
  }
  const matured = models.reduce((s, m) => s + m.matured, 0);
  const total = models.reduce((s, m) => s + m.forecasts, 0);
  o.log.info({ scored: [...scored.fresh.values()].reduce((a, b) => a + b, 0), alerts: alerts.length }, 'monitor pass done');
  return {
    matured, scored: [...scored.fresh.values()].reduce((a, b) => a + b, 0), pending: total - matured, points: scored.points + drift.points,
    models, checks, drift: drift.drift, drift_reference: drift.reference, alerts, retrain_needed: t.retrain_on_alert && pastThreshold(o.reg, checks, drift.drift),
  };
}

/**
 * Whether a retrain is needed: the state this pass reports is past a threshold — the forecast
 * champion's window error, or the latest drift window — new or not. A retrain must not depend on
 * which pass saw the data first (a manual `monitor` before the pipeline's, or a day re-run with
 * --force); the retrain step's cooldown keeps this from retraining on every re-run. A model that no
 * longer holds the alias does not count (its alerts are still recorded): retraining replaces the
 * champion, not it, and its old window would ask for a retrain forever.
 */
function pastThreshold(reg: Registry, checks: readonly ThresholdCheck[], drift: readonly DriftResult[]): boolean {
  if (drift.some((d) => d.status === 'exceeded')) return true;
  const champion = reg.aliasTarget(FORECAST_ALIAS);
  return champion !== null && checks.some((c) => c.status === 'exceeded' && c.model_id === champion);
}
