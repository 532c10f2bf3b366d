/** @module validate/reference
 * How the validation reference is saved (versioned, atomically; its paths are core/workspace's) and read
 * back (checked, so a corrupt file is SP_ERR_REFERENCE_INVALID, never a crash mid-run). */
import { readFile } from 'node:fs/promises';
import { StockpipeError } from '../core/errors.js';
import { readdirOrEmpty, writeFilesAtomic } from '../core/fs.js';
import { layout, type TableName, type Workspace } from '../core/workspace.js';
import type { Reference } from './types.js';

export type { TableName };

/** The next free version number of a table's reference (1 for the first). */
export async function nextReferenceVersion(ws: Workspace, table: TableName): Promise<number> {
  const names = await readdirOrEmpty(ws.validationDir);
  let max = 0;
  for (const n of names) {
    const v = layout.referenceVersionOf(table, n);
    if (v !== null) max = Math.max(max, v);
  }
  return max + 1;
}

/** The files of a saved reference: reference-v<N>.json (first) and the current-reference copy. */
export function referenceFiles(ws: Workspace, ref: Reference): { path: string; data: string }[] {
  const text = `${JSON.stringify(ref, null, 2)}\n`;
  return [
    { path: ws.versionedReference(ref.table, ref.version), data: text },
    { path: ws.currentReference(ref.table), data: text },
  ];
}

/** Writes both reference files (both or neither); returns the versioned path. */
export async function saveReference(ws: Workspace, ref: Reference): Promise<string> {
  const files = referenceFiles(ws, ref);
  await writeFilesAtomic(files);
  return files[0]!.path;
}

function invalid(path: string, why: string, cause?: unknown): StockpipeError {
  return new StockpipeError('SP_ERR_REFERENCE_INVALID', `${path}: ${why}`, { cause });
}

/**
 * Reads the workspace's current reference (reference.json: a copy of its newest reference-v<N>.json). When it is
 * damaged and that copy is sound, the error hints to restore it: `--set-reference` (the code's hint) accepts the
 * current data as the reference without checking it against the one it had.
 */
export async function readCurrentReference(ws: Workspace, table: TableName): Promise<Reference> {
  const path = ws.currentReference(table);
  try {
    return await readReference(path, table);
  } catch (err) {
    if (!(err instanceof StockpipeError) || err.code !== 'SP_ERR_REFERENCE_INVALID') throw err;
    const newest = (await nextReferenceVersion(ws, table)) - 1;
    const copy = ws.versionedReference(table, newest);
    const sound = newest > 0 && (await readReference(copy, table).then((r) => r.version === newest, () => false));
    if (!sound) throw err;
    throw new StockpipeError('SP_ERR_REFERENCE_INVALID', err.message, {
      cause: err,
      hint: `It is a copy of ${copy}, which is intact: restore it (\`cp ${copy} ${path}\`) and run again. \`stockpipe validate --set-reference\` would accept the current data as the reference without checking it.`,
    });
  }
}

/** Reads a saved reference; SP_ERR_REFERENCE_INVALID when unreadable, not JSON, or not a reference. */
export async function readReference(path: string, table?: TableName): Promise<Reference> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // No file there (a mistyped --reference): inferring a new reference (the code's hint) would not read the file meant.
    if (code === 'ENOENT') throw new StockpipeError('SP_ERR_REFERENCE_INVALID', `${path}: no such file`, { cause: err, hint: 'Check the --reference path; without --reference, validate checks against the workspace\'s own reference (validation/reference.json for prices).' });
    throw invalid(path, `cannot read the reference (${code ?? String(err)})`, err);
  }
  let ref: Reference;
  try {
    ref = JSON.parse(text) as Reference;
  } catch (err) {
    throw invalid(path, `not valid JSON (${(err as Error).message})`, err);
  }
  const ok =
    typeof ref === 'object' && ref !== null &&
    ref.format === 'stockpipe-validation-reference' &&
    Number.isInteger(ref.version) &&
    (ref.table === 'prices' || ref.table === 'features') &&
    Number.isFinite(ref.rows) &&
    Array.isArray(ref.columns) && ref.columns.every((c) => typeof c?.name === 'string' && typeof c.type === 'string' && Number.isFinite(c.null_rate)) &&
    typeof ref.drift === 'object' && ref.drift !== null && typeof ref.drift.columns === 'object' &&
    Object.values(ref.drift.columns).every((d) => Array.isArray(d?.edges) && Array.isArray(d.counts) && d.counts.length === d.edges.length + 1 && Number.isFinite(d.threshold)) &&
    (ref.symbols === null || (typeof ref.symbols === 'object' && Array.isArray(ref.symbols.names)));
  if (!ok) throw invalid(path, 'not a stockpipe validation reference (missing or malformed format, version, table, columns, symbols or drift)');
  if (table !== undefined && ref.table !== table) {
    // Not a broken file: one of the other table (`validate --table features --reference validation/reference.json`).
    // Inferring a new reference (the generic hint) would not check the table against this file.
    throw new StockpipeError('SP_ERR_REFERENCE_INVALID', `${path}: the reference describes the ${ref.table} table, not ${table}`, {
      hint: `Check the ${ref.table} table against it (\`stockpipe validate --table ${ref.table} --reference ${path}\`), or give --reference a ${table} table's reference (${layout.currentReference(table)}, or leave --reference out).`,
    });
  }
  return ref;
}
