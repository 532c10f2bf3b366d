/** @module dashboard/client/views/lineage
 * #/lineage/model/<id>, #/lineage/run/<id>, #/lineage/snapshot/<id>: the lineage chain with a link at
 * every step both ways — model → training run → features snapshot → prices snapshot → source manifest
 * and ingest run; a snapshot → its writer, readers, derived snapshots and the models trained on it; a
 * run → what it read and wrote. #/lineage alone: the models, each a way in. Read-only (api-lineage). */
import { getJson } from '../api.js';
import { getModelLineage, getRunLineage, getSnapshotLineage, type RunRef, type SnapshotRef, type SourceNode } from '../api-lineage.js';
import { badge, empty, h, int, mount, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';

const FILES = 50;
const enc = encodeURIComponent;
const modelLink = (id: string): HTMLElement => h('a', { href: `#/lineage/model/${enc(id)}`, class: 'ln-model', 'data-model': id }, h('code', null, id));
const runLink = (r: RunRef | null): HTMLElement | string => (r === null ? 'not recorded' : h('span', null, h('a', { href: `#/lineage/run/${enc(r.run_id)}`, class: 'ln-run', 'data-run': r.run_id }, `${r.kind} run `, h('code', null, r.run_id.slice(0, 12))), ' ', badge(r.status), h('small', null, ` ${when(r.started_at)}`)));
const snapLink = (s: SnapshotRef): HTMLElement => h('a', { href: `#/lineage/snapshot/${s.id}`, class: 'ln-snapshot', 'data-snapshot': s.id }, `${s.table} snapshot ${s.id}`);
const snapMeta = (s: SnapshotRef): HTMLElement => h('small', null, ` ${s.operation}, ${int(s.rows)} rows, ${s.files} files, ${when(s.created_at)}`);
/** A file path that a narrow table may break after each `/` or `_`, not inside a name (the column keeps whole words: style.css). */
const pathText = (path: string): HTMLElement => h('span', null, path.split(/(?<=[/_])/).flatMap((part, i) => (i === 0 ? [part] : [h('wbr'), part])));

/** One step of the chain: a title, what it is, and its links. */
function step(kind: string, title: string, ...body: (Node | string | null)[]): HTMLElement {
  return h('li', { class: `ln-step ln-${kind}` }, h('h3', null, title), ...body);
}

function sourceStep(s: SourceNode | null): HTMLElement {
  if (s === null) return step('source', 'Source manifest', empty('Not recorded', 'This snapshot was written before runs recorded their source manifest.'));
  return step('source', 'Source manifest',
    h('p', null, h('code', null, s.source ?? '?'), ` ${s.source_spec ?? ''} at `, h('code', null, s.root ?? '?'), s.fetched_at ? ` · fetched ${when(s.fetched_at)}` : ''),
    h('p', { class: 'meta' }, s.manifest_hash === null ? 'manifest not recorded' : `${s.path} · sha256 ${s.manifest_hash.slice(0, 16)}… · ${int(s.files_total)} files · ${int(s.bytes)} bytes`),
    h('p', null, 'Ingested by ', runLink(s.ingest_run)),
    s.files.length === 0 ? null : table(['File', 'Bytes', 'Rows', 'sha256'], s.files.map((f) => [pathText(f.path), int(f.size), int(f.rows), f.sha256 === null ? '–' : h('code', null, f.sha256.slice(0, 16))]), { numeric: [1, 2] }),
    s.files_total !== null && s.files_total > s.files.length ? h('p', { class: 'meta' }, `… and ${int(s.files_total - s.files.length)} more`) : null);
}

async function modelPage(ctx: ViewContext, id: string): Promise<void> {
  const d = await getModelLineage(id, FILES, ctx.signal);
  const m = d.model;
  mount(ctx.el,
    h('h1', null, h('a', { href: '#/lineage' }, 'Lineage'), ' / model ', h('code', null, m.id)),
    d.missing.length ? h('p', { class: 'error' }, `Unresolved: ${d.missing.join(', ')}`) : h('p', { class: 'meta ln-complete' }, 'Every step resolves: model → run → features → prices → source manifest.'),
    h('ol', { class: 'ln-chain' },
      step('model', 'Model', h('p', null, h('code', null, m.id), ` ${m.kind} `, ...m.aliases.map((a) => badge(a, 'alias')), h('small', null, ` ${when(m.created_at)}`)), m.data_hash ? h('p', { class: 'meta' }, `data hash ${m.data_hash.slice(0, 16)}…`) : null),
      step('run', 'Training run', h('p', null, runLink(d.run)), d.run === null ? null : table(['Param', 'Value'], Object.entries(d.run.params).map(([k, v]) => [h('code', null, k), v ?? '']))),
      step('features', 'Features snapshot', d.features_snapshot === null ? 'not recorded' : h('p', null, snapLink(d.features_snapshot), snapMeta(d.features_snapshot), h('br'), 'written by ', runLink(d.features_snapshot.written_by))),
      step('prices', 'Prices snapshot', d.prices_snapshot === null ? 'not recorded' : h('p', null, snapLink(d.prices_snapshot), snapMeta(d.prices_snapshot), h('br'), 'written by ', runLink(d.prices_snapshot.written_by))),
      sourceStep(d.source)));
}

async function snapshotPage(ctx: ViewContext, id: string): Promise<void> {
  const d = await getSnapshotLineage(id, FILES, ctx.signal);
  const s = d.snapshot;
  mount(ctx.el,
    h('h1', null, h('a', { href: '#/lineage' }, 'Lineage'), ` / ${s.table} snapshot ${s.id}`),
    h('p', { class: 'meta' }, snapMeta(s), d.parent ? h('span', null, ' · previous ', snapLink(d.parent)) : null),
    h('ol', { class: 'ln-chain' },
      step('writer', 'Written by', h('p', null, runLink(s.written_by))),
      d.built_from ? step('from', 'Built from', h('p', null, snapLink(d.built_from), snapMeta(d.built_from))) : null,
      d.derived.length ? step('derived', 'Derived snapshots', h('ul', null, d.derived.map((x) => h('li', null, snapLink(x), snapMeta(x))))) : null,
      step('models', 'Models trained on it', d.models.length === 0 ? empty('None yet') : h('ul', { class: 'ln-models' }, d.models.map((m) => h('li', null, modelLink(m.id), ` ${m.kind} `, ...m.aliases.map((a) => badge(a, 'alias')), m.via === 'prices' && m.features_snapshot !== null ? h('small', null, ' through features snapshot ', h('a', { href: `#/lineage/snapshot/${m.features_snapshot}` }, String(m.features_snapshot))) : null)))),
      step('readers', 'Read by', d.read_by.length === 0 ? 'no recorded run' : h('ul', null, d.read_by.map((r) => h('li', null, runLink(r))))),
      s.table === 'prices' ? sourceStep(d.source) : null));
}

async function runPage(ctx: ViewContext, id: string): Promise<void> {
  const d = await getRunLineage(id, FILES, ctx.signal);
  const r = d.run;
  const list = (xs: SnapshotRef[]): HTMLElement | string => (xs.length === 0 ? 'none' : h('ul', null, xs.map((x) => h('li', null, snapLink(x), snapMeta(x)))));
  mount(ctx.el,
    h('h1', null, h('a', { href: '#/lineage' }, 'Lineage'), ` / ${r.kind} run `, h('code', null, r.run_id.slice(0, 12))),
    h('p', { class: 'meta' }, r.name ?? '', ' ', badge(r.status), ` ${when(r.started_at)}`, r.kind === 'pipeline' ? h('span', null, ' · ', h('a', { href: `#/runs/${enc(r.run_id)}` }, 'task graph')) : null),
    r.error ? h('p', { class: 'error' }, r.error) : null,
    h('ol', { class: 'ln-chain' },
      d.parent ? step('parent', 'Part of', h('p', null, runLink(d.parent))) : null,
      step('read', 'Read', list(d.read)),
      step('wrote', 'Wrote', list(d.wrote)),
      d.models.length ? step('models', 'Registered models', h('ul', null, d.models.map((m) => h('li', null, modelLink(m.id), ` ${m.kind}`)))) : null,
      d.children.length ? step('children', 'Child runs', h('ul', null, d.children.map((c) => h('li', null, runLink(c), c.name ? h('small', null, ` ${c.name}`) : null)))) : null,
      d.source ? sourceStep(d.source) : null,
      step('params', 'Params', table(['Param', 'Value'], Object.entries(r.params).map(([k, v]) => [h('code', null, k), v ?? ''])))));
}

async function indexPage(ctx: ViewContext): Promise<void> {
  const { models: list } = await getJson<{ models: { id: string; kind: string; created_at: string; aliases: string[] }[] }>('/models', ctx.signal);
  mount(ctx.el,
    h('h1', null, 'Lineage'),
    h('p', { class: 'meta' }, 'Pick a model to follow it to its training run, data snapshots and source files.'),
    // A list, not a table: it fits a phone's width as the other lineage pages' lists do.
    list.length === 0 ? empty('No models yet', 'Run `stockpipe train`.') : h('ul', { class: 'card ln-index' }, list.map((m) => h('li', null, modelLink(m.id), ` ${m.kind} `, ...m.aliases.map((a) => badge(a, 'alias')), h('small', null, ` created ${when(m.created_at)}`)))));
}

export async function lineageView(ctx: ViewContext): Promise<void> {
  const [kind, id] = ctx.params;
  if (kind === 'model' && id) await modelPage(ctx, id);
  else if (kind === 'snapshot' && id) await snapshotPage(ctx, id);
  else if (kind === 'run' && id) await runPage(ctx, id);
  else await indexPage(ctx);
  ctx.ready();
}
