/** @module core/fs
 * Safe file output (temp file + rename, so a killed run never leaves half a file) and hashing. */
import { createHash } from 'node:crypto';
import { createReadStream, type Stats } from 'node:fs';
import { mkdir, readdir, rename, rm, stat, writeFile, access, constants } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { StockpipeError } from './errors.js';

/** A temp path beside `target` (same folder, so the rename is atomic). */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.tmp-${process.pid}-${Date.now().toString(36)}`);
}

/** Creates an output's folder, or SP_ERR_WORKSPACE_UNWRITABLE naming it (e.g. a file stands there). */
async function makeOutputDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot create the output folder ${dir}: ${code}`, {
      hint: code === 'EEXIST' || code === 'ENOTDIR' ? `A file stands where the folder ${dir} should be: move it away.` : 'Pass --workspace with a folder you can write, or fix its permissions.',
      cause: err,
    });
  }
}

/** Writes `data` to `target` atomically. */
export async function writeFileAtomic(target: string, data: string | Uint8Array): Promise<void> {
  await makeOutputDir(dirname(target));
  const tmp = tempPathFor(target);
  try {
    await writeFile(tmp, data);
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * stat(path), or null when nothing is there: ENOENT, or ENOTDIR (a file stands where the path
 * needs a folder). Every other error (EACCES, ELOOP, EIO, …) is thrown as it came, with its code,
 * so a permission problem is never mistaken for a missing file.
 */
export async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
}

/** True when a process with this pid is alive (signal 0 probes without signalling). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes temp files of `target` left by killed runs (their writer pid is gone). */
export async function removeStaleTemps(target: string): Promise<string[]> {
  const prefix = `.${basename(target)}.tmp-`;
  const names = await readdir(dirname(target)).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await rm(join(dirname(target), name), { force: true, recursive: true });
      removed.push(name);
    }
  }
  return removed;
}

/** Runs `produce(tmp)` then renames tmp to target; removes tmp on failure. */
export async function withAtomicOutput<T>(target: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  await makeOutputDir(dirname(target));
  await removeStaleTemps(target);
  const tmp = tempPathFor(target);
  try {
    const result = await produce(tmp);
    await rename(tmp, target);
    return result;
  } catch (err) {
    await rm(tmp, { force: true, recursive: true });
    throw err;
  }
}

/** Creates the workspace folder (and a subfolder) or fails with SP_ERR_WORKSPACE_UNWRITABLE. */
export async function ensureWritableDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.W_OK);
  } catch (err) {
    throw new StockpipeError('SP_ERR_WORKSPACE_UNWRITABLE', `cannot write to ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
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
