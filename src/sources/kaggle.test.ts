/** @module sources/kaggle.test
 * The kaggle source and credential lookup against two local HTTP servers on 127.0.0.1
 * (API and signed storage on different ports). Never reaches the internet. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { buildZip } from '../../test/helpers/zip-writer.js';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { silentProgress, type Progress } from '../core/progress.js';
import { resolveKaggleAuth } from './kaggle-auth.js';
import { countDataRows, kaggleSource, type KaggleSourceOptions } from './kaggle.js';
import type { FetchContext, Manifest } from './types.js';
import { Workspace } from '../core/workspace.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
interface Seen { url: string; headers: IncomingHttpHeaders }

const OWNER = 'jacksoncrow';
const SLUG = 'stock-market-dataset';

function csv(rows: number, seed: number): string {
  let s = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
  let x = seed;
  for (let i = 0; i < rows; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    s += `2020-01-${String((i % 28) + 1).padStart(2, '0')},${(x % 9973) / 100},${(x % 9967) / 100},${(x % 9941) / 100},${(x % 9931) / 100},${(x % 9929) / 100},${x % 1000003}\n`;
  }
  return s;
}

const FILES = { 'stocks/AAA.csv': csv(300, 1), 'etfs/BBB.csv': csv(200, 2).trimEnd(), 'symbols_valid_meta.csv': 'Symbol,Security Name\nAAA,Aaa Inc\nBBB,Bbb ETF\n' };
const ZIP = buildZip(Object.entries(FILES).map(([name, data]) => ({ name, data })));
const md5 = (b: Buffer): string => createHash('md5').update(b).digest('base64');

/** The fake Kaggle: default answers plus per-route queues of one-shot handlers. */
class FakeKaggle {
  apiUrl = '';
  storageUrl = '';
  version = 1;
  zip: Buffer = ZIP;
  goodMd5: string | null = null; // override the x-goog-hash md5
  acceptRanges = true;
  hashOnRange = true;
  expired = new Set<number>();
  sig = 0;
  seen = { view: [] as Seen[], download: [] as Seen[], storage: [] as Seen[] };
  queue = { view: [] as Handler[], download: [] as Handler[], storage: [] as Handler[] };
  private servers: Server[] = [];

  async start(): Promise<void> {
    this.apiUrl = await this.listen((req, res) => this.api(req, res));
    this.storageUrl = await this.listen((req, res) => this.store(req, res));
  }
  async stop(): Promise<void> {
    for (const s of this.servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }
  private async listen(h: Handler): Promise<string> {
    const s = createServer(h);
    this.servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }
  private api(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const seen = { url, headers: req.headers };
    if (url === `/api/v1/datasets/view/${OWNER}/${SLUG}`) {
      this.seen.view.push(seen);
      const q = this.queue.view.shift();
      if (q) return q(req, res);
      json(res, 200, { ref: `${OWNER}/${SLUG}`, currentVersionNumber: this.version, totalBytes: this.zip.length });
    } else if (url === `/api/v1/datasets/download/${OWNER}/${SLUG}?datasetVersionNumber=${this.version}`) {
      this.seen.download.push(seen);
      const q = this.queue.download.shift();
      if (q) return q(req, res);
      res.writeHead(302, { location: `${this.storageUrl}/bucket/archive.zip?sig=${++this.sig}` }).end();
    } else json(res, 404, { code: 404, message: 'Not found' });
  }
  private store(req: IncomingMessage, res: ServerResponse): void {
    this.seen.storage.push({ url: req.url ?? '', headers: req.headers });
    const q = this.queue.storage.shift();
    if (q) return q(req, res);
    const sig = Number(new URL(req.url ?? '', 'http://x').searchParams.get('sig'));
    if (this.expired.has(sig)) return void res.writeHead(403).end('<Error><Code>ExpiredToken</Code></Error>');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const from = m && this.acceptRanges ? Number(m[1]) : 0;
    const body = this.zip.subarray(from);
    const headers = this.headers(body.length);
    if (!this.hashOnRange && from > 0) delete headers['x-goog-hash'];
    if (from > 0) res.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${this.zip.length - 1}/${this.zip.length}` });
    else res.writeHead(200, headers);
    res.end(body);
  }
  headers(length: number): Record<string, string> {
    const h: Record<string, string> = { 'content-type': 'application/zip', 'content-length': String(length), 'x-goog-hash': `crc32c=AAAAAA==, md5=${this.goodMd5 ?? md5(this.zip)}` };
    if (this.acceptRanges) h['accept-ranges'] = 'bytes';
    return h;
  }
  /**
   * A storage answer that sends half the archive, then drops the connection once the client has
   * written that half to `partPath` (an errored fetch body drops the chunks it has not yet read).
   */
  dropHalfway(partPath: string): Handler {
    return (_req, res) => {
      res.writeHead(200, this.headers(this.zip.length));
      res.write(this.zip.subarray(0, this.half), () => {
        const poll = async (tries: number): Promise<void> => {
          const size = (await stat(partPath).catch(() => null))?.size ?? 0;
          if (size >= this.half || tries === 0) res.socket?.destroy();
          else setTimeout(() => void poll(tries - 1), 5);
        };
        void poll(2000);
      });
    };
  }
  get half(): number {
    return Math.floor(this.zip.length / 2);
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

function captureLog(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } });
  return { log: pino({ level: 'info' }, stream), text: () => lines.join('') };
}

let fake: FakeKaggle;
let ws: string;
let home: string;
let sleeps: number[];

beforeEach(async () => {
  fake = new FakeKaggle();
  await fake.start();
  ws = await mkdtemp(join(tmpdir(), 'sp-kaggle-ws-'));
  home = await mkdtemp(join(tmpdir(), 'sp-kaggle-home-'));
  sleeps = [];
});

afterEach(async () => {
  await fake.stop();
  await rm(ws, { recursive: true, force: true });
  await rm(home, { recursive: true, force: true });
});

function ctx(env: Record<string, string> = {}, extra: Partial<FetchContext> = {}): FetchContext {
  return { ws: new Workspace(ws), log: pino({ level: 'silent' }), progress: silentProgress, now: () => new Date('2024-01-02T03:04:05Z'), env, homeDir: home, checksum: false, ...extra };
}

function source(o: Partial<KaggleSourceOptions> = {}) {
  return kaggleSource({ baseUrl: fake.apiUrl, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5, ...o });
}

async function failure(p: Promise<unknown>): Promise<StockpipeError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(StockpipeError);
  return err as StockpipeError;
}

const kaggleDir = (): string => join(ws, 'raw', 'kaggle');
const zipName = (v = 1): string => `${OWNER}__${SLUG}@v${v}.zip`;
const partPath = (): string => join(kaggleDir(), `${zipName()}.part`);
const rawFiles = async (): Promise<string[]> => (await readdir(kaggleDir()).catch(() => [] as string[])).sort();

describe('kaggle credentials', () => {
  const log = pino({ level: 'silent' });
  async function kaggleJson(dir: string, username: string, key: string, mode = 0o600): Promise<string> {
    await mkdir(dir, { recursive: true });
    const p = join(dir, 'kaggle.json');
    await writeFile(p, JSON.stringify({ username, key }));
    await chmod(p, mode);
    return p;
  }

  it('follows the official order: token env, access_token, username/key env, $KAGGLE_CONFIG_DIR, ~/.kaggle, XDG', async () => {
    const cfg = join(home, 'cfg');
    const xdg = join(home, 'xdg');
    const xdgJson = await kaggleJson(join(xdg, 'kaggle'), 'xdg-user', 'k1');
    const env: Record<string, string> = { XDG_CONFIG_HOME: xdg };
    expect(await resolveKaggleAuth({ env, homeDir: home, log })).toMatchObject({ kind: 'basic', origin: xdgJson, username: 'xdg-user' });
    const homeJson = await kaggleJson(join(home, '.kaggle'), 'home-user', 'k2');
    expect(await resolveKaggleAuth({ env, homeDir: home, log })).toMatchObject({ kind: 'basic', origin: homeJson, username: 'home-user' });
    env.KAGGLE_CONFIG_DIR = cfg;
    const cfgJson = await kaggleJson(cfg, 'cfg-user', 'k3');
    expect(await resolveKaggleAuth({ env, homeDir: home, log })).toMatchObject({ kind: 'basic', origin: cfgJson, username: 'cfg-user' });
    Object.assign(env, { KAGGLE_USERNAME: 'env-user', KAGGLE_KEY: 'k4' });
    const basic = await resolveKaggleAuth({ env, homeDir: home, log });
    expect(basic).toMatchObject({ kind: 'basic', origin: 'KAGGLE_USERNAME + KAGGLE_KEY', username: 'env-user' });
    expect(basic.header).toBe(`Basic ${Buffer.from('env-user:k4').toString('base64')}`);
    await writeFile(join(home, '.kaggle', 'access_token'), 'file-token\n', { mode: 0o600 });
    expect(await resolveKaggleAuth({ env, homeDir: home, log })).toMatchObject({ kind: 'bearer', header: 'Bearer file-token', origin: join(home, '.kaggle', 'access_token') });
    env.KAGGLE_API_TOKEN = 'env-token';
    expect(await resolveKaggleAuth({ env, homeDir: home, log })).toMatchObject({ kind: 'bearer', header: 'Bearer env-token', origin: 'KAGGLE_API_TOKEN' });
  });

  it('reads KAGGLE_API_TOKEN as a file path when it names a file; none when nothing is set', async () => {
    const p = join(home, 'tok.txt');
    await writeFile(p, '  tok-from-file\n', { mode: 0o600 });
    expect(await resolveKaggleAuth({ env: { KAGGLE_API_TOKEN: p }, homeDir: home, log })).toMatchObject({ kind: 'bearer', header: 'Bearer tok-from-file', origin: `KAGGLE_API_TOKEN (file ${p})` });
    expect(await resolveKaggleAuth({ env: {}, homeDir: home, log })).toMatchObject({ kind: 'none' });
  });

  it('warns when kaggle.json is group/world readable, never logging the key', async () => {
    const { log: cap, text } = captureLog();
    await kaggleJson(join(home, '.kaggle'), 'u', 'very-secret-key', 0o644);
    await resolveKaggleAuth({ env: {}, homeDir: home, log: cap });
    expect(text()).toContain('readable by group or others');
    expect(text()).not.toContain('very-secret-key');
    const quiet = captureLog();
    await chmod(join(home, '.kaggle', 'kaggle.json'), 0o600);
    await resolveKaggleAuth({ env: {}, homeDir: home, log: quiet.log });
    expect(quiet.text()).toBe('');
  });

  it('rejects a malformed kaggle.json without quoting it', async () => {
    await mkdir(join(home, '.kaggle'));
    await writeFile(join(home, '.kaggle', 'kaggle.json'), '{"username":"u","key":"leaky-key"', { mode: 0o600 });
    const err = await failure(resolveKaggleAuth({ env: {}, homeDir: home, log }));
    expect(err.code).toBe('SP_ERR_KAGGLE_AUTH');
    expect(err.message).not.toContain('leaky-key');
  });
});

describe('kaggle source', () => {
  it('downloads, follows the redirect without Authorization, unpacks and writes the manifest', async () => {
    const events: string[] = [];
    const progress: Progress = { start: (l, t) => void events.push(`start ${t}`), update: (d) => void events.push(`update ${d}`), stop: () => void events.push('stop') };
    const res = await source().fetch(ctx({ KAGGLE_API_TOKEN: 'tok-123' }, { progress }));
    expect(fake.seen.view[0]?.headers.authorization).toBe('Bearer tok-123');
    expect(fake.seen.download[0]?.headers.authorization).toBe('Bearer tok-123');
    expect(fake.seen.storage).toHaveLength(1);
    expect(fake.seen.storage[0]?.headers.authorization).toBeUndefined();
    expect(res.cached).toBe(false);
    const m: Manifest = res.manifest;
    expect(m).toMatchObject({ format: 1, source: 'kaggle', source_spec: `kaggle:${OWNER}/${SLUG}`, source_version: `${OWNER}/${SLUG}@v1`, layout: 'dir', root: join(kaggleDir(), 'data'), fetched_at: '2024-01-02T03:04:05.000Z' });
    expect(m.files.map((f) => [f.path, f.rows])).toEqual([['etfs/BBB.csv', 200], ['stocks/AAA.csv', 300], ['symbols_valid_meta.csv', 2]]);
    const aaa = m.files.find((f) => f.path === 'stocks/AAA.csv');
    expect(aaa?.sha256).toBe(createHash('sha256').update(FILES['stocks/AAA.csv']).digest('hex'));
    expect(m.bytes).toBe(Object.values(FILES).reduce((s, t) => s + Buffer.byteLength(t), 0));
    expect(JSON.parse(await readFile(res.manifestPath, 'utf8'))).toEqual(m);
    expect(await readFile(join(kaggleDir(), 'data', 'etfs', 'BBB.csv'), 'utf8')).toBe(FILES['etfs/BBB.csv']);
    expect(await rawFiles()).toEqual(['data', zipName(), 'manifest.json']);
    expect(await readFile(join(kaggleDir(), zipName()))).toEqual(ZIP);
    expect(events).toContain(`start ${ZIP.length}`);
    expect(events).toContain(`update ${ZIP.length}`);
  });

  it('sends Basic auth from KAGGLE_USERNAME/KAGGLE_KEY, and from kaggle.json in the home folder', async () => {
    await source().fetch(ctx({ KAGGLE_USERNAME: 'alice', KAGGLE_KEY: 'k-1' }));
    expect(fake.seen.view[0]?.headers.authorization).toBe(`Basic ${Buffer.from('alice:k-1').toString('base64')}`);
    await mkdir(join(home, '.kaggle'));
    await writeFile(join(home, '.kaggle', 'kaggle.json'), JSON.stringify({ username: 'bob', key: 'k-2' }), { mode: 0o600 });
    await source().fetch(ctx());
    expect(fake.seen.view[1]?.headers.authorization).toBe(`Basic ${Buffer.from('bob:k-2').toString('base64')}`);
  });

  it('reads the bearer token from the file KAGGLE_API_TOKEN names', async () => {
    const p = join(home, 'token');
    await writeFile(p, 'tok-in-file\n', { mode: 0o600 });
    await source().fetch(ctx({ KAGGLE_API_TOKEN: p }));
    expect(fake.seen.download[0]?.headers.authorization).toBe('Bearer tok-in-file');
  });

  it('downloads a public dataset without credentials', async () => {
    const res = await source().fetch(ctx());
    expect(fake.seen.view[0]?.headers.authorization).toBeUndefined();
    expect(res.manifest.files).toHaveLength(3);
  });

  it('401 names where the credentials came from and never the secret', async () => {
    fake.queue.view.push((_q, r) => json(r, 401, { code: 401, message: 'Invalid token super-secret-tok' }));
    const { log, text } = captureLog();
    const err = await failure(source().fetch(ctx({ KAGGLE_API_TOKEN: 'super-secret-tok' }, { log })));
    expect(err.code).toBe('SP_ERR_KAGGLE_AUTH');
    expect(err.message).toContain('KAGGLE_API_TOKEN');
    expect(err.message).toContain('[redacted]');
    expect(`${err.message} ${err.hint} ${text()}`).not.toContain('super-secret-tok');

    await mkdir(join(home, '.kaggle'));
    await writeFile(join(home, '.kaggle', 'kaggle.json'), JSON.stringify({ username: 'u', key: 'json-secret' }), { mode: 0o600 });
    fake.queue.view.push((_q, r) => json(r, 401, { code: 401, message: 'Unauthenticated' }));
    const err2 = await failure(source().fetch(ctx()));
    expect(err2.code).toBe('SP_ERR_KAGGLE_AUTH');
    expect(err2.message).toContain(join(home, '.kaggle', 'kaggle.json'));
    expect(err2.message).not.toContain('json-secret');
  });

  it('maps 403 to SP_ERR_KAGGLE_FORBIDDEN and 404 to SP_ERR_KAGGLE_NOT_FOUND', async () => {
    fake.queue.download.push((_q, r) => json(r, 403, { code: 403, message: 'You must accept this dataset\'s rules' }));
    expect((await failure(source().fetch(ctx({ KAGGLE_API_TOKEN: 't' })))).code).toBe('SP_ERR_KAGGLE_FORBIDDEN');
    fake.queue.view.push((_q, r) => json(r, 403, { code: 403, message: 'Forbidden' }));
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_FORBIDDEN');
    expect((await failure(source({ dataset: 'nobody/nothing' }).fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_NOT_FOUND');
    expect(await rawFiles()).toEqual([]);
  });

  it('honours Retry-After on 429, then succeeds', async () => {
    fake.queue.view.push((_q, r) => json(r, 429, { code: 429, message: 'Too many requests' }, { 'retry-after': '7' }));
    const res = await source().fetch(ctx());
    expect(sleeps).toEqual([7000]);
    expect(res.manifest.files).toHaveLength(3);
  });

  it('retries 5xx and network errors with min(2^n + jitter, 60) s backoff, then gives up', async () => {
    for (let i = 0; i < 6; i++) fake.queue.view.push((_q, r) => json(r, 503, { code: 503, message: 'busy' }));
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_UNAVAILABLE');
    expect(sleeps).toEqual([1500, 2500, 4500, 8500, 16500]);
    expect(fake.seen.view).toHaveLength(6);

    sleeps = [];
    for (let i = 0; i < 9; i++) fake.queue.view.push((_q, r) => json(r, 500, { code: 500, message: 'oops' }));
    expect((await failure(source({ maxRetries: 8 }).fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_UNAVAILABLE');
    expect(sleeps).toEqual([1500, 2500, 4500, 8500, 16500, 32500, 60000, 60000]);

    sleeps = [];
    let thrown = 0;
    const flaky: typeof fetch = async (input, init) => {
      if (thrown++ < 2) throw new TypeError('fetch failed', { cause: { code: 'ECONNRESET' } });
      return fetch(input, init);
    };
    const res = await source({ fetchImpl: flaky }).fetch(ctx());
    expect(sleeps).toEqual([1500, 2500]);
    expect(res.manifest.files).toHaveLength(3);
  });

  it('resumes an interrupted download with a Range request', async () => {
    fake.queue.storage.push(fake.dropHalfway(partPath()));
    const res = await source().fetch(ctx());
    expect(fake.seen.storage).toHaveLength(2);
    expect(fake.seen.storage[0]?.headers.range).toBeUndefined();
    expect(fake.seen.storage[1]?.headers.range).toBe(`bytes=${fake.half}-`);
    expect(sleeps).toEqual([1500]);
    // The 206 carries the whole object's md5, so this also proves the old bytes were hashed.
    expect(await readFile(join(kaggleDir(), zipName()))).toEqual(ZIP);
    expect(res.manifest.files).toHaveLength(3);
    expect(await rawFiles()).toEqual(['data', zipName(), 'manifest.json']);
  });

  it('keeps the .part when retries run out, and a later fetch resumes it (md5 from the sidecar)', async () => {
    fake.queue.storage.push(fake.dropHalfway(partPath()));
    expect((await failure(source({ maxRetries: 0 }).fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_UNAVAILABLE');
    expect(await rawFiles()).toEqual([`${zipName()}.part`, `${zipName()}.part.json`]);
    expect(JSON.parse(await readFile(`${partPath()}.json`, 'utf8'))).toEqual({ url_host: new URL(fake.storageUrl).host, accept_ranges: true, total: ZIP.length, md5: md5(ZIP) });
    fake.hashOnRange = false;
    fake.goodMd5 = md5(Buffer.from('not used: the 206 carries no hash'));
    await source().fetch(ctx());
    expect(fake.seen.storage[1]?.headers.range).toBe(`bytes=${fake.half}-`);
    expect(await readFile(join(kaggleDir(), zipName()))).toEqual(ZIP);
  });

  it('checks a resumed file against the md5 remembered in the sidecar', async () => {
    fake.queue.storage.push(fake.dropHalfway(partPath()));
    await failure(source({ maxRetries: 0 }).fetch(ctx()));
    const side = JSON.parse(await readFile(`${partPath()}.json`, 'utf8')) as Record<string, unknown>;
    await writeFile(`${partPath()}.json`, JSON.stringify({ ...side, md5: md5(Buffer.from('tampered')) }));
    fake.hashOnRange = false;
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_CHECKSUM');
    expect(fake.seen.storage[1]?.headers.range).toBe(`bytes=${fake.half}-`);
    expect(await rawFiles()).toEqual([]);
  });

  it('restarts from zero when storage did not offer ranges, or answers 200 to a Range', async () => {
    fake.acceptRanges = false;
    fake.queue.storage.push(fake.dropHalfway(partPath()));
    await source().fetch(ctx());
    expect(fake.seen.storage.map((s) => s.headers.range)).toEqual([undefined, undefined]);
    expect(await readFile(join(kaggleDir(), zipName()))).toEqual(ZIP);

    await rm(kaggleDir(), { recursive: true });
    fake.acceptRanges = true;
    fake.queue.storage.push(fake.dropHalfway(partPath()), (_q, r) => void r.writeHead(200, fake.headers(ZIP.length)).end(ZIP));
    await source().fetch(ctx());
    expect(fake.seen.storage[3]?.headers.range).toBe(`bytes=${fake.half}-`);
    expect(await readFile(join(kaggleDir(), zipName()))).toEqual(ZIP);
  });

  it('asks the API for a fresh URL when storage answers 403 (expired signature)', async () => {
    fake.expired.add(1);
    const res = await source().fetch(ctx({ KAGGLE_API_TOKEN: 't' }));
    expect(fake.seen.download).toHaveLength(2);
    expect(fake.seen.storage.map((s) => s.url)).toEqual(['/bucket/archive.zip?sig=1', '/bucket/archive.zip?sig=2']);
    expect(fake.seen.storage.every((s) => s.headers.authorization === undefined)).toBe(true);
    expect(res.manifest.files).toHaveLength(3);
  });

  it('accepts the archive straight from the API (200 instead of a redirect)', async () => {
    fake.queue.download.push((_q, r) => void r.writeHead(200, fake.headers(ZIP.length)).end(ZIP));
    const res = await source().fetch(ctx());
    expect(fake.seen.storage).toHaveLength(0);
    expect(res.manifest.files).toHaveLength(3);
  });

  it('rejects an md5 mismatch and a file without the PK magic, leaving nothing behind', async () => {
    fake.goodMd5 = md5(Buffer.from('something else'));
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_CHECKSUM');
    expect(await rawFiles()).toEqual([]);
    fake.goodMd5 = null;
    fake.zip = Buffer.from('<html>not a zip</html>');
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_CHECKSUM');
    expect(await rawFiles()).toEqual([]);
  });

  it('rejects a corrupt zip with SP_ERR_ZIP_CORRUPT and deletes it', async () => {
    fake.zip = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(600, 0x41)]);
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_ZIP_CORRUPT');
    expect(await rawFiles()).toEqual([]);
  });

  it('does not download an unchanged version again; a failed new version keeps the old data', async () => {
    const first = await source().fetch(ctx());
    const second = await source().fetch(ctx());
    expect(second.cached).toBe(true);
    expect(second.manifest).toEqual(first.manifest);
    expect(fake.seen.view).toHaveLength(2);
    expect(fake.seen.download).toHaveLength(1);
    expect(fake.seen.storage).toHaveLength(1);

    fake.version = 2;
    fake.goodMd5 = md5(Buffer.from('wrong'));
    expect((await failure(source().fetch(ctx()))).code).toBe('SP_ERR_KAGGLE_CHECKSUM');
    expect(JSON.parse(await readFile(first.manifestPath, 'utf8'))).toEqual(first.manifest);
    expect(await readFile(join(kaggleDir(), 'data', 'stocks', 'AAA.csv'), 'utf8')).toBe(FILES['stocks/AAA.csv']);
    expect(await rawFiles()).toEqual(['data', zipName(1), 'manifest.json']);
  });

  it('keeps CSVs nested under a top-level folder where they are', async () => {
    fake.zip = buildZip([{ name: 'archive/stocks/AAA.csv', data: 'Date,Volume\n2020-01-02,5\n' }, { name: 'archive/etfs/BBB.csv', data: 'Date,Volume\n' }]);
    const res = await source().fetch(ctx());
    expect(res.manifest.files.map((f) => [f.path, f.rows])).toEqual([['archive/etfs/BBB.csv', 0], ['archive/stocks/AAA.csv', 1]]);
  });
});

describe('countDataRows', () => {
  it('counts lines after the header, with or without a final newline', async () => {
    const p = join(ws, 'x.csv');
    const cases: Array<[string, number]> = [['', 0], ['H\n', 0], ['H', 0], ['H\na\n', 1], ['H\na\nb', 2], ['H\r\na\r\nb\r\n', 2]];
    for (const [text, rows] of cases) {
      await writeFile(p, text);
      expect(await countDataRows(p)).toBe(rows);
    }
  });
});
