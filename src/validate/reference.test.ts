/** readReference: a reference file of the other table is named as such, with the command that uses it. */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureOf } from '../../test/helpers/failure.js';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { readCurrentReference, readReference } from './reference.js';

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

  // Probed: a reference.json cut short (a full disk, an editor) was hinted `validate --set-reference`, which takes the
  // current data as the reference unchecked, while reference-v1.json beside it, of which it is a copy, was intact.
  it('a damaged reference.json beside its intact reference-v<N>.json is hinted to be restored from it', async () => {
    const dir = await tempDir('reference');
    dirs.push(dir);
    const ws = new Workspace(dir);
    await mkdir(join(dir, 'validation'));
    const ref = (version: number) => JSON.stringify({ format: 'stockpipe-validation-reference', version, table: 'prices', rows: 10, columns: [{ name: 'Volume', type: 'BIGINT', null_rate: 0 }], drift: { columns: {} }, symbols: null });
    await writeFile(ws.versionedReference('prices', 1), ref(1));
    await writeFile(ws.versionedReference('prices', 2), ref(2));
    await writeFile(ws.currentReference('prices'), ref(2).slice(0, 40));
    const err = await failureOf(readCurrentReference(ws, 'prices'));
    expect(err.code).toBe('SP_ERR_REFERENCE_INVALID');
    expect(err.message).toMatch(/reference\.json: not valid JSON/);
    const v2 = ws.versionedReference('prices', 2);
    expect(err.hint).toBe(`It is a copy of ${v2}, which is intact: restore it (\`cp ${v2} ${ws.currentReference('prices')}\`) and run again. \`stockpipe validate --set-reference\` would accept the current data as the reference without checking it.`);
    // No sound copy: the code's own hint.
    await writeFile(v2, '{');
    expect((await failureOf(readCurrentReference(ws, 'prices'))).hint).toMatch(/^Run `stockpipe validate --set-reference`/);
  });
});
