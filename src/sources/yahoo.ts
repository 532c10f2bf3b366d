/** @module sources/yahoo
 * The `yahoo` source (docs/data.md): daily bars for a list of tickers, stored in the Kaggle layout under
 * raw/yahoo/data/ (stocks/, etfs/ by instrumentType, symbols_valid_meta.csv) and fetched
 * incrementally (only days after each symbol's newest stored day). An update is staged in a folder
 * (unchanged files hard-linked, changed ones rewritten) and swapped in whole with the manifest, so a
 * failed fetch stores nothing. HTTP, rate limit and retries are sources/yahoo-client. */
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fromDayNumber, toDayNumber } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import { hashJson, processAlive, readdirOrEmpty, readFileOrNull, statOrNull } from '../core/fs.js';
import { parseCsvRecords } from '../core/csv-records.js';
import { hashAndCountRows } from './dir.js';
import { readManifest, writeManifest } from './manifest.js';
import type { FetchContext, FetchResult, Manifest, ManifestFile, Source } from './types.js';
import { yahooClient, type YahooBars, type YahooClientOptions } from './yahoo-client.js';
import { beforeCommit } from '../core/commit-guard.js';

export const YAHOO_PRICE_HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume';
export const YAHOO_META_HEADER = 'Symbol,Security Name,ETF';
const META = 'symbols_valid_meta.csv';

export interface YahooSourceOptions extends Omit<YahooClientOptions, 'log' | 'signal'> {
  /** Tickers as Yahoo spells them (BRK-B, ^GSPC); stored under their upper-case name. */
  symbols: readonly string[];
  /** First day wanted (YYYY-MM-DD). */
  start: string;
  /** Last day wanted (YYYY-MM-DD); default: today (UTC) by the fetch clock. */
  end?: string;
}

interface Stored { folder: 'stocks' | 'etfs'; lastDay: number }
interface MetaRow { name: string; etf: boolean }
interface Update { folder: 'stocks' | 'etfs'; isNew: boolean; text: string }

export function yahooSource(opts: YahooSourceOptions): Source {
  const symbols = [...new Set(opts.symbols.map((s) => s.trim().toUpperCase()).filter((s) => s !== ''))];
  if (symbols.length === 0) throw new StockpipeError('SP_ERR_CONFIG_INVALID', '--source yahoo needs tickers: --symbols AAPL,MSFT (or fetch.tickers in the config)');
  return {
    id: 'yahoo',
    async fetch(ctx: FetchContext): Promise<FetchResult> {
      const log = ctx.log.child({ source: 'yahoo' });
      const startDay = toDayNumber(opts.start);
      const wanted = toDayNumber(opts.end ?? ctx.now().toISOString().slice(0, 10));
      if (startDay > wanted) throw new StockpipeError('SP_ERR_CONFIG_INVALID', `fetch: --start ${opts.start} is after --end ${fromDayNumber(wanted)}`, { hint: 'Give --start on or before --end.' });
      const endDay = Math.min(wanted, lastClosedDay(ctx.now()));
      const raw = resolve(ctx.ws.rawDir('yahoo'));
      const root = join(raw, 'data');
      await mkdir(raw, { recursive: true });
      await recover(raw, root);
      const stored = await readStored(root);
      const meta = await readMeta(join(root, META));
      const client = yahooClient({ ...opts, log, signal: ctx.signal });
      const updates = new Map<string, Update>();
      const notFound: string[] = [];
      let firstNotFound = '';
      let metaChanged = false;
      ctx.progress.start('yahoo: symbols', symbols.length);
      try {
        for (const [k, sym] of symbols.entries()) {
          const s = stored.get(sym);
          const from = s ? Math.max(startDay, s.lastDay + 1) : startDay;
          if (from <= endDay) {
            let bars: YahooBars;
            try {
              bars = await client.chart(sym, from, endDay);
            } catch (err) {
              if (!(err instanceof StockpipeError && err.code === 'SP_ERR_YAHOO_NOT_FOUND')) throw err;
              notFound.push(sym);
              firstNotFound ||= err.message;
              continue;
            }
            const etf = bars.instrumentType.toUpperCase() === 'ETF';
            const folder = s?.folder ?? (etf ? 'etfs' : 'stocks');
            if (!s || bars.day.length > 0) updates.set(sym, { folder, isNew: !s, text: (s ? '' : `${YAHOO_PRICE_HEADER}\n`) + csvRows(bars) });
            const name = bars.name ?? sym;
            const m = meta.get(sym);
            if (!m || m.name !== name || m.etf !== etf) {
              meta.set(sym, { name, etf });
              metaChanged = true;
            }
          }
          ctx.progress.update(k + 1);
        }
      } finally {
        ctx.progress.stop();
      }
      if (notFound.length > 0) {
        throw new StockpipeError('SP_ERR_YAHOO_NOT_FOUND', `Yahoo has no symbol ${notFound.map((n) => `'${n}'`).join(', ')}; nothing was stored (${firstNotFound})`, { hint: `Fix or remove ${notFound.join(', ')} in --symbols; the whole fetch fails so a typo is never silently skipped.` });
      }
      const previous = await readManifest(ctx.ws, 'yahoo').catch((err: unknown) => {
        if (err instanceof StockpipeError && err.code === 'SP_ERR_NO_RAW_DATA') return null; // unreadable: written anew below
        throw err;
      });
      if (updates.size === 0 && !metaChanged && previous !== null && previous.root === root && (await intact(previous, root))) {
        log.info({ requests: client.requests }, 'yahoo data up to date (cached)');
        return { manifest: previous, manifestPath: ctx.ws.manifest('yahoo'), cached: true };
      }
      const staging = join(raw, `data.staging-${process.pid}`);
      const old = join(raw, `data.old-${process.pid}`);
      await rm(staging, { recursive: true, force: true });
      try {
        const files = await stage(root, staging, stored, updates, metaChanged ? metaCsv(meta) : null, previous);
        const manifest: Manifest = {
          format: 1, source: 'yahoo', source_spec: `yahoo:${symbols.join(',')}`,
          source_version: `yahoo files:${hashJson(files.map((f) => [f.path, f.sha256]))}`,
          fetched_at: ctx.now().toISOString(), layout: 'dir', root, files, bytes: files.reduce((s, f) => s + f.size, 0),
        };
        const hadData = await isDir(root);
        beforeCommit();
        if (hadData) await rename(root, old);
        await rename(staging, root);
        let path: string;
        try {
          path = await writeManifest(ctx.ws, manifest);
        } catch (err) {
          await rm(root, { recursive: true, force: true });
          if (hadData) await rename(old, root);
          throw err;
        }
        await rm(old, { recursive: true, force: true });
        log.info({ symbols: updates.size, files: files.length, requests: client.requests }, 'yahoo data updated');
        return { manifest, manifestPath: path, cached: false };
      } finally {
        await rm(staging, { recursive: true, force: true });
      }
    },
  };
}

/** CSV lines of the bars (nulls as empty fields, as in the Kaggle files). */
export function csvRows(b: YahooBars): string {
  const f = (x: number): string => (Number.isNaN(x) ? '' : String(x));
  let out = '';
  for (let i = 0; i < b.day.length; i++) {
    const v = b.volume[i]!;
    out += `${fromDayNumber(b.day[i]!)},${f(b.open[i]!)},${f(b.high[i]!)},${f(b.low[i]!)},${f(b.close[i]!)},${f(b.adjClose[i]!)},${Number.isNaN(v) ? '' : String(Math.round(v))}\n`;
  }
  return out;
}

/** Writes the next data folder: changed files rewritten, the rest hard-linked (same bytes and mtime). */
async function stage(root: string, staging: string, stored: Map<string, Stored>, updates: Map<string, Update>, meta: string | null, previous: Manifest | null): Promise<ManifestFile[]> {
  await mkdir(join(staging, 'stocks'), { recursive: true });
  await mkdir(join(staging, 'etfs'), { recursive: true });
  const paths: string[] = [];
  for (const [sym, s] of stored) {
    const p = `${s.folder}/${sym}.csv`;
    const u = updates.get(sym);
    if (u) {
      await copyFile(join(root, p), join(staging, p));
      await writeFile(join(staging, p), u.text, { flag: 'a' });
    } else await linkOrCopy(join(root, p), join(staging, p));
    paths.push(p);
  }
  for (const [sym, u] of updates) {
    if (!u.isNew) continue;
    const p = `${u.folder}/${sym}.csv`;
    await writeFile(join(staging, p), u.text);
    paths.push(p);
  }
  if (meta !== null) await writeFile(join(staging, META), meta);
  else if (await isFile(join(root, META))) await linkOrCopy(join(root, META), join(staging, META));
  if (await isFile(join(staging, META))) paths.push(META);
  paths.sort();
  const known = new Map((previous?.files ?? []).map((f) => [f.path, f]));
  const files: ManifestFile[] = [];
  for (const p of paths) {
    const st = await stat(join(staging, p));
    const k = known.get(p);
    const mtime = Math.floor(st.mtimeMs);
    if (k && k.size === st.size && k.mtime_ms === mtime && k.sha256 !== null && k.rows !== null) files.push(k);
    else files.push({ path: p, size: st.size, mtime_ms: mtime, ...(await hashAndCountRows(join(staging, p))) });
  }
  return files;
}

async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (err) {
    if (!['EXDEV', 'EPERM', 'ENOTSUP', 'EMLINK'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await copyFile(from, to); // no hard links here: a copy (new mtime: rehashed once)
  }
}

/** Symbols stored under root, with their folder and the day of their last line. */
async function readStored(root: string): Promise<Map<string, Stored>> {
  const out = new Map<string, Stored>();
  for (const folder of ['stocks', 'etfs'] as const) {
    const names = await readdirOrEmpty(join(root, folder));
    for (const name of names.sort()) {
      if (!name.endsWith('.csv')) continue;
      const sym = name.slice(0, -4);
      if (out.has(sym)) continue;
      out.set(sym, { folder, lastDay: await lastDay(join(root, folder, name)) });
    }
  }
  return out;
}

const newYorkClock = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/New_York', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23' });

/**
 * The newest day whose bar is final at `now` (a day number): today in New York once the NYSE has
 * closed (16:00 there), else yesterday. During a session Yahoo answers that day's live bar (part of
 * its volume, the last trade as Close); stored, it would stay: the next fetch asks only for later days.
 */
export function lastClosedDay(now: Date): number {
  const p = Object.fromEntries(newYorkClock.formatToParts(now).map((x) => [x.type, x.value]));
  const today = toDayNumber(`${p.year}-${p.month}-${p.day}`);
  return Number(p.hour) >= 16 ? today : today - 1;
}

/** The date of a CSV's last data line (-Infinity for a header-only or empty file). */
async function lastDay(path: string): Promise<number> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 4096);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('latin1').split(/\r?\n/).filter((l) => l !== '');
    const m = /^(\d{4}-\d{2}-\d{2}),/.exec(lines[lines.length - 1] ?? '');
    return m ? toDayNumber(m[1]!) : Number.NEGATIVE_INFINITY;
  } finally {
    await fh.close();
  }
}

async function readMeta(path: string): Promise<Map<string, MetaRow>> {
  const out = new Map<string, MetaRow>();
  const text = await readFileOrNull(path);
  if (text === null) return out;
  const [header = [], ...rows] = parseCsvRecords(text);
  const [iSym, iName, iEtf] = ['Symbol', 'Security Name', 'ETF'].map((h) => header.indexOf(h));
  for (const r of rows) {
    const sym = r[iSym!];
    if (sym) out.set(sym, { name: r[iName!] ?? '', etf: r[iEtf!] === 'Y' });
  }
  return out;
}

function metaCsv(meta: Map<string, MetaRow>): string {
  const q = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [...meta.keys()].sort().map((sym) => `${q(sym)},${q(meta.get(sym)!.name)},${meta.get(sym)!.etf ? 'Y' : 'N'}`);
  return `${YAHOO_META_HEADER}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** Every manifest file is in root with its recorded size and mtime. */
async function intact(m: Manifest, root: string): Promise<boolean> {
  for (const f of m.files) {
    const st = await statOrNull(join(root, f.path));
    if (!st || st.size !== f.size || Math.floor(st.mtimeMs) !== f.mtime_ms) return false;
  }
  return true;
}

/** Puts back data/ when a run died between the two renames; removes dead runs' staging folders. */
async function recover(raw: string, root: string): Promise<void> {
  for (const name of await readdir(raw)) {
    const m = /^data\.(staging|old)-(\d+)$/.exec(name);
    if (!m || (Number(m[2]) !== process.pid && processAlive(Number(m[2])))) continue;
    if (m[1] === 'old' && !(await isDir(root))) await rename(join(raw, name), root);
    else await rm(join(raw, name), { recursive: true, force: true });
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await statOrNull(p))?.isDirectory() ?? false;
}

async function isFile(p: string): Promise<boolean> {
  return (await statOrNull(p))?.isFile() ?? false;
}
