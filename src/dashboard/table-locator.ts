/** @module dashboard/table-locator
 * Which table snapshot the dashboard's symbol routes read (db/feature-table's locator): the features
 * table, else the prices table, now or as of `?as_of=` (a snapshot id or a time, registry/catalog's
 * rules), resolved through the server's one read-only registry handle and store/read. */
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import type { TableLocator } from '../db/feature-table.js';
import { currentSnapshot, parseAsOf, snapshotAsOf } from '../registry/catalog.js';
import type { RegistryReader } from '../registry/reader.js';
import { sourceOf, tableAt } from '../store/read.js';

/** A locator over the store: the snapshot id is the cache version of the symbol list. */
export function storeLocator(ws: Workspace, registry: RegistryReader): TableLocator {
  return (asOf) =>
    registry.read((reg) => {
      const parsed = asOf === undefined ? undefined : parseAsOf(asOf);
      for (const [table, hasFeatures] of [['features', true], ['prices', false]] as const) {
        const snap = parsed === undefined ? currentSnapshot(reg, table) : snapshotAsOf(reg, table, parsed);
        if (snap === null) continue;
        const t = tableAt(ws, reg, table, { snapshot: snap.id });
        return { source: sourceOf(t), hasFeatures, version: `${table}@${snap.id}` };
      }
      if (asOf !== undefined) throw new StockpipeError('SP_ERR_SNAPSHOT_NOT_FOUND', `no table of ${ws.root} had a snapshot as of ${asOf}`, { hint: 'List the snapshots with `stockpipe snapshots`.' });
      return null;
    });
}
