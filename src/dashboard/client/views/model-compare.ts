/** @module dashboard/client/views/model-compare
 * The Models view's two cross-model sections: one metric of every model of a family over time
 * (the serving model marked, its backtest beside it; GET /models/history), and the serving champion
 * beside the models of its family registered before it (data, the parameters that differ
 * highlighted, backtest, raw and log metrics with units; GET /models/champion-compare). */
import { championCompare, modelHistory } from '../api-models.js';
import { empty, errorBox, h, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { lineChart } from './model-charts.js';

const toSec = (iso: string): number => Date.parse(iso) / 1000;
const METRICS = { volume: ['rmse_log', 'mae_log', 'r2_log', 'rmse', 'mae', 'r2'], forecast: ['skill_volume', 'skill_adj_close', 'mae_volume', 'mae_adj_close', 'rmse_volume_log'] } as const;

/** The metric-over-time chart with its family and metric pickers (view state in the URL: family, metric). */
export function historySection(ctx: ViewContext): HTMLElement {
  const out = h('div', { class: 'chart', 'data-chart': 'history' });
  const family = h('select', { name: 'family', 'aria-label': 'model family' }, ['volume', 'forecast'].map((f) => h('option', { value: f, ...(f === (ctx.query.get('family') ?? 'volume') ? { selected: true } : {}) }, f === 'volume' ? 'volume models' : 'day-ahead models')));
  const metric = h('select', { name: 'metric', 'aria-label': 'metric' });
  let charts = new AbortController();
  ctx.signal.addEventListener('abort', () => charts.abort());
  const fill = (): void => {
    const f = family.value as 'volume' | 'forecast';
    const want = ctx.query.get('metric');
    mount(metric, METRICS[f].map((k) => h('option', { value: k, ...(k === want ? { selected: true } : {}) }, k)));
  };
  async function draw(): Promise<void> {
    const f = family.value as 'volume' | 'forecast';
    ctx.setQuery({ family: f === 'volume' ? null : f, metric: metric.value === METRICS[f][0] ? null : metric.value });
    charts.abort();
    charts = new AbortController();
    try {
      const d = await modelHistory(f, metric.value, ctx.signal);
      if (d.models.length === 0) {
        mount(out, empty(`No ${f} models yet`));
        return;
      }
      mount(out);
      const held = new Set(d.moves.map((mv) => mv.model_id));
      const x = d.models.map((m) => toSec(m.created_at));
      const unit = d.unit ? ` (${d.unit})` : '';
      lineChart(out, { title: `${d.metric} of every ${f} model on its test slice, by registration time (★ = serving ${d.alias}; dark dots: earlier holders)`, x: 'registered (UTC)', y: `${d.metric}${unit}`, time: true }, [
        { label: `test ${d.metric}`, x, y: d.models.map((m) => m.value), color: '#2563eb' },
        ...(f === 'volume' && d.metric === 'rmse_log' ? [{ label: 'backtest rmse_log', x, y: d.models.map((m) => m.backtest), color: '#64748b', dash: [4, 4] }] : []),
        { label: `★ serving ${d.alias}`, x, y: d.models.map((m) => (m.serving ? m.value : null)), color: '#eab308', points: true },
        // Every earlier holder of the alias (its append-only history), so the champion's path over time is visible.
        { label: `held ${d.alias} before`, x, y: d.models.map((m) => (!m.serving && held.has(m.id) ? m.value : null)), color: '#a16207', points: true },
      ], charts.signal, 260);
    } catch (err) {
      mount(out, errorBox(err));
    }
  }
  family.addEventListener('change', () => { fill(); void draw(); });
  metric.addEventListener('change', () => void draw());
  fill();
  void draw();
  return h('div', null, h('div', { class: 'toolbar' }, h('label', null, 'Family ', family), h('label', null, 'Metric ', metric)), out);
}

/** The serving champion and the three models before it: one column each. */
export async function championSection(ctx: ViewContext, family: 'volume' | 'forecast'): Promise<HTMLElement> {
  const c = await championCompare(family, ctx.signal);
  if (c.champion === null) return empty(`No ${c.alias} yet`);
  const ms = c.models;
  const differ = new Set(c.differing_params);
  const unit = (k: string): string => (c.units[k] ? ` (${c.units[k]})` : '');
  const cell = (v: string | number | null | undefined, changed: boolean): HTMLElement => (v === null || v === undefined ? h('span', { class: 'meta', title: 'not a parameter of this model' }, '–') : h('span', changed ? { class: 'diff', title: 'differs between these models' } : null, String(v)));
  const rows: (string | Node)[][] = [
    ['registered (UTC)', ...ms.map((m) => when(m.created_at))],
    ['kind', ...ms.map((m) => cell(m.kind, new Set(ms.map((x) => x.kind)).size > 1))],
    ['features snapshot (prices)', ...ms.map((m) => cell(`${m.lineage.features_snapshot ?? '–'} (${m.lineage.prices_snapshot ?? '–'})`, new Set(ms.map((x) => x.lineage.features_snapshot)).size > 1))],
    ['data hash', ...ms.map((m) => cell((m.data_hash ?? '–').slice(0, 12), new Set(ms.map((x) => x.data_hash)).size > 1))],
    ['test slice', ...ms.map((m) => (m.test_slice ? `${m.test_slice.date_min}..${m.test_slice.date_max} (${m.test_slice.rows})` : '–'))],
    ['backtest rmse_log (log1p(shares))', ...ms.map((m) => (m.backtest ? h('span', { title: m.backtest.on }, num(m.backtest.rmse_log)) : '–'))],
    ...Object.keys(ms[0]!.metrics).map((k) => [`test ${k}${unit(k)}`, ...ms.map((m) => num(m.metrics[k]))]),
    ...[...differ].map((k) => [h('code', null, k), ...ms.map((m) => cell(m.params[k], true))]),
  ];
  const same = new Set(ms.flatMap((m) => Object.keys(m.params)).filter((k) => !differ.has(k))).size;
  return h('div', { 'data-section': 'champion-compare' },
    h('p', { class: 'meta' }, `Which data and parameters made the model now serving, against the ${ms.length - 1} ${family} model${ms.length === 2 ? '' : 's'} registered before it. Highlighted: values that differ; the other ${same} parameters are equal wherever set and not listed.`),
    table(['', ...ms.map((m, i) => (i === 0 ? `★ ${m.id} (serving)` : m.id))], rows.map((r) => r.map((x) => (typeof x === 'string' ? x : x))), { numeric: ms.map((_, i) => i + 1) }));
}
