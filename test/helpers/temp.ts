/** @module test/helpers/temp
 * Every temp folder a test makes: `/tmp/sp-<name>-XXXXXX`, removed after the file's tests (the
 * afterAll of test/setup-file.ts, which runs for every test file). test/global-setup.ts reports any
 * `sp-*` left behind. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const TEMP_PREFIX = 'sp-';
const made: string[] = [];

/** Removes every folder made so far by this test file (idempotent). */
export function removeTempDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true, maxRetries: 3 });
}

/** Makes `/tmp/sp-<name>-XXXXXX`, removed after this file's tests. */
export function tempDirSync(name = 'tmp'): string {
  const dir = mkdtempSync(join(tmpdir(), `${TEMP_PREFIX}${name.replace(/^sp-/, '').replace(/-$/, '')}-`));
  made.push(dir);
  return dir;
}

export async function tempDir(name = 'tmp'): Promise<string> {
  return tempDirSync(name);
}
