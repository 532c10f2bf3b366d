/** @module sources/synthetic/generate
 * Generates the dataset into a folder: plans the symbols, builds each one's series and CSV bytes
 * into reused buffers, and writes them with bounded concurrency (CPU overlaps the writes), then
 * symbols_valid_meta.csv. The folder swap and the manifest are source.ts's. */
import { createHash } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toDayNumber } from '../../core/calendar.js';
import { createRng, deriveSeed } from '../../core/rng.js';
import type { ManifestFile } from '../types.js';
import { calendarBytes, pickEmptyDays } from './calendar.js';
import { csvCapacity, symbolCsv } from './csv.js';
import { metadataCsv } from './metadata.js';
import { resolveSyntheticOptions, syntheticDayCount, type SyntheticOptions } from './options.js';
import { planSymbols } from './plan.js';
import { PriceCache } from './price-cache.js';
import { DECIMALS_FROM, SIXTEENTHS_FROM, SeriesBuffers, generateSeries, type QuoteEras } from './price-model.js';

/** Files written at once; generation (CPU) overlaps with these writes (thread pool). */
const WRITE_CONCURRENCY = 8;

export interface SyntheticResult {
  /** One entry per written file, paths relative to the folder, sorted by path. */
  files: ManifestFile[];
  /** Data rows over all price files (lines after the header, empty and malformed ones included). */
  rows: number;
  bytes: number;
}

/**
 * Writes the dataset for `opts` into `dir` (stocks/, etfs/, symbols_valid_meta.csv). Same options
 * → byte-identical files. `onProgress(done, total)` counts written files.
 */
export async function generateSynthetic(
  dir: string,
  opts: Partial<SyntheticOptions>,
  onProgress?: (doneFiles: number, totalFiles: number) => void,
  signal?: AbortSignal,
): Promise<SyntheticResult> {
  const o = resolveSyntheticOptions(opts);
  const days = syntheticDayCount(o.years);
  const cal = calendarBytes(o.start, days);
  const plans = planSymbols(o, days);
  const firstIndexFrom = (date: string): number => {
    const day = toDayNumber(date);
    const i = cal.days.findIndex((d) => d >= day);
    return i < 0 ? days : i;
  };
  const eras: QuoteEras = { sixteenthsFrom: firstIndexFrom(SIXTEENTHS_FROM), decimalsFrom: firstIndexFrom(DECIMALS_FROM) };
  await mkdir(join(dir, 'stocks'), { recursive: true });
  await mkdir(join(dir, 'etfs'), { recursive: true });
  const series = new SeriesBuffers(days);
  const cache = new PriceCache();
  const files: ManifestFile[] = [];
  const total = plans.length + 1;
  let done = 0;
  let rows = 0;
  let bytes = 0;
  const pending = new Set<Promise<void>>();
  let failure: unknown;
  // Output buffers are reused once their write finished (no per-file allocation, less GC).
  const pool: Buffer[] = [];
  const capacity = csvCapacity(days + 8);
  const put = async (path: string, buf: Buffer, length: number, fileRows: number): Promise<void> => {
    const data = buf.subarray(0, length);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const target = join(dir, path);
    const task = (async () => {
      await writeFile(target, data);
      const st = await stat(target);
      files.push({ path, size: length, mtime_ms: st.mtimeMs, sha256, rows: fileRows });
      bytes += length;
      onProgress?.(++done, total);
    })()
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        if (buf.length === capacity) pool.push(buf);
      });
    pending.add(task);
    void task.finally(() => pending.delete(task));
    while (pending.size >= WRITE_CONCURRENCY) await Promise.race(pending);
  };
  try {
    for (const plan of plans) {
      signal?.throwIfAborted();
      if (failure !== undefined) break;
      const rng = createRng(deriveSeed(o.seed, plan.index));
      generateSeries(plan, rng, series, eras);
      const empty = plan.quirks.has('empty-row') ? pickEmptyDays(plan, cal, rng) : [];
      const fileRows = plan.length + empty.length;
      const buf = fileRows <= days + 8 ? (pool.pop() ?? Buffer.allocUnsafe(capacity)) : Buffer.allocUnsafe(csvCapacity(fileRows));
      const length = symbolCsv(plan, series, cal, cache, empty, buf);
      rows += fileRows;
      await put(`${plan.asset === 'etf' ? 'etfs' : 'stocks'}/${plan.ticker}.csv`, buf, length, fileRows);
    }
    if (failure === undefined) {
      const meta = metadataCsv(o, plans);
      const data = Buffer.from(meta.text, 'utf8');
      await put('symbols_valid_meta.csv', data, data.length, meta.rows);
    }
  } finally {
    await Promise.all(pending); // never leave writes running into a folder the caller removes
  }
  if (failure !== undefined) throw failure;
  signal?.throwIfAborted();
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, rows, bytes };
}
