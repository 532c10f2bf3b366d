/** @module ml/training-curve
 * A model's loss curves, read from its training.log (docs/models.md, "training.log"): the per-tree
 * train/valid loss of a holdout or day-ahead booster, each CV fold's validation rmse_log, the
 * refit's train loss. Registration (ml/train-run) records them as step metrics of the training run
 * (`curve.<part>.<series>`, slice `curve`, step = trees so far); the dashboard reads those, or this
 * parser for models trained before curves were recorded. Pure: text in, series out. */
import type { MetricInput } from '../registry/types.js';

/** One curve: values after each tree (step = trees so far). */
export interface CurveSeries {
  /** `<part>.<series>`: part = `train` (holdout), `fold1`… and `refit` (cv), `adj_close` / `volume` and their `_refit` (day-ahead). */
  key: string;
  part: string;
  series: string;
  /** The loss: `mse` (of the target the trees fit, objective l2), `rmse_log` (a CV fold's), or
   * the objective's own loss (`huber`, `poisson`, `tweedie`: training.log's section line says which). */
  metric: string;
  steps: number[];
  values: number[];
}

/** The slice under which curve points are logged in the registry's metrics table. */
export const CURVE_SLICE = 'curve';

// A booster's section line: `# gbdt on N rows, …`, `# adj_close: gbdt on N rows, …`, `# volume: gbdt, target …`
// (its rows known after the fit), `# volume refit: gbdt on N rows …`.
const SECTION = /^# (?:(adj_close|volume)( refit)?: )?(?:gbdt|rf)(?: on|,) .*iteration train_loss(?: valid_loss)?/;
// The loss a section's values are: `(mean squared error on …)`, `(mean huber loss on …)`, or `objective huber`.
const LOSS = /\(mean (?:squared error|(\w+) loss) on |objective (\w+)/;
const FOLD = /^# fold (\d+) curve \(rmse_log after each tree\): (.*)$/;
const REFIT = /^# refit: .*iteration train_loss/;
const POINT = /^(\d+) (\S+)(?: (\S+))?$/;

/** The curves of a training.log (empty when it holds none; unknown lines are skipped). */
export function parseTrainingLog(text: string): CurveSeries[] {
  const out = new Map<string, CurveSeries>();
  const add = (part: string, series: string, metric: CurveSeries['metric'], step: number, value: number): void => {
    if (!Number.isFinite(value)) return;
    const key = `${part}.${series}`;
    let c = out.get(key);
    if (c === undefined) out.set(key, (c = { key, part, series, metric, steps: [], values: [] }));
    c.steps.push(step);
    c.values.push(value);
  };
  let part: string | null = null;
  let loss = 'mse';
  for (const line of text.split('\n')) {
    const fold = FOLD.exec(line);
    if (fold) {
      fold[2]!.trim().split(/\s+/).forEach((v, i) => add(`fold${fold[1]}`, 'valid_rmse_log', 'rmse_log', i + 1, Number(v)));
      continue;
    }
    if (REFIT.test(line)) {
      part = 'refit';
      loss = lossOfLine(line);
      continue;
    }
    const sec = SECTION.exec(line);
    if (sec) {
      part = sec[1] === undefined ? 'train' : `${sec[1]}${sec[2] === undefined ? '' : '_refit'}`;
      loss = lossOfLine(line);
      continue;
    }
    if (line.startsWith('#')) continue;
    const p = POINT.exec(line.trim());
    if (p === null || part === null) continue;
    const step = Number(p[1]);
    if (p[2] !== '-') add(part, 'train_loss', loss, step, Number(p[2]));
    if (p[3] !== undefined && p[3] !== '-') add(part, 'valid_loss', loss, step, Number(p[3]));
  }
  return [...out.values()];
}

/** The loss of a section line: `mse` for l2 (or a line that does not say), else the objective's name. */
function lossOfLine(line: string): string {
  const m = LOSS.exec(line);
  const objective = m?.[1] ?? m?.[2];
  return objective === undefined || objective === 'l2' ? 'mse' : objective;
}

/** Each booster part's loss in curves parsed from training.log (`volume` → `huber`): curves read
 * back from the registry's step metrics carry no loss, and take it from these. */
export function curveLosses(parsed: readonly CurveSeries[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of parsed) if (c.metric !== 'rmse_log') out.set(c.part, c.metric);
  return out;
}

/** The curves as registry step metrics (`curve.<part>.<series>`, slice `curve`). */
export function curveMetrics(curves: readonly CurveSeries[]): MetricInput[] {
  return curves.flatMap((c) => c.steps.map((step, i) => ({ key: `curve.${c.key}`, value: c.values[i]!, step, slice: CURVE_SLICE })));
}

/** Step metrics read back from the registry (key, step, value; in logging order) → curves. */
export function curvesFromMetrics(rows: readonly { key: string; step: number; value: number | null }[]): CurveSeries[] {
  const out = new Map<string, CurveSeries>();
  for (const r of rows) {
    if (!r.key.startsWith('curve.') || r.value === null) continue;
    const key = r.key.slice('curve.'.length);
    let c = out.get(key);
    if (c === undefined) {
      const dot = key.indexOf('.');
      const series = key.slice(dot + 1);
      out.set(key, (c = { key, part: key.slice(0, dot), series, metric: series.endsWith('rmse_log') ? 'rmse_log' : 'mse', steps: [], values: [] }));
    }
    c.steps.push(r.step);
    c.values.push(r.value);
  }
  return [...out.values()];
}
