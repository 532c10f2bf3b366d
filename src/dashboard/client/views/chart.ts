/** @module dashboard/client/views/chart
 * The symbol charts (uPlot): price (Adj Close, its 30-day rolling median, day-ahead forecasts)
 * and volume (Volume, its 30-day mean, the champion's predicted volume, forecasts), cursor and
 * zoom synchronised (drag to zoom, double-click to reset). A zoom into a downsampled series asks
 * the server for that window at full detail and merges it in. Every axis says its unit (prices in
 * the currency, volume in shares, dates); options add log-scale y axes and other symbols' Adj Close
 * on the price chart, normalised (first point of the range = 100) or absolute. */
import uPlot from 'uplot';
import { getJson, type Series } from '../api.js';
import { compact, h } from '../dom.js';
import { utcDate } from './model-charts.js';

type Col = (number | null)[];

/** Optional settings of drawCharts (all off by default: the chart as it always was, with units). */
export interface ChartOptions {
  /** Log-scale y axes (values ≤ 0 cannot be drawn on a log axis and are left out, counted in `hidden`). */
  log?: boolean;
  /** Other symbols' series (same range) drawn as Adj Close lines on the price chart. */
  overlays?: readonly Series[];
  /** With overlays: each symbol's Adj Close ÷ its first point in the range × 100 (default true); false = absolute prices. */
  normalise?: boolean;
  /** The prices' currency, for the axis label (default USD: the Kaggle/Nasdaq data is in US dollars). */
  currency?: string;
  /** Told how many values ≤ 0 the log scale left out (0 when none or not log). */
  onHidden?: (n: number) => void;
}

const DAY = 86_400;
const OVERLAY_COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#db2777', '#65a30d'];
const toSec = (d: string): number => Date.UTC(Number(d.slice(0, 4)), Number(d.slice(5, 7)) - 1, Number(d.slice(8, 10))) / 1000;
const toDate = (s: number): string => new Date(s * 1000).toISOString().slice(0, 10);

/** x (seconds) and the seven columns on the union of bar dates and forecast target dates. */
export function align(s: Series): { x: number[]; cols: Col[] } {
  const fc = new Map(s.forecasts.map((f) => [f.target_date, f]));
  const dates = [...new Set([...s.dates, ...fc.keys()])].sort();
  const at = new Map(s.dates.map((d, i) => [d, i]));
  const cols: Col[] = Array.from({ length: 7 }, () => new Array<number | null>(dates.length).fill(null));
  const src = [s.adj_close, s.adj_close_rolling_med, s.volume, s.vol_moving_avg, s.predicted_volume];
  dates.forEach((d, k) => {
    const i = at.get(d);
    if (i !== undefined) src.forEach((c, j) => { cols[j]![k] = c[i] ?? null; });
    const f = fc.get(d);
    if (f) {
      cols[5]![k] = f.adj_close;
      cols[6]![k] = f.volume;
    }
  });
  return { x: dates.map(toSec), cols };
}

/** Each series' Adj Close on the union of their dates; normalised = ÷ the first non-null value × 100. */
export function alignOverlay(list: readonly Series[], normalise: boolean): { x: number[]; cols: Col[] } {
  const dates = [...new Set(list.flatMap((s) => s.dates))].sort();
  const pos = new Map(dates.map((d, i) => [d, i]));
  const cols = list.map((s) => {
    const col = new Array<number | null>(dates.length).fill(null);
    const base = s.adj_close.find((v) => v !== null && v !== 0) ?? null;
    s.dates.forEach((d, i) => {
      const v = s.adj_close[i] ?? null;
      col[pos.get(d)!] = v === null ? null : normalise ? (base === null ? null : (100 * v) / base) : v;
    });
    return col;
  });
  return { x: dates.map(toSec), cols };
}

/** The columns with values ≤ 0 set to null (a log axis cannot show them), and how many were. */
function positive(cols: Col[]): { cols: Col[]; hidden: number } {
  let hidden = 0;
  const out = cols.map((c) => c.map((v) => {
    if (v !== null && v <= 0) {
      hidden++;
      return null;
    }
    return v;
  }));
  return { cols: out, hidden };
}

/** `base` outside [lo, hi] plus `detail` inside it. */
function merge(base: { x: number[]; cols: Col[] }, detail: { x: number[]; cols: Col[] }, lo: number, hi: number): { x: number[]; cols: Col[] } {
  const keep = base.x.map((t, i) => (t < lo || t > hi ? i : -1)).filter((i) => i >= 0);
  const before = keep.filter((i) => base.x[i]! < lo);
  const after = keep.filter((i) => base.x[i]! > hi);
  const x = [...before.map((i) => base.x[i]!), ...detail.x, ...after.map((i) => base.x[i]!)];
  const cols = base.cols.map((c, j) => [...before.map((i) => c[i] ?? null), ...detail.cols[j]!, ...after.map((i) => c[i] ?? null)]);
  return { x, cols };
}

const intValue = (_u: uPlot, v: number | null): string => (v === null ? '–' : `${Math.round(v).toLocaleString('en-US')} sh`);
const priceValue = (currency: string) => (_u: uPlot, v: number | null): string => (v === null ? '–' : `${v.toFixed(2)} ${currency}`);
const indexValue = (_u: uPlot, v: number | null): string => (v === null ? '–' : v.toFixed(1));
const dateValue = (_u: uPlot, v: number | null): string => (v === null ? '–' : toDate(v));

export function drawCharts(host: HTMLElement, s: Series, signal: AbortSignal, opts: ChartOptions = {}): () => void {
  const log = opts.log === true;
  const currency = opts.currency ?? 'USD';
  const overlays = opts.overlays ?? [];
  const normalise = opts.normalise !== false;
  const overlay = overlays.length > 0;
  let full = align(s);
  const sync = uPlot.sync(`sp-${s.symbol}`);
  const width = (): number => Math.max(280, host.clientWidth);
  const pts = { show: true, size: 5 };
  const yScale = log ? { distr: 3, log: 10 } : {};
  const scale = log ? ' · log scale' : '';
  const common = (height: number): Partial<uPlot.Options> => ({
    width: width(), height,
    scales: { x: { time: true }, y: yScale as uPlot.Scale },
    tzDate: utcDate,
    cursor: { sync: { key: sync.key, setSeries: true }, drag: { x: true, y: false } },
    legend: { live: true },
  });
  const xAxis = { label: 'Date (trading day)', labelSize: 20 };
  const priceEl = h('div', { class: 'chart', 'data-chart': 'price', 'data-log': log ? '1' : '0', 'data-overlay': overlay ? (normalise ? 'normalised' : 'absolute') : 'none' });
  const volEl = h('div', { class: 'chart', 'data-chart': 'volume', 'data-log': log ? '1' : '0' });
  host.replaceChildren(priceEl, volEl);
  let hidden = 0;
  /** The price chart's data: its own three columns, or each symbol's Adj Close. */
  const priceData = (d: { x: number[]; cols: Col[] }): uPlot.AlignedData => {
    const raw = overlay ? alignOverlay([s, ...overlays], normalise) : { x: d.x, cols: [d.cols[0]!, d.cols[1]!, d.cols[5]!] };
    const p = log ? positive(raw.cols) : { cols: raw.cols, hidden: 0 };
    hidden += p.hidden;
    return [raw.x, ...p.cols] as uPlot.AlignedData;
  };
  const volumeData = (d: { x: number[]; cols: Col[] }): uPlot.AlignedData => {
    const raw = [d.cols[2]!, d.cols[3]!, d.cols[4]!, d.cols[6]!];
    const p = log ? positive(raw) : { cols: raw, hidden: 0 };
    hidden += p.hidden;
    return [d.x, ...p.cols] as uPlot.AlignedData;
  };
  const priceUnit = overlay && normalise ? 'index, first = 100' : `${currency}, adjusted`;
  const priceSeries: uPlot.Series[] = overlay
    ? [s, ...overlays].map((o, i) => ({ label: o.symbol, stroke: OVERLAY_COLORS[i % OVERLAY_COLORS.length], width: 1.5, spanGaps: true, value: normalise ? indexValue : priceValue(currency) }))
    : [{ label: 'Adj Close', stroke: '#2563eb', width: 1.5, value: priceValue(currency) }, { label: '30-day median', stroke: '#f59e0b', width: 1.5, value: priceValue(currency) },
      { label: 'forecast', stroke: '#16a34a', width: 0, points: pts, value: priceValue(currency) }];
  const price = new uPlot({
    ...common(280),
    title: overlay ? `Adj Close, ${normalise ? 'normalised to 100 at the first point of the range' : `absolute (${currency})`}: ${[s, ...overlays].map((o) => o.symbol).join(', ')}${scale}` : `Adj Close (${currency}, split- and dividend-adjusted)${scale}`,
    series: [{ label: 'Date', value: dateValue }, ...priceSeries],
    axes: [xAxis, { size: 70, label: `Adj Close (${priceUnit})`, labelSize: 20, values: (_u: uPlot, v: (number | null)[]) => v.map((x) => (x === null ? '' : Math.abs(x) >= 1000 ? compact(x) : String(x))) }],
  } as uPlot.Options, priceData(full), priceEl);
  const volume = new uPlot({
    ...common(250), title: `Volume (shares): actual vs predicted — ${s.symbol}${scale}`,
    series: [{ label: 'Date', value: dateValue }, { label: 'Volume', stroke: '#64748b', width: 1, value: intValue }, { label: '30-day mean', stroke: '#f59e0b', width: 1.5, value: intValue },
      { label: 'predicted', stroke: '#dc2626', width: 1.5, value: intValue }, { label: 'forecast', stroke: '#16a34a', width: 0, points: pts, value: intValue }],
    axes: [xAxis, { size: 70, label: 'Volume (shares)', labelSize: 20, values: (_u: uPlot, v: (number | null)[]) => v.map((x) => (x === null ? '' : compact(x))) }],
  } as uPlot.Options, volumeData(full), volEl);
  opts.onHidden?.(hidden);
  // The axis labels are drawn on the canvas: say them to screen readers (and tests) too.
  priceEl.setAttribute('aria-label', `${price.root.querySelector('.u-title')?.textContent ?? ''}. y axis: Adj Close (${priceUnit}); x axis: ${xAxis.label}`);
  volEl.setAttribute('aria-label', `${volume.root.querySelector('.u-title')?.textContent ?? ''}. y axis: Volume (shares); x axis: ${xAxis.label}`);
  const charts = [price, volume];
  let syncing = false;
  /** New data on both charts, keeping the zoom (set again so uPlot recomputes the visible rows). */
  const setAll = (d: { x: number[]; cols: Col[] }): void => {
    const { min, max } = price.scales.x ?? {};
    hidden = 0;
    if (!overlay) price.setData(priceData(d), false);
    volume.setData(volumeData(d), false);
    if (min === undefined || max === undefined) return;
    syncing = true;
    for (const u of charts) u.setScale('x', { min, max });
    syncing = false;
  };

  let timer: ReturnType<typeof setTimeout> | undefined;
  let shown = full;
  for (const u of charts) {
    u.hooks.setScale = [(self: uPlot, key: string) => {
      if (key !== 'x' || syncing) return;
      const { min, max } = self.scales.x ?? {};
      if (min === undefined || max === undefined) return;
      syncing = true;
      for (const o of charts) if (o !== self) o.setScale('x', { min, max });
      syncing = false;
      if (!s.downsampled) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const lo = Math.floor(min / DAY) * DAY;
        const hi = Math.ceil(max / DAY) * DAY;
        if (lo <= full.x[0]! && hi >= full.x[full.x.length - 1]!) {
          if (shown !== full) setAll((shown = full));
          return;
        }
        const q = new URLSearchParams({ from: toDate(lo), to: toDate(hi), points: '1500' });
        getJson<Series>(`/symbols/${encodeURIComponent(s.symbol)}/series?${q}`, signal).then((d) => {
          shown = merge(full, align(d), lo, hi);
          setAll(shown);
        }, () => {});
      }, 250);
    }];
  }
  const onResize = (): void => { for (const u of charts) u.setSize({ width: width(), height: u.height }); };
  window.addEventListener('resize', onResize);
  return () => {
    window.removeEventListener('resize', onResize);
    clearTimeout(timer);
    for (const u of charts) u.destroy();
    full = { x: [], cols: [] };
  };
}
