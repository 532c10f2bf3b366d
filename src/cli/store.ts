/** @module cli/store
 * The store's commands (docs/store.md): `snapshots [TABLE]` (registry/catalog), `export TABLE (a store table, or forecasts: store/export-registry,
 * or predictions --model: ml/export-predictions) [--symbols] [--from] [--to] [--as-of X] [--format] --out FILE` (store/export) and
 * `vacuum` (store/vacuum) → text for people and --json. */
import { resolve } from 'node:path';
import { clip, StockpipeError } from '../core/errors.js';
import { checkUserOutput } from '../core/fs.js';
import { assertStoreTable, type ListedSnapshot, listSnapshotsReadable, STORE_TABLES, type StoreTable } from '../registry/catalog.js';
import { openRegistry } from '../registry/store.js';
import { type ExportData, type ExportFilter, exportTable } from '../store/export.js';
import { exportRegistryTable, isRegistryTable, REGISTRY_TABLES } from '../store/export-registry.js';
import { exportPredictions, type PredictionExportData } from '../ml/export-predictions.js';
import { onDiskIn } from '../store/read.js';
import { type VacuumData, vacuumStore } from '../store/vacuum.js';
import type { CommandContext, CommandResult } from './context.js';
import { table as textTable } from './models.js';
import { refuseSourceFolderOutput } from '../sources/workspace-source.js';
import { removeStalePrepared } from '../features/prepare.js';

/** `stockpipe snapshots --json` data. */
export interface SnapshotsData {
  table: StoreTable | null;
  snapshots: ListedSnapshot[];
}

export async function snapshotsCommand(ctx: CommandContext, tableName: string | undefined): Promise<CommandResult<SnapshotsData>> {
  let table: StoreTable | undefined;
  if (tableName !== undefined) {
    assertStoreTable(tableName);
    table = tableName;
  }
  const reg = openRegistry(ctx.ws, { readonly: true, now: ctx.now });
  let snapshots: ListedSnapshot[];
  try {
    snapshots = listSnapshotsReadable(reg, table, { onDisk: onDiskIn(ctx.ws) });
  } finally {
    reg.close();
  }
  const human =
    snapshots.length === 0
      ? `no snapshots${table ? ` of ${table}` : ''} in ${ctx.ws.root} yet; run \`stockpipe ingest\``
      : textTable(
          ['ID', 'TABLE', 'CREATED', 'OPERATION', 'ROWS', 'FILES', 'PARENT', 'READABLE'],
          snapshots.map((s) => [String(s.id), s.table, s.created_at, s.operation, String(s.rows), String(s.files), s.parent_id === null ? '-' : String(s.parent_id), s.readable ? 'yes' : s.missing_file === null ? 'no (vacuumed)' : 'no (file missing)']),
          new Set([0, 4, 5, 6]),
        );
  return { data: { table: table ?? null, snapshots }, human };
}

export async function exportCommand(ctx: CommandContext, tableName: string, opts: { out: string; asOf?: string; model?: string } & ExportFilter & { format?: string }): Promise<CommandResult<ExportData | PredictionExportData>> {
  let data: ExportData | PredictionExportData;
  if (opts.model !== undefined && tableName !== 'predictions') {
    throw new StockpipeError('SP_ERR_USAGE', `--model: only \`export predictions\` scores rows with a model (not ${tableName})`, { hint: `Leave --model out, or export predictions: \`stockpipe export predictions --model ${opts.model} --out predictions.csv\`.` });
  }
  await checkUserOutput(ctx.ws, opts.out);
  await refuseSourceFolderOutput(ctx.ws, opts.out);
  if (tableName === 'predictions') {
    const reg = openRegistry(ctx.ws, { readonly: true, now: ctx.now });
    let model;
    try {
      model = reg.getModel(opts.model ?? 'champion', { checkFiles: false });
    } finally {
      reg.close();
    }
    data = await exportPredictions(ctx.ws, model, resolve(opts.out), { ...opts, outFlag: '--out' });
  } else if (isRegistryTable(tableName)) {
    if (opts.asOf !== undefined) throw new StockpipeError('SP_ERR_USAGE', `--as-of: the ${tableName} table lives in the registry and has no snapshots`, { hint: `Leave --as-of out; narrow ${tableName} with --from/--to.` });
    data = await exportRegistryTable(ctx.ws, tableName, resolve(opts.out), { ...opts, outFlag: '--out' });
  } else {
    if (!(STORE_TABLES as readonly string[]).includes(tableName)) {
      throw new StockpipeError('SP_ERR_USAGE', `unknown table '${clip(tableName)}'`, { hint: `Tables: ${[...STORE_TABLES, ...REGISTRY_TABLES].join(', ')}, or predictions (with --model).` });
    }
    assertStoreTable(tableName);
    data = await exportTable(ctx.ws, tableName, resolve(opts.out), { ...opts, outFlag: '--out' });
  }
  const narrowed = [data.symbols ? `symbols ${data.symbols.join(',')}` : '', data.from ? `from ${data.from}` : '', data.to ? `to ${data.to}` : ''].filter((x) => x !== '').join(', ');
  const at = data.snapshot_id === null ? '' : ` as of snapshot ${data.snapshot_id} (${data.created_at})`;
  const by = 'model_id' in data ? ` of ${data.model_id} (${data.model_kind})` : '';
  return { data, human: `exported ${data.table}${by}${at}${narrowed ? ` (${narrowed})` : ''}: ${data.rows} rows → ${data.path} (${data.format}, ${data.bytes} bytes)` };
}

const mb = (b: number): string => `${(b / 1e6).toFixed(1)} MB`;

export async function vacuumCommand(ctx: CommandContext, opts: { keepSnapshots?: number; olderThan?: number; dryRun: boolean }): Promise<CommandResult<VacuumData>> {
  const data = await vacuumStore(ctx.ws, { keepSnapshots: opts.keepSnapshots, olderThanDays: opts.olderThan, dryRun: opts.dryRun, now: ctx.now, moreOrphans: (reg, o) => removeStalePrepared(ctx.ws, reg, o) });
  const verb = data.dry_run ? 'would remove' : 'removed';
  const lines = [
    ...data.compacted.map((c) => `${data.dry_run ? 'would compact' : 'compacted'} ${c.table}: ${c.buckets} bucket(s), ${c.files_before} → ${c.files_after} file(s)${c.snapshot_id === null ? '' : ` (snapshot ${c.snapshot_id})`}`),
    `kept snapshots: ${data.kept_snapshots.join(', ') || 'none'}`,
    `${verb} ${data.removed.files} unreferenced file(s), ${mb(data.removed.bytes)}; ${data.orphans.files} orphan file(s), ${mb(data.orphans.bytes)}; ${data.stages.folders} stale stage folder(s), ${mb(data.stages.bytes)}`,
  ];
  return { data, human: lines.join('\n') };
}
