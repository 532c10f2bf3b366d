/** @module dashboard/client/views/data-tables
 * The Data view's store section: each table's current snapshot (and the registry's forecasts table) (exact rows, symbols, dates, date
 * range, files, size), its schema with types, a paged preview of its rows (narrowed by symbols and
 * dates; state in the URL: ?preview=<table>&offset=…&symbols=…&from=…&to=…), the downloads with
 * their CLI commands, and the store's snapshots. Fetching is api-export.ts'. */
import { getRows, getSnapshots, getTables, type RowFilter, type SnapshotInfo, type TableInfo } from '../api-export.js';
import { empty, errorBox, h, int, mount, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { isDay } from './chart-controls.js';
import { exportBox } from './export-box.js';
import { resolveSymbols } from './symbols.js';

const PAGE = 25;

const mib = (b: number): string => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(1)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
const cell = (v: unknown): string => (v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v));

function filterOf(q: URLSearchParams): RowFilter {
  const syms = (q.get('symbols') ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const d = (k: string): string | undefined => { const v = q.get(k); return v !== null && isDay(v) ? v : undefined; };
  return { symbols: syms.length > 0 ? syms : undefined, from: d('from'), to: d('to') };
}

/** One table's preview: filter inputs, a page of rows, a pager and the downloads of the filtered rows. */
async function preview(ctx: ViewContext, host: HTMLElement, name: string, typed: RowFilter, offset: number): Promise<void> {
  // Symbols are case-sensitive: `aapl` typed (or in the URL) is the symbol AAPL, a file's `brk.a` itself.
  const f: RowFilter = typed.symbols === undefined ? typed : { ...typed, symbols: await resolveSymbols(typed.symbols) };
  ctx.setQuery({ preview: name, offset: offset > 0 ? String(offset) : null, symbols: f.symbols?.join(',') ?? null, from: f.from ?? null, to: f.to ?? null });
  const again = (nf: RowFilter, off: number): void => { preview(ctx, host, name, nf, off).catch((err: unknown) => { if (!ctx.signal.aborted) mount(host, errorBox(err)); }); };
  const page = await getRows(name, f, offset, PAGE, ctx.signal);
  const symbols = h('input', { type: 'text', name: 'symbols', placeholder: 'symbols, e.g. AAPL,MSFT', value: f.symbols?.join(',') ?? '', size: 18 });
  const from = h('input', { type: 'date', name: 'from', 'aria-label': 'From date', value: f.from ?? '' });
  const to = h('input', { type: 'date', name: 'to', 'aria-label': 'To date', value: f.to ?? '' });
  const apply = (): void => {
    const syms = symbols.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    again({ symbols: syms.length > 0 ? syms : undefined, from: from.value || undefined, to: to.value || undefined }, 0);
  };
  symbols.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply(); });
  const last = Math.min(page.total, offset + page.rows.length);
  mount(host,
    h('div', { class: 'filter-row' }, symbols, from, ' – ', to, h('button', { type: 'button', 'data-action': 'filter', onclick: apply }, 'Filter')),
    page.rows.length === 0 ? empty('No rows', f.symbols || f.from || f.to ? 'Nothing matches this filter.' : `The ${name} table is empty.`)
      : table(page.columns.map((c) => c.name), page.rows.map((r) => r.map(cell)), { numeric: page.columns.map((c, i) => (/INT|DOUBLE|FLOAT|DECIMAL/.test(c.type) ? i : -1)).filter((i) => i >= 0) }),
    h('div', { class: 'pager' },
      h('button', { type: 'button', 'data-action': 'prev', disabled: offset === 0, onclick: () => again(f, Math.max(0, offset - PAGE)) }, '← Prev'),
      h('span', { class: 'meta', 'data-rows': `${offset + 1}-${last}` }, page.total === 0 ? '0 rows' : `rows ${int(offset + 1)}–${int(last)} of ${int(page.total)} (${name === 'forecasts' ? 'symbol, target day, model order: a registry table, without snapshots' : `Symbol, Date order; snapshot ${page.snapshot_id}`})`),
      h('button', { type: 'button', 'data-action': 'next', disabled: last >= page.total, onclick: () => again(f, offset + PAGE) }, 'Next →')),
    // No rows: no download (the server answers a filter that matches nothing with a 404 the browser did not show).
    page.total === 0 ? h('p', { class: 'meta', 'data-export-none': name }, `Nothing to download: ${f.symbols || f.from || f.to ? 'no rows match this filter' : `the ${name} table is empty`}.`)
      : exportBox(name, f, f.symbols || f.from || f.to ? `these ${int(page.total)} ${name} rows` : `the whole ${name} table (${int(page.total)} rows)`));
  host.dataset.offset = String(offset);
}

function tableCard(ctx: ViewContext, t: TableInfo, open: boolean): HTMLElement {
  if (t.snapshot === null && t.source !== 'registry') return h('div', { class: 'card table-card', 'data-table': t.table }, h('h2', null, t.table), empty('Not built yet', t.table === 'prices' ? 'Run `stockpipe ingest`.' : 'Run `stockpipe features` (`--extended` adds the day-ahead columns).'));
  const cols = t.columns ?? [];
  const host = h('div', { class: 'preview', 'data-preview': t.table });
  const start = (): void => {
    const q = ctx.query.get('preview') === t.table ? ctx.query : new URLSearchParams();
    const offset = Math.max(0, Number.parseInt(q.get('offset') ?? '0', 10) || 0);
    preview(ctx, host, t.table, filterOf(q), offset).catch((err: unknown) => { if (!ctx.signal.aborted) mount(host, errorBox(err)); });
  };
  const card = h('div', { class: 'card table-card', 'data-table': t.table },
    h('h2', null, t.table, ' ', h('small', null, t.snapshot === null ? 'in the registry (stockpipe.db): no snapshots' : `snapshot ${t.snapshot.id} · ${t.snapshot.operation} · ${when(t.snapshot.created_at)}`)),
    h('p', { class: 'meta' }, `${int(t.rows)} rows · ${int(t.symbols)} symbols (exact) · ${int(t.dates)} ${t.source === 'registry' ? 'target days' : 'trading days'}${t.date_min === null || t.date_max === null ? '' : ` ${t.date_min} … ${t.date_max}`} · ${cols.length} columns`,
      t.snapshot === null ? '' : ` · ${int(t.snapshot.files)} files, ${mib(t.snapshot.bytes)}`),
    h('details', { class: 'schema', 'data-schema': t.table }, h('summary', null, `Schema (${cols.length} columns with types)`),
      table(['#', 'Column', 'Type'], cols.map((c, i) => [String(i + 1), h('code', null, c.name), c.type]), { numeric: [0] })),
    h('div', null, h('button', { type: 'button', 'data-action': 'preview', 'data-table': t.table, onclick: start }, 'Preview rows')),
    host);
  if (open) start();
  return card;
}

/** Whether a snapshot can still be read (`--as-of`, an export), as `stockpipe snapshots` says it: a vacuumed one cannot. */
export function readableText(s: Pick<SnapshotInfo, 'readable' | 'missing_file'>): string {
  if (s.readable !== false) return 'yes';
  return s.missing_file == null ? 'no (vacuumed)' : 'no (file missing)';
}

/** The store section of the Data view (tables, then snapshots); resolves with the tables for the report's exact counts. */
export async function tablesSection(ctx: ViewContext): Promise<{ el: HTMLElement; tables: TableInfo[] }> {
  const [{ tables }, { snapshots }] = await Promise.all([getTables(ctx.signal), getSnapshots(ctx.signal)]);
  const openOne = ctx.query.get('preview');
  const el = h('section', { class: 'data-tables' },
    h('h2', null, 'Tables in the store'),
    h('p', { class: 'meta' }, 'Counts are exact. `features` holds the prices columns, both rolling features and, when built with `features --extended`, the lagged day-ahead columns; `forecasts` (the day-ahead forecasts) lives in the registry, by symbol and target day.'),
    tables.map((t) => tableCard(ctx, t, openOne === t.table)),
    h('h2', null, 'Snapshots'),
    snapshots.length === 0 ? empty('No snapshots yet', 'Run `stockpipe ingest`.')
      : table(['ID', 'Table', 'Created', 'Operation', 'Rows', 'Files', 'Parent', 'Readable'], snapshots.map((s) => [String(s.id), s.table, when(s.created_at), s.operation, int(s.rows), int(s.files), s.parent_id === null ? '–' : String(s.parent_id),
        s.readable === false ? h('span', { class: 'warn', 'data-unreadable': String(s.id), title: s.missing_file ?? 'vacuum deleted a file it needs' }, readableText(s)) : readableText(s)]), { numeric: [0, 4, 5, 6] }),
    h('p', { class: 'meta' }, 'A readable snapshot can be read or exported as it was (vacuum deletes the files of the others): ', h('code', { class: 'cli' }, 'stockpipe export prices --as-of <ID> --out prices.parquet')));
  return { el, tables };
}
