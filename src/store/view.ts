/** @module store/view
 * The readable face of a table (docs/store.md): tables/<table>/ holds exactly the current
 * snapshot's files, as hard links to store/<table>/ (`bucket=NN/<file>.parquet`), plus
 * `_snapshot.json` (id, time, rows, files). DuckDB, pandas and polars read the folder as one table
 * without stockpipe; stockpipe itself reads the files the catalog names, so a view being updated
 * never disturbs a stockpipe read. The view is rebuilt from the catalog after every commit. */
import { existsSync } from 'node:fs';
import { link, rm, rmdir, copyFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { makeOutputDir, readdirOrEmpty, readFileOrNull, writeFileAtomic } from '../core/fs.js';
import { layout, type Workspace } from '../core/workspace.js';
import { currentSnapshot, liveFiles, type SnapshotRecord } from '../registry/catalog.js';
import type { Registry } from '../registry/store.js';
import { onDiskIn } from './read.js';

/** What tables/<table>/_snapshot.json holds. */
export interface TableHead {
  table: string;
  snapshot_id: number;
  created_at: string;
  operation: string;
  rows: number;
  /** The view's files, relative to tables/<table>/. */
  files: string[];
}

/** Makes tables/<table>/ match the snapshot: links what is missing, removes what is not live, writes the head. */
export async function publishView(ws: Workspace, reg: Registry, snap: SnapshotRecord): Promise<TableHead> {
  const dir = ws.tableDir(snap.table);
  const live = liveFiles(reg, snap);
  const want = new Map<string, string>(); // view-relative → absolute store path
  for (const f of live) want.set(`${f.partition}/${basename(f.path)}`, ws.path(f.path));
  // A file standing where the view's folder goes (tables/<table>, a bucket=NN): named, with what to do.
  await makeOutputDir(dir);
  // What the view holds already: one listing per partition folder, not one call per live file.
  const parts = (await readdirOrEmpty(dir)).filter((part) => part.startsWith('bucket='));
  const held = new Set<string>();
  for (const part of parts) for (const name of await readdirOrEmpty(join(dir, part))) held.add(`${part}/${name}`);
  const made = new Set(parts);
  for (const [rel, src] of want) {
    if (held.has(rel)) continue; // file names are unique per write: the same file
    const target = join(dir, rel);
    const part = dirname(rel);
    if (!made.has(part)) {
      await makeOutputDir(dirname(target));
      made.add(part);
    }
    try {
      await link(src, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // linked meanwhile: the same file
      if (code === 'EXDEV' || code === 'EPERM' || code === 'ENOTSUP') await copyFile(src, target);
      else throw err;
    }
  }
  for (const part of parts) {
    const pdir = join(dir, part);
    let left = 0;
    for (const rel of held) {
      if (!rel.startsWith(`${part}/`)) continue;
      if (rel.endsWith('.parquet') && !want.has(rel)) await rm(join(dir, rel), { force: true });
      else left++;
    }
    if (left === 0 && ![...want.keys()].some((rel) => rel.startsWith(`${part}/`))) {
      try {
        await rmdir(pdir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'ENOENT') throw err; // refilled or removed meanwhile: fine
      }
    }
  }
  // A workspace from before the store kept the table as one file: gone once the table has a snapshot.
  if (snap.parent_id === null) for (const rel of layout.legacyTableFiles(snap.table)) await rm(ws.path(rel), { force: true });
  const head: TableHead = { table: snap.table, snapshot_id: snap.id, created_at: snap.created_at, operation: snap.operation, rows: snap.rows, files: [...want.keys()].sort() };
  await writeFileAtomic(ws.tableHead(snap.table), `${JSON.stringify(head, null, 2)}\n`);
  return head;
}

/**
 * Publishes the current snapshot when the view does not show it: a writer killed between its
 * catalog commit and its view update left the view one snapshot behind, or a file of it was deleted
 * from the folder by hand. Every writer calls this
 * first, so the next command repairs it (even one that then finds nothing to do). A snapshot with a
 * data file missing from disk is left unpublished (the view stays as it was).
 */
export async function ensureView(ws: Workspace, reg: Registry, table: SnapshotRecord['table']): Promise<void> {
  const cur = currentSnapshot(reg, table);
  if (cur === null) return;
  const text = await readFileOrNull(ws.tableHead(table));
  let shown: number | null = null;
  if (text !== null) {
    try {
      shown = (JSON.parse(text) as Partial<TableHead>).snapshot_id ?? null;
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err; // a torn head is rewritten below
    }
  }
  const live = liveFiles(reg, cur);
  // The head names the snapshot and every one of its files is in the folder (one stat each): a file
  // deleted from tables/ by hand left pandas and DuckDB reading part of the table, never repaired.
  if (shown === cur.id && live.every((f) => existsSync(join(ws.tableDir(table), f.partition, basename(f.path))))) return;
  // A snapshot whose data files are not all on disk (deleted or moved by hand, a registry copied from
  // another workspace) is not published: linking its files failed as SP_ERR_INTERNAL (ENOENT) before
  // the writer began, even `--force`, which needs none of them. The writer names the missing file
  // (store/read's assertFilesOnDisk) or writes a new snapshot, which it publishes.
  const onDisk = onDiskIn(ws);
  if (!live.every((f) => onDisk(f.path))) return;
  await publishView(ws, reg, cur);
}
