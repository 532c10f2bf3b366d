/** @module dashboard/client/views/data
 * #/data: the latest validation report (status, anomalies grouped by severity, per-column
 * statistics) and the reference schema and statistics. Rendered generically: missing fields are
 * shown as '–', unknown shapes as JSON. */
import { getJson } from '../api.js';
import { badge, empty, errorBox, h, int, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';

type Obj = Record<string, unknown>;
const SEVERITIES = ['error', 'warning', 'info'];
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);
const str = (x: unknown): string => (x === null || x === undefined ? '–' : typeof x === 'object' ? JSON.stringify(x) : String(x));

function quantiles(q: unknown): string {
  return isObj(q) ? Object.entries(q).map(([k, v]) => `${k}: ${num(v)}`).join(' · ') : '–';
}

/** Column statistics: an array of {name, type, null_rate, …}, or an object keyed by column name. */
function columnsTable(cols: unknown): HTMLElement | null {
  const list: Obj[] = Array.isArray(cols) ? cols.filter(isObj) : isObj(cols) ? Object.entries(cols).map(([name, v]): Obj => ({ name, ...(isObj(v) ? v : { type: v }) })) : [];
  if (list.length === 0) return null;
  return table(['Column', 'Type', 'Null rate', 'Min', 'Max', 'Mean', 'Distinct', 'Quantiles'], list.map((c) => [
    h('code', null, str(c.name)), str(c.type), typeof c.null_rate === 'number' ? `${(c.null_rate * 100).toFixed(2)} %` : '–',
    num(c.min), num(c.max), num(c.mean), int(c.distinct), quantiles(c.quantiles),
  ]), { numeric: [2, 3, 4, 5, 6] });
}

export async function dataView(ctx: ViewContext): Promise<void> {
  const v = await getJson<{ report: unknown; reference: unknown; errors?: string[] }>('/validation', ctx.signal);
  const parts: (HTMLElement | null)[] = [h('h1', null, 'Data')];
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
    const cols = columnsTable(r.columns);
    if (cols) parts.push(h('h2', null, 'Statistics of this data'), cols);
  }
  const ref = isObj(v.reference) ? v.reference : null;
  parts.push(h('h2', null, 'Reference schema and statistics'));
  if (ref === null) parts.push(empty('No reference yet', 'The first validated data becomes the reference.'));
  else {
    const cols = columnsTable(ref.columns ?? ref.schema);
    parts.push(h('p', { class: 'meta' }, `version ${str(ref.version ?? ref.reference_version)} · ${when(ref.created_at)} · ${int(ref.rows)} rows`));
    if (cols) parts.push(cols);
    parts.push(h('details', null, h('summary', null, 'raw JSON'), h('pre', null, JSON.stringify(ref, null, 2))));
  }
  mount(ctx.el, parts);
  ctx.ready();
}
