/** @module dashboard/client/views/monitoring
 * #/monitoring: each model's error over time against persistence (uPlot), feature drift (PSI,
 * newest per column), and alerts. An empty state when GET /monitoring is absent (404) or empty. */
import uPlot from 'uplot';
import { ApiError, getJson } from '../api.js';
import { badge, compact, empty, h, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';

interface Point { date: string; n?: number; [metric: string]: number | string | undefined }
interface Monitoring {
  models?: { model_id: string; series?: Point[] }[];
  drift?: { date: string; column: string; psi: number }[];
  alerts?: { id?: number; at?: string; kind?: string; severity?: string; message?: string }[];
}

const toSec = (d: string): number => Date.parse(`${d.slice(0, 10)}T00:00:00Z`) / 1000;
const psiClass = (p: number): string => (p >= 0.25 ? 'sev-error' : p >= 0.1 ? 'sev-warning' : 'sev-info');

export async function monitoringView(ctx: ViewContext): Promise<void> {
  let m: Monitoring | null = null;
  try {
    m = await getJson<Monitoring>('/monitoring', ctx.signal);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
  const models = (m?.models ?? []).filter((x) => (x.series?.length ?? 0) > 0);
  const drift = m?.drift ?? [];
  const alerts = m?.alerts ?? [];
  const parts: HTMLElement[] = [h('h1', null, 'Monitoring')];
  if (models.length === 0 && drift.length === 0 && alerts.length === 0) {
    mount(ctx.el, parts, empty('No monitoring data yet', 'Once forecasts meet their actual next-day bars (`stockpipe monitor`), errors over time, drift and alerts appear here.'));
    ctx.ready();
    return;
  }
  const chartHosts: [HTMLElement, Point[]][] = [];
  for (const model of models) {
    const host = h('div', { class: 'chart' });
    chartHosts.push([host, model.series!]);
    parts.push(h('div', { class: 'card' }, h('h2', null, `Error over time: `, h('code', null, model.model_id)), host));
  }
  if (drift.length > 0) {
    const latest = new Map<string, { date: string; psi: number }>();
    for (const d of drift) if ((latest.get(d.column)?.date ?? '') <= d.date) latest.set(d.column, d);
    parts.push(h('h2', null, 'Drift (PSI, newest per column)'), table(['Column', 'Date', 'PSI'],
      [...latest].map(([c, d]) => [h('code', null, c), d.date, h('span', { class: `chip ${psiClass(d.psi)}` }, num(d.psi))]), { numeric: [2] }));
  }
  parts.push(h('h2', null, 'Alerts'), alerts.length === 0 ? empty('No alerts') : table(['At', 'Severity', 'Kind', 'Message'],
    alerts.map((a) => [when(a.at), badge(a.severity ?? '–', `sev-${a.severity ?? ''}`), a.kind ?? '–', a.message ?? ''])));
  mount(ctx.el, parts);
  const charts: uPlot[] = [];
  for (const [host, series] of chartHosts) {
    const sorted = [...series].sort((a, b) => a.date.localeCompare(b.date));
    const col = (k: string): (number | null)[] => sorted.map((p) => (typeof p[k] === 'number' ? (p[k] as number) : null));
    charts.push(new uPlot({
      width: Math.max(280, host.clientWidth), height: 220, scales: { x: { time: true } },
      series: [{}, { label: 'MAE volume', stroke: '#dc2626', width: 1.5 }, { label: 'MAE volume (persistence)', stroke: '#64748b', width: 1, dash: [4, 4] },
        { label: 'MAPE adj close', stroke: '#2563eb', width: 1.5, scale: '%' }],
      axes: [{}, { size: 60, values: (_u: uPlot, v: number[]) => v.map(compact) }, { side: 1, scale: '%', grid: { show: false }, values: (_u: uPlot, v: number[]) => v.map((x) => `${Math.round(x * 100)}%`) }],
    }, [sorted.map((p) => toSec(p.date)), col('mae_volume'), col('mae_volume_persistence'), col('mape_adj_close')] as uPlot.AlignedData, host));
  }
  ctx.signal.addEventListener('abort', () => charts.forEach((c) => c.destroy()));
  ctx.ready();
}
