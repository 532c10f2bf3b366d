import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDB, queryRows, tempTableOf, type DuckDB, withThreads } from './duckdb.js';

let dir: string;
let db: DuckDB;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-duckdb-'));
  db = await openDuckDB({ tempDir: join(dir, 'tmp'), memoryLimit: '256MB', threads: 1 });
});
afterAll(async () => {
  db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('tempTableOf', () => {
  it('holds every value as given, quotes and NULLs included, in order', async () => {
    const symbols = Array.from({ length: 5000 }, (_, i) => (i % 7 === 0 ? `Q'${i}"x` : `S${i}`));
    await tempTableOf(db.connection, 't_values', [
      { name: 'Symbol', type: 'VARCHAR', values: symbols },
      { name: 'from_date', type: 'VARCHAR', values: symbols.map((_, i) => (i % 3 === 0 ? null : `2020-01-${String((i % 28) + 1).padStart(2, '0')}`)) },
      { name: 'bucket', type: 'INTEGER', values: symbols.map((_, i) => (i % 5 === 0 ? null : i % 16)) },
    ]);
    const rows = await queryRows(db.connection, 'SELECT "Symbol" AS s, from_date AS d, bucket AS b FROM t_values');
    expect(rows).toEqual(symbols.map((s, i) => ({ s, d: i % 3 === 0 ? null : `2020-01-${String((i % 28) + 1).padStart(2, '0')}`, b: i % 5 === 0 ? null : i % 16 })));
  });

  it('with no rows still has its columns and their types', async () => {
    await tempTableOf(db.connection, 't_empty', [
      { name: 'Symbol', type: 'VARCHAR', values: [] },
      { name: 'bucket', type: 'INTEGER', values: [] },
    ]);
    expect(await queryRows(db.connection, 'SELECT count(*)::INTEGER AS n FROM t_empty')).toEqual([{ n: 0 }]);
    const cols = await queryRows(db.connection, 'DESCRIBE t_empty');
    expect(cols.map((c) => [c.column_name, c.column_type])).toEqual([
      ['Symbol', 'VARCHAR'],
      ['bucket', 'INTEGER'],
    ]);
  });
});

describe('withThreads', () => {
  it('sets the threads for the call and back after it, also when it throws', async () => {
    const threads = async (): Promise<number> => Number((await queryRows(db.connection, `SELECT current_setting('threads')::INTEGER AS n`))[0]!.n);
    const before = await threads();
    expect(before).toBe(1);
    expect(await withThreads(db.connection, 3, threads)).toBe(3);
    expect(await threads()).toBe(before);
    await expect(
      withThreads(db.connection, 2, async () => {
        expect(await threads()).toBe(2);
        throw new Error('inside');
      }),
    ).rejects.toThrow('inside');
    expect(await threads()).toBe(before);
  });
});
