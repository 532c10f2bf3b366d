import { describe, expect, it } from 'vitest';
import { openDuckDB } from './duckdb.js';
import { damagedStoreFileError, duckdbResourceError, isResourceFailure, vanishedStoreFileError } from './duckdb-errors.js';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

describe('DuckDB failures that are the user\'s', () => {
  const cases: [string, string, string | undefined][] = [
    ['out of memory', 'Out of Memory Error: could not allocate block of size 256.0 KiB (0 bytes/1000 bytes used)', 'SP_ERR_OUT_OF_MEMORY'],
    ['disk full while writing', 'IO Error: Could not write file "/ws/tables/.p.tmp": No space left on device', 'SP_ERR_DISK_FULL'],
    ['a bad Parquet file', 'Invalid Input Error: File \'/ws/tables/prices.parquet\' too small to be a Parquet file', undefined],
    ['a SQL bug', 'Binder Error: Referenced column "x" not found', undefined],
  ];
  it.each(cases)('%s → %s', (_what, message, code) => {
    expect(duckdbResourceError(new Error(message), { memoryLimit: '1KB' })?.code).toBe(code);
    expect(isResourceFailure(new Error(message))).toBe(code !== undefined);
  });

  it('a real query under a 1KB memory limit is recognised as out of memory, naming the limit', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-oom-'));
    try {
      const db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '1KB', threads: 1 });
      const err = await db.connection.run('SELECT sum(i) FROM range(1000000) t(i) GROUP BY i % 1000').then(() => null, (e: unknown) => e);
      db.close();
      expect(err).not.toBeNull();
      const coded = duckdbResourceError(err, { memoryLimit: '1KB', threads: 1 });
      expect(coded?.code).toBe('SP_ERR_OUT_OF_MEMORY');
      expect(coded?.hint).toContain('now 1KB');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a store data file deleted while a command read it (a vacuum at the same time)', () => {
  it('is SP_ERR_SNAPSHOT_NOT_FOUND naming the file and vacuum, not SP_ERR_INTERNAL', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sp-vanished-'));
    try {
      const file = join(dir, 'store', 'features', 'bucket=03', 's000019-004-588c9c.parquet');
      await mkdir(join(file, '..'), { recursive: true });
      const db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '256MB', threads: 1 });
      await db.connection.run(`COPY (SELECT 1 AS x) TO '${file}' (FORMAT parquet)`);
      const source = `read_parquet(['${file}'], hive_partitioning = false)`;
      await db.connection.run(`SELECT count(*) FROM ${source}`); // readable while it is there
      await rm(file); // what vacuum does to a snapshot it drops, while a reader had resolved it
      const err = await db.connection.run(`SELECT count(*) FROM ${source}`).then(() => null, (e: unknown) => e);
      db.close();
      const coded = vanishedStoreFileError(err);
      expect(coded?.code).toBe('SP_ERR_SNAPSHOT_NOT_FOUND');
      expect(coded?.message).toContain(file);
      expect(coded?.message).toContain('features table was deleted while this command read it');
      expect(coded?.hint).toContain('vacuum');
      // DuckDB's other wording, when the file goes after the query bound it.
      expect(vanishedStoreFileError(new Error(`IO Error: Cannot open file "${file}": No such file or directory`))?.code).toBe('SP_ERR_SNAPSHOT_NOT_FOUND');
      // The file back on disk, a file outside the store, or another error: not this.
      await writeFile(file, 'x');
      expect(vanishedStoreFileError(new Error(`IO Error: Cannot open file "${file}": No such file or directory`))).toBeUndefined();
      expect(vanishedStoreFileError(new Error(`IO Error: No files found that match the pattern "${join(dir, 'export.parquet')}"`))).toBeUndefined();
      expect(vanishedStoreFileError(new Error('Binder Error: Referenced column "x" not found'))).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('damagedStoreFileError', () => {
  it('recodes DuckDB\'s "not a Parquet file" words about a store data file, and nothing else', () => {
    const file = '/ws/store/features/bucket=03/s000002-000-abc.parquet';
    const truncated = damagedStoreFileError(new Error(`Invalid Input Error: No magic bytes found at end of file '${file}'\n\nLINE 1: COPY (SELECT …`));
    expect(truncated?.code).toBe('SP_ERR_FEATURES_MISSING');
    expect(truncated?.message).toBe(`data file ${file} of the features table is not a readable Parquet file (Invalid Input Error: No magic bytes found at end of file '${file}'): it was changed outside stockpipe (truncated, emptied or overwritten)`);
    expect(truncated?.hint).toContain('stockpipe features --force');
    const prices = file.replace('features', 'prices');
    expect(damagedStoreFileError(new Error(`Invalid Input Error: File '${prices}' too small to be a Parquet file`))?.code).toBe('SP_ERR_PRICES_MISSING');
    // A file outside the store (a user's export), or another error: not this.
    expect(damagedStoreFileError(new Error("Invalid Input Error: File '/home/me/prices.parquet' too small to be a Parquet file"))).toBeUndefined();
    expect(damagedStoreFileError(new Error('Binder Error: Referenced column "x" not found'))).toBeUndefined();
  });
});
