/** @module core/os-errors
 * Failures of the machine that are the user's to fix, not bugs: a full disk (ENOSPC, EDQUOT), a
 * read-only or forbidden workspace (EROFS, EACCES, EPERM), too many open files (EMFILE, ENFILE),
 * no memory (ENOMEM). Recognised by errno code or by the OS text a message carries (DuckDB and
 * worker threads forward only the text), and turned into coded StockpipeErrors naming the folder
 * and what to do. DuckDB's own out-of-memory message is recognised in db/duckdb-errors. */
import { statfsSync } from 'node:fs';
import { dirname, isAbsolute, relative } from 'node:path';
import { StockpipeError } from './errors.js';

export type ResourceKind = 'disk_full' | 'read_only' | 'no_permission' | 'too_many_files' | 'out_of_memory';

const BY_ERRNO: Readonly<Record<string, ResourceKind>> = {
  ENOSPC: 'disk_full',
  EDQUOT: 'disk_full',
  EROFS: 'read_only',
  EACCES: 'no_permission',
  EPERM: 'no_permission',
  EMFILE: 'too_many_files',
  ENFILE: 'too_many_files',
  ENOMEM: 'out_of_memory',
};

/** The OS's texts (strerror) and errno names as they appear inside forwarded messages. */
const BY_TEXT: readonly [RegExp, ResourceKind][] = [
  [/no space left on device|disk quota exceeded|\bENOSPC\b|\bEDQUOT\b/i, 'disk_full'],
  [/read-only file system|\bEROFS\b/i, 'read_only'],
  [/too many open files|\bEMFILE\b|\bENFILE\b/i, 'too_many_files'],
  [/permission denied|operation not permitted|\bEACCES\b|\bEPERM\b/i, 'no_permission'],
  [/cannot allocate memory|\bENOMEM\b/i, 'out_of_memory'],
];

/** What kind of machine failure `err` (or its cause) is, or undefined for anything else. */
export function resourceKind(err: unknown): ResourceKind | undefined {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StockpipeError) return undefined;
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && BY_ERRNO[code] !== undefined) return BY_ERRNO[code];
    const message = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
    for (const [re, kind] of BY_TEXT) if (re.test(message)) return kind;
  }
  return undefined;
}

/** The file a failure names: errno's path, or the first quoted absolute path in the message. */
export function failurePath(err: unknown): string | undefined {
  const path = (err as NodeJS.ErrnoException | undefined)?.path;
  if (typeof path === 'string') return path;
  const message = err instanceof Error ? err.message : String(err);
  const m = /["'](\/[^"']+)["']/.exec(message);
  return m?.[1];
}

/** Free bytes for unprivileged users on the file system holding `dir` (undefined when unknown). */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return undefined;
  }
}

/** 1234567 → "1.2 MB (1234567 bytes)". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[u]} (${n} bytes)`;
}

/** What a full disk needs, as far as the writer knows: an exact size or an estimate, and its basis. */
export interface SpaceNeeded {
  bytes: number;
  /** e.g. 'the size of the data being written' (exact) or 'the size of the previous output' (estimate). */
  basis: string;
  exact: boolean;
}

export interface ResourceContext {
  /** The workspace, used when the failure names no path. */
  workspace?: string;
  /** The folder the failing output goes to (default: the failure's path's folder). */
  folder?: string;
  needed?: SpaceNeeded;
  /**
   * The option naming the failing output when it is a file the user chose (`--out`), not one of the
   * workspace's: the hints then offer another file for it, not another --workspace (which moves nothing of it).
   */
  output?: string;
  /** The memory limit in force (e.g. '1GB') and the threads, for out-of-memory hints. */
  memoryLimit?: string;
  threads?: number;
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.trim();
}

function inside(dir: string, path: string): boolean {
  const r = relative(dir, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/** A disk-full error naming the folder, its free space and the bytes needed (or the best estimate). */
export function diskFullError(folder: string, err: unknown, needed?: SpaceNeeded, output?: string): StockpipeError {
  const free = freeBytes(folder);
  // An estimate no larger than the space free now (a previous output smaller than the new one) is no
  // estimate: the write failed with that space there (its temp file since removed), so it needs more.
  const moreThan = needed !== undefined && !needed.exact && free !== undefined && needed.bytes <= free ? free : undefined;
  const need = needed === undefined
    ? 'the size needed is unknown'
    : moreThan !== undefined
      ? `the output needs more than the ${formatBytes(moreThan)} free (it outgrew ${needed.basis}, ${formatBytes(needed.bytes)})`
      : `the output needs ${needed.exact ? '' : 'about '}${formatBytes(needed.bytes)}, ${needed.exact ? '' : 'estimated as '}${needed.basis}`;
  const message = `no space left on the file system of ${folder}${free === undefined ? '' : ` (${formatBytes(free)} free)`}: ${need}; ${firstLine(err)}`;
  const elsewhere = output === undefined ? 'pass --workspace on a larger disk' : `give ${output} a file on a larger disk`;
  const hint = needed === undefined
    ? `Free space on the file system of ${folder} (or ${elsewhere}), then run again.`
    : `Free ${moreThan !== undefined ? `more than ${formatBytes(moreThan)}` : `at least ${formatBytes(needed.bytes)}`} on the file system of ${folder} (or ${elsewhere}), then run again.`;
  return new StockpipeError('SP_ERR_DISK_FULL', message, { hint, cause: err });
}

/**
 * A coded error for a machine failure that is the user's to fix, or undefined when `err` is not one
 * (a bug keeps SP_ERR_INTERNAL). `kind` defaults to resourceKind(err).
 */
export function resourceError(err: unknown, ctx: ResourceContext = {}, kind: ResourceKind | undefined = resourceKind(err)): StockpipeError | undefined {
  if (kind === undefined) return undefined;
  const path = failurePath(err);
  const folder = ctx.folder ?? (path !== undefined ? dirname(path) : ctx.workspace) ?? 'the workspace';
  const what = firstLine(err);
  switch (kind) {
    case 'disk_full':
      return diskFullError(folder, err, ctx.needed, ctx.output);
    case 'read_only':
    case 'no_permission': {
      // Only a failure inside the workspace (or naming no file) is the workspace's; others stay as they are.
      if (path !== undefined && ctx.workspace !== undefined && !inside(ctx.workspace, path)) return undefined;
      const why = kind === 'read_only' ? 'the file system is read-only' : 'permission denied';
      const elsewhere = ctx.output === undefined ? `pass --workspace with ${kind === 'read_only' ? 'a writable folder' : 'a folder you can write'}` : `give ${ctx.output} a file in ${kind === 'read_only' ? 'a writable folder' : 'a folder you can write'}`;
      return new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot write ${path ?? folder}: ${why} (${what})`, {
        hint: kind === 'read_only' ? `Remount the file system of ${folder} read-write, or ${elsewhere}.` : `Fix the permissions of ${folder} (it must be writable by this user), or ${elsewhere}.`,
        cause: err,
      });
    }
    case 'too_many_files':
      return new StockpipeError('SP_ERR_TOO_MANY_FILES', `too many open files${path === undefined ? '' : ` opening ${path}`}: ${what}`, {
        hint: `Raise the open-file limit (\`ulimit -n 65536\`)${ctx.threads === undefined ? ' or lower --threads' : ` or lower --threads (now ${ctx.threads})`}, then run again.`,
        cause: err,
      });
    case 'out_of_memory':
      return new StockpipeError('SP_ERR_OUT_OF_MEMORY', `out of memory${ctx.memoryLimit === undefined ? '' : ` (memory limit ${ctx.memoryLimit})`}: ${what}`, {
        hint: ctx.memoryLimit === undefined
          ? 'Raise --memory-limit (e.g. --memory-limit 2GB) or lower --threads, or free memory on the machine.'
          : `Raise --memory-limit (now ${ctx.memoryLimit}; e.g. --memory-limit 2GB)${ctx.threads === undefined ? ' or lower --threads' : ` or lower --threads (now ${ctx.threads})`}.`,
        cause: err,
      });
  }
}
