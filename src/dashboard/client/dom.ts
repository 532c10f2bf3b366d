/** @module dashboard/client/dom
 * The page's tiny DOM toolkit: `h()` to build elements, formatting of numbers, durations and
 * times, and the shared empty / error / badge elements. No framework. */

type Attr = string | number | boolean | null | undefined | ((e: Event) => void);
type Child = Node | string | number | null | undefined | false;

/** An element with attributes (`on…` keys are listeners, `class`/`text` as usual) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, Attr> | null = null, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c !== null && c !== undefined && c !== false) el.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. */
export function mount(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A number with about 4 significant digits (integers ≥ 1000 with separators); '–' when missing. */
export function num(x: unknown): string {
  if (typeof x !== 'number' || !Number.isFinite(x)) return x === null || x === undefined ? '–' : String(x);
  if (Math.abs(x) >= 1000) return Math.round(x).toLocaleString('en-US');
  if (x === 0) return '0';
  return Number(x.toPrecision(4)).toString();
}

/** An axis label: 1.2B, 3.4M, 56k, or the number. */
export function compact(v: number): string {
  return Math.abs(v) >= 1e9 ? `${(v / 1e9).toFixed(1)}B` : Math.abs(v) >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${(v / 1e3).toFixed(0)}k` : String(v);
}

export function int(x: unknown): string {
  return typeof x === 'number' && Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–';
}

/** 0.42 s, 12.3 s, 4 min 05 s, 2 h 03 min. */
export function dur(s: unknown): string {
  if (typeof s !== 'number' || !Number.isFinite(s)) return '–';
  if (s < 10) return `${s.toFixed(2)} s`;
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** '2026-12-01 18:31:07' (UTC) from an ISO time. */
export function when(iso: unknown): string {
  return typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '') : '–';
}

export function badge(text: string, kind = text): HTMLElement {
  return h('span', { class: `badge b-${kind}` }, text);
}

export function empty(title: string, detail?: string): HTMLElement {
  return h('div', { class: 'empty' }, h('strong', null, title), detail ? h('p', null, detail) : null);
}

export function errorBox(err: unknown): HTMLElement {
  const e = err as { code?: string; message?: string; hint?: string | null };
  // The API's hint (what to do) under its message; a failed fetch (the server unreachable) says so in words.
  const unreachable = err instanceof TypeError && !e.code;
  return h('div', { class: 'error', role: 'alert' }, e.code ? h('code', null, e.code) : null, ' ',
    unreachable ? `The server did not answer (${e.message ?? String(err)}): is \`stockpipe serve\` still running?` : (e.message ?? String(err)),
    e.hint ? h('div', { class: 'hint' }, e.hint) : null);
}

/** A table from headers and rows of cells; numeric columns right-aligned. */
export function table(headers: string[], rows: Child[][], opts: { numeric?: number[]; rowAttrs?: (i: number) => Record<string, Attr> } = {}): HTMLElement {
  const numeric = new Set(opts.numeric ?? []);
  return h('div', { class: 'table-wrap' }, h('table', null,
    h('thead', null, h('tr', null, headers.map((x, i) => h('th', numeric.has(i) ? { class: 'n' } : null, x)))),
    h('tbody', null, rows.map((r, ri) => h('tr', opts.rowAttrs?.(ri) ?? null, r.map((c, i) => h('td', numeric.has(i) ? { class: 'n' } : null, c)))))));
}
