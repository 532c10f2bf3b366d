/** readReference: a reference file of the other table is named as such, with the command that uses it. */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureOf } from '../../test/helpers/failure.js';
import { tempDir } from '../../test/helpers/temp.js';
import { readReference } from './reference.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('readReference', () => {
  // Probed: `validate --table features --reference validation/reference.json` (the prices table's) was hinted
  // "Run `stockpipe validate --set-reference` to infer a new reference version …", which never checks against that file.
  it("a reference of the other table is SP_ERR_REFERENCE_INVALID hinting that table's check and the table's own reference", async () => {
    const dir = await tempDir('reference');
    dirs.push(dir);
    const path = join(dir, 'reference.json');
    const ref = { format: 'stockpipe-validation-reference', version: 1, table: 'prices', rows: 10, columns: [{ name: 'Volume', type: 'BIGINT', null_rate: 0 }], drift: { columns: {} }, symbols: null };
    await writeFile(path, JSON.stringify(ref));
    expect((await readReference(path, 'prices')).table).toBe('prices');
    const err = await failureOf(readReference(path, 'features'));
    expect([err.code, err.message]).toEqual(['SP_ERR_REFERENCE_INVALID', `${path}: the reference describes the prices table, not features`]);
    expect(err.hint).toBe(`Check the prices table against it (\`stockpipe validate --table prices --reference ${path}\`), or give --reference a features table's reference (validation/reference-features.json, or leave --reference out).`);
  });

  // Probed: `validate --reference /typo.json` was hinted to infer a new reference with --set-reference.
  it('a --reference that names no file says so and hints the path, not a new reference', async () => {
    const dir = await tempDir('reference');
    dirs.push(dir);
    const err = await failureOf(readReference(join(dir, 'nope.json'), 'prices'));
    expect([err.code, err.message]).toEqual(['SP_ERR_REFERENCE_INVALID', `${join(dir, 'nope.json')}: no such file`]);
    expect(err.hint).toMatch(/^Check the --reference path/);
  });
});
