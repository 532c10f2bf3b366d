/** @module dashboard/client/views/chart
 * The symbol charts (uPlot): price (Adj Close, its 30-day rolling median, day-ahead forecasts)
 * and volume (Volume, its 30-day mean, the champion's predicted volume, forecasts), cursor and
 * zoom synchronised (drag to zoom, double-click to reset). A zoom into a downsampled series asks
 * the server for that window at full detail and merges it in. */
import uPlot from 'uplot';
import { getJson, type Series } from '../api.js';
import { compact, h } from '../dom.js';

type Col = (number | null)[];

const DAY = 86_400;
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

/** `base` outside [lo, hi] plus `detail` inside it. */
function merge(base: { x: number[]; cols: Col[] }, detail: { x: number[]; cols: Col[] }, lo: number, hi: number): { x: number[]; cols: Col[] } {
  const keep = base.x.map((t, i) => (t < lo || t > hi ? i : -1)).filter((i) => i >= 0);
  const before = keep.filter((i) => base.x[i]! < lo);
  const after = keep.filter((i) => base.x[i]! > hi);
  const x = [...before.map((i) => base.x[i]!), ...detail.x, ...after.map((i) => base.x[i]!)];
  const cols = base.cols.map((c, j) => [...before.map((i) => c[i] ?? null), ...detail.cols[j]!, ...after.map((i) => c[i] ?? null)]);
  return { x, cols };
}

const intValue = (_u: uPlot, v: number | null): string => (v === null ? '–' : Math.round(v).toLocaleString('en-US'));

export function drawCharts(host: HTMLElement, s: Series, signal: AbortSignal): () => void {
  let full = align(s);
  const sync = uPlot.sync(`sp-${s.symbol}`);
  const width = (): number => Math.max(280, host.clientWidth);
  const pts = { show: true, size: 5 };
  const common = (height: number): Partial<uPlot.Options> => ({
    width: width(), height,
    scales: { x: { time: true } },
    cursor: { sync: { key: sync.key, setSeries: true }, drag: { x: true, y: false } },
    legend: { live: true },
  });
  const priceEl = h('div', { class: 'chart', 'data-chart': 'price' });
  const volEl = h('div', { class: 'chart', 'data-chart': 'volume' });
  host.replaceChildren(priceEl, volEl);
  const price = new uPlot({
    ...common(260), title: 'Adj Close',
    series: [{}, { label: 'Adj Close', stroke: '#2563eb', width: 1.5 }, { label: '30-day median', stroke: '#f59e0b', width: 1.5 },
      { label: 'forecast', stroke: '#16a34a', width: 0, points: pts }],
    axes: [{}, { size: 60 }],
  } as uPlot.Options, [full.x, full.cols[0]!, full.cols[1]!, full.cols[5]!] as uPlot.AlignedData, priceEl);
  const volume = new uPlot({
    ...common(240), title: 'Volume: actual vs predicted',
    series: [{}, { label: 'Volume', stroke: '#64748b', width: 1, value: intValue }, { label: '30-day mean', stroke: '#f59e0b', width: 1.5, value: intValue },
      { label: 'predicted', stroke: '#dc2626', width: 1.5, value: intValue }, { label: 'forecast', stroke: '#16a34a', width: 0, points: pts, value: intValue }],
    axes: [{}, { size: 60, values: (_u: uPlot, v: number[]) => v.map(compact) }],
  } as uPlot.Options, [full.x, full.cols[2]!, full.cols[3]!, full.cols[4]!, full.cols[6]!] as uPlot.AlignedData, volEl);
  const charts = [price, volume];
  let syncing = false;
  /** New data on both charts, keeping the zoom (set again so uPlot recomputes the visible rows). */
  const setAll = (d: { x: number[]; cols: Col[] }): void => {
    const { min, max } = price.scales.x ?? {};
    price.setData([d.x, d.cols[0]!, d.cols[1]!, d.cols[5]!] as uPlot.AlignedData, false);
    volume.setData([d.x, d.cols[2]!, d.cols[3]!, d.cols[4]!, d.cols[6]!] as uPlot.AlignedData, false);
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
