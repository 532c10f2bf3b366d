/** @module pipeline/hash
 * Content hashes of task inputs and outputs, and cache keys. A file's sha256 is memoised by
 * (path, size, mtime, inode) in <workspace>/pipeline/hash-memo.json, as git's index does, so an
 * unchanged multi-GB input is not read again; any change to those makes it read in full. A folder
 * hashes as the sorted list of its files' (relative path, sha256). */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { sha256File, stableStringify, writeFileAtomic } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import type { OutputRecord } from '../registry/pipeline.js';

interface MemoEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  sha256: string;
}

/** Hashes files with a persistent stat memo; `save()` writes the memo back. */
export class FileHasher {
  private memo: Record<string, MemoEntry> = {};
  private loaded = false;
  private dirty = false;
  constructor(private readonly ws: Workspace) {}

  get memoPath(): string {
    return this.ws.hashMemo;
  }

  private async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    try {
      const memo: unknown = JSON.parse(await readFile(this.memoPath, 'utf8'));
      // `null` (or an array, a number: a memo edited or damaged) is no memo: `null[path]` failed every task with
      // SP_ERR_INTERNAL ("Cannot read properties of null"), and every dry run, until the file was removed.
      if (typeof memo === 'object' && memo !== null && !Array.isArray(memo)) this.memo = memo as Record<string, MemoEntry>;
    } catch (err) {
      // A missing or unreadable memo only costs a re-read of the files; it never changes a hash.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.memo = {};
    }
  }

  /** sha256 and size of one file or folder; SP_ERR_PIPELINE_INPUT when it cannot be read. */
  async hash(path: string, what = 'input'): Promise<OutputRecord> {
    await this.load();
    const abs = this.ws.path(path);
    let st;
    try {
      st = statSync(abs); // sync: a few µs, where a thread-pool round trip costs tens (a backfill stats thousands)
    } catch (err) {
      throw new StockpipeError('SP_ERR_PIPELINE_INPUT', `${what} ${abs} cannot be hashed: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    if (st.isDirectory()) return this.hashDir(abs, what);
    const m = this.memo[abs];
    if (m && m.size === st.size && m.mtimeMs === st.mtimeMs && m.ino === st.ino) return { path: abs, sha256: m.sha256, bytes: st.size };
    let sha256: string;
    try {
      sha256 = await sha256File(abs);
    } catch (err) {
      throw new StockpipeError('SP_ERR_PIPELINE_INPUT', `${what} ${abs} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
    }
    this.memo[abs] = { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, sha256 };
    this.dirty = true;
    return { path: abs, sha256, bytes: st.size };
  }

  private async hashDir(abs: string, what: string): Promise<OutputRecord> {
    const files = (await readdir(abs, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name)).sort();
    const h = createHash('sha256');
    let bytes = 0;
    for (const f of files) {
      const r = await this.hash(f, what);
      h.update(`${relative(abs, f)}\0${r.sha256}\n`);
      bytes += r.bytes;
    }
    return { path: abs, sha256: h.digest('hex'), bytes };
  }

  async save(): Promise<void> {
    if (!this.dirty) return;
    await writeFileAtomic(this.memoPath, JSON.stringify(this.memo));
    this.dirty = false;
  }

  /**
   * save(), a failure (a full disk) logged: the memo is a cache, so it must not stop a run whose
   * tasks are done from recording its end. The next run reads the files again.
   */
  async saveOrWarn(log: Logger): Promise<void> {
    try {
      await this.save();
    } catch (err) {
      log.warn({ err, memo: this.memoPath }, 'pipeline: cannot save the hash memo; the next run hashes the files again');
    }
  }
}

/**
 * The cache key: sha256 over the task's name, code version, params and input hashes. An input inside
 * the workspace is named relative to it, so the key does not depend on how the workspace was reached
 * (a symlink to it, a trailing slash, a bind mount): the same files are the same key.
 */
export function cacheKey(ws: Workspace, input: { task: string; version: string; params: Record<string, unknown>; inputs: readonly OutputRecord[] }): string {
  return createHash('sha256').update(stableStringify({
    task: input.task,
    version: input.version,
    params: input.params,
    inputs: input.inputs.map((i) => [ws.relative(i.path), i.sha256]),
  })).digest('hex');
}
