/** @module cli/lineage
 * `stockpipe lineage model ID|ALIAS`, `lineage run ID`, `lineage snapshot N`: the lineage documents
 * of registry/lineage-docs (the same ones GET /lineage/… serves), rendered for people. */
import {
  modelLineageDoc, parseSnapshotId, runLineageDoc, snapshotLineageDoc, type ModelLineageDoc, type RunLineageDoc, type RunRef, type SnapshotLineageDoc,
  type SnapshotRef, type SourceNode,
} from '../registry/lineage-docs.js';
import type { CommandContext, CommandResult } from './context.js';
import { withRegistry } from './with-registry.js';

const run = (r: RunRef | null): string => (r === null ? 'no recorded run' : `${r.kind} run ${r.run_id} (${r.status}, ${r.started_at})`);
const snap = (s: SnapshotRef): string => `${s.table} snapshot ${s.id} (${s.operation}, ${s.rows} rows, ${s.files} files, ${s.created_at})`;

function sourceLines(s: SourceNode | null, arrow: string): string[] {
  if (s === null) return [`${arrow}source: not recorded`];
  const indent = ' '.repeat(arrow.length);
  return [
    `${arrow}source ${s.source ?? '?'} ${s.source_spec ?? ''} at ${s.root ?? '?'}${s.fetched_at ? `, fetched ${s.fetched_at}` : ''}`,
    `${indent}  manifest ${s.path ?? '?'} ${s.manifest_hash === null ? '(not recorded: ingested before lineage was kept)' : `sha256 ${s.manifest_hash.slice(0, 16)}…: ${s.files_total} files, ${s.bytes ?? '?'} bytes`}`,
    ...s.files.map((f) => `${indent}    ${f.path}  ${f.size} B${f.sha256 ? `  sha256 ${f.sha256.slice(0, 12)}…` : ''}${f.rows === null ? '' : `  ${f.rows} rows`}`),
    ...(s.files_total !== null && s.files_total > s.files.length ? [`${indent}    … ${s.files_total - s.files.length} more (--files N)`] : []),
    `${indent}  ingested by ${run(s.ingest_run)}`,
  ];
}

export async function lineageModelCommand(ctx: CommandContext, id: string, files: number): Promise<CommandResult<ModelLineageDoc>> {
  const d = withRegistry(ctx, true, (reg) => modelLineageDoc(reg, id, { files }));
  const lines = [
    `model ${d.model.id} (${d.model.kind}${d.model.aliases.length ? `, ${d.model.aliases.join(', ')}` : ''}), created ${d.model.created_at}`,
    `  ← trained by ${run(d.run)}${d.model.data_hash ? `, data hash ${d.model.data_hash.slice(0, 16)}…` : ''}`,
    `    ← ${d.features_snapshot === null ? 'features snapshot: not recorded' : `${snap(d.features_snapshot)}, written by ${run(d.features_snapshot.written_by)}`}`,
    `      ← ${d.prices_snapshot === null ? 'prices snapshot: not recorded' : `${snap(d.prices_snapshot)}, written by ${run(d.prices_snapshot.written_by)}`}`,
    ...sourceLines(d.source, '        ← '),
    ...(d.missing.length ? [`  unresolved: ${d.missing.join(', ')}`] : []),
  ];
  return { data: d, human: lines.join('\n') };
}

export async function lineageSnapshotCommand(ctx: CommandContext, idText: string, files: number): Promise<CommandResult<SnapshotLineageDoc>> {
  const id = parseSnapshotId(idText);
  const d = withRegistry(ctx, true, (reg) => snapshotLineageDoc(reg, id, { files }));
  const lines = [
    snap(d.snapshot),
    `  written by ${run(d.snapshot.written_by)}`,
    ...(d.parent ? [`  previous: ${snap(d.parent)}`] : []),
    ...(d.built_from ? [`  built from ${snap(d.built_from)}`] : []),
    ...d.derived.map((s) => `  → derived ${snap(s)}`),
    ...d.read_by.map((r) => `  → read by ${run(r)}`),
    ...d.models.map((m) => `  → model ${m.id} (${m.kind}${m.aliases.length ? `, ${m.aliases.join(', ')}` : ''})${m.via === 'prices' ? ` through features snapshot ${m.features_snapshot ?? '?'}` : ''}`),
    ...(d.snapshot.table === 'prices' ? sourceLines(d.source, '  ← ') : []),
  ];
  return { data: d, human: lines.join('\n') };
}

export async function lineageRunCommand(ctx: CommandContext, id: string, files: number): Promise<CommandResult<RunLineageDoc>> {
  const d = withRegistry(ctx, true, (reg) => runLineageDoc(reg, id, { files }));
  const lines = [
    `${run(d.run)}${d.run.name ? `: ${d.run.name}` : ''}`,
    ...(d.run.error ? [`  error: ${d.run.error}`] : []),
    ...(d.parent ? [`  in ${run(d.parent)}`] : []),
    ...d.read.map((s) => `  read ${snap(s)}`),
    ...d.wrote.map((s) => `  wrote ${snap(s)}`),
    ...d.models.map((m) => `  registered model ${m.id} (${m.kind})`),
    ...d.children.map((c) => `  child ${run(c)}${c.name ? `: ${c.name}` : ''}`),
    ...(d.source ? sourceLines(d.source, '  ') : []),
  ];
  return { data: d, human: lines.join('\n') };
}
