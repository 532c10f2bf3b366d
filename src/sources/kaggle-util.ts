/** @module sources/kaggle-util
 * The kaggle source's small helpers: describing the unpacked files for the manifest (size, mtime,
 * sha256, data rows), reading error bodies without leaking secrets, parsing storage headers, and the
 * `.part` file's sidecar. No network calls of their own. */
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { sha256File, statOrNull } from '../core/fs.js';
import type { FetchContext, ManifestFile } from './types.js';
import { forEachAtMost } from '../core/at-most.js';

/** What a `.part` download's sidecar JSON records, to resume it. */
export interface PartInfo { url_host: string; accept_ranges: boolean; total: number | null; md5: string | null }

/** Every file under root: size, mtime, sha256 and (for CSVs) data rows, sorted by path. */
export async function describeFiles(root: string, ctx: FetchContext): Promise<ManifestFile[]> {
  const paths = (await walk(root)).sort();
  const out: ManifestFile[] = new Array<ManifestFile>(paths.length);
  ctx.progress.start('kaggle: hashing files', paths.length);
  let done = 0;
  try {
    await forEachAtMost(paths, 4, async (abs, i) => {
      const st = await stat(abs);
      const rows = /\.csv$/i.test(abs) ? await countDataRows(abs) : null;
      out[i] = { path: relative(root, abs).split(sep).join('/'), size: st.size, mtime_ms: Math.floor(st.mtimeMs), sha256: await sha256File(abs), rows };
      ctx.progress.update(++done);
    });
  } finally {
    ctx.progress.stop();
  }
  return out;
}

export async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Lines after the header; a last line without '\n' counts, a header-only file has 0. */
export async function countDataRows(path: string): Promise<number> {
  let newlines = 0;
  let last = -1;
  for await (const chunk of createReadStream(path)) {
    const b = chunk as Buffer;
    for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) newlines++;
    if (b.length > 0) last = b[b.length - 1] as number;
  }
  const lines = newlines + (last !== -1 && last !== 10 ? 1 : 0);
  return Math.max(0, lines - 1);
}

/** Counts failures across one fetch; waits min(2^n + jitter, 60) s (or Retry-After) between tries. */

/** "HTTP 401: <message>" from a Kaggle error body ({"code","message"}), with any secret redacted. */
export async function errorDetail(res: Response, secrets: readonly string[]): Promise<string> {
  let text = '';
  try {
    text = (await res.text()).slice(0, 2000);
  } catch {
    text = ''; // the status alone still says what failed
  }
  let message = text;
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') message = body.message;
  } catch {
    message = text; // not JSON: use the text as is
  }
  message = message.replace(/\s+/g, ' ').trim().slice(0, 200);
  for (const s of secrets) if (s.length > 0) message = message.split(s).join('[redacted]');
  return message === '' ? `HTTP ${res.status}` : `HTTP ${res.status}: ${message}`;
}

export function parseGoogMd5(header: string | null): string | null {
  for (const part of (header ?? '').split(',')) {
    const t = part.trim();
    if (t.startsWith('md5=')) return t.slice(4);
  }
  return null;
}

export function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(header?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) };
}

export function headerInt(res: Response, name: string): number | null {
  const v = res.headers.get(name);
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v) : null;
}

export async function readPartInfo(path: string): Promise<PartInfo | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as PartInfo;
  } catch {
    return null; // missing or unreadable sidecar: the part cannot be resumed
  }
}

export async function removePart(part: string): Promise<void> {
  await rm(part, { force: true });
  await rm(`${part}.json`, { force: true });
}

export async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

export async function startsWithPk(path: string): Promise<boolean> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf.toString('latin1') === 'PK';
  } finally {
    await fh.close();
  }
}

export async function sizeOf(path: string): Promise<number> {
  const st = await statOrNull(path);
  return st?.isFile() ? st.size : 0;
}

export async function isDir(path: string): Promise<boolean> {
  return (await statOrNull(path))?.isDirectory() ?? false;
}

export async function discard(res: Response): Promise<void> {
  // The body is unwanted; a failure to cancel it only leaves a socket for the pool to reap.
  await res.body?.cancel().catch(() => undefined);
}

export function hostOf(url: string): string {
  return new URL(url).host;
}

export function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? ` (${cause.code})` : '';
  return `${err instanceof Error ? err.message : String(err)}${code}`;
}

export function rethrowIfAborted(signal: AbortSignal | undefined, err: unknown): void {
  if (signal?.aborted) throw err;
}
