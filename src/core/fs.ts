/** @module core/fs
 * Safe file output (temp file + rename, so a killed run never leaves half a file) and hashing. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile, access, constants } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { beforeCommit } from './commit-guard.js';
import { StockpipeError } from './errors.js';
import { processAlive } from './proc.js';

export { processAlive };

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
    beforeCommit();
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
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

/** A temp output's name: `.<name>.tmp-<pid>-<stamp>` (this file's) or `<name>.tmp-<pid>` (folders). */
const TEMP_NAME = /\.tmp-(\d+)(?:-[0-9a-z]+)?$/;
/** Folders of the workspace not searched for temps (run logs; DuckDB's own spill folder). */
const SKIP_DIRS = new Set(['runs', 'tmp']);

/**
 * Removes the temp outputs (files or folders) that killed processes left anywhere in the
 * workspace's first three levels (tables/, features/, validation/, models/, raw/<id>/, pipeline/):
 * those whose writer pid is dead. A live writer's temps (another command running) are kept.
 */
export async function removeStaleTempsIn(workspace: string, depth = 3): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (dir: string, level: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const path = join(dir, e.name);
      const m = TEMP_NAME.exec(e.name);
      if (m) {
        const pid = Number(m[1]);
        if (pid !== process.pid && !processAlive(pid)) {
          await rm(path, { force: true, recursive: true });
          removed.push(path);
        }
      } else if (e.isDirectory() && level + 1 < depth && !(level === 0 && SKIP_DIRS.has(e.name))) {
        await walk(path, level + 1);
      }
    }
  };
  await walk(workspace, 0);
  return removed;
}

/** Runs `produce(tmp)` then renames tmp to target; removes tmp on failure. */
export async function withAtomicOutput<T>(target: string, produce: (tmpPath: string) => Promise<T>): Promise<T> {
  await makeOutputDir(dirname(target));
  await removeStaleTemps(target);
  const tmp = tempPathFor(target);
  try {
    const result = await produce(tmp);
    beforeCommit();
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
