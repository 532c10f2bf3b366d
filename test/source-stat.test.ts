/** @module test/source-stat.test
 * Sources tell "nothing there" (SP_ERR_SOURCE_NOT_FOUND) from a path they cannot stat (the
 * filesystem's own error code surfaces), through core/fs statOrNull. */
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { dirSource } from '../src/sources/dir.js';
import type { FetchContext, Source } from '../src/sources/types.js';
import { zipSource } from '../src/sources/zip-source.js';
import { Workspace } from '../src/core/workspace.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'sp-source-stat-'));
  await symlink(join(scratch, 'loop-b'), join(scratch, 'loop-a'));
  await symlink(join(scratch, 'loop-a'), join(scratch, 'loop-b'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

const ctx = (): FetchContext => ({
  ws: new Workspace(join(scratch, 'ws')), log: pino({ level: 'silent' }), progress: silentProgress, now: () => new Date('2024-05-01T12:00:00Z'), env: {}, homeDir: scratch, checksum: false,
});

describe('a source path that cannot be stat-ed', () => {
  // [case, source for a path under the temp folder, expected error code]
  const cases: Array<[string, (p: (rel: string) => string) => Source, string]> = [
    ['dir: nothing there', (p) => dirSource(p('missing')), 'SP_ERR_SOURCE_NOT_FOUND'],
    ['dir: a symlink loop surfaces ELOOP', (p) => dirSource(p('loop-a')), 'ELOOP'],
    ['zip: nothing there', (p) => zipSource(p('missing.zip')), 'SP_ERR_SOURCE_NOT_FOUND'],
    ['zip: a symlink loop surfaces ELOOP', (p) => zipSource(p('loop-a')), 'ELOOP'],
  ];
  it.each(cases)('%s', async (_name, make, code) => {
    await expect(make((rel) => join(scratch, rel)).fetch(ctx())).rejects.toMatchObject({ code });
  });
});
