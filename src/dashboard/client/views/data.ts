/** @module dashboard/client/views/data
 * #/data: the store's tables (schema, exact counts, row previews, downloads) and snapshots
 * (data-tables.ts), then the latest validation report (status, anomalies grouped by severity,
 * per-column statistics) and the reference schema and statistics. Rendered generically: missing
 * fields are shown as '–', unknown shapes as JSON. The report's distinct counts are HyperLogLog
 * estimates (validate keeps it fast at 28M rows): labelled ≈, with the exact symbol and date
 * counts of the same profile (its symbols and dates sections) next to them. */
import { getJson } from '../api.js';
import { badge, empty, errorBox, h, int, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { tablesSection } from './data-tables.js';

type Obj = Record<string, unknown>;
const SEVERITIES = ['error', 'warning', 'info'];
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string => (x === null || x === undefined ? '–' : typeof x === 'object' ? JSON.stringify(x) : String(x));

/** Every quantile, wrapping inside its cell (one long line was cut off at the table's edge). */
function quantiles(q: unknown): HTMLElement | string {
  return isObj(q) ? h('div', { class: 'quantiles' }, Object.entries(q).map(([k, v]) => h('span', null, `${k} ${num(v)}`))) : '–';
}

/** A min or max: numbers as num(), long text clipped (the whole value in its title) so the row fits. */
function bound(v: unknown): HTMLElement | string {
  return typeof v === 'string' && v.length > 24 ? h('span', { class: 'clip', title: v }, v) : num(v);
}

/** A distinct count: the estimate marked ≈, plus the exact count when the table summary has it. */
function distinct(c: Obj, exact: Map<string, number>): HTMLElement | string {
  if (typeof c.distinct !== 'number') return '–';
  const e = exact.get(str(c.name));
  return h('span', { 'data-distinct': str(c.name) }, `≈${int(c.distinct)}`, e === undefined ? null : h('small', null, ` · exact ${int(e)}`));
}

/** Column statistics: an array of {name, type, null_rate, …}, or an object keyed by column name. */
function columnsTable(cols: unknown, exact: Map<string, number> = new Map()): HTMLElement | null {
  const list: Obj[] = Array.isArray(cols) ? cols.filter(isObj) : isObj(cols) ? Object.entries(cols).map(([name, v]): Obj => ({ name, ...(isObj(v) ? v : { type: v }) })) : [];
  if (list.length === 0) return null;
  return table(['Column', 'Type', 'Null rate', 'Min', 'Max', 'Mean', 'Distinct (≈ estimate)', 'Quantiles'], list.map((c) => [
    h('code', null, str(c.name)), str(c.type), typeof c.null_rate === 'number' ? `${(c.null_rate * 100).toFixed(2)} %` : '–',
    bound(c.min), bound(c.max), num(c.mean), distinct(c, exact), quantiles(c.quantiles),
  ]), { numeric: [2, 3, 4, 5, 6] });
}

export async function dataView(ctx: ViewContext): Promise<void> {
  const [v, store] = await Promise.all([getJson<{ report: unknown; reference: unknown; errors?: string[] }>('/validation', ctx.signal), tablesSection(ctx)]);
  const parts: (HTMLElement | null)[] = [h('h1', null, 'Data'), store.el];
  /** Exact Symbol and Date counts of the profiled data (its symbols and dates sections; the columns' are estimates). */
  const exactOf = (p: Obj): Map<string, number> => {
    const out = new Map<string, number>();
    if (isObj(p.symbols) && typeof p.symbols.count === 'number') out.set('Symbol', p.symbols.count);
    if (isObj(p.dates) && typeof p.dates.count === 'number') out.set('Date', p.dates.count);
    return out;
  };
  for (const e of v.errors ?? []) parts.push(errorBox({ message: e }));
  const r = isObj(v.report) ? v.report : null;
  if (r === null) {
    parts.push(empty('No validation report yet', 'Run `stockpipe validate` (the pipeline runs it after ingest); its report appears here.'));
  } else {
    const anomalies = Array.isArray(r.anomalies) ? r.anomalies.filter(isObj) : [];
    const summary = isObj(r.summary) ? r.summary : Object.fromEntries(SEVERITIES.map((s) => [s, anomalies.filter((a) => a.severity === s).length]));
    parts.push(h('div', { class: 'card' },
      h('h2', null, 'Latest validation ', badge(str(r.status), `v-${str(r.status)}`)),
      h('p', { class: 'meta' }, `${str(r.table)} · ${int(r.rows)} rows · ${when(r.created_at)} · reference ${str(r.reference_version)}`),
      h('div', { class: 'counts' }, SEVERITIES.map((s) => h('span', { class: `chip sev-${s}` }, `${int(summary[s] ?? 0)} ${s}`)))));
    const known = new Set(SEVERITIES);
    const groups = [...SEVERITIES, ...new Set(anomalies.map((a) => str(a.severity)).filter((s) => !known.has(s)))];
    if (anomalies.length === 0) parts.push(empty('No anomalies', 'Every check passed.'));
    for (const sev of groups) {
      const rows = anomalies.filter((a) => str(a.severity) === sev);
      if (rows.length === 0) continue;
      parts.push(h('h2', null, badge(sev, `sev-${sev}`), ` ${rows.length} ${sev}${rows.length === 1 ? '' : 's'}`),
        table(['Code', 'Column', 'Detail', 'Count'], rows.map((a) => [h('code', null, str(a.code)), str(a.column), str(a.detail), int(a.count)]), { numeric: [3] }));
    }
    const cols = columnsTable(r.columns, exactOf(r));
    if (cols) parts.push(h('h2', null, 'Statistics of this data'), h('p', { class: 'meta' }, 'Distinct counts are HyperLogLog estimates (≈: within a few percent on columns with thousands of values, up to about 10% off on columns with a few dozen); Symbol and Date also show their exact counts, from the same data’s symbol and date lists.'), cols);
  }
  const ref = isObj(v.reference) ? v.reference : null;
  parts.push(h('h2', null, 'Reference schema and statistics'));
  if (ref === null) parts.push(empty('No reference yet', 'The first validated data becomes the reference.'));
  else {
    const cols = columnsTable(ref.columns ?? ref.schema, exactOf(ref));
    parts.push(h('p', { class: 'meta' }, `version ${str(ref.version ?? ref.reference_version)} · ${when(ref.created_at)} · ${int(ref.rows)} rows`));
    if (cols) parts.push(cols);
    parts.push(h('details', null, h('summary', null, 'raw JSON'), h('pre', null, JSON.stringify(ref, null, 2))));
  }
  mount(ctx.el, parts);
  ctx.ready();
}
