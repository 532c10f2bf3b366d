/** @module core/fs
 * Safe file output (temp file + rename, so a killed run never leaves half a file), hashing, and reads of
 * files that must be regular ones (without blocking on a FIFO put in their place). */
import { createHash, randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants as fsConstants, createReadStream, fstatSync, openSync, readFileSync, rmSync, type Stats } from 'node:fs';
import { mkdir, open, readdir, readFile, readlink, realpath, rename, rm, writeFile, access, constants, copyFile, link, stat, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, extname, join, basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { beforeCommit } from './commit-guard.js';
import { clip, StockpipeError } from './errors.js';
import { failurePath, resourceError, resourceKind, type SpaceNeeded } from './os-errors.js';
import { processAlive } from './proc.js';
import { layout, type Workspace } from './workspace.js';
import type { ZodType } from './zod.js';

export { processAlive };

/** Why a path that should be a regular file is not one (a folder, a FIFO, …), as an error to throw (no `code`). */
export function notRegular(st: Stats): Error {
  return new Error(`not a regular file (${st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isSocket() ? 'a socket' : 'a device'})`);
}

/** O_RDONLY without waiting: a FIFO where a file was expected would block the open until a writer came (forever). */
const READ_NOWAIT = fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0);

/**
 * Opens a file that must be a regular one, for reading: the open does not wait (O_NONBLOCK, no
 * effect on a regular file) and anything else (a FIFO, a device, a folder) is refused with an Error.
 */
export function openRegularFileSync(path: string): number {
  const fd = openSync(path, READ_NOWAIT);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(st);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** A regular file's bytes (openRegularFileSync's checks, then one synchronous read). */
export function readRegularFileSync(path: string): Buffer {
  const fd = openRegularFileSync(path);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** openRegularFileSync's checks on a promise file handle (the caller closes it). */
export async function openRegularFile(path: string): Promise<FileHandle> {
  const fh = await open(path, READ_NOWAIT);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw notRegular(st);
  } catch (err) {
    await fh.close();
    throw err;
  }
  return fh;
}

/** The longest file name most file systems take, in bytes (ext4, xfs, btrfs, tmpfs: NAME_MAX). */
const NAME_MAX = 255;
/** Room kept for `.tmp-<pid>-<stamp>` after a temp's stem (pid ≤ 10 digits, a base-36 ms stamp ≤ 9). */
const TEMP_SUFFIX_MAX = 32;

/**
 * The start of `target`'s temps' names: `.<name>`, or for a name too long to take the suffix within
 * NAME_MAX, `.<its start>~<hash of the name>`: a file name of 240 bytes is valid, its temp
 * `.<name>.tmp-…` was not (ENAMETOOLONG, and the output could not be written at all).
 */
function tempStem(target: string): string {
  const name = basename(target);
  if (Buffer.byteLength(name) + 1 + TEMP_SUFFIX_MAX <= NAME_MAX) return `.${name}`;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 16);
  let head = Array.from(name).slice(0, 64).join('');
  while (Buffer.byteLength(head) > 64) head = head.slice(0, -1);
  return `.${head}~${hash}`;
}

/** A temp path beside `target` (same folder, so the rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `${tempStem(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

/**
 * `preferred` (a folder of the workspace's tmp/, created when missing), or `fallback` (the system's
 * temp folder; not created) when this process may not write there: a read-only command's scratch files
 * (a download, a registry table's rows on their way to an export, DuckDB's spill files) on a workspace
 * served from read-only media.
 */
export async function scratchFolder(preferred: string, fallback = tmpdir()): Promise<string> {
  try {
    await mkdir(preferred, { recursive: true });
  } catch (err) {
    // A recursive mkdir on a read-only file system reports ENOENT.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || UNWRITABLE_CODES.has(code ?? '')) return fallback;
    throw err;
  }
  return unwritable(preferred) ? fallback : preferred;
}

const UNWRITABLE_CODES = new Set(['EROFS', 'EACCES', 'EPERM']);

/** Whether `path` is a folder this process may not create files in, or a file it may not write (a read-only file system, or no write permission). */
export function unwritable(path: string): boolean {
  try {
    accessSync(path, fsConstants.W_OK);
    return false;
  } catch (err) {
    if (UNWRITABLE_CODES.has((err as NodeJS.ErrnoException).code ?? '')) return true;
    throw err;
  }
}

/** Creates an output's folder, or SP_ERR_WORKSPACE_UNWRITABLE naming it (e.g. a file stands there); `output`: as withAtomicOutput's. */
export async function makeOutputDir(dir: string, output?: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot create the output folder ${dir}: ${code}`, {
      hint: code === 'EEXIST' || code === 'ENOTDIR' ? `A file stands where the folder ${dir} should be: move it away.` : output === undefined ? 'Pass --workspace with a folder you can write, or fix its permissions.' : `Give ${output} a file in a folder you can write, or fix its permissions.`,
      cause: err,
    });
  }
}

const byteLength = (data: string | Uint8Array): number => (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);

/** Size of a file or of a folder's files (a writer may produce a folder), 0 when absent. */
async function sizeOf(path: string): Promise<number> {
  // An estimate (the space a full disk needed, what a scratch sweep freed): whatever cannot be read counts as 0 bytes.
  const st = await stat(path).catch(() => null);
  if (st === null) return 0;
  if (!st.isDirectory()) return st.size;
  const names = await readdir(path).catch(() => [] as string[]);
  let total = 0;
  for (const n of names) total += await sizeOf(join(path, n));
  return total;
}

/**
 * A failed write of `target`: a machine failure (disk full, read-only, …) becomes its coded error;
 * for a full disk the bytes needed are exact when known, else the larger of the previous output and
 * what was written before the disk filled (an estimate, and the message says which).
 */
async function outputFailure(err: unknown, target: string, tmp: string, exact?: SpaceNeeded, output?: string): Promise<unknown> {
  const kind = resourceKind(err);
  if (kind === undefined) return err;
  let needed: SpaceNeeded | undefined;
  if (kind === 'disk_full') {
    if (exact !== undefined) needed = exact;
    else {
      const [previous, written] = await Promise.all([sizeOf(target), sizeOf(tmp)]);
      needed = previous >= written && previous > 0
        ? { bytes: previous, basis: `the size of the previous ${basename(target)}`, exact: false }
        : { bytes: written, basis: 'the bytes written before the disk filled (a lower bound)', exact: false };
    }
  }
  // The folder the OS named (e.g. DuckDB's spill folder) or else the output's.
  return resourceError(err, { folder: dirname(failurePath(err) ?? target), needed, output }, kind) ?? err;
}

/**
 * Creates and removes the temp file before a producer runs, so that a folder where no file can be
 * made (e.g. under /proc, or one the user may not write) fails with a coded error naming it, not
 * with the producer's own message (DuckDB's "Cannot open file") as an internal error.
 */
async function probeWritable(target: string, tmp: string, output?: string): Promise<void> {
  try {
    await (await open(tmp, 'wx')).close();
    await rm(tmp, { force: true });
  } catch (err) {
    const failure = await outputFailure(err, target, tmp, undefined, output);
    if (failure !== err) throw failure;
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot create a file in ${dirname(target)} (for ${basename(target)}): ${code}`, {
      hint: 'Write the output to a folder of an ordinary file system that you can write, e.g. --out ./export.csv.',
      cause: err,
    });
  }
}

/** The longest path the OS takes, in bytes (Linux PATH_MAX, its final NUL included). */
const PATH_MAX = 4096;

/**
 * Refuses (SP_ERR_USAGE) a user's output path no file system takes: a name over NAME_MAX bytes, or
 * a path over PATH_MAX. It failed at the first stat or write as SP_ERR_INTERNAL (ENAMETOOLONG).
 */
function checkOutputName(out: string, flag: string): void {
  const abs = resolve(out);
  const long = abs.split(sep).find((part) => Buffer.byteLength(part) > NAME_MAX);
  // The temp beside it (tempPathFor) is up to 1 + TEMP_SUFFIX_MAX bytes longer; the path leaves room for it.
  const maxPath = PATH_MAX - 1 - (1 + TEMP_SUFFIX_MAX);
  if (long !== undefined || Buffer.byteLength(abs) > maxPath) {
    const what = long !== undefined ? `the name '${clip(long)}' has ${Buffer.byteLength(long)} bytes, more than the ${NAME_MAX} a file name may have` : `the path has ${Buffer.byteLength(abs)} bytes, more than the ${maxPath} an output's path may have (its temp file's path is longer)`;
    throw new StockpipeError('SP_ERR_USAGE', `${flag} ${clip(out)}: ${what}`, { hint: 'Give a shorter file name.' });
  }
}

/** An output file's path with its folder resolved through symlinks (the file itself may be a link: a rename replaces the link). */
export async function realOutputPath(out: string): Promise<string> {
  return join(await realPathOf(dirname(resolve(out))), basename(out));
}

/** `target` relative to `folder` when it lies inside it (not the folder itself), else null. */
export function pathInside(folder: string, target: string): string | null {
  const rel = relative(folder, target);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? null : rel;
}

/** A path with its longest existing prefix resolved through symlinks (the rest, not created yet, as given). */
export async function realPathOf(p: string): Promise<string> {
  const rest: string[] = [];
  for (let dir = resolve(p); ; ) {
    try {
      return join(await realpath(dir), ...rest);
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return resolve(p);
      rest.unshift(basename(dir));
      dir = parent;
    }
  }
}

/**
 * Refuses (SP_ERR_USAGE) a user's output file (`export --out`, `features --as-of --out`) inside one
 * of the workspace's own folders (store/, tables/, raw/, tmp/, …: layout's outputDirs and
 * transientDirs), its folder's symlinks resolved. Renamed over a store data file it replaced a file
 * a snapshot lists (the table then read the export's rows besides its own), over tables/ a file of
 * the view. The file itself may be a symlink: the rename replaces the link, not what it points to.
 */
async function refuseOwnFolderOutput(ws: Workspace, out: string, flag: string): Promise<void> {
  const own = [...layout.outputDirs, ...layout.transientDirs];
  const root = await realPathOf(ws.root);
  const target = await realOutputPath(out);
  for (const [r, t] of [[ws.root, resolve(out)], [root, target]] as const) {
    const rel = pathInside(r, t);
    if (rel === null) continue;
    const top = rel.split(sep)[0]!;
    if (own.includes(top) && rel !== top) {
      throw new StockpipeError('SP_ERR_USAGE', `${flag} ${out} lies in the workspace's ${top}/ folder (${join(r, top)}), whose files stockpipe keeps`, {
        hint: `Write the file outside ${ws.root}'s own folders (${own.join(', ')}), e.g. --out ./${basename(out)}.`,
      });
    }
  }
}

/** What a file that is neither a regular file nor a folder is, in words. */
function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * An output that stands as a FIFO, a socket or a device → SP_ERR_USAGE: the output is written to a temp
 * file beside it and renamed over it, so a FIFO was silently replaced by a regular file (a reader
 * waiting on the pipe waited forever). A folder is each command's own error; a stat error is left to the write.
 */
async function refuseSpecialOutput(out: string, flag: string): Promise<void> {
  const st = await stat(resolve(out)).catch(() => null);
  if (st === null || st.isFile() || st.isDirectory()) return;
  throw new StockpipeError('SP_ERR_USAGE', `${flag} ${clip(out)} is ${specialKind(st)}, not a regular file: the output is written to a temp file beside it and renamed into place, which would replace it (nothing is streamed into it)`, {
    hint: `Give the name of a regular file, e.g. ${flag} ./export${extname(out)}, and read that file once the command is done.`,
  });
}

/** A user's output file (`export --out`, `features --as-of --out`), before any work: a name the file system takes, outside the workspace's own folders, not a FIFO, socket or device. */
export async function checkUserOutput(ws: Workspace, out: string, flag = '--out'): Promise<void> {
  checkOutputName(out, flag);
  await refuseOwnFolderOutput(ws, out, flag);
  await refuseSpecialOutput(out, flag);
}

/** Writes `data` to `target` atomically; first removes the temps of `target` killed writers left over an hour ago (removeStaleTemps). */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await makeOutputDir(dirname(target));
  await removeStaleTemps(target, smallTempCutoff());
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, data);
    beforeCommit();
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw await outputFailure(err, target, tmp, { bytes: byteLength(data), basis: `the size of ${basename(target)}`, exact: true });
  }
}

/**
 * stat(path), or null when nothing is there: ENOENT, or ENOTDIR (a file stands where the path
 * needs a folder). Every other error (EACCES, ELOOP, EIO, …) is thrown as it came, with its code,
 * so a permission problem is never mistaken for a missing file.
 */
export async function statOrNull(path: string): Promise<Stats | null> {
  return orAbsent(stat(path), null);
}

/** readFile(path, 'utf8'), or null when nothing is there (as statOrNull: every other error is thrown). */
export async function readFileOrNull(path: string): Promise<string | null> {
  return orAbsent(readFile(path, 'utf8'), null);
}

/** readdir(path), or [] when nothing is there (as statOrNull: every other error is thrown). */
export async function readdirOrEmpty(path: string): Promise<string[]> {
  return orAbsent(readdir(path), []);
}

/** `op`'s result, or `absent` when it failed with ENOENT or ENOTDIR; other errors are rethrown. */
async function orAbsent<T, A>(op: Promise<T>, absent: A): Promise<T | A> {
  try {
    return await op;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return absent;
    throw err;
  }
}

/**
 * Writes several files as one: all are staged as temp files first, then renamed into place; when a
 * write or a rename fails, every target already replaced is restored (or removed when it is new), so
 * the files are all new or all as before. Temp files and backups are removed either way (and those
 * killed writers left over an hour ago, before: removeStaleTemps).
 */
export async function writeFilesAtomic(files: readonly { path: string; data: string | Uint8Array }[]): Promise<void> {
  const staged: { target: string; tmp: string; backup: string | null }[] = [];
  const committed: { target: string; backup: string | null }[] = [];
  const cleanup = async (): Promise<void> => {
    for (const s of staged) {
      await rm(s.tmp, { force: true });
      if (s.backup !== null) await rm(s.backup, { force: true });
    }
  };
  const total: SpaceNeeded = { bytes: files.reduce((n, f) => n + byteLength(f.data), 0), basis: `the size of the ${files.length} files written together (${files.map((f) => basename(f.path)).join(', ')})`, exact: true };
  let current: { target: string; tmp: string } | undefined;
  try {
    for (const [i, f] of files.entries()) {
      await makeOutputDir(dirname(f.path));
      await removeStaleTemps(f.path, smallTempCutoff());
      const tmp = `${tempPathFor(f.path)}-${i}`;
      current = { target: f.path, tmp };
      const entry = { target: f.path, tmp, backup: null as string | null };
      staged.push(entry);
      if ((await statOrNull(f.path))?.isDirectory()) {
        throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot write ${f.path}: a folder stands there`, { hint: `Move the folder ${f.path} away, then run again.` });
      }
      await writeFile(tmp, f.data);
      // A hard link keeps the previous file reachable for a rollback without copying it (a copy
      // where the file system has no hard links).
      const backup = `${tmp}-prev`;
      const linked = await link(f.path, backup).then(() => true, async (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return false;
        await copyFile(f.path, backup).catch(() => Promise.reject(err)); // the link's error is the one to report
        return true;
      });
      if (linked) entry.backup = backup;
    }
    for (const s of staged) {
      current = { target: s.target, tmp: s.tmp };
      await rename(s.tmp, s.target);
      committed.push(s);
    }
  } catch (err) {
    for (const c of committed.reverse()) {
      // Best effort while another error is thrown: a backup that cannot be put back stays beside it.
      if (c.backup !== null) await rename(c.backup, c.target).catch(() => undefined);
      else await rm(c.target, { force: true });
    }
    const cause = current === undefined ? err : await outputFailure(err, current.target, current.tmp, total);
    await cleanup();
    throw cause;
  }
  await cleanup();
}

/** Whether the process `pid` that named a leftover is gone: not this process, and no live process of this machine. */
function writerGone(pid: number): boolean {
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid);
}

/** A leftover a gone process left in a folder (what sweepDead found). */
export interface Leftover {
  name: string;
  path: string;
  /** Its bytes (a folder's files' sum), when `measure` was asked. */
  bytes: number;
}

/**
 * The one sweep of a gone process's leftovers: the entries of `dir` whose name carries the pid of
 * their writer (`pidOf`; null: not a leftover) when that process is gone (writerGone) and, with
 * `cutoff` (ms), nothing in the entry changed since then (a workspace shared with other machines may
 * hold a live command's under a pid that means nothing here). Deleted unless `dryRun`. Best effort
 * throughout: a folder or entry this user may not read or delete is left as it is.
 */
export async function sweepDead(dir: string, pidOf: (name: string) => number | null, o: { cutoff?: number; dryRun?: boolean; measure?: boolean } = {}): Promise<Leftover[]> {
  const out: Leftover[] = [];
  for (const name of (await readdirOrEmpty(dir).catch(() => [] as string[])).sort()) {
    const pid = pidOf(name);
    if (pid === null || !writerGone(pid)) continue;
    const path = join(dir, name);
    if (o.cutoff !== undefined) {
      const newest = await newestMtime(path).catch(() => null);
      if (newest === null || newest > o.cutoff) continue;
    }
    const bytes = o.measure === true ? await sizeOf(path) : 0;
    if (o.dryRun !== true && !(await rm(path, { recursive: true, force: true }).then(() => true, () => false))) continue;
    out.push({ name, path, bytes });
  }
  return out;
}

/** Removes temp files of `target` left by killed runs (their writer pid is gone), whatever their age unless
 * `cutoff` (ms) is given: then only those unchanged since (sweepDead). */
export async function removeStaleTemps(target: string, cutoff?: number): Promise<string[]> {
  const prefix = `${tempStem(target)}.tmp-`;
  const pidOf = (name: string): number | null => (name.startsWith(prefix) ? Number(name.slice(prefix.length).split('-')[0]) : null);
  return (await sweepDead(dirname(target), pidOf, { cutoff })).map((l) => l.name);
}

/** A small file's temp lives for milliseconds: one an hour old is a killed writer's, also where its pid means nothing
 * here (a worker of another machine writing the same file on a shared workspace: its temp must not be taken from it). */
const smallTempCutoff = (): number => Date.now() - DEAD_SCRATCH_AGE_MS;

/**
 * The scratch files and folders commands write in the workspace's tmp/ under their pid, deleted by the
 * command itself when it ends: features --as-of's build (`features-as-of-<pid>/`), the incremental
 * builds' deltas (`features-delta-<pid>-…`, `ingest-delta-<pid>-…`, `ingest-changes-<pid>-…`),
 * monitor's rows (`monitor-until-<pid>-…`), the exports' scratch (`export-<pid>-…`: `export forecasts`'
 * rows and the dashboard's downloads; `predictions-<pid>-…`: `export predictions`' rows; scratchName),
 * and a scratch file's own temp (`.<name>.tmp-<pid>-…`). A command killed (kill -9, a runner's
 * watchdog, power loss) leaves its own behind: a full-size `features --as-of` build is the size of
 * the features table. In DuckDB's spill folder (tmp/duckdb/): the forecast inputs' sorted rows (`forecast-rows-<pid>-…`).
 */
const SCRATCH_NAME = /^\.?(?:features-as-of|features-delta|ingest-delta|ingest-changes|monitor-until|export|predictions|forecast-rows)-(\d+)(?:[-.]|$)/;

/** A scratch file's name in tmp/ that the scratch sweep (removeDeadScratch) knows: `<kind>-<pid>-<random id>`. */
export function scratchName(kind: 'export' | 'predictions' | 'forecast-rows', ext: string): string {
  return `${kind}-${process.pid}-${randomUUID()}.${ext}`;
}

/** The newest mtime (ms) of a path and, for a folder, of what it holds (null when it is gone). */
async function newestMtime(path: string): Promise<number | null> {
  const st = await statOrNull(path);
  if (st === null) return null;
  let newest = st.mtimeMs;
  if (st.isDirectory()) {
    for (const name of await readdirOrEmpty(path)) newest = Math.max(newest, (await newestMtime(join(path, name))) ?? 0);
  }
  return newest;
}

/**
 * Deletes (unless `dryRun`) the scratch entries of tmp/ and of DuckDB's spill folder (SCRATCH_NAME)
 * whose command is gone and in which nothing changed since `cutoff` (ms): sweepDead. Returns them
 * workspace-relative, with their bytes.
 */
export async function removeDeadScratch(ws: Workspace, cutoff: number, dryRun = false): Promise<{ paths: string[]; bytes: number }> {
  const pidOf = (name: string): number | null => {
    const m = SCRATCH_NAME.exec(name);
    return m === null ? null : Number(m[1]);
  };
  const out = { paths: [] as string[], bytes: 0 };
  for (const dir of [ws.tmpDir, ws.duckdbTempDir]) {
    for (const l of await sweepDead(dir, pidOf, { cutoff, dryRun, measure: true })) {
      out.bytes += l.bytes;
      out.paths.push(ws.relative(l.path));
    }
  }
  return out;
}

/** How long a dead command's scratch is left alone before the next command deletes it (see removeDeadScratch). */
export const DEAD_SCRATCH_AGE_MS = 60 * 60 * 1000;

/** A temp output's name: `.<name>.tmp-<pid>-<stamp>` (this file's; writeFilesAtomic's `…-<stamp>-<i>` and
 * its backup `…-<i>-prev`) or `<name>.tmp-<pid>` (folders, as earlier versions named a model's). */
const TEMP_NAME = /\.tmp-(\d+)(?:-[0-9a-z]+)*$/;
/** The writer pid a temp output's name carries (TEMP_NAME), or null for another name. */
const tempPid = (name: string): number | null => {
  const m = TEMP_NAME.exec(name);
  return m === null ? null : Number(m[1]);
};
/**
 * The workspace's folders searched for temps (not runs/, the logs, nor tmp/, DuckDB's spill folder),
 * and its own files whose temps sit at the top. Only these: a --workspace that is also a home folder
 * (or /) must not lose another program's `notes.tmp-123`.
 */
const TEMP_DIRS = new Set(layout.outputDirs);
const TOP_TEMP = new RegExp(`^\\.${layout.sourceRecord.replace('.', '\\.')}\\.tmp-`);

/**
 * Removes the temp outputs (files or folders) that killed processes left in the workspace's own
 * folders, three levels deep (tables/, features/, validation/, models/, raw/<id>/, pipeline/, and
 * source.json's at the top): those whose writer pid is dead. A live writer's temps (another
 * command running) are kept.
 */
export async function removeStaleTempsIn(ws: Workspace, depth = 3): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    removed.push(...(await sweepDead(dir, level === 0 ? (name) => (TOP_TEMP.test(name) ? tempPid(name) : null) : tempPid)).map((l) => l.path));
    if (level + 1 >= depth) return;
    // Best-effort cleanup: a folder that cannot be listed is skipped (the command reading it reports it).
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory() && tempPid(e.name) === null && (level > 0 || TEMP_DIRS.has(e.name))) await walk(join(dir, e.name), level + 1);
    }
  };
  await walk(ws.root, 0);
  return removed;
}

/**
 * Removes the temp outputs (files or folders, TEMP_NAME) that killed processes left in `dir`, one of the
 * workspace's own folders, whatever output they were for: models/, whose temps are named after a model id
 * never written again (`models/<id>.tmp-<pid>`, by earlier versions) or after models/model. Only those
 * unchanged for an hour, as a small file's (smallTempCutoff): a model folder is written in seconds, and on a
 * workspace shared with other machines a worker's train writing one now carries a pid that means nothing here.
 */
export async function removeStaleTempsInDir(dir: string): Promise<string[]> {
  return (await sweepDead(dir, tempPid, { cutoff: smallTempCutoff() })).map((l) => l.name);
}

/**
 * The temps withAtomicOutput is writing, removed when a signal ends the process: Ctrl-C during an
 * export left a hidden temp as large as the output beside it until the next export to that path.
 */
const liveTemps = new Set<string>();
const END_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function onEndSignal(sig: NodeJS.Signals): void {
  // Counted first, this listener being the signal's first (prepended): a `process.once` listener
  // (serve's graceful stop) run before it would have removed itself, and the signal re-raised below
  // ended the server mid-drain (exit 143, its requests in flight cut off).
  const others = process.listenerCount(sig) - 1;
  for (const t of liveTemps) rmSync(t, { force: true, recursive: true });
  liveTemps.clear();
  for (const s of END_SIGNALS) process.off(s, onEndSignal);
  // With no other listener the signal ends the process, as it would have without this one; a command
  // that handles it (serve's graceful stop) goes on, and its output fails for want of the temp.
  if (others === 0) process.kill(process.pid, sig);
}

function holdTemp(tmp: string): void {
  if (liveTemps.size === 0) for (const s of END_SIGNALS) process.prependListener(s, onEndSignal);
  liveTemps.add(tmp);
}

function releaseTemp(tmp: string): void {
  if (!liveTemps.delete(tmp) || liveTemps.size > 0) return;
  for (const s of END_SIGNALS) process.off(s, onEndSignal);
}

/**
 * Runs `produce(tmp)` then renames tmp to target; removes tmp on failure, or when SIGINT/SIGTERM/SIGHUP
 * ends the process. `output`: the option that named target when it is the user's file (`--out`), for
 * the hints of a full disk or an unwritable folder (another file for it, not another --workspace).
 */
export async function withAtomicOutput<T>(target: string, produce: (tmpPath: string) => Promise<T>, output?: string): Promise<T> {
  await makeOutputDir(dirname(target), output);
  await removeStaleTemps(target);
  const tmp = tempPathFor(target);
  await probeWritable(target, tmp, output);
  holdTemp(tmp);
  try {
    const result = await produce(tmp);
    beforeCommit();
    await rename(tmp, target);
    return result;
  } catch (err) {
    const failure = await outputFailure(err, target, tmp, undefined, output);
    await rm(tmp, { force: true, recursive: true });
    throw failure;
  } finally {
    releaseTemp(tmp);
  }
}

/**
 * Runs `use(path)` with a scratch file (a scratchName under tmp/, or the system's temp folder), then
 * deletes it; deleted too when SIGINT/SIGTERM/SIGHUP ends the process, as withAtomicOutput's temps:
 * Ctrl-C while `export forecasts` or `export predictions` wrote its output left the rows it had
 * gathered (as large as the export) in tmp/.
 */
export async function withScratch<T>(path: string, use: (path: string) => Promise<T>): Promise<T> {
  holdTemp(path);
  try {
    return await use(path);
  } finally {
    await rm(path, { force: true, recursive: true });
    releaseTemp(path);
  }
}

/**
 * Fails with SP_ERR_WORKSPACE_UNWRITABLE when the workspace path is a file, lies under one, or is a
 * symbolic link to nothing (a missing folder is fine: commands that write create it). Read commands answered as if a file
 * were an empty workspace, and `serve` served it.
 */
export async function checkWorkspacePath(dir: string): Promise<void> {
  const s = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : err));
  // A symbolic link to a folder that is gone (a disk not mounted, a target deleted): fetch failed with "cannot write
  // to DIR: EEXIST" and a hint to fix permissions, and the read commands read it as an empty workspace.
  const target = s === null ? await readlink(dir).catch(() => null) : null;
  if (target !== null) {
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `the workspace ${dir} is a symbolic link to ${resolve(dirname(dir), target)}, which does not exist`, {
      hint: 'Mount the disk it points to or create that folder, or pass --workspace (or STOCKPIPE_WORKSPACE) with another folder.',
    });
  }
  if (s === null || (!(s instanceof Error) && s.isDirectory())) return;
  const what = s instanceof Error ? (s.code === 'ENOTDIR' ? 'lies under a file' : `cannot be read (${s.code ?? s.message})`) : 'is a file';
  throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `the workspace ${dir} ${what}, not a folder`, { hint: 'Pass --workspace (or STOCKPIPE_WORKSPACE) with a folder, e.g. ./stockpipe-data; it is created when missing.', cause: s instanceof Error ? s : undefined });
}

/** Creates the workspace folder (and a subfolder) or fails with SP_ERR_WORKSPACE_UNWRITABLE. */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    let code = (err as NodeJS.ErrnoException).code ?? String(err);
    // Node's recursive mkdir says ENOENT where the folder cannot be made on a read-only file system; a plain one says why (EROFS).
    if (code === 'ENOENT') code = await mkdir(dir).then(() => code, (again: NodeJS.ErrnoException) => again.code ?? code);
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot write to ${dir}: ${code}`, { cause: err });
  }
}

/** sha256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of a JSON-able value with sorted keys (stable cache keys). */
export function hashJson(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex');
}

export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj).sort().filter((k) => obj[k] !== undefined).map((k) => `${JSON.stringify(k)}:${stableStringify(obj[k])}`).join(',')}}`;
}

/** Reads and checks a JSON file the executor or a partition wrote (SP_ERR_PARTITION_STAGE when missing, not JSON or not of `schema`). */
export async function readJsonFile<T>(path: string, schema: ZodType<T>, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new StockpipeError('SP_ERR_PARTITION_STAGE', `the ${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { hint: 'Pass the file the executor wrote.', cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StockpipeError('SP_ERR_PARTITION_STAGE', `the ${what} ${path} is not valid JSON: ${(err as Error).message}`, { hint: 'Pass the file the executor wrote.', cause: err });
  }
  const r = schema.safeParse(doc);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new StockpipeError('SP_ERR_PARTITION_STAGE', `the ${what} ${path} is not one: ${i.path.join('.') || '(root)'}: ${i.message}`, { hint: 'Pass the file the executor wrote (same stockpipe version).' });
  }
  return r.data;
}
