import { describe, expect, it } from 'vitest';
import { openDuckDB } from './duckdb.js';
import { duckdbResourceError, isResourceFailure } from './duckdb-errors.js';
import { mkdtemp, rm } from 'node:fs/promises';
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
