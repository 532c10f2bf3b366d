/** @module dashboard/client/main
 * The dashboard page: hash routes (#/runs, #/runs/<id>, #/models, #/studies[/<id>], #/symbols/<SYM>, #/data,
 * #/monitoring, #/try, #/lineage[/model|run|snapshot/<id>]) → one view at a time. Each view gets a
 * context whose signal aborts (and whose timers stop) when the route changes. The views live in views/. */
import { errorBox, h, mount } from './dom.js';
import { parseHash as parseHashOf } from './hash.js';
import { dataView } from './views/data.js';
import { lineageView } from './views/lineage.js';
import { modelsView } from './views/models.js';
import { monitoringView } from './views/monitoring.js';
import { runsView } from './views/runs.js';
import { studiesView } from './views/studies.js';
import { symbolsView } from './views/symbols.js';
import { tryView } from './views/try.js';

export interface ViewContext {
  el: HTMLElement;
  /** Path segments after the view name (decoded). */
  params: string[];
  query: URLSearchParams;
  signal: AbortSignal;
  /** Runs `fn` every `ms` until the route changes (one call at a time). */
  every(ms: number, fn: () => Promise<void> | void): void;
  /** Updates the hash's query without re-rendering (view state in the URL). */
  setQuery(values: Record<string, string | null>): void;
  /** Marks the view as rendered with its data (tests and the load timing wait for it). */
  ready(): void;
}

type View = (ctx: ViewContext) => Promise<void>;

const VIEWS: [string, string, View][] = [
  ['runs', 'Runs', runsView],
  ['models', 'Models', modelsView],
  ['studies', 'Studies', studiesView],
  ['symbols', 'Symbols', symbolsView],
  ['data', 'Data', dataView],
  ['monitoring', 'Monitoring', monitoringView],
  ['try', 'Try it', tryView],
  ['lineage', 'Lineage', lineageView],
];

const main = h('main', { id: 'view', 'aria-live': 'polite' });
const links = VIEWS.map(([name, label]) => h('a', { href: `#/${name}`, 'data-view': name }, label));
// Shown while the server does not answer a view's refresh: the page still shows what it last read.
const offline = h('div', { class: 'offline', role: 'status', hidden: true }, 'The server is not answering: this page shows what it last read and tries again every few seconds.');
document.body.append(h('header', null, h('a', { class: 'brand', href: '#/runs' }, 'stockpipe'), h('nav', null, links)), offline, main);

/** A fetch the server did not answer (connection refused, server gone): fetch rejects with a TypeError. */
const unreachable = (err: unknown): boolean => err instanceof TypeError;
const RETRY_MS = 5000;

let current: AbortController | null = null;
let firstReady = false;

const parseHash = (): ReturnType<typeof parseHashOf> => parseHashOf(location.hash);

function route(): void {
  current?.abort();
  const ctrl = new AbortController();
  current = ctrl;
  const { name, params, query } = parseHash();
  const entry = VIEWS.find(([n]) => n === name) ?? VIEWS[0]!;
  for (const a of links) a.classList.toggle('active', a.dataset.view === entry[0]);
  const el = h('section', { class: `view view-${entry[0]}`, 'data-state': 'loading' });
  mount(main, el);
  document.title = `${entry[1]} · stockpipe`;
  const ctx: ViewContext = {
    el, params, query, signal: ctrl.signal,
    every(ms, fn) {
      let busy = false;
      const t = setInterval(() => {
        if (busy || ctrl.signal.aborted) return;
        busy = true;
        // A failed refresh keeps the view as it was (the view shows its own errors); the next tick
        // retries. The banner says when the server itself does not answer, until a refresh succeeds.
        Promise.resolve(fn()).then(() => { offline.hidden = true; }, (err: unknown) => { if (unreachable(err)) offline.hidden = false; }).finally(() => { busy = false; });
      }, ms);
      ctrl.signal.addEventListener('abort', () => clearInterval(t));
    },
    setQuery(values) {
      const { name: n, params: p, query: q } = parseHash();
      for (const [k, v] of Object.entries(values)) if (v === null || v === '') q.delete(k); else q.set(k, v);
      const s = q.toString();
      history.replaceState(null, '', `#/${[n, ...p].map(encodeURIComponent).join('/')}${s ? `?${s}` : ''}`);
    },
    ready() {
      if (ctrl.signal.aborted) return;
      el.dataset.state = 'ready';
      if (!firstReady) {
        firstReady = true;
        performance.mark('sp-first-view');
        (window as unknown as { __spFirstView: number }).__spFirstView = performance.now();
      }
    },
  };
  entry[2](ctx).then(() => { offline.hidden = true; }, (err: unknown) => {
    if (ctrl.signal.aborted) return;
    el.append(errorBox(err));
    el.dataset.state = 'error';
    // The server did not answer: load the view again until it does (or another view is opened).
    if (unreachable(err)) {
      offline.hidden = false;
      const t = setTimeout(() => { if (!ctrl.signal.aborted) route(); }, RETRY_MS);
      ctrl.signal.addEventListener('abort', () => clearTimeout(t));
    }
  });
}

window.addEventListener('hashchange', route);
if (location.hash === '') history.replaceState(null, '', '#/runs');
route();
