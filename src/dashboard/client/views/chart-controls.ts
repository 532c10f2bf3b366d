/** @module dashboard/client/views/chart-controls
 * The symbol charts' controls and their URL state (#/symbols/<SYM>?range=1Y&from=…&to=…&log=1&vs=A,B&norm=abs):
 * date-range presets (counted back from the symbol's last bar) or a from/to pair, the log-scale
 * toggle, the symbols overlaid on the price chart and whether they are normalised. Pure state
 * helpers (parse, resolve) plus the toolbar element; drawing is chart.ts', fetching symbols.ts'. */
import { h } from '../dom.js';

export const PRESETS = ['1M', '3M', '6M', 'YTD', '1Y', '2Y', '5Y', 'Max'] as const;
export type Preset = (typeof PRESETS)[number];

export interface ChartState {
  /** A preset, or null when from/to were chosen by hand (or nothing: the whole series). */
  range: Preset | null;
  from: string | null;
  to: string | null;
  log: boolean;
  overlays: string[];
  /** Overlays normalised (first point = 100), else absolute prices. */
  normalise: boolean;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** A real calendar day as YYYY-MM-DD (2019-02-30 is not). */
export function isDay(v: string): boolean {
  const t = new Date(`${v}T00:00:00Z`);
  return DATE.test(v) && !Number.isNaN(t.getTime()) && t.toISOString().slice(0, 10) === v;
}

/** The state a URL query holds (unknown or malformed values are ignored). */
export function parseState(q: URLSearchParams, symbol: string): ChartState {
  const range = (PRESETS as readonly string[]).includes(q.get('range') ?? '') ? (q.get('range') as Preset) : null;
  const date = (k: string): string | null => { const v = q.get(k); return v !== null && isDay(v) ? v : null; };
  // As written (symbols are case-sensitive): the view resolves each to a symbol it has (findSymbol).
  const overlays = [...new Set((q.get('vs') ?? '').split(',').map((x) => x.trim()).filter((x) => x !== '' && x !== symbol))];
  return { range, from: range ? null : date('from'), to: range ? null : date('to'), log: q.get('log') === '1', overlays, normalise: q.get('norm') !== 'abs' };
}

/** The URL query values of a state (null = absent). */
export function stateQuery(s: ChartState): Record<string, string | null> {
  return { range: s.range, from: s.range ? null : s.from, to: s.range ? null : s.to, log: s.log ? '1' : null, vs: s.overlays.length > 0 ? s.overlays.join(',') : null, norm: s.normalise ? null : 'abs' };
}

const shift = (d: string, months: number): string => {
  const t = new Date(`${d}T00:00:00Z`);
  const day = t.getUTCDate();
  t.setUTCDate(1);
  t.setUTCMonth(t.getUTCMonth() - months);
  const last = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth() + 1, 0)).getUTCDate();
  t.setUTCDate(Math.min(day, last));
  return t.toISOString().slice(0, 10);
};

/** The dates a state asks the server for, given the symbol's last bar (undefined = that end open); a
 * preset reaching before the first bar (`firstDate`) starts at it (5Y of 18 months of data: all of them). */
export function resolveRange(s: ChartState, lastDate: string, firstDate?: string): { from?: string; to?: string } {
  if (s.range === null) return { from: s.from ?? undefined, to: s.to ?? undefined };
  if (s.range === 'Max') return {};
  const clamp = (d: string): string => (firstDate !== undefined && d < firstDate ? firstDate : d);
  if (s.range === 'YTD') return { from: clamp(`${lastDate.slice(0, 4)}-01-01`), to: lastDate };
  const months = { '1M': 1, '3M': 3, '6M': 6, '1Y': 12, '2Y': 24, '5Y': 60 }[s.range];
  return { from: clamp(shift(lastDate, months)), to: lastDate };
}

/** The toolbar: presets, from/to, log, overlay symbols (known ones only: `resolve` gives the symbol a typed name is, or undefined), normalised/absolute. */
export function chartToolbar(s: ChartState, opts: { resolve: (name: string) => string | undefined; dateMin: string; dateMax: string; onChange: (next: ChartState) => void }): HTMLElement {
  const set = (patch: Partial<ChartState>): void => opts.onChange({ ...s, ...patch });
  const presets = h('div', { class: 'seg', role: 'group', 'aria-label': 'Date range' }, PRESETS.map((p) => h('button', {
    type: 'button', 'data-range': p, 'aria-pressed': s.range === p || (p === 'Max' && s.range === null && s.from === null && s.to === null) ? 'true' : 'false',
    onclick: () => set({ range: p, from: null, to: null }),
  }, p)));
  const resolved = resolveRange(s, opts.dateMax, opts.dateMin);
  const dateInput = (name: 'from' | 'to', value: string | undefined): HTMLInputElement => h('input', {
    type: 'date', name, 'aria-label': name === 'from' ? 'From date' : 'To date', min: opts.dateMin, max: opts.dateMax, value: value ?? '',
    onchange: (e: Event) => {
      const v = (e.target as HTMLInputElement).value;
      const other = name === 'from' ? resolved.to : resolved.from;
      set({ range: null, from: name === 'from' ? v || null : other ?? null, to: name === 'to' ? v || null : other ?? null });
    },
  });
  const logBox = h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'log', checked: s.log, onchange: (e: Event) => set({ log: (e.target as HTMLInputElement).checked }) }), ' log scale');
  const note = h('small', { class: 'overlay-note', role: 'status' });
  const add = h('input', { type: 'text', name: 'overlay', placeholder: 'Compare with… (symbol)', autocomplete: 'off', size: 14 });
  const addSymbol = (): void => {
    const typed = add.value.trim();
    if (typed === '') return;
    const sym = opts.resolve(typed);
    if (sym === undefined) {
      note.textContent = `no symbol ${typed}`;
      return;
    }
    if (!s.overlays.includes(sym)) set({ overlays: [...s.overlays, sym] });
  };
  add.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); addSymbol(); } });
  const chips = s.overlays.map((o) => h('span', { class: 'chip overlay', 'data-overlay': o }, o, ' ', h('button', { type: 'button', class: 'x', 'aria-label': `Remove ${o}`, onclick: () => set({ overlays: s.overlays.filter((x) => x !== o) }) }, '×')));
  const mode = s.overlays.length === 0 ? null : h('select', { name: 'norm', 'aria-label': 'Overlay scale', onchange: (e: Event) => set({ normalise: (e.target as HTMLSelectElement).value !== 'abs' }) },
    h('option', { value: 'norm', selected: s.normalise }, 'normalised (first point = 100)'), h('option', { value: 'abs', selected: !s.normalise }, 'absolute (USD)'));
  return h('div', { class: 'toolbar chart-controls' },
    presets,
    h('span', { class: 'range' }, dateInput('from', resolved.from ?? opts.dateMin), ' – ', dateInput('to', resolved.to ?? opts.dateMax)),
    logBox,
    h('span', { class: 'overlays' }, add, h('button', { type: 'button', 'data-action': 'add-overlay', onclick: addSymbol }, 'Add'), chips, mode, note));
}
