/** @module dashboard/client/views/symbols
 * #/symbols and #/symbols/<SYM>: search among every symbol (the list is fetched once and
 * filtered in the page: prefix matches first, then symbol or name containing the text), and the
 * chosen symbol's charts (chart.ts) with their controls (chart-controls.ts: range, log scale,
 * overlaid symbols; state in the URL) and the charted rows' downloads (export-box.ts) with the
 * predicted volume's (predictions-box.ts). */
import { getJson, type Series, type SymbolInfo } from '../api.js';
import { empty, errorBox, h, int, mount } from '../dom.js';
import type { ViewContext } from '../main.js';
import { drawCharts } from './chart.js';
import { type ChartState, chartToolbar, parseState, resolveRange, stateQuery } from './chart-controls.js';
import { exportBox } from './export-box.js';
import { predictionsBox } from './predictions-box.js';

const SHOWN = 50;
let cache: Promise<SymbolInfo[]> | null = null;

function symbols(): Promise<SymbolInfo[]> {
  cache ??= getJson<{ symbols: SymbolInfo[] }>('/symbols').then((r) => r.symbols, (err: unknown) => {
    cache = null;
    throw err;
  });
  return cache;
}

/** The symbols matching `q` (any case): symbol prefix first, then symbol or name containing it. */
export function search(list: readonly SymbolInfo[], q: string, limit = SHOWN): SymbolInfo[] {
  const u = q.trim().toUpperCase();
  if (u === '') return list.slice(0, limit);
  const l = u.toLowerCase();
  const first: SymbolInfo[] = [];
  const rest: SymbolInfo[] = [];
  for (const s of list) {
    const sym = s.symbol.toUpperCase();
    if (sym.startsWith(u)) first.push(s);
    else if (rest.length < limit && (sym.includes(u) || (s.name !== null && s.name.toLowerCase().includes(l)))) rest.push(s);
  }
  return [...first, ...rest].slice(0, limit);
}

/** The symbols typed names are (findSymbol: exact, else equal ignoring case), in order, once each; a
 * name no symbol is stays as typed (the server then says it has no such symbol). */
export function resolveNames(list: readonly SymbolInfo[], names: readonly string[]): string[] {
  return [...new Set(names.map((n) => findSymbol(list, n)?.symbol ?? n))];
}

/** The symbols typed names are, from the list of every symbol (fetched once). */
export async function resolveSymbols(names: readonly string[]): Promise<string[]> {
  return resolveNames(await symbols(), names);
}

/** The symbol a URL names: that exact one (symbols are case-sensitive: a file `aapl.csv` is `aapl`), else
 * the one equal to it ignoring case (#/symbols/aapl opens AAPL). */
export function findSymbol(list: readonly SymbolInfo[], name: string): SymbolInfo | undefined {
  const u = name.toUpperCase();
  return list.find((x) => x.symbol === name) ?? list.find((x) => x.symbol.toUpperCase() === u);
}

export async function symbolsView(ctx: ViewContext): Promise<void> {
  const list = await symbols();
  const chosen = ctx.params[0];
  const input = h('input', { type: 'search', id: 'symbol-search', role: 'combobox', 'aria-expanded': 'false', 'aria-controls': 'symbol-options', 'aria-autocomplete': 'list',
    placeholder: `Search ${int(list.length)} symbols`, autocomplete: 'off', value: chosen ?? '' });
  const box = h('ul', { id: 'symbol-options', role: 'listbox', class: 'listbox', hidden: true });
  const info = h('div', { class: 'meta' });
  const charts = h('div', { class: 'charts' });
  mount(ctx.el, h('h1', null, 'Symbol explorer'), h('div', { class: 'search' }, input, box), info, charts);
  let matches: SymbolInfo[] = [];
  let active = 0;
  const go = (sym: string): void => { location.hash = `#/symbols/${encodeURIComponent(sym)}`; };
  const renderBox = (): void => {
    matches = search(list, input.value);
    active = Math.min(active, Math.max(0, matches.length - 1));
    mount(box, matches.length === 0 ? h('li', { class: 'none' }, 'no match') : matches.map((s, i) => h('li', {
      role: 'option', id: `opt-${i}`, 'data-symbol': s.symbol, 'aria-selected': i === active ? 'true' : 'false',
      onmousedown: (e: Event) => { e.preventDefault(); go(s.symbol); },
    }, h('b', null, s.symbol), ' ', h('span', null, s.name ?? ''), h('small', null, ` ${s.asset ?? ''}`))));
    box.hidden = false;
    input.setAttribute('aria-expanded', 'true');
    input.setAttribute('aria-activedescendant', `opt-${active}`);
  };
  input.addEventListener('input', () => { active = 0; renderBox(); });
  input.addEventListener('focus', renderBox);
  input.addEventListener('blur', () => { box.hidden = true; input.setAttribute('aria-expanded', 'false'); });
  input.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = Math.max(0, Math.min(matches.length - 1, active + (e.key === 'ArrowDown' ? 1 : -1)));
      renderBox();
    } else if (e.key === 'Enter' && matches[active]) go(matches[active]!.symbol);
    else if (e.key === 'Escape') input.blur();
  });

  if (list.length === 0) {
    mount(charts, empty('No symbols yet', 'Run `stockpipe fetch`, `ingest` and `features` first.'));
    ctx.ready();
    return;
  }
  if (chosen === undefined) {
    mount(charts, empty('Choose a symbol', `Type a symbol or a company name; ${int(list.length)} symbols from ${list[0]!.symbol} to ${list[list.length - 1]!.symbol}.`));
    ctx.ready();
    return;
  }
  const s = findSymbol(list, chosen);
  if (s === undefined) {
    mount(charts, empty(`No symbol ${chosen}`, 'Search for another one above.'));
    ctx.ready();
    return;
  }
  const points = Math.min(1500, Math.max(300, Math.round(charts.clientWidth * 2)));
  const controls = h('div', { class: 'controls' });
  const exportHost = h('div');
  ctx.el.insertBefore(controls, charts);
  ctx.el.append(exportHost);
  let destroy = (): void => {};
  ctx.signal.addEventListener('abort', () => destroy());
  let drawn = 0;
  const draw = async (state: ChartState): Promise<void> => {
    const mine = ++drawn;
    ctx.setQuery(stateQuery(state));
    mount(controls, chartToolbar(state, {
      resolve: (name) => findSymbol(list, name)?.symbol, dateMin: s.date_min, dateMax: s.date_max,
      onChange: (next) => { draw(next).catch((err: unknown) => { if (!ctx.signal.aborted) mount(charts, errorBox(err)); }); },
    }));
    const range = resolveRange(state, s.date_max, s.date_min);
    // The URL's overlays as written (a hand-typed `vs=msft`): each is the symbol findSymbol resolves it to.
    const overlays = [...new Set(state.overlays.flatMap((o) => findSymbol(list, o)?.symbol ?? []))].filter((o) => o !== s.symbol);
    const unknown = state.overlays.filter((o) => findSymbol(list, o) === undefined);
    const q = new URLSearchParams({ points: String(points) });
    if (range.from !== undefined) q.set('from', range.from);
    if (range.to !== undefined) q.set('to', range.to);
    const [series, ...others] = await Promise.all([s.symbol, ...overlays].map((sym) => getJson<Series>(`/symbols/${encodeURIComponent(sym)}/series?${q}`, ctx.signal)));
    if (mine !== drawn || ctx.signal.aborted) return;
    destroy();
    destroy = () => {};
    const shownRange = range.from === undefined && range.to === undefined ? `${s.date_min} … ${s.date_max}` : `${range.from ?? s.date_min} … ${range.to ?? s.date_max}`;
    const hiddenNote = h('span', { class: 'log-note' });
    mount(info, h('strong', null, s.symbol), ` ${s.name ?? ''} · ${s.asset ?? ''} · ${int(s.rows)} rows ${s.date_min} … ${s.date_max}`,
      ` · showing ${shownRange}: ${int(series!.rows)} rows`,
      series!.downsampled ? `, ${int(series!.points)} points (downsampled on the server; zoom for detail)` : '',
      ` · predictions by ${series!.model_id ?? 'no champion'}`, series!.forecast_model_id ? ` · forecasts by ${series!.forecast_model_id}` : ' · no forecasts yet', hiddenNote,
      unknown.length > 0 ? h('span', { class: 'overlay-note' }, ` · no symbol ${unknown.join(', ')} (not overlaid)`) : null);
    if (series!.rows === 0) mount(charts, empty('No rows in this range', `${s.symbol} has bars from ${s.date_min} to ${s.date_max}.`));
    else {
      destroy = drawCharts(charts, series!, ctx.signal, {
        log: state.log, overlays: others, normalise: state.normalise,
        onHidden: (n) => { hiddenNote.textContent = n > 0 ? ` · ${int(n)} values ≤ 0 not drawn on the log scale` : ''; },
      });
    }
    charts.dataset.drawn = String(mine);
    mount(exportHost, exportBox('features', { symbols: [s.symbol, ...overlays], from: range.from, to: range.to }, `the charted rows of ${[s.symbol, ...overlays].join(', ')} (features table, every row of the range)`),
      series!.model_id === null ? null : predictionsBox(series!.model_id, { symbols: [s.symbol], from: range.from, to: range.to }, `the predicted volume of ${s.symbol} by ${series!.model_id} (every row of the range, as GET /predict answers)`));
  };
  await draw(parseState(ctx.query, s.symbol));
  ctx.ready();
}
