/** @module sources/kaggle
 * The `kaggle` source (docs/data.md): asks the Kaggle REST API for the dataset version, streams the
 * archive from signed storage to disk (resumable, checksummed, retried), unpacks it, writes the
 * manifest. Credentials come from sources/kaggle-auth, unzipping from sources/zip. */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { setTimeout as delay } from 'node:timers/promises';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import { ensureWritableDir, writeFileAtomic } from '../core/fs.js';
import type { Logger } from '../core/log.js';
import { RetryBudget, randomJitter, retryAfterMs, sourceBackoffMs } from '../core/retry.js';
import { resolveKaggleAuth, kaggleCredentialPlaces, type KaggleAuth } from './kaggle-auth.js';
import { readManifest, writeManifest } from './manifest.js';
import type { FetchContext, FetchResult, Manifest, Source } from './types.js';
import { extractZip } from './zip.js';
import { beforeCommit } from '../core/commit-guard.js';
import { describe, describeFiles, discard, errorDetail, hashFile, headerInt, hostOf, isDir, parseContentRange, parseGoogMd5, readPartInfo, removePart, rethrowIfAborted, sizeOf, startsWithPk, type PartInfo } from './kaggle-util.js';

export { countDataRows } from './kaggle-util.js';

export const DEFAULT_KAGGLE_DATASET = 'jacksoncrow/stock-market-dataset';

export interface KaggleSourceOptions {
  /** API base, e.g. https://www.kaggle.com (no trailing path). */
  baseUrl: string;
  /** owner/slug; default jacksoncrow/stock-market-dataset. */
  dataset?: string;
  fetchImpl?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** Jitter source in [0, 1). */
  random?: () => number;
  maxRetries?: number;
}

/** Sidecar beside the .part file: what a resume needs to know about the storage answer. */

interface Run {
  ctx: FetchContext;
  log: Logger;
  base: string;
  owner: string;
  slug: string;
  auth: KaggleAuth;
  http: typeof fetch;
  retry: KaggleRetry;
}

const ViewSchema = z.object({ currentVersionNumber: z.number().int().positive(), totalBytes: z.number().nonnegative().nullish() });
const USER_AGENT = 'stockpipe';

/** Builds the kaggle Source for one owner/slug dataset. */
export function kaggleSource(opts: KaggleSourceOptions): Source {
  const dataset = opts.dataset ?? DEFAULT_KAGGLE_DATASET;
  const m = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)$/.exec(dataset);
  if (!m) throw new StockpipeError('SP_ERR_CONFIG_INVALID', `kaggle dataset must be owner/slug (got ${JSON.stringify(dataset)})`, { hint: `Use e.g. ${DEFAULT_KAGGLE_DATASET}.` });
  const [, owner = '', slug = ''] = m;
  const base = opts.baseUrl.replace(/\/+$/, '');
  return {
    id: 'kaggle',
    async fetch(ctx: FetchContext): Promise<FetchResult> {
      const log = ctx.log.child({ source: 'kaggle' });
      const auth = await resolveKaggleAuth({ env: ctx.env, homeDir: ctx.homeDir, log });
      log.info({ dataset, auth: auth.kind, origin: auth.origin }, 'kaggle credentials');
      const retry = new KaggleRetry(opts.maxRetries ?? 5, opts.sleep ?? ((ms) => delay(ms, undefined, { signal: ctx.signal })), opts.random ?? randomJitter, log);
      const run: Run = { ctx, log, base, owner, slug, auth, http: opts.fetchImpl ?? fetch, retry };
      return fetchDataset(run);
    },
  };
}

async function fetchDataset(run: Run): Promise<FetchResult> {
  const { ctx, owner, slug } = run;
  const dir = ctx.ws.rawDir('kaggle');
  await ensureWritableDir(dir);
  const { version, totalBytes } = await getVersion(run);
  const key = `${owner}/${slug}@v${version}`;
  const dataDir = join(dir, 'data');
  const previous = await readManifest(ctx.ws, 'kaggle').catch((err: unknown) => {
    if (err instanceof StockpipeError && err.code === 'SP_ERR_NO_RAW_DATA') return null; // unreadable: fetch again
    throw err;
  });
  if (previous?.source_version === key && (await isDir(dataDir))) {
    run.log.info({ version: key }, 'kaggle dataset unchanged; using the cached copy');
    return { manifest: previous, manifestPath: ctx.ws.manifest('kaggle'), cached: true };
  }
  const zipPath = join(dir, `${owner}__${slug}@v${version}.zip`);
  if ((await sizeOf(zipPath)) === 0) {
    try {
      await download(run, version, zipPath, totalBytes ?? null);
    } finally {
      ctx.progress.stop();
    }
  }
  return unpack(run, zipPath, dir, key);
}

async function getVersion(run: Run): Promise<{ version: number; totalBytes: number | null }> {
  const res = await apiGet(run, `/api/v1/datasets/view/${run.owner}/${run.slug}`, 'follow');
  let body: unknown;
  try {
    body = await res.json();
  } catch (err) {
    throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', `Kaggle answered the dataset view of ${run.owner}/${run.slug} with something that is not JSON`, { cause: err });
  }
  const parsed = ViewSchema.safeParse(body);
  if (!parsed.success) throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', `Kaggle's dataset view of ${run.owner}/${run.slug} has no currentVersionNumber`);
  return { version: parsed.data.currentVersionNumber, totalBytes: parsed.data.totalBytes ?? null };
}

/** GETs an API path with credentials; retries 429/5xx/network errors; maps 401/403/404 to errors. Returns 2xx/3xx. */
async function apiGet(run: Run, path: string, redirect: RequestRedirect): Promise<Response> {
  const url = `${run.base}${path}`;
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': USER_AGENT };
  if (run.auth.header !== undefined) headers.authorization = run.auth.header;
  for (;;) {
    let res: Response;
    try {
      res = await run.http(url, { headers, redirect, signal: run.ctx.signal });
    } catch (err) {
      rethrowIfAborted(run.ctx.signal, err);
      await run.retry.fail(`Kaggle API ${hostOf(url)} unreachable: ${describe(err)}`, { cause: err });
      continue;
    }
    if (res.status < 400) return res;
    const detail = await errorDetail(res, run.auth.secrets);
    const what = `${run.owner}/${run.slug}`;
    if (res.status === 401) {
      if (run.auth.kind === 'none') throw new StockpipeError('SP_ERR_KAGGLE_AUTH', `Kaggle requires credentials for ${what} and none were found (${detail})`, { hint: `Set KAGGLE_API_TOKEN, or put kaggle.json in one of: ${kaggleCredentialPlaces(run.ctx).join(', ')}.` });
      throw new StockpipeError('SP_ERR_KAGGLE_AUTH', `Kaggle rejected the credentials from ${run.auth.origin} (${detail})`);
    }
    if (res.status === 403) throw new StockpipeError('SP_ERR_KAGGLE_FORBIDDEN', `Kaggle refused ${what} (${detail})`, { hint: `Open https://www.kaggle.com/datasets/${what} while logged in and accept its rules, then retry.` });
    if (res.status === 404) throw new StockpipeError('SP_ERR_KAGGLE_NOT_FOUND', `Kaggle has no dataset ${what} (${detail})`);
    if (res.status === 429 || res.status >= 500) {
      await run.retry.fail(`Kaggle API ${detail}`, { retryAfterMs: retryAfterMs(res.headers.get('retry-after'), run.ctx.now().getTime()) });
      continue;
    }
    throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', `Kaggle answered GET ${path} with ${detail}`);
  }
}

/** Streams the archive to `<zip>.part`, resuming and retrying, and renames it to `zipPath` once verified. */
async function download(run: Run, version: number, zipPath: string, totalHint: number | null): Promise<void> {
  const { ctx, log } = run;
  const part = `${zipPath}.part`;
  const side = `${part}.json`;
  const apiPath = `/api/v1/datasets/download/${run.owner}/${run.slug}?datasetVersionNumber=${version}`;
  let storageUrl: string | null = null;
  let best = await sizeOf(part); // bytes on disk never seen before count as progress
  let progressTotal = -1;
  for (;;) {
    ctx.signal?.throwIfAborted();
    const info = await readPartInfo(side);
    let have = await sizeOf(part);
    const resume = have > 0 && info?.accept_ranges === true;
    if (have > 0 && !resume) {
      log.info({ bytes: have }, 'partial download cannot be resumed; starting over');
      await removePart(part);
      have = 0;
    }
    let res: Response;
    if (storageUrl === null) {
      res = await apiGet(run, apiPath, 'manual');
      if (res.status >= 300) {
        const location = res.headers.get('location');
        await discard(res);
        if (location === null) throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', `Kaggle answered the download of ${run.owner}/${run.slug} with ${res.status} but no Location`);
        storageUrl = new URL(location, `${run.base}/`).toString();
        continue;
      }
      // The API sent the archive itself (no Range was asked): any partial file is restarted.
    } else {
      const headers: Record<string, string> = { 'user-agent': USER_AGENT }; // never Authorization
      if (resume) headers.range = `bytes=${have}-`;
      try {
        res = await run.http(storageUrl, { headers, redirect: 'follow', signal: ctx.signal });
      } catch (err) {
        rethrowIfAborted(ctx.signal, err);
        await run.retry.fail(`storage ${hostOf(storageUrl)} unreachable: ${describe(err)}`, { cause: err });
        continue;
      }
      if (res.status === 429 || res.status >= 500) {
        const retryAfter = retryAfterMs(res.headers.get('retry-after'), ctx.now().getTime());
        await run.retry.fail(`storage ${hostOf(storageUrl)} answered ${await errorDetail(res, [])}`, { retryAfterMs: retryAfter });
        continue;
      }
      if (res.status === 416) {
        await discard(res);
        await removePart(part);
        await run.retry.fail('storage refused the resume range; starting over', { wait: false });
        continue;
      }
      if (res.status !== 200 && res.status !== 206) {
        // 403 (and any other refusal) means the signed URL expired: ask the API for a fresh one.
        await discard(res);
        await run.retry.fail(`storage ${hostOf(storageUrl)} answered ${res.status}; asking Kaggle for a fresh download URL`, { wait: false });
        storageUrl = null;
        continue;
      }
    }
    const urlHost = hostOf(storageUrl ?? run.base);
    let start = 0;
    let total = headerInt(res, 'content-length');
    const length = total;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get('content-range'));
      if (range === null || range.start !== have || (info !== null && info.total !== null && range.total !== null && range.total !== info.total)) {
        await discard(res);
        await removePart(part);
        await run.retry.fail('storage answered a range that does not continue the partial file; starting over', { wait: false });
        continue;
      }
      start = have;
      total = range.total ?? info?.total ?? (length === null ? null : have + length);
    } else if (res.status !== 200) {
      await discard(res);
      throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', `Kaggle answered the download of ${run.owner}/${run.slug} with ${res.status}`);
    }
    const md5 = parseGoogMd5(res.headers.get('x-goog-hash')) ?? (start > 0 ? info?.md5 ?? null : null);
    const acceptRanges = start > 0 || /\bbytes\b/i.test(res.headers.get('accept-ranges') ?? '');
    await writeFileAtomic(side, `${JSON.stringify({ url_host: urlHost, accept_ranges: acceptRanges, total, md5 } satisfies PartInfo)}\n`);
    const hash = createHash('md5');
    if (start > 0) await hashFile(part, hash); // md5 covers the whole file, old bytes included
    const shownTotal = total ?? totalHint ?? 0;
    if (shownTotal !== progressTotal) ctx.progress.start(`kaggle ${run.owner}/${run.slug} v${version}`, (progressTotal = shownTotal));
    let written = start;
    ctx.progress.update(written);
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        written += chunk.length;
        ctx.progress.update(written);
        cb(null, chunk);
      },
    });
    const out = createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
    const body = res.body === null ? Readable.from([]) : Readable.fromWeb(res.body as unknown as NodeReadableStream<Uint8Array>);
    try {
      await pipeline(body, tap, out);
    } catch (err) {
      if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve())); // bytes on disk settle first
      rethrowIfAborted(ctx.signal, err);
      const onDisk = await sizeOf(part);
      if (onDisk > best) {
        best = onDisk;
        run.retry.progressed();
      }
      await run.retry.fail(`download interrupted at ${onDisk} bytes: ${describe(err)}`, { cause: err });
      continue;
    }
    await verifyPart(run, part, { size: await sizeOf(part), start, length, total, md5, gotMd5: hash.digest('base64') });
    beforeCommit();
    await rename(part, zipPath);
    await rm(side, { force: true });
    log.info({ path: zipPath, bytes: written }, 'kaggle archive downloaded');
    return;
  }
}

interface PartCheck { size: number; start: number; length: number | null; total: number | null; md5: string | null; gotMd5: string }

/** Size, PK magic and md5 checks; a bad file is deleted and reported as SP_ERR_KAGGLE_CHECKSUM. */
async function verifyPart(run: Run, part: string, c: PartCheck): Promise<void> {
  const problems: string[] = [];
  if (c.total !== null && c.size !== c.total) problems.push(`it has ${c.size} bytes, expected ${c.total}`);
  if (c.start > 0 && c.length !== null && c.size - c.start !== c.length) problems.push(`received ${c.size - c.start} bytes, Content-Length said ${c.length}`);
  if (!(await startsWithPk(part))) problems.push('it does not start with the zip magic "PK"');
  if (c.md5 !== null && c.gotMd5 !== c.md5) problems.push(`its md5 is ${c.gotMd5}, storage said ${c.md5}`);
  if (problems.length === 0) return;
  await removePart(part);
  throw new StockpipeError('SP_ERR_KAGGLE_CHECKSUM', `the downloaded archive of ${run.owner}/${run.slug} is bad: ${problems.join('; ')}`);
}

/** Unpacks into a staging folder, describes it, swaps it in for data/ and writes the manifest last. */
async function unpack(run: Run, zipPath: string, dir: string, key: string): Promise<FetchResult> {
  const { ctx, log } = run;
  const dataDir = join(dir, 'data');
  const staging = join(dir, 'data.staging');
  const old = join(dir, 'data.old');
  await rm(staging, { recursive: true, force: true });
  await rm(old, { recursive: true, force: true });
  let skipped: { path: string; reason: string }[] = [];
  try {
    const entries = await extractZip(zipPath, staging);
    skipped = entries.filter((e) => e.symlink === true).map((e) => ({ path: e.name, reason: 'symlink entry: not followed in an archive' }));
    for (const s of skipped) log.warn({ path: s.path, reason: s.reason }, 'kaggle source: skipped');
  } catch (err) {
    if (err instanceof StockpipeError && err.code === 'SP_ERR_ZIP_CORRUPT') {
      log.warn({ path: zipPath }, 'deleting the corrupt kaggle archive');
      await rm(zipPath, { force: true });
    }
    throw err;
  }
  try {
    const files = await describeFiles(staging, ctx);
    const manifest: Manifest = {
      format: 1, source: 'kaggle', source_spec: `kaggle:${run.owner}/${run.slug}`, source_version: key,
      fetched_at: ctx.now().toISOString(), layout: 'dir', root: dataDir, files, bytes: files.reduce((s, f) => s + f.size, 0),
      ...(skipped.length > 0 ? { skipped } : {}),
    };
    const hadData = await isDir(dataDir);
    beforeCommit();
    if (hadData) await rename(dataDir, old);
    await rename(staging, dataDir);
    let path: string;
    try {
      path = await writeManifest(ctx.ws, manifest);
    } catch (err) {
      await rm(dataDir, { recursive: true, force: true });
      if (hadData) await rename(old, dataDir);
      throw err;
    }
    await rm(old, { recursive: true, force: true });
    log.info({ files: files.length, bytes: manifest.bytes, version: key }, 'kaggle dataset unpacked');
    return { manifest, manifestPath: path, cached: false };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

class KaggleRetry {
  private readonly budget: RetryBudget;
  constructor(private readonly max: number, private readonly sleep: (ms: number) => Promise<void>, random: () => number, private readonly log: Logger) {
    this.budget = new RetryBudget(max, sourceBackoffMs, random);
  }

  /** Records one failure; throws SP_ERR_KAGGLE_UNAVAILABLE when the retries are used up, else waits. */
  async fail(reason: string, opts: { retryAfterMs?: number | undefined; wait?: boolean; cause?: unknown } = {}): Promise<void> {
    const step = this.budget.next(opts);
    if (step === null) throw new StockpipeError('SP_ERR_KAGGLE_UNAVAILABLE', `${reason}; gave up after ${this.max} retries`, { cause: opts.cause });
    this.log.warn({ reason, retry: step.retry, of: this.max, delay_ms: step.delayMs }, 'kaggle request failed; retrying');
    if (step.delayMs > 0) await this.sleep(step.delayMs);
  }

  /** A try that moved the download forward resets the count: only failures in a row use it up. */
  progressed(): void {
    this.budget.progressed();
  }
}
