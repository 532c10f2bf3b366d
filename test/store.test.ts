/** The store's readers and commands through the CLI (docs/store.md): as-of reads, snapshots --json,
 * export (.parquet/.csv equal to the table as of then), model lineage and `train --as-of`
 * reproducing a model's data, vacuum keeping what lineage needs, SP_ERR_SNAPSHOT_NOT_FOUND.
 * Snapshots are committed by hand (test/helpers/store) so the readers are tested without the writers. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { loadWorkspaceVolumeData } from '../src/ml/rescore.js';
import { readTable, sourceOf } from '../src/store/read.js';
import { ensureView } from '../src/store/view.js';
import { TableWrite } from '../src/store/write.js';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { cleanBars, writePrices } from './helpers/bars.js';
import { runCli } from './helpers/cli.js';
import { columnList, commitQuery, FEATURE_COLUMNS, featureRowsQuery, priceRowsQuery, viewSource } from './helpers/store.js';
import { tempDir } from './helpers/temp.js';
import { silentLog, sql } from './helpers/workspace.js';

const SYMBOLS = ['AAA', 'BBB', 'CCC', 'DDD', 'EEE', 'FFF'];
const DAYS = 260;
const SMALL = ['--trees', '5', '--min-data-in-leaf', '20', '--quiet', '--json'];

let ws = '';
let prices1 = 0;
let features1 = 0;

beforeAll(async () => {
  ws = await tempDir('store');
  prices1 = (await commitQuery(ws, 'prices', priceRowsQuery(SYMBOLS, DAYS))).id;
  features1 = (await commitQuery(ws, 'features', featureRowsQuery(SYMBOLS, DAYS), { source: { prices_snapshot: prices1 }, split: 2 })).id;
});

/** A copy-free second workspace state: a restated symbol in a new features snapshot. */
async function restate(dir: string, bump: number): Promise<number> {
  const snap = await commitQuery(dir, 'features', featureRowsQuery(SYMBOLS, DAYS, bump), { restate: new Map([['BBB', '2018-06-01']]), source: { prices_snapshot: prices1 } });
  return snap.id;
}

describe('snapshots', () => {
  it('--json lists every snapshot newest first with id, table, created_at, operation, rows, files, parent_id, summary', () => {
    const r = runCli(['snapshots', '-w', ws, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const snaps = r.json!.data.snapshots as Record<string, unknown>[];
    expect(snaps.map((s) => [s.id, s.table, s.operation, s.rows])).toEqual([
      [features1, 'features', 'overwrite', SYMBOLS.length * DAYS],
      [prices1, 'prices', 'overwrite', SYMBOLS.length * DAYS],
    ]);
    for (const s of snaps) {
      for (const k of ['id', 'table', 'created_at', 'operation', 'rows', 'files', 'parent_id', 'summary']) expect(s).toHaveProperty(k);
      expect(typeof s.created_at).toBe('string');
      expect(s.files).toBeGreaterThan(0);
    }
    const one = runCli(['snapshots', 'prices', '-w', ws, '--json']);
    expect((one.json!.data.snapshots as unknown[]).length).toBe(1);
    expect(runCli(['snapshots', 'nope', '-w', ws, '--json']).json!.error!.code).toBe('SP_ERR_USAGE');
  });
});

describe('export', () => {
  it.each(['parquet', 'csv'])('writes the table as of then to one .%s file, sorted, lineage column included', async (ext) => {
    const dir = await tempDir('store-export');
    await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 40));
    const later = await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 40, 5), { restate: new Map([['CCC', '2018-01-10']]) });
    const out = join(dir, `p.${ext}`);
    const r = runCli(['export', 'prices', '--as-of', String(later.id - 1), '--out', out, '-w', dir, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.data).toMatchObject({ table: 'prices', snapshot_id: later.id - 1, format: ext, rows: SYMBOLS.length * 40 });
    const t = readTable(new Workspace(dir), 'prices', String(later.id - 1));
    const read = ext === 'csv' ? `read_csv('${out}', header = true, types = {'Date': 'VARCHAR', 'Volume': 'BIGINT', '_snapshot_id': 'INTEGER'})` : `read_parquet('${out}')`;
    const got = await sql(`SELECT "Symbol", "Date", "Adj Close", "Volume", _snapshot_id FROM ${read}`);
    const want = await sql(`SELECT "Symbol", "Date", "Adj Close", "Volume", _snapshot_id FROM ${sourceOf(t)} ORDER BY "Symbol", "Date"`);
    expect(got).toEqual(want);
    // The current table differs (CCC restated): the export is of the older snapshot.
    const now = await sql(`SELECT count(*)::INTEGER AS n FROM ${viewSource(dir, 'prices')} WHERE _snapshot_id = ${later.id}`);
    expect(Number(now[0]!.n)).toBeGreaterThan(0);
  });

  it('a .parquet export (and features --as-of --out) keeps the sign of a zero, as the table and pandas do', async () => {
    // DuckDB's Parquet dictionary keys a double by ==: every zero of a chunk took its first one's sign.
    const dir = await tempDir('store-export-zero');
    const src = join(dir, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    const days = Array.from({ length: 10 }, (_, i) => `2020-01-${String(i + 6).padStart(2, '0')}`);
    await writeFile(join(src, 'stocks', 'ZZ.csv'), `Date,Open,High,Low,Close,Adj Close,Volume\n${days.map((d, i) => `${d},1,1,1,1,${i % 2 === 0 ? '-0.0' : '0.0'},${100 + i}\n`).join('')}`);
    const w = join(dir, 'ws');
    for (const args of [['fetch', '--source', `dir:${src}`], ['ingest'], ['features', '--window', '2']]) expect(runCli([...args, '-w', w, '--json']).code).toBe(0);
    const want = days.map((_, i) => (i % 2 === 0 ? '-' : '+')).join('');
    const signs = async (from: string): Promise<string> => String((await sql(`SELECT string_agg(CASE WHEN "Adj Close"::VARCHAR LIKE '-%' THEN '-' ELSE '+' END, '' ORDER BY "Date") AS s FROM ${from}`))[0]!.s);
    expect(await signs(viewSource(w, 'prices'))).toBe(want);
    for (const table of ['prices', 'features']) {
      const out = join(dir, `${table}.parquet`);
      expect(runCli(['export', table, '--out', out, '-w', w, '--json']).code).toBe(0);
      expect(await signs(`read_parquet('${out}')`)).toBe(want);
    }
    const asOf = join(dir, 'as-of.parquet');
    expect(runCli(['features', '--as-of', '1', '--window', '2', '--out', asOf, '-w', w, '--json']).code).toBe(0);
    expect(await signs(`read_parquet('${asOf}')`)).toBe(want);
  });

  it('refuses other extensions with SP_ERR_USAGE', () => {
    const r = runCli(['export', 'prices', '--out', join(ws, 'p.json'), '-w', ws, '--json']);
    expect(r.code).toBe(2);
    expect(r.json!.error!.code).toBe('SP_ERR_USAGE');
  });

  it('a copied workspace reports its own paths, also where ingest and features find nothing to do (their reports are the last build\'s)', async () => {
    const dir = await tempDir('store-copied');
    const [a, b] = [join(dir, 'a'), join(dir, 'b')];
    for (const args of [['fetch', '--source', 'synthetic', '--symbols', '3', '--years', '1'], ['ingest'], ['features']]) expect(runCli([...args, '-w', a, '--json']).code).toBe(0);
    await cp(a, b, { recursive: true });
    const ing = runCli(['ingest', '-w', b, '--json']).json!.data;
    const fea = runCli(['features', '-w', b, '--json']).json!.data;
    expect([ing.cached, ing.output, fea.cached, fea.output, fea.input]).toEqual([true, join(b, 'tables', 'prices'), true, join(b, 'tables', 'features'), join(b, 'tables', 'prices')]);
  });

  it('a workspace whose path holds glob characters (`ws?`, `ws*[1]`) reads only its own files, not those of a sibling the pattern matches (it counted them twice)', async () => {
    const dir = await tempDir('store-glob');
    for (const [name, sibling] of [['ws?', 'wsA'], ['ws*[1]', 'wsX1']] as const) {
      const w = join(dir, name);
      await commitQuery(w, 'prices', priceRowsQuery(SYMBOLS, 40));
      await cp(w, join(dir, sibling), { recursive: true });
      const r = runCli(['export', 'prices', '--out', join(dir, `${sibling}.csv`), '-w', w, '--json']);
      expect(r.json.error, r.stderr).toBeUndefined();
      expect(r.json.data.rows).toBe(SYMBOLS.length * 40);
    }
  });

  it('features --as-of --out takes the names export takes (the extension in any case) and refuses the others', async () => {
    const dir = await tempDir('store-asof-names');
    const real = join(dir, 'ws');
    for (const args of [['fetch', '--source', 'synthetic', '--symbols', '3', '--years', '1'], ['ingest']]) expect(runCli([...args, '-w', real, '--json']).code).toBe(0);
    // The build of a features --as-of killed two hours ago (kill -9: the size of the features table) is deleted by the next one.
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    const killed = join(real, 'tmp', `features-as-of-${dead}`);
    await mkdir(killed, { recursive: true });
    await writeFile(join(killed, 'bucket=00-000.parquet'), 'x');
    const old = new Date(Date.now() - 2 * 3_600_000);
    for (const p of [join(killed, 'bucket=00-000.parquet'), killed]) await utimes(p, old, old);
    for (const [name, format] of [['F.CSV', 'csv'], ['f.Parquet', 'parquet']] as const) {
      const r = runCli(['features', '--as-of', '1', '--out', join(dir, name), '-w', real, '--json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const ex = runCli(['export', 'prices', '--out', join(dir, `e-${name}`), '-w', real, '--json']);
      expect(ex.json!.data.format, ex.stderr).toBe(format);
    }
    expect((await readdir(dir)).sort()).toEqual(['F.CSV', 'e-F.CSV', 'e-f.Parquet', 'f.Parquet', 'ws']);
    expect(existsSync(killed)).toBe(false);
    for (const name of ['.csv', 'f.json', 'f']) {
      const r = runCli(['features', '--as-of', '1', '--out', join(dir, name), '-w', real, '--json']);
      expect(r.json!.error?.code, name).toBe('SP_ERR_USAGE');
      expect(runCli(['export', 'prices', '--out', join(dir, name), '-w', real, '--json']).json!.error?.code, name).toBe('SP_ERR_USAGE');
    }
  });

  it('features --as-of --out a folder is SP_ERR_USAGE naming it (was SP_ERR_INTERNAL, EISDIR at the rename), the folder untouched', async () => {
    const dir = await tempDir('store-asof-folder');
    const out = join(dir, 'f.csv');
    await mkdir(out);
    const r = runCli(['features', '--as-of', String(prices1), '--out', out, '-w', ws, '--json']);
    expect(r.json!.error, r.stderr).toMatchObject({ code: 'SP_ERR_USAGE' });
    expect(r.code).toBe(2);
    expect(r.json!.error!.message).toContain(out);
    expect(await readdir(out)).toEqual([]);
    expect((await readdir(dir)).sort()).toEqual(['f.csv']);
  });

  it("an --out in the workspace's own folders (store/, tables/, tmp/, also through a symlinked folder) is SP_ERR_USAGE; the store file stays as it was", async () => {
    const t = readTable(new Workspace(ws), 'prices');
    const file = t.paths[0]!;
    const before = await readFile(file);
    const rel = relative(ws, file);
    const link = join(await tempDir('store-out-link'), 'ws');
    await symlink(ws, link);
    const cases: [string, string[]][] = [
      [file, ['export', 'prices']],
      [join(link, rel), ['export', 'prices']],
      [join(ws, 'tables', 'prices', relative(join(ws, 'store', 'prices'), file)), ['export', 'features']],
      [join(ws, 'tmp', 'x.csv'), ['export', 'predictions']],
      [join(ws, 'store', 'features', 'new.parquet'), ['features', '--as-of', String(prices1)]],
    ];
    for (const [out, cmd] of cases) {
      const r = runCli([...cmd, '--out', out, '-w', ws, '--json']);
      expect(r.json!.error, `${cmd.join(' ')} --out ${out}: ${r.stderr}`).toMatchObject({ code: 'SP_ERR_USAGE' });
      expect(r.code).toBe(2);
      expect(r.json!.error!.message).toContain(out);
    }
    expect((await readFile(file)).equals(before)).toBe(true);
    await expect(readFile(join(ws, 'store', 'features', 'new.parquet'))).rejects.toThrow();
    // A file of its own at the workspace's top level, or in a folder stockpipe does not keep, is written.
    const mine = join(ws, 'exports', 'p.csv');
    const ok = runCli(['export', 'prices', '--out', mine, '-w', ws, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.json!.data.rows).toBe(SYMBOLS.length * DAYS);
    await rm(join(ws, 'exports'), { recursive: true });
  });

  it('an --out in the folder of the workspace\'s dir: source (also through a symlink) is SP_ERR_USAGE, the source file untouched (an export there replaced a symbol\'s bars at the next ingest)', async () => {
    const dir = await tempDir('store-out-source');
    const src = join(dir, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    const bars = (p: number) => `Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,${p},${p},${p},${p},${p},10\n2020-01-03,${p},${p},${p},${p},${p},11\n`;
    await writeFile(join(src, 'stocks', 'AA.csv'), bars(1));
    await writeFile(join(src, 'stocks', 'BB.csv'), bars(2));
    await symlink(src, join(dir, 'link'));
    const w = join(dir, 'ws');
    for (const args of [['fetch', '--source', `dir:${src}`], ['ingest']]) expect(runCli([...args, '-w', w, '--json']).code).toBe(0);
    for (const out of [join(src, 'stocks', 'AA.csv'), join(src, 'new.csv'), join(dir, 'link', 'stocks', 'AA.parquet')]) {
      for (const cmd of [['export', 'prices', '--symbols', 'BB'], ['features', '--as-of', '1']]) {
        const r = runCli([...cmd, '--out', out, '-w', w, '--json']);
        expect(r.json!.error, `${cmd.join(' ')} --out ${out}: ${r.stderr}`).toMatchObject({ code: 'SP_ERR_USAGE' });
        expect(r.json!.error!.message).toContain(`the folder of this workspace's source (dir:${src})`);
      }
    }
    expect(await readFile(join(src, 'stocks', 'AA.csv'), 'utf8')).toBe(bars(1));
    await expect(readFile(join(src, 'new.csv'))).rejects.toThrow();
    // Beside the source folder is fine.
    expect(runCli(['export', 'prices', '--out', join(dir, 'prices.csv'), '-w', w, '--json']).json!.data.rows).toBe(4);
  });

  it('a snapshot whose data file was deleted by hand is SP_ERR_PRICES_MISSING / SP_ERR_VALIDATE_INPUT naming the file (was SP_ERR_INTERNAL from DuckDB)', async () => {
    const dir = await tempDir('store-lost-file');
    await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 40), { split: 2 });
    const t = readTable(new Workspace(dir), 'prices');
    await rm(t.paths[1]!);
    for (const [cmd, code] of [[['export', 'prices', '--out', join(dir, 'p.csv')], 'SP_ERR_PRICES_MISSING'], [['validate'], 'SP_ERR_VALIDATE_INPUT']] as const) {
      const r = runCli([...cmd, '-w', dir, '--json']);
      expect(r.json!.error, `${cmd.join(' ')}: ${r.stderr}`).toMatchObject({ code });
      expect(r.json!.error!.message).toContain(t.paths[1]);
      expect(r.code).toBe(1);
    }
    await expect(readFile(join(dir, 'p.csv'))).rejects.toThrow();
  });

  it('a data file damaged by hand (truncated, emptied) is the table\'s missing code naming the file, with how to rebuild (was SP_ERR_INTERNAL with DuckDB\'s SQL excerpt)', async () => {
    const dir = await tempDir('store-damaged-file');
    await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 40), { split: 2 });
    const t = readTable(new Workspace(dir), 'prices');
    for (const size of [100, 0]) {
      await truncate(t.paths[1]!, size);
      for (const cmd of [['export', 'prices', '--out', join(dir, 'p.csv')], ['features']]) {
        const r = runCli([...cmd, '-w', dir, '--json']);
        expect(r.json!.error, `${cmd.join(' ')}: ${r.stderr}`).toMatchObject({ code: 'SP_ERR_PRICES_MISSING' });
        expect(r.json!.error!.message).toContain(`data file ${t.paths[1]} of the prices table is not a readable Parquet file`);
        expect(r.json!.error!.message).not.toContain('\n');
        expect(r.json!.error!.hint).toContain('stockpipe ingest --force');
        expect(r.code).toBe(1);
      }
    }
    await expect(readFile(join(dir, 'p.csv'))).rejects.toThrow();
    // The first file is the one validate reads the columns from (it was SP_ERR_VALIDATE_INPUT with DuckDB's SQL, hinting `stockpipe ingest`).
    await truncate(t.paths[0]!, 100);
    const v = runCli(['validate', '-w', dir, '--json']);
    expect(v.json!.error, v.stderr).toMatchObject({ code: 'SP_ERR_PRICES_MISSING', message: expect.stringContaining(`data file ${t.paths[0]} of the prices table is not a readable Parquet file`), hint: expect.stringContaining('stockpipe ingest --force') });
    expect(v.json!.error!.message).not.toContain('\n');
  });

  it('an --out name over 255 bytes, or a path too long for its temp file, is SP_ERR_USAGE (was SP_ERR_INTERNAL, ENAMETOOLONG)', async () => {
    const dir = await tempDir('store-out-long');
    const deep = join(dir, ...Array.from({ length: 21 }, () => 'd'.repeat(200)), 'x.csv');
    for (const out of [join(dir, `${'n'.repeat(252)}.csv`), join(dir, `${'é'.repeat(126)}.csv`), deep]) {
      for (const cmd of [['export', 'prices'], ['features', '--as-of', String(prices1)]]) {
        const r = runCli([...cmd, '--out', out, '-w', ws, '--json']);
        expect(r.json!.error, `${cmd.join(' ')}: ${r.stderr}`).toMatchObject({ code: 'SP_ERR_USAGE' });
        expect(r.code).toBe(2);
      }
    }
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('as-of, lineage and train --as-of', () => {
  it('reads the older snapshot after a newer one landed; train --as-of reproduces the data hash of a model trained then', async () => {
    const dir = await tempDir('store-train');
    const p = (await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, DAYS))).id;
    const f1 = (await commitQuery(dir, 'features', featureRowsQuery(SYMBOLS, DAYS), { source: { prices_snapshot: p }, split: 3 })).id;
    const first = runCli(['train', '-w', dir, ...SMALL]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json!.data.lineage).toEqual({ features_snapshot: f1, prices_snapshot: p });
    const id1 = first.json!.data.model_id as string;

    const f2 = await restate(dir, 3);
    expect(f2).toBeGreaterThan(f1);
    const ws2 = new Workspace(dir);
    const old = await sql(`SELECT count(*)::INTEGER AS n, sum("Adj Close") AS s FROM ${sourceOf(readTable(ws2, 'features', String(f1)))}`);
    const cur = await sql(`SELECT count(*)::INTEGER AS n, sum("Adj Close") AS s FROM ${sourceOf(readTable(ws2, 'features'))}`);
    expect(old[0]!.n).toBe(cur[0]!.n);
    expect(old[0]!.s).not.toBe(cur[0]!.s);

    const now = runCli(['train', '-w', dir, ...SMALL]);
    expect(now.json!.data.data_hash).not.toBe(first.json!.data.data_hash);
    const again = runCli(['train', '--as-of', String(f1), '-w', dir, ...SMALL]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json!.data.data_hash).toBe(first.json!.data.data_hash);
    expect(again.json!.data.lineage.features_snapshot).toBe(f1);

    const ev = runCli(['evaluate', id1, '--as-of', '9999', '-w', dir, '--quiet', '--json']);
    expect([ev.code, ev.json!.error!.code]).toEqual([2, 'SP_ERR_SNAPSHOT_NOT_FOUND']);
    const evOld = runCli(['evaluate', id1, '--as-of', String(f1), '-w', dir, '--quiet', '--json']);
    expect(evOld.code, evOld.stderr).toBe(0);
    expect(evOld.json!.data.metrics.gbdt).toEqual(first.json!.data.metrics.gbdt);

    const show = runCli(['models', 'show', id1, '-w', dir, '--json']);
    expect(show.json!.data.lineage).toEqual({ features_snapshot: f1, prices_snapshot: p });
    const card = await readFile(join(dir, 'models', id1, 'card.md'), 'utf8');
    expect(card).toContain(`features_snapshot: ${f1}`);
    expect(card).toContain(`prices_snapshot: ${p}`);

    // Two more restatements: the first of them is neither current nor any model's lineage.
    const f3 = await restate(dir, 4);
    await restate(dir, 5);
    // vacuum keeping only the current snapshot still keeps what the first model's lineage needs.
    const vac = runCli(['vacuum', '--keep-snapshots', '1', '-w', dir, '--json']);
    expect(vac.code, vac.stderr).toBe(0);
    expect(vac.json!.data.kept_snapshots).toContain(f1);
    // The listing says which snapshots can still be read: each as export finds it, some not.
    const listed = runCli(['snapshots', '-w', dir, '--json']).json!.data.snapshots as { id: number; table: string; readable: boolean }[];
    expect(listed.filter((s) => !s.readable).map((s) => s.id)).toEqual([f3]);
    for (const s of listed) {
      const ex = runCli(['export', s.table, '--as-of', String(s.id), '--out', join(dir, `as-of-${s.id}.parquet`), '-w', dir, '--json']);
      expect([s.readable, ex.json!.error?.code], `snapshot ${s.id}`).toEqual(s.readable ? [true, undefined] : [false, 'SP_ERR_SNAPSHOT_NOT_FOUND']);
    }
    const after = runCli(['train', '--as-of', String(f1), '-w', dir, ...SMALL]);
    expect(after.json!.data.data_hash).toBe(first.json!.data.data_hash);
  });

  it('an unknown snapshot is SP_ERR_SNAPSHOT_NOT_FOUND (exit 2) for train, evaluate, validate and export', () => {
    for (const args of [['train'], ['validate'], ['export', 'prices', '--out', join(ws, 'x.parquet')]]) {
      const r = runCli([...args, '--as-of', '9999', '-w', ws, '--quiet', '--json']);
      expect(r.json!.error!.code, args.join(' ')).toBe('SP_ERR_SNAPSHOT_NOT_FOUND');
      expect(r.code).toBe(2);
    }
    expect(runCli(['train', '--as-of', 'yesterday', '-w', ws, '--quiet', '--json']).json!.error!.code).toBe('SP_ERR_USAGE');
  });

  it('an id of another table\'s snapshot, before the table had any, says whose it is (ids are one sequence for the store)', () => {
    const r = runCli(['train', '--as-of', String(prices1), '-w', ws, '--quiet', '--json']);
    expect(r.json!.error!.code).toBe('SP_ERR_TRAIN_DATA');
    expect(r.json!.error!.message).toContain(`snapshot ${prices1} is the prices table's`);
    expect(r.json!.error!.hint).toContain('stockpipe snapshots features');
  });

  it('the training data does not depend on how rows are spread over files (1 vs 3 files a bucket)', async () => {
    const [a, b] = [await tempDir('store-split'), await tempDir('store-split')];
    await commitQuery(a, 'features', featureRowsQuery(SYMBOLS, 80), { split: 1 });
    await commitQuery(b, 'features', featureRowsQuery(SYMBOLS, 80), { split: 3 });
    const [va, vb] = [await loadWorkspaceVolumeData(new Workspace(a)), await loadWorkspaceVolumeData(new Workspace(b))];
    expect(va.rows).toBeGreaterThan(0);
    expect(vb.dataHash).toBe(va.dataHash);
    expect(Array.from(vb.day)).toEqual(Array.from(va.day));
  });

  it('validate --as-of validates the older snapshot and reports it', () => {
    const r = runCli(['validate', '--as-of', String(prices1), '--fail-on', 'never', '-w', ws, '--quiet', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json!.data.snapshot).toBe(prices1);
    expect(r.json!.data.rows).toBe(SYMBOLS.length * DAYS);
  });

  it('the view (tables/<table>/) holds the current snapshot: explicit columns equal the catalog read', async () => {
    const t = readTable(new Workspace(ws), 'features');
    const cols = columnList(FEATURE_COLUMNS);
    const a = await sql(`SELECT ${cols} FROM ${viewSource(ws, 'features')} ORDER BY "Symbol", "Date"`);
    const b = await sql(`SELECT ${cols} FROM ${sourceOf(t)} ORDER BY "Symbol", "Date"`);
    expect(a).toEqual(b);
  });

  it('a file where the view\'s folder (tables/<table>) or a store bucket folder goes is SP_ERR_WORKSPACE_UNWRITABLE naming it (was SP_ERR_INTERNAL EEXIST from every ingest and features)', async () => {
    const dir = await tempDir('store-view-file');
    await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 5));
    const w = new Workspace(dir);
    const view = w.tableDir('prices');
    await rm(view, { recursive: true });
    await writeFile(view, 'x');
    const reg = openRegistry(w);
    try {
      await expect(ensureView(w, reg, 'prices')).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE', message: expect.stringContaining(view), hint: expect.stringContaining('A file stands where the folder') });
      await rm(view);
      await ensureView(w, reg, 'prices');
      expect(existsSync(w.tableHead('prices'))).toBe(true);
      const write = TableWrite.begin(w, reg, 'prices');
      const bucket = join(w.storeTableDir('prices'), 'bucket=07');
      await rm(bucket, { recursive: true, force: true });
      await writeFile(bucket, 'x');
      await expect(write.newFile(7)).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE', message: expect.stringContaining(bucket) });
    } finally {
      reg.close();
    }
  });

  it('a file deleted from the view by hand (tables/<table>/bucket=NN/) is linked back by the next writer, which found the head current and left the table half there for pandas', async () => {
    const dir = await tempDir('store-view-hole');
    await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 5));
    const w = new Workspace(dir);
    const f = readTable(w, 'prices').files[0]!;
    const held = join(w.tableDir('prices'), f.partition, f.path.split('/').at(-1)!);
    await rm(held);
    const reg = openRegistry(w);
    try {
      await ensureView(w, reg, 'prices');
    } finally {
      reg.close();
    }
    expect(existsSync(held)).toBe(true);
    expect(await sql(`SELECT count(*)::INTEGER AS n FROM ${viewSource(dir, 'prices')}`)).toEqual([{ n: SYMBOLS.length * 5 }]);
  });

  it('a view behind a snapshot whose data file is gone (a registry copied without its store) is left as it was; features --force writes a new snapshot (was SP_ERR_INTERNAL ENOENT from every writer, --force included)', async () => {
    const dir = await tempDir('store-view-lost');
    await writePrices(dir, cleanBars({ symbols: 4, days: 40 }));
    const w = new Workspace(dir);
    const p = readTable(w, 'prices').snapshot;
    await commitQuery(dir, 'features', featureRowsQuery(SYMBOLS, 40), { source: { prices_snapshot: p.id } });
    const lost = readTable(w, 'features').paths[0]!;
    await rm(lost);
    await rm(join(dir, 'tables'), { recursive: true });
    const reg = openRegistry(w);
    try {
      await ensureView(w, reg, 'features');
      await ensureView(w, reg, 'prices');
    } finally {
      reg.close();
    }
    expect(existsSync(w.tableHead('features'))).toBe(false);
    expect(existsSync(w.tableHead('prices'))).toBe(true);
    const r = runCli(['features', '--force', '-w', dir, '--json']);
    expect(r.json!.ok, r.stderr).toBe(true);
    expect(readTable(w, 'features').snapshot.id).toBeGreaterThan(p.id + 1);
    expect(existsSync(w.tableHead('features'))).toBe(true);
  });
});

describe('GET /symbols/:symbol/series?as_of=', () => {
  it('reads the table as of a snapshot; an unknown one is 404 SP_ERR_SNAPSHOT_NOT_FOUND, a malformed one 400', async () => {
    const dir = await tempDir('store-api');
    const p = (await commitQuery(dir, 'prices', priceRowsQuery(SYMBOLS, 60))).id;
    const f1 = (await commitQuery(dir, 'features', featureRowsQuery(SYMBOLS, 60), { source: { prices_snapshot: p } })).id;
    const f2 = (await commitQuery(dir, 'features', featureRowsQuery(SYMBOLS, 60, 100), { restate: new Map([['BBB', '2018-01-01']]) })).id;
    const holder = new ChampionHolder(dir, silentLog);
    await holder.refresh();
    const { app } = await buildApp({ workspace: dir, holder, accessLog: null, version: 'test', dashboardDir: join(dir, 'no-dashboard') });
    try {
      type Series = { as_of: string | null; rows: number; adj_close: number[] };
      const get = async (q: string) => app.inject(`/symbols/BBB/series?points=10000${q}`);
      const now = JSON.parse((await get('')).body) as Series;
      const old = JSON.parse((await get(`&as_of=${f1}`)).body) as Series;
      const same = JSON.parse((await get(`&as_of=${f2}`)).body) as Series;
      expect(old.rows).toBe(60);
      expect(old.as_of).toBe(String(f1));
      expect(now.adj_close).toEqual(same.adj_close);
      expect(now.adj_close.map((x, i) => Math.round(x - old.adj_close[i]!))).toEqual(new Array(60).fill(100));
      // By time: the first snapshot's creation time reads it (a later one may share the second; none is older).
      const t1 = (JSON.parse(runCli(['snapshots', 'features', '-w', dir, '--json']).stdout) as { data: { snapshots: { id: number; created_at: string }[] } }).data.snapshots.find((s) => s.id === f1)!.created_at;
      expect((await get(`&as_of=${encodeURIComponent(t1)}`)).statusCode).toBe(200);
      const syms = JSON.parse((await app.inject(`/symbols?as_of=${f1}`)).body) as { total: number };
      expect(syms.total).toBe(SYMBOLS.length);
      expect((await app.inject('/symbols?as_of=9999')).statusCode).toBe(404);
      const missing = await get('&as_of=9999');
      expect(missing.statusCode).toBe(404);
      expect((JSON.parse(missing.body) as { error: { code: string } }).error.code).toBe('SP_ERR_SNAPSHOT_NOT_FOUND');
      const early = await get('&as_of=2000-01-01T00:00:00Z');
      expect([early.statusCode, (JSON.parse(early.body) as { error: { code: string } }).error.code]).toEqual([404, 'SP_ERR_SNAPSHOT_NOT_FOUND']);
      const bad = await get('&as_of=last-tuesday');
      expect(bad.statusCode).toBe(400);
      expect((JSON.parse(bad.body) as { error: { code: string } }).error.code).toBe('SP_ERR_BAD_REQUEST');
    } finally {
      await app.close();
    }
  });
});
