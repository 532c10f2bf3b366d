/** @module dashboard/client/views/model-charts
 * The Models and Monitoring views' small uPlot charts, each with a title, axis labels and units:
 * lines over a shared x (loss curves, error over time), a histogram (residuals), actual vs
 * predicted on log axes, one metric of every model over time with the serving model marked, and
 * plain HTML bars (feature importance). The symbol charts are views/chart.ts'. */
import uPlot from 'uplot';
import { compact, h, num } from '../dom.js';

export interface LineSeries { label: string; x: number[]; y: (number | null)[]; color: string; dash?: number[]; points?: boolean; scale?: string }
export interface ChartText { title: string; x: string; y: string; y2?: string; time?: boolean; integerX?: boolean; /** Daily data on a time axis: whole-day ticks labelled as dates. */ daily?: boolean }

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#f59e0b', '#7c3aed', '#0891b2', '#64748b', '#db2777'];
export const color = (i: number): string => COLORS[i % COLORS.length]!;

const width = (host: HTMLElement): number => Math.max(280, host.clientWidth - 8);
const axisValues = (_u: uPlot, v: number[]): string[] => v.map((x) => (Math.abs(x) >= 1000 ? compact(x) : num(x)));
/** Log axes: a label at each power of ten only (uPlot ticks every 1–9 × 10^k). */
const decades = (_u: uPlot, v: number[]): string[] => v.map((x) => (Math.abs(Math.log10(x) % 1) < 1e-9 ? compact(x) : ''));
/** Daily data on a time axis: ticks on whole days (never hours), labelled as dates (UTC). */
const DAY = 86_400;
const DAYS = [1, 2, 7, 14, 30, 91, 182, 365, 730, 1826, 3652].map((d) => d * DAY);
const dateValues = (_u: uPlot, v: number[]): string[] => v.map((x) => new Date(x * 1000).toISOString().slice(0, 10));
/**
 * A time axis in UTC (uPlot's tzDate): the data's days are UTC midnights, and uPlot otherwise puts a
 * time axis's ticks at the browser's local midnights: east of UTC each day was labelled as the one before.
 */
export const utcDate = (ts: number): Date => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
/** Whole-number ticks (trees). */
const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000];

/** Keeps a chart as wide as its box; returns the chart (destroy it when the view goes). */
function fit(host: HTMLElement, u: uPlot, signal: AbortSignal): uPlot {
  const onResize = (): void => u.setSize({ width: width(host), height: u.height });
  window.addEventListener('resize', onResize);
  signal.addEventListener('abort', () => {
    window.removeEventListener('resize', onResize);
    u.destroy();
  });
  return u;
}

/** Series with their own x values on the union of the x values (missing points are null, lines span them). */
export function lineChart(host: HTMLElement, text: ChartText, series: LineSeries[], signal: AbortSignal, height = 240): uPlot {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const cols = series.map((s) => {
    const c = new Array<number | null>(xs.length).fill(null);
    s.x.forEach((x, i) => { c[at.get(x)!] = s.y[i] ?? null; });
    return c;
  });
  const hasY2 = series.some((s) => s.scale === 'y2');
  const u = new uPlot({
    width: width(host), height, title: text.title, tzDate: utcDate,
    // One x value: a range around it (uPlot would otherwise span years).
    scales: { x: { time: text.time === true, ...(xs.length === 1 ? { range: [xs[0]! - (text.time ? 3 * 86_400 : 1), xs[0]! + (text.time ? 3 * 86_400 : 1)] as [number, number] } : {}) } },
    series: [{ label: text.x }, ...series.map((s) => ({
      label: s.label, stroke: s.color, width: s.points ? 0 : 1.5, spanGaps: true, dash: s.dash, scale: s.scale ?? 'y',
      points: { show: s.points === true || xs.length < 40, size: s.points ? 8 : 4, fill: s.color },
      value: (_u: uPlot, v: number | null) => num(v),
    }))],
    // A time axis's labels carry the date where it changes ("12/5/26 11:04pm", ≈ 95 px): ticks 100 px apart keep them apart.
    axes: [{ label: text.x, labelSize: 18, ...(text.integerX ? { incrs: WHOLE } : {}), ...(text.daily ? { incrs: DAYS, values: dateValues, space: 80 } : text.time === true ? { space: 100 } : {}) }, { label: text.y, labelSize: 18, size: 64, values: axisValues, scale: 'y' },
      ...(hasY2 ? [{ label: text.y2 ?? '', labelSize: 18, side: 1, size: 64, scale: 'y2', grid: { show: false }, values: axisValues }] : [])],
  } as uPlot.Options, [xs, ...cols] as uPlot.AlignedData, host);
  return fit(host, u, signal);
}

/** Counts per bin (edges: bins + 1 values) as bars. */
export function histogramChart(host: HTMLElement, text: ChartText, edges: number[], counts: number[], signal: AbortSignal): uPlot {
  const mids = counts.map((_, i) => (edges[i]! + edges[i + 1]!) / 2);
  const u = new uPlot({
    width: width(host), height: 220, title: text.title,
    scales: { x: { time: false, range: [edges[0]!, edges[edges.length - 1]!] } },
    series: [{ label: text.x, value: (_u: uPlot, v: number | null) => num(v) }, { label: text.y, fill: 'rgba(37,99,235,.35)', stroke: '#2563eb', width: 1, paths: uPlot.paths.bars!({ size: [1, Infinity], gap: 1 }), points: { show: false } }],
    axes: [{ label: text.x, labelSize: 18 }, { label: text.y, labelSize: 18, size: 56, values: axisValues }],
  } as uPlot.Options, [mids, counts] as uPlot.AlignedData, host);
  return fit(host, u, signal);
}

/** Predicted against actual (both > 0, log axes), with the y = x line. */
export function scatterChart(host: HTMLElement, text: ChartText, actual: number[], predicted: number[], signal: AbortSignal): uPlot {
  const pairs = actual.map((a, i) => [a, predicted[i]!] as const).filter(([a, p]) => a > 0 && p > 0).sort((x, y) => x[0] - y[0]);
  const x = pairs.map((p) => p[0]);
  const u = new uPlot({
    width: width(host), height: 280, title: text.title,
    scales: { x: { time: false, distr: 3 }, y: { distr: 3 } },
    series: [{ label: text.x, value: (_u: uPlot, v: number | null) => num(v) },
      { label: text.y, stroke: '#dc2626', width: 0, points: { show: true, size: 3, fill: 'rgba(220,38,38,.5)' }, value: (_u: uPlot, v: number | null) => num(v) },
      { label: 'predicted = actual', stroke: '#64748b', width: 1, dash: [4, 4], points: { show: false } }],
    axes: [{ label: text.x, labelSize: 18, values: decades }, { label: text.y, labelSize: 18, size: 64, values: decades }],
  } as uPlot.Options, [x, pairs.map((p) => p[1]), x] as uPlot.AlignedData, host);
  return fit(host, u, signal);
}

/** Horizontal bars, longest first: label, bar (share of the largest), value text. */
export function bars(rows: { label: string; value: number; text: string }[], title: string): HTMLElement {
  const max = Math.max(1e-12, ...rows.map((r) => r.value));
  return h('figure', { class: 'card hbars', 'data-chart': 'bars' }, h('figcaption', null, title),
    rows.map((r) => h('div', { class: 'hbar' }, h('code', null, r.label), h('span', { class: 'hbar-track' }, h('span', { class: 'hbar-fill', style: `width:${((100 * r.value) / max).toFixed(1)}%` })), h('span', { class: 'hbar-text' }, r.text))));
}
