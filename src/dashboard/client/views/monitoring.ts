/** @module dashboard/client/views/monitoring
 * #/monitoring: each model's error over time against persistence (uPlot; volume in shares with
 * MAPE in %, Adj Close in $), input drift per column (PSI over time from the monitor points, and
 * the latest validation report's PSI against each column's threshold), and alerts. Every chart has
 * a title, axis labels and units. An empty state when GET /monitoring is absent (404) or empty. */
import { ApiError, getJson } from '../api.js';
import { badge, empty, errorBox, h, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { bars, color, lineChart, type LineSeries } from './model-charts.js';

interface Point { date: string; n?: number; [metric: string]: number | string | undefined }
interface Monitoring {
  models?: { model_id: string; series?: Point[] }[];
  drift?: { date: string; column: string; psi: number | null }[];
  alerts?: { id?: number; at?: string; kind?: string; severity?: string; message?: string }[];
  thresholds?: { max_psi?: number; [k: string]: unknown };
}
interface Validation { report: { created_at?: string; snapshot?: number; drift?: Record<string, { psi: number | null; threshold: number | null }> } | null }

const toSec = (d: string): number => Date.parse(`${d.slice(0, 10)}T00:00:00Z`) / 1000;
const psiClass = (p: number): string => (p >= 0.25 ? 'sev-error' : p >= 0.1 ? 'sev-warning' : 'sev-info');

export async function monitoringView(ctx: ViewContext): Promise<void> {
  let m: Monitoring | null = null;
  try {
    m = await getJson<Monitoring>('/monitoring', ctx.signal);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  // The validation report's drift is one panel of this page: when it cannot be read the rest still shows, and the panel says why.
  let vError: unknown = null;
  let v: Validation = { report: null } as Validation;
  try {
    v = await getJson<Validation>('/validation', ctx.signal);
  } catch (err) {
    if (ctx.signal.aborted) throw err;
    vError = err;
  }
  const models = (m?.models ?? []).filter((x) => (x.series?.length ?? 0) > 0);
  const drift = (m?.drift ?? []).filter((d) => typeof d.psi === 'number');
  const alerts = m?.alerts ?? [];
  const reportDrift = Object.entries(v.report?.drift ?? {}).filter(([, d]) => typeof d.psi === 'number');
  const parts: (HTMLElement | null)[] = [h('h1', null, 'Monitoring')];
  if (models.length === 0 && drift.length === 0 && alerts.length === 0 && reportDrift.length === 0) {
    mount(ctx.el, parts, empty('No monitoring data yet', 'Once forecasts meet their actual next-day bars (`stockpipe monitor`), errors over time, drift and alerts appear here.'));
    ctx.ready();
    return;
  }
  const draw: (() => void)[] = [];
  for (const model of models) {
    const sorted = [...model.series!].sort((a, b) => a.date.localeCompare(b.date));
    const x = sorted.map((p) => toSec(p.date));
    const col = (k: string): (number | null)[] => sorted.map((p) => (typeof p[k] === 'number' ? (p[k] as number) : null));
    const volEl = h('div', { class: 'chart', 'data-chart': 'error-volume' });
    const priceEl = h('div', { class: 'chart', 'data-chart': 'error-adj-close' });
    const days = sorted.length;
    parts.push(h('div', { class: 'card', 'data-model': model.model_id }, h('h2', null, 'Error over time: ', h('a', { href: `#/models/${encodeURIComponent(model.model_id)}` }, h('code', null, model.model_id))),
      h('p', { class: 'meta' }, `${days} day${days === 1 ? '' : 's'} of matured forecasts, all symbols together; persistence = tomorrow equals today.`), volEl, priceEl));
    draw.push(() => {
      lineChart(volEl, { title: 'Volume: mean absolute error per day', x: 'target day', y: 'MAE (shares)', y2: 'MAPE (%)', time: true, daily: true }, [
        { label: 'MAE volume (shares)', x, y: col('mae_volume'), color: '#dc2626' },
        { label: 'MAE persistence (shares)', x, y: col('mae_volume_persistence'), color: '#64748b', dash: [4, 4] },
        { label: 'MAPE volume (%)', x, y: col('mape_volume').map((p) => (p === null ? null : p * 100)), color: '#f59e0b', scale: 'y2' },
      ], ctx.signal, 220);
      lineChart(priceEl, { title: 'Adj Close: mean absolute error per day', x: 'target day', y: 'MAE ($)', y2: 'MAPE (%)', time: true, daily: true }, [
        { label: 'MAE Adj Close ($)', x, y: col('mae_adj_close'), color: '#2563eb' },
        { label: 'MAE persistence ($)', x, y: col('mae_adj_close_persistence'), color: '#64748b', dash: [4, 4] },
        { label: 'MAPE Adj Close (%)', x, y: col('mape_adj_close').map((p) => (p === null ? null : p * 100)), color: '#16a34a', scale: 'y2' },
      ], ctx.signal, 220);
    });
  }
  if (drift.length > 0) {
    const columns = [...new Set(drift.map((d) => d.column))].sort();
    const driftEl = h('div', { class: 'chart', 'data-chart': 'drift' });
    const series: LineSeries[] = columns.map((c, i) => {
      const pts = drift.filter((d) => d.column === c).sort((a, b) => a.date.localeCompare(b.date));
      return { label: c, x: pts.map((p) => toSec(p.date)), y: pts.map((p) => p.psi), color: color(i) };
    });
    const xs = [...new Set(drift.map((d) => toSec(d.date)))].sort((a, b) => a - b);
    const alertAt = typeof m?.thresholds?.max_psi === 'number' ? m.thresholds.max_psi : 0.25;
    series.push({ label: `alert threshold max_psi (${num(alertAt)})`, x: xs, y: xs.map(() => alertAt), color: '#d97706', dash: [2, 4] });
    const latest = new Map<string, { date: string; psi: number }>();
    for (const d of drift) if ((latest.get(d.column)?.date ?? '') <= d.date) latest.set(d.column, { date: d.date, psi: d.psi! });
    parts.push(h('div', { class: 'card' }, h('h2', null, 'Drift per input column (PSI over time)'), driftEl,
      h('h2', null, 'Drift (PSI, newest per column)'), table(['Column', 'Date', 'PSI'],
        [...latest].map(([c, d]) => [h('code', null, c), d.date, h('span', { class: `chip ${psiClass(d.psi)}` }, num(d.psi))]), { numeric: [2] })));
    draw.push(() => lineChart(driftEl, { title: 'Population stability index of each input, by day', x: 'day', y: 'PSI (unitless; 0 = same distribution)', time: true, daily: true }, series, ctx.signal, 240));
  }
  if (reportDrift.length > 0) {
    parts.push(h('div', { class: 'card', 'data-section': 'report-drift' }, h('h2', null, `Drift in the latest validation report${v.report?.snapshot === undefined ? '' : ` (prices snapshot ${v.report.snapshot})`}`),
      h('p', { class: 'meta' }, `PSI of each column against the reference, and the threshold learned from normal day-to-day variation (${when(v.report?.created_at)}).`),
      bars(reportDrift.map(([c, d]) => ({ label: c, value: d.psi!, text: `PSI ${num(d.psi)} / threshold ${num(d.threshold)}` })), 'PSI per column (bar length: relative to the largest)')));
  }
  if (vError !== null) parts.push(h('div', { class: 'card', 'data-section': 'report-drift' }, h('h2', null, 'Drift in the latest validation report'), errorBox(vError)));
  parts.push(h('h2', null, 'Alerts'), alerts.length === 0 ? empty('No alerts') : table(['At', 'Severity', 'Kind', 'Message'],
    alerts.map((a) => [when(a.at), badge(a.severity ?? '–', `sev-${a.severity ?? ''}`), a.kind ?? '–', a.message ?? ''])));
  mount(ctx.el, parts);
  draw.forEach((f) => f());
  ctx.ready();
}
