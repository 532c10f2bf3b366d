import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFile, chmod, cp, mkdir, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { StockpipeError } from '../src/core/errors.js';
import { ingest } from '../src/etl/ingest.js';
import { buildFeatures } from '../src/features/build.js';
import { dirSource } from '../src/sources/dir.js';
import { writeQuirkFixture } from './fixtures/quirks.js';
import { fetchContext, silentLog, sql, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { tableDigest, viewGlob, viewSource } from './helpers/store.js';
import { tempDir } from './helpers/temp.js';
import { hashJson } from '../src/core/fs.js';
import { currentSnapshot, liveFiles } from '../src/registry/catalog.js';
import { openRegistry } from '../src/registry/store.js';
import { vacuumStore } from '../src/store/vacuum.js';
import { removeStalePrepared } from '../src/features/prepare.js';

async function fetchAndIngest(threads: number, opts: { strict?: boolean; force?: boolean } = {}) {
  const fx = await writeQuirkFixture();
  const ws = await tempWorkspace();
  const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
  const report = await ingest({ ws: new Workspace(ws, { threads, memoryLimit: '512MB' }), lanes: threads, manifest, strict: opts.strict ?? false, force: opts.force ?? false, log: silentLog, progress: silentProgress });
  return { fx, ws, manifest, report };
}

describe('ingest (docs/data.md)', () => {
  for (const threads of [0, 2]) {
    it(`accounts for every row of the quirk fixture (threads=${threads})`, async () => {
      const { fx, report } = await fetchAndIngest(threads);
      expect(report.files).toBe(fx.expected.files);
      expect(report.rows_read).toBe(fx.expected.rows_read);
      expect(report.rows_kept).toBe(fx.expected.rows_kept);
      expect(report.rows_dropped).toEqual(fx.expected.rows_dropped);
      expect(report.symbols).toBe(fx.expected.symbols);
      expect(report.symbols_without_metadata).toBe(fx.expected.symbols_without_metadata);
      expect([report.metadata_duplicate_symbols, report.metadata_duplicates]).toEqual([1, fx.expected.metadata_duplicates]);
      expect(report.duplicates).toBe(2);
      expect(report.malformed.map((m) => `${m.path}:${m.line}`)).toEqual(['etfs/MAL.csv:12', 'etfs/MAL.csv:23']);
      expect(report.empty_files).toEqual(['stocks/HDR.csv']);
      expect(report.date_min).toBe('2016-08-10');
      expect(report.date_max).toBe('2023-04-13');
    });
  }

  it('writes exactly the prices table\'s columns and types (docs/data.md), sorted by Symbol, Date', async () => {
    const { ws, report } = await fetchAndIngest(2);
    const p = viewSource(ws, 'prices');
    const cols = await sql(`DESCRIBE SELECT * FROM ${p}`);
    expect(cols.map((c) => `${c.column_name}:${c.column_type}`)).toEqual([
      'Symbol:VARCHAR', 'Security Name:VARCHAR', 'Date:VARCHAR', 'Open:DOUBLE', 'High:DOUBLE', 'Low:DOUBLE', 'Close:DOUBLE', 'Adj Close:DOUBLE', 'Volume:BIGINT', 'Asset:VARCHAR', '_snapshot_id:INTEGER',
    ]);
    const codec = await sql(`SELECT DISTINCT compression FROM parquet_metadata('${viewGlob(ws, 'prices')}')`);
    expect(codec.map((c) => c.compression)).toEqual(['ZSTD']);
    // The store's format (db/parquet-format): Parquet 2 pages, doubles byte-stream-split, integers delta-packed.
    // (Parquet 1 would say PLAIN and PLAIN_DICTIONARY; a column chunk that dictionary-encodes says RLE_DICTIONARY.)
    const enc = await sql(`SELECT DISTINCT path_in_schema AS col, unnest(string_split(encodings, ',')) AS e FROM parquet_metadata('${viewGlob(ws, 'prices')}') WHERE path_in_schema IN ('Adj Close', 'Volume') ORDER BY 1, 2`);
    // Never a dictionary, even for a chunk of a few distinct values (a one-row file's): DuckDB's would merge -0.0 and 0.0.
    expect(enc.map((r) => `${String(r.col)}:${String(r.e)}`)).toEqual(['Adj Close:BYTE_STREAM_SPLIT', 'Volume:DELTA_BINARY_PACKED']);
    // Sorted by Symbol, Date within each file (the store does not order files against each other).
    const unsorted = await sql(`SELECT count(*) AS n FROM (SELECT "Symbol", "Date", lag("Symbol") OVER w AS ps, lag("Date") OVER w AS pd
      FROM read_parquet('${viewGlob(ws, 'prices')}', filename = true, file_row_number = true) WINDOW w AS (PARTITION BY filename ORDER BY file_row_number)) WHERE ps > "Symbol" OR (ps = "Symbol" AND pd >= "Date")`);
    expect(Number(unsorted[0]!.n)).toBe(0);
    const n = await sql(`SELECT count(*) AS n FROM ${p}`);
    expect(Number(n[0]!.n)).toBe(report.rows_kept);
    const rows = await sql(`SELECT "Symbol", "Security Name" AS name, "Asset", "Volume", "Adj Close" AS adj, "Date" FROM ${p} WHERE "Symbol" IN ('AAA','BCV-A','BIG','MAL') QUALIFY row_number() OVER (PARTITION BY "Symbol" ORDER BY "Date") = 1 ORDER BY 1`);
    expect(rows).toEqual([
      { Symbol: 'AAA', name: 'AAA Holdings, Inc. Common Stock', Asset: 'stock', Volume: '1000', adj: 10.25, Date: '2020-01-01' },
      { Symbol: 'BCV-A', name: null, Asset: 'stock', Volume: '0', adj: 25.299999237060547, Date: '2016-08-10' },
      { Symbol: 'BIG', name: null, Asset: 'stock', Volume: '2326635323', adj: 10.25, Date: '2020-01-01' },
      { Symbol: 'MAL', name: 'Malformed "Quoted" ETF', Asset: 'etf', Volume: '1000', adj: 10.25, Date: '2020-01-01' },
    ]);
    const neg = await sql(`SELECT min("Adj Close") AS m FROM ${p} WHERE "Symbol" = 'NEG'`);
    expect(neg[0]!.m).toBe(-0.5);
  });

  it('keeps the last row of a duplicated (Symbol, Date), across stocks/ and etfs/ too', async () => {
    const { ws } = await fetchAndIngest(2);
    const p = viewSource(ws, 'prices');
    const dup = await sql(`SELECT "Volume" FROM ${p} WHERE "Symbol" = 'DUP' AND "Date" = '2020-01-08'`);
    expect(dup).toEqual([{ Volume: '999999' }]);
    const twin = await sql(`SELECT "Date", "Volume", "Asset" FROM ${p} WHERE "Symbol" = 'TWIN' ORDER BY "Date"`);
    expect(twin.length).toBe(9);
    expect(twin.find((r) => r.Date === '2020-01-07')).toEqual({ Date: '2020-01-07', Volume: '77', Asset: 'stock' });
    expect(twin[0]).toEqual({ Date: '2020-01-01', Volume: '1000', Asset: 'etf' });
  });

  it('is a no-op that says so when the inputs are unchanged, and rebuilds with force', async () => {
    const { ws, manifest } = await fetchAndIngest(2);
    const before = await readFile(new Workspace(ws).tableHead('prices'), 'utf8');
    const again = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    expect(again.cached).toBe(true);
    expect(await readFile(new Workspace(ws).tableHead('prices'), 'utf8')).toBe(before); // no new snapshot
    const forced = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: false, force: true, log: silentLog, progress: silentProgress });
    expect(forced.cached).toBe(false);
    expect(forced.rows_kept).toBe(again.rows_kept);
  });

  it('--strict fails on the first malformed line and leaves the previous table intact', async () => {
    const { ws, manifest } = await fetchAndIngest(2);
    const before = await readFile(new Workspace(ws).tableHead('prices'));
    const digest = await tableDigest(ws, 'prices');
    const err = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: true, force: true, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StockpipeError);
    expect((err as StockpipeError).code).toBe('SP_ERR_INPUT_MALFORMED');
    expect((err as StockpipeError).message).toMatch(/MAL\.csv:12/);
    expect(Buffer.compare(await readFile(new Workspace(ws).tableHead('prices')), before)).toBe(0);
    expect(await tableDigest(ws, 'prices')).toBe(digest);
    const leftovers = (await import('node:fs/promises')).readdir(join(ws, 'tables'));
    expect((await leftovers).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('--strict after a plain ingest (no --force) reads every file again and fails on the malformed lines the plain one dropped; strict after strict stays incremental', async () => {
    const { fx, ws, manifest, report } = await fetchAndIngest(2);
    expect(report.strict).toBe(false);
    expect(report.malformed.length).toBeGreaterThan(0);
    const run = (strict: boolean) => ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict, force: false, log: silentLog, progress: silentProgress });
    // Before: the source was unchanged, so the strict ingest read nothing and reported success.
    const err = await run(true).catch((e: unknown) => e);
    expect((err as StockpipeError).code, String(err)).toBe('SP_ERR_INPUT_MALFORMED');
    expect((err as StockpipeError).message).toMatch(/MAL\.csv:12/);
    // Without the malformed file the strict ingest passes, reading every file (the one before it was not strict) …
    await rm(join(fx.dir, 'etfs', 'MAL.csv'));
    const refetched = (await dirSource(fx.dir).fetch(fetchContext(ws))).manifest;
    const runWith = (strict: boolean) => ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest: refetched, strict, force: false, log: silentLog, progress: silentProgress });
    const strict1 = await runWith(true);
    expect([strict1.mode, strict1.strict, strict1.files_read]).toEqual(['full', true, fx.expected.files - 1]);
    // … and the next strict ingest of a grown file reads only that one.
    const csv = (await import('node:fs/promises')).readdir(join(fx.dir, 'stocks'));
    const grown = (await csv).find((f) => f !== 'HDR.csv' && f.endsWith('.csv'))!;
    await appendFile(join(fx.dir, 'stocks', grown), '2030-01-02,1,1,1,1,1,5\n');
    const grownManifest = (await dirSource(fx.dir).fetch(fetchContext(ws))).manifest;
    const strict2 = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest: grownManifest, strict: true, force: false, log: silentLog, progress: silentProgress });
    expect([strict2.mode, strict2.strict, strict2.files_read + strict2.files_tail_read]).toEqual(['incremental', true, 1]);
  });

  it('reads a folder\'s files as they were fetched: one grown since gives its fetched rows, one shorter since is SP_ERR_SOURCE_NOT_FOUND (it read the shorter file and recorded the fetched size)', async () => {
    const { fx, ws, manifest, report } = await fetchAndIngest(2);
    // The two longest files of the fixture (the others are one-row and header-only quirks).
    const names = (await (await import('node:fs/promises')).readdir(join(fx.dir, 'stocks'))).filter((f) => f.endsWith('.csv'));
    const sizes = await Promise.all(names.map(async (f) => (await stat(join(fx.dir, 'stocks', f))).size));
    const [grown, shrunk] = names.map((f, i) => ({ f, n: sizes[i]! })).sort((a, b) => b.n - a.n).slice(0, 2).map((x) => join(fx.dir, 'stocks', x.f)) as [string, string];
    await appendFile(grown, '2030-01-02,1,1,1,1,1,5\n');
    for (const threads of [0, 2]) {
      const again = await ingest({ ws: new Workspace(ws, { threads, memoryLimit: '512MB' }), lanes: Math.max(1, threads), manifest, strict: false, force: true, log: silentLog, progress: silentProgress });
      expect([again.rows_read, again.rows_kept, again.date_max], `threads ${threads}`).toEqual([report.rows_read, report.rows_kept, report.date_max]);
    }
    const digest = await tableDigest(ws, 'prices');
    const text = await readFile(shrunk, 'utf8');
    await writeFile(shrunk, text.split('\n').slice(0, 3).join('\n'));
    for (const threads of [0, 2]) {
      const err = await ingest({ ws: new Workspace(ws, { threads, memoryLimit: '512MB' }), lanes: Math.max(1, threads), manifest, strict: false, force: true, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
      expect((err as StockpipeError).code, String(err)).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect((err as StockpipeError).message).toContain(`${shrunk}: it holds`);
      expect((err as StockpipeError).hint).toMatch(/stockpipe fetch/);
    }
    expect(await tableDigest(ws, 'prices')).toBe(digest);
    // The metadata file alike: cut short since (rewritten while ingest ran), it lost the Security Names after the cut without a word.
    await writeFile(shrunk, text);
    const meta = join(fx.dir, 'symbols_valid_meta.csv');
    const metaText = await readFile(meta, 'utf8');
    await writeFile(meta, metaText.slice(0, metaText.indexOf('\n') + 3));
    const cut = await ingest({ ws: new Workspace(ws, { threads: 0, memoryLimit: '512MB' }), manifest, strict: false, force: true, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
    expect((cut as StockpipeError).code, String(cut)).toBe('SP_ERR_SOURCE_NOT_FOUND');
    expect((cut as StockpipeError).message).toContain(`${meta}: it holds`);
    expect(await tableDigest(ws, 'prices')).toBe(digest);
    // Grown since: read as fetched, the table is the same.
    await writeFile(meta, `${metaText}Y,ZZZZ,Appended Co,Q,G,N,100,N,N,,ZZZZ,N\n`);
    await ingest({ ws: new Workspace(ws, { threads: 0, memoryLimit: '512MB' }), manifest, strict: false, force: true, log: silentLog, progress: silentProgress });
    expect(await tableDigest(ws, 'prices')).toBe(digest);
  });

  it('fails with SP_ERR_INPUT_HEADER naming the file when a header lacks a column', async () => {
    const fx = await writeQuirkFixture();
    await writeFile(join(fx.dir, 'stocks', 'ZZZ.csv'), 'Date,Open,High,Low,Close,Volume\n2020-01-02,1,1,1,1,5\n');
    const ws = await tempWorkspace();
    const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
    const err = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_INPUT_HEADER');
    expect((err as StockpipeError).message).toContain('ZZZ.csv');
    expect(await stat(new Workspace(ws).tableHead('prices')).catch(() => null)).toBeNull();
  });

  it('fails with SP_ERR_SOURCE_NOT_FOUND when a file vanished after fetch', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
    await chmod(join(fx.dir, 'stocks', 'AAA.csv'), 0o644);
    await (await import('node:fs/promises')).rm(join(fx.dir, 'stocks', 'AAA.csv'));
    const err = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_SOURCE_NOT_FOUND');
  });

  describe('a source file replaced after fetch: SP_ERR_SOURCE_NOT_FOUND naming it, never a hang, the previous snapshot kept', () => {
    // A process that writes a CSV file into each FIFO again and again: a reader that blocks on it (the
    // bug) is let go instead of hanging the test run.
    const writers: ChildProcess[] = [];
    afterEach(() => {
      for (const w of writers.splice(0)) w.kill();
    });
    const replace = async (path: string, by: 'fifo' | 'folder' | 'nothing'): Promise<void> => {
      await rm(path);
      if (by === 'fifo') {
        execFileSync('mkfifo', [path]);
        writers.push(spawn('timeout', ['30', 'sh', '-c', 'while :; do printf "Date,Open,High,Low,Close,Adj Close,Volume\\n2020-01-02,1,1,1,1,1,5\\n" > "$0"; sleep 0.2; done', path], { stdio: 'ignore' }));
      } else if (by === 'folder') await mkdir(path);
    };
    const expectNotFound = (err: unknown, path: string): void => {
      expect(err, String(err)).toBeInstanceOf(StockpipeError);
      expect((err as StockpipeError).code, (err as StockpipeError).message).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect((err as StockpipeError).message).toContain(path);
      // The hint says how out of it (the error code's generic hint is about a source folder given by hand).
      expect((err as StockpipeError).hint).toContain('stockpipe fetch');
    };

    // The parse workers run from dist/ (npx tsc first).
    for (const [by, threads] of [['fifo', 2], ['fifo', 0], ['folder', 2]] as const) {
      it(`a first ingest: ${by} (threads=${threads})`, async () => {
        const fx = await writeQuirkFixture();
        const ws = await tempWorkspace();
        const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
        const path = join(fx.dir, 'stocks', 'AAA.csv');
        await chmod(path, 0o644);
        await replace(path, by);
        const err = await ingest({ ws: new Workspace(ws, { threads, memoryLimit: '512MB' }), lanes: threads, manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
        expectNotFound(err, path);
        expect(await stat(new Workspace(ws).tableHead('prices')).catch(() => null)).toBeNull();
      }, 20_000);
    }

    for (const by of ['fifo', 'folder', 'nothing'] as const) {
      it(`the metadata file: ${by === 'nothing' ? 'deleted' : by}`, async () => {
        const fx = await writeQuirkFixture();
        const ws = await tempWorkspace();
        const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
        const path = join(fx.dir, 'symbols_valid_meta.csv');
        await chmod(path, 0o644);
        await replace(path, by);
        const err = await ingest({ ws: new Workspace(ws, { threads: 1, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
        expectNotFound(err, path);
        expect(await stat(new Workspace(ws).tableHead('prices')).catch(() => null)).toBeNull();
      }, 20_000);
    }

    // A grown file is read from its old end by ingest itself, not by the parse pool: the same errors there.
    for (const [by, threads] of [['fifo', 1], ['folder', 1], ['nothing', 1], ['fifo', 0]] as const) {
      it(`an incremental ingest of a grown file: ${by === 'nothing' ? 'deleted' : by} (threads=${threads})`, async () => {
        const fx = await writeQuirkFixture();
        const ws = await tempWorkspace();
        const run = async (m: typeof manifest) => ingest({ ws: new Workspace(ws, { threads, memoryLimit: '512MB' }), lanes: threads, manifest: m, strict: false, force: false, log: silentLog, progress: silentProgress });
        const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
        await run(manifest);
        const digest = await tableDigest(ws, 'prices');
        const path = join(fx.dir, 'stocks', 'AAA.csv');
        await chmod(path, 0o644);
        await appendFile(path, '2021-01-04,1,1,1,1,1,5\n');
        const { manifest: grown } = await dirSource(fx.dir).fetch(fetchContext(ws));
        await replace(path, by);
        const err = await run(grown).catch((e: unknown) => e);
        expectNotFound(err, path);
        expect(await tableDigest(ws, 'prices')).toBe(digest);
      }, 20_000);
    }
  });

  it('features: equal the naive rolling twin on every row, null for the first w-1 rows of each symbol', async () => {
    const { ws } = await fetchAndIngest(2);
    const r = await buildFeatures({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, window: 30, force: false, log: silentLog, progress: silentProgress });
    expect(r.rows).toBe(216);
    const check = await sql(`
      WITH f AS (SELECT *, row_number() OVER (PARTITION BY "Symbol" ORDER BY "Date") AS k FROM ${viewSource(ws, 'features')}),
      ref AS (SELECT *, avg("Volume") OVER w AS m, median("Adj Close") OVER w AS med, count(*) OVER w AS c FROM f
              WINDOW w AS (PARTITION BY "Symbol" ORDER BY "Date" ROWS BETWEEN 29 PRECEDING AND CURRENT ROW))
      SELECT count(*) AS n,
        count(*) FILTER (WHERE (c < 30) <> (vol_moving_avg IS NULL)) AS null_mismatch,
        max(abs(vol_moving_avg - m) / m) AS rel_mean,
        max(abs(adj_close_rolling_med - med) / abs(med)) AS rel_med
      FROM ref`);
    expect(Number(check[0]!.n)).toBe(216);
    expect(Number(check[0]!.null_mismatch)).toBe(0);
    expect(check[0]!.rel_mean as number).toBeLessThan(1e-12);
    expect(check[0]!.rel_med as number).toBeLessThan(1e-12);
    const cols = await sql(`DESCRIBE SELECT * FROM ${viewSource(ws, 'features')}`);
    expect(cols.map((c) => c.column_name)).toEqual(['Symbol', 'Security Name', 'Date', 'Open', 'High', 'Low', 'Close', 'Adj Close', 'Volume', 'Asset', 'vol_moving_avg', 'adj_close_rolling_med', '_snapshot_id']);
    const again = await buildFeatures({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, window: 30, force: false, log: silentLog, progress: silentProgress });
    expect(again.cached).toBe(true);
    const w5 = await buildFeatures({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, window: 5, force: false, log: silentLog, progress: silentProgress });
    expect(w5.cached).toBe(false);
    expect(w5.rows_with_features).toBe(182); // Σ max(0, rows - 4) over the 10 symbols
  });
});

// A small build runs in the command's own thread (no parse or feature worker); two lanes always use
// the workers. Both must write the same tables.
describe('small builds in the command\'s thread', () => {
  it('write the same prices and features (extended too) as the worker threads', async () => {
    const fx = await writeQuirkFixture();
    const digests = [];
    for (const lanes of [1, 2]) {
      const ws = await tempWorkspace();
      const W = new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
      const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
      const report = await ingest({ ws: W, lanes, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
      expect(report.rows_kept).toBe(fx.expected.rows_kept);
      await buildFeatures({ ws: W, lanes, window: 5, extended: true, force: false, log: silentLog, progress: silentProgress });
      digests.push({ prices: await tableDigest(ws, 'prices'), features: await tableDigest(ws, 'features'), malformed: report.malformed, dropped: report.rows_dropped });
    }
    expect(digests[0]).toEqual(digests[1]);
    expect(digests[0]!.features).toMatch(/^216:/);
  });
});

// Probed after issue 16: a Volume beyond 2^53 (kept exactly by ingest) came out of features changed,
// and int64's maximum wrapped to its minimum, silently.
describe('features and volumes beyond 2^53 − 1', () => {
  it('refuse them with SP_ERR_FEATURES_INPUT naming the row, writing nothing: on a full build and on an incremental one', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const W = (): Workspace => new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
    const run = async (): Promise<void> => {
      const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
      await ingest({ ws: W(), manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    };
    const features = () => buildFeatures({ ws: W(), window: 5, force: false, log: silentLog, progress: silentProgress });
    await run();
    const first = await features();
    const before = await tableDigest(ws, 'features');
    const big = 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,5\n2020-01-03,1,1,1,1,1,9223372036854775807\n2020-01-06,1,1,1,1,1,7\n';
    await writeFile(join(fx.dir, 'stocks', 'XBIG.csv'), big);
    await run();
    expect(await sql(`SELECT "Volume"::VARCHAR AS v FROM ${viewSource(ws, 'prices')} WHERE "Symbol" = 'XBIG' ORDER BY "Date"`)).toEqual([{ v: '5' }, { v: '9223372036854775807' }, { v: '7' }]);
    for (const force of [false, true]) {
      const err = await buildFeatures({ ws: W(), window: 5, force, log: silentLog, progress: silentProgress }).catch((e: unknown) => e);
      expect((err as StockpipeError).code, String(err)).toBe('SP_ERR_FEATURES_INPUT');
      expect((err as StockpipeError).message).toContain('XBIG on 2020-01-03 is 9223372036854775807');
      expect(await tableDigest(ws, 'features')).toEqual(before);
    }
    expect(first.rows).toBeGreaterThan(0);
    // 2^53 − 1 itself is carried exactly.
    await writeFile(join(fx.dir, 'stocks', 'XBIG.csv'), big.replace('9223372036854775807', '9007199254740991'));
    await run();
    await features();
    expect(await sql(`SELECT "Volume"::VARCHAR AS v FROM ${viewSource(ws, 'features')} WHERE "Symbol" = 'XBIG' ORDER BY "Date"`)).toEqual([{ v: '5' }, { v: '9007199254740991' }, { v: '7' }]);
  });
});

describe('ingest date dictionary', () => {
  it('falls back to the full date range when a file is not sorted by date', async () => {
    const fx = await writeQuirkFixture();
    await writeFile(join(fx.dir, 'stocks', 'UNS.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2021-01-04,1,1,1,1,1,5\n1999-12-31,1,1,1,1,1,6\n2021-01-05,1,1,1,1,1,7\n');
    const ws = await tempWorkspace();
    const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
    const r = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), lanes: 2, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    expect(r.date_min).toBe('1999-12-31');
    expect(r.rows_kept).toBe(fx.expected.rows_kept + 3);
    const rows = await sql(`SELECT "Date", "Volume" FROM ${viewSource(ws, 'prices')} WHERE "Symbol" = 'UNS' ORDER BY "Date"`);
    expect(rows).toEqual([{ Date: '1999-12-31', Volume: '6' }, { Date: '2021-01-04', Volume: '5' }, { Date: '2021-01-05', Volume: '7' }]);
  });
});

describe('an incremental ingest that leaves no row', () => {
  it('keeps one empty file with the table\'s columns, recorded as empty (every source file emptied to its header)', async () => {
    const src = await tempDir('emptied-src');
    await mkdir(join(src, 'stocks'));
    const header = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
    for (const s of ['AA', 'BB']) await writeFile(join(src, 'stocks', `${s}.csv`), `${header}2020-01-02,1,1,1,1,1,100\n2020-01-03,1,1,1,1,1,200\n`);
    const dir = await tempWorkspace();
    const ws = new Workspace(dir, { threads: 1, memoryLimit: '512MB' });
    const run = async () => ingest({ ws, lanes: 1, manifest: (await dirSource(src).fetch(fetchContext(dir))).manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    expect((await run()).rows_kept).toBe(4);
    for (const s of ['AA', 'BB']) await writeFile(join(src, 'stocks', `${s}.csv`), header);
    expect((await run()).rows_kept).toBe(0);
    const reg = openRegistry(ws, { readonly: true });
    try {
      const snap = currentSnapshot(reg, 'prices')!;
      expect([snap.operation, snap.rows]).toEqual(['restate', 0]);
      const files = liveFiles(reg, snap);
      expect(files.map((f) => [f.rows, f.symbol_min, f.symbol_max, f.date_min, f.date_max])).toEqual([[0, null, null, null, null]]);
      const cols = (await sql(`DESCRIBE SELECT * FROM read_parquet('${join(dir, files[0]!.path)}')`)).map((c) => c.column_name);
      expect(cols).toEqual(expect.arrayContaining(['Symbol', 'Security Name', 'Date', 'Adj Close', 'Volume', 'Asset']));
    } finally {
      reg.close();
    }
  });
});

describe('a prices table ingested by an older stockpipe', () => {
  it('is rebuilt in full by the first ingest (ingest version 1 kept no padded number and could write a -0.0 as 0.0)', async () => {
    const src = await tempDir('old-ingest-src');
    await mkdir(join(src, 'stocks'));
    await writeFile(join(src, 'stocks', 'PAD.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1, 1.5,100\n2020-01-03,1,1,1,1,2.5 ,"7 "\n2020-01-06,1,1,1,1,3,9\n');
    await writeFile(join(src, 'stocks', 'ZRO.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,0,0,0,0,0.0,1\n2020-01-03,0,0,0,0,-0.0,2\n');
    const dir = await tempWorkspace();
    const { manifest } = await dirSource(src).fetch(fetchContext(dir));
    const ws = new Workspace(dir, { threads: 1, memoryLimit: '512MB' });
    const run = () => ingest({ ws, lanes: 1, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    const first = await run();
    expect(first.rows_kept).toBe(5);
    // What the build before this version left: its snapshot's identity and its report's cache key
    // (etl/ingest-report inputHash with version 1 and parser revision 2).
    const reg = openRegistry(ws);
    const head = currentSnapshot(reg, 'prices')!;
    reg.run('t', 'UPDATE table_snapshots SET source = ? WHERE snapshot_id = ?', [JSON.stringify({ ...(head.source as Record<string, unknown>), ingest_version: 1, parser_revision: 2 }), head.id]);
    reg.close();
    const oldHash = hashJson({ v: 1, p: 2, root: manifest.root, layout: manifest.layout, version: manifest.source_version, files: manifest.files.map((f) => [f.path, f.size, f.mtime_ms, f.sha256]), strict: false });
    const report = JSON.parse(await readFile(ws.pricesReport, 'utf8')) as Record<string, unknown>;
    await writeFile(ws.pricesReport, JSON.stringify({ ...report, input_hash: oldHash, snapshot_id: head.id }));
    const again = await run();
    expect(again.cached).toBe(false);
    const reg2 = openRegistry(ws);
    const now = currentSnapshot(reg2, 'prices')!;
    reg2.close();
    expect(now.id).toBeGreaterThan(head.id);
    expect(now.operation).toBe('overwrite');
    expect(again.rows_kept).toBe(5);
  });
});

describe('a features table built by an older stockpipe', () => {
  it('is rebuilt in full by the first build (features version 2 took the rolling median of signed zeros in arrival order)', async () => {
    const src = await tempDir('old-features-src');
    await mkdir(join(src, 'stocks'));
    await writeFile(join(src, 'stocks', 'ZRO.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,0,0,0,0,0.0,1\n2020-01-03,0,0,0,0,-0.0,2\n2020-01-06,0,0,0,0,0.0,3\n2020-01-07,0,0,0,0,-0.0,4\n');
    const dir = await tempWorkspace();
    const { manifest } = await dirSource(src).fetch(fetchContext(dir));
    const ws = new Workspace(dir, { threads: 1, memoryLimit: '512MB' });
    await ingest({ ws, lanes: 1, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    const build = () => buildFeatures({ ws, lanes: 1, window: 2, force: false, log: silentLog, progress: silentProgress });
    expect((await build()).mode).toBe('full');
    // What the build before this version left: its snapshot's settings say features version 2.
    const reg = openRegistry(ws);
    const head = currentSnapshot(reg, 'features')!;
    reg.run('t', 'UPDATE table_snapshots SET source = ? WHERE snapshot_id = ?', [JSON.stringify({ ...(head.source as Record<string, unknown>), version: 2 }), head.id]);
    reg.close();
    const again = await build();
    expect(again.cached).toBe(false);
    expect(again.mode).toBe('full');
    expect(again.snapshot_id).toBeGreaterThan(head.id);
  });
});

// A full ingest computes the features of the rows it writes and stages them (features/prepare); the
// next features build commits them instead of reading the prices back. Either way, the same table.
describe('features prepared by a full ingest', () => {
  const stage = (ws: string): string => join(ws, 'tmp', 'prepared-features');
  const exists = (p: string): Promise<boolean> => stat(p).then(() => true, () => false);
  const summaryOf = (ws: string): Record<string, unknown> => {
    const reg = openRegistry(new Workspace(ws));
    try {
      return (currentSnapshot(reg, 'features')?.summary ?? {}) as Record<string, unknown>;
    } finally {
      reg.close();
    }
  };

  it('are committed by the next features build, equal to a build that computes them (extended, one lane and two, a symbol of two files)', async () => {
    const fx = await writeQuirkFixture();
    for (const lanes of [1, 2]) {
      const ws = await tempWorkspace();
      const W = new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
      const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
      const report = await ingest({ ws: W, lanes, manifest, strict: false, force: false, prepareFeatures: { window: 5, extended: true }, log: silentLog, progress: silentProgress });
      expect(report.features_prepared).toBe(true);
      expect(await exists(join(stage(ws), '_prepared.json'))).toBe(true);
      const built = await buildFeatures({ ws: W, lanes, window: 5, extended: true, force: false, log: silentLog, progress: silentProgress });
      expect(built).toMatchObject({ mode: 'full', prepared: true, cached: false, rows: fx.expected.rows_kept });
      expect(summaryOf(ws).prepared).toBe(true);
      expect(await exists(stage(ws))).toBe(false);
      const prepared = await tableDigest(ws, 'features');
      // Every row carries the features snapshot that brought it.
      expect(await sql(`SELECT DISTINCT _snapshot_id AS s FROM ${viewSource(ws, 'features')}`)).toEqual([{ s: built.snapshot_id }]);
      const computed = await buildFeatures({ ws: W, lanes, window: 5, extended: true, force: true, log: silentLog, progress: silentProgress });
      expect(computed.prepared).toBeUndefined();
      expect(summaryOf(ws).prepared).toBeUndefined();
      expect(await tableDigest(ws, 'features')).toBe(prepared);
      expect(computed.rows_with_features).toBe(built.rows_with_features);
      expect(prepared).toMatch(/^216:/);
    }
  });

  it('leave the tails file the next incremental build reads its context from: its result equals a full build', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const W = new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
    const run = async (): Promise<Awaited<ReturnType<typeof ingest>>> => {
      const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
      return ingest({ ws: W, manifest, strict: false, force: false, prepareFeatures: { window: 5, extended: true }, log: silentLog, progress: silentProgress });
    };
    const features = (force = false) => buildFeatures({ ws: W, window: 5, extended: true, force, log: silentLog, progress: silentProgress });
    expect((await run()).features_prepared).toBe(true);
    expect(await features()).toMatchObject({ mode: 'full', prepared: true });
    await appendFile(join(fx.dir, 'stocks', 'AAA.csv'), '2030-01-02,1,1,1,1,1,5\n2030-01-03,2,2,2,2,2,6\n');
    expect((await run()).mode).toBe('incremental');
    const inc = await features();
    expect(inc).toMatchObject({ mode: 'incremental', symbols_changed: 1, symbols_context_cached: 1 });
    const incremental = await tableDigest(ws, 'features');
    await features(true);
    expect(await tableDigest(ws, 'features')).toBe(incremental);
  });

  it('are not used, and deleted, when stale: other settings, another snapshot in between, a newer ingest, --force; a Volume beyond 2^53 prepares nothing', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const W = new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
    const run = async (force = true): Promise<Awaited<ReturnType<typeof ingest>>> => {
      const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
      return ingest({ ws: W, manifest, strict: false, force, prepareFeatures: { window: 5, extended: false }, log: silentLog, progress: silentProgress });
    };
    const features = (window: number, force = false) => buildFeatures({ ws: W, window, force, log: silentLog, progress: silentProgress });
    // Other settings: a build of window 6 computes them.
    await run();
    await features(6);
    expect(summaryOf(ws).prepared).toBeUndefined();
    expect(await exists(stage(ws))).toBe(false);
    const w6 = await tableDigest(ws, 'features');
    // Another snapshot committed in between: its rows would carry the wrong snapshot id.
    await run();
    const m = join(stage(ws), '_prepared.json');
    const doc = JSON.parse(await readFile(m, 'utf8')) as { lineage_id: number };
    await writeFile(m, JSON.stringify({ ...doc, lineage_id: doc.lineage_id + 1 }));
    await features(5);
    expect(summaryOf(ws).prepared).toBeUndefined();
    expect(await exists(stage(ws))).toBe(false);
    const w5 = await tableDigest(ws, 'features');
    // --force computes anew and deletes the stage.
    await run();
    await features(5, true);
    expect(summaryOf(ws).prepared).toBeUndefined();
    expect(await exists(stage(ws))).toBe(false);
    expect(await tableDigest(ws, 'features')).toBe(w5);
    // A newer ingest (an incremental one) replaces the prices snapshot the stage was made from.
    await run();
    await appendFile(join(fx.dir, 'stocks', 'AAA.csv'), '2030-01-02,1,1,1,1,1,5\n');
    expect((await run(false)).mode).toBe('incremental');
    expect(await exists(stage(ws))).toBe(false);
    await features(6);
    expect(w6).not.toBe(await tableDigest(ws, 'features'));
    // A Volume a double cannot hold: nothing prepared; the build refuses it as before.
    await writeFile(join(fx.dir, 'stocks', 'XBIG.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,1,1,1,1,9223372036854775807\n');
    expect((await run()).features_prepared).toBe(false);
    expect(await exists(stage(ws))).toBe(false);
    expect(((await features(5).catch((e: unknown) => e)) as StockpipeError).code).toBe('SP_ERR_FEATURES_INPUT');
  });

  it('a stage folder that cannot be made (or deleted) prepares nothing; the ingest goes on and features computes them', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const W = new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
    const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
    // tmp/prepared-features leads into a file: every mkdir and rm under it fails ENOTDIR (as a read-only tmp/ fails EROFS).
    await mkdir(join(ws, 'tmp'), { recursive: true });
    await writeFile(join(ws, 'tmp', 'a-file'), 'x');
    await symlink(join(ws, 'tmp', 'a-file', 'x'), stage(ws));
    const report = await ingest({ ws: W, manifest, strict: false, force: false, prepareFeatures: { window: 5, extended: false }, log: silentLog, progress: silentProgress });
    expect(report).toMatchObject({ mode: 'full', features_prepared: false, rows_kept: fx.expected.rows_kept });
    await rm(stage(ws));
    const built = await buildFeatures({ ws: W, window: 5, force: false, log: silentLog, progress: silentProgress });
    expect(built.prepared).toBeUndefined();
    expect(built.rows).toBe(fx.expected.rows_kept);
  });

  it('a stage no build can commit any more is deleted by the next (cached) features and by vacuum; one a killed ingest left, once an hour old', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const W = new Workspace(ws, { threads: 2, memoryLimit: '512MB' });
    const { manifest } = await dirSource(fx.dir).fetch(fetchContext(ws));
    const run = (): ReturnType<typeof ingest> => ingest({ ws: W, manifest, strict: false, force: true, prepareFeatures: { window: 5, extended: false }, log: silentLog, progress: silentProgress });
    const features = (): ReturnType<typeof buildFeatures> => buildFeatures({ ws: W, window: 5, force: false, log: silentLog, progress: silentProgress });
    const aside = join(await tempDir('stage'), 'prepared-features');
    // A stage that came too late (a features build of the same prices committed first): the cached build deletes it.
    expect((await run()).features_prepared).toBe(true);
    await cp(stage(ws), aside, { recursive: true });
    expect(await features()).toMatchObject({ prepared: true });
    await cp(aside, stage(ws), { recursive: true });
    expect((await features()).cached).toBe(true);
    expect(await exists(stage(ws))).toBe(false);
    // The same stage found by vacuum (its dry run lists it, keeping it).
    await cp(aside, stage(ws), { recursive: true });
    const dry = await vacuumStore(W, { dryRun: true, now: () => new Date(), moreOrphans: (reg, o) => removeStalePrepared(W, reg, o) });
    expect(dry.orphans.paths).toContain('tmp/prepared-features/_prepared.json');
    expect(await exists(stage(ws))).toBe(true);
    await vacuumStore(W, { dryRun: false, now: () => new Date(), moreOrphans: (reg, o) => removeStalePrepared(W, reg, o) });
    expect(await exists(stage(ws))).toBe(false);
    // An ingest killed while writing its stage (no manifest): kept while it may still be writing, deleted an hour on.
    expect((await run()).features_prepared).toBe(true);
    await features();
    await cp(aside, stage(ws), { recursive: true });
    await rm(join(stage(ws), '_prepared.json'));
    expect((await vacuumStore(W, { dryRun: false, now: () => new Date(), moreOrphans: (reg, o) => removeStalePrepared(W, reg, o) })).orphans.paths.filter((p) => p.startsWith('tmp/prepared-features'))).toEqual([]);
    expect((await features()).cached).toBe(true);
    expect(await exists(stage(ws))).toBe(true);
    const old = new Date(Date.now() - 2 * 3600_000);
    for (const n of await readdir(stage(ws))) await utimes(join(stage(ws), n), old, old);
    expect((await features()).cached).toBe(true);
    expect(await exists(stage(ws))).toBe(false);
  });
});
