/** A workspace on a read-only file system (a tmpfs mounted `ro`, as root; found by probing with a
 * read-only bind mount): `run`, `backfill` and `scheduler` fail with SP_ERR_WORKSPACE_UNWRITABLE
 * naming EROFS. They said SP_ERR_INTERNAL "ENOENT: no such file or directory, mkdir …/pipeline":
 * Node's recursive mkdir reports ENOENT there. Skips with a printed reason when not root or when the
 * mount fails. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from './helpers/cli.js';

/** Mounts an empty read-only tmpfs now (the suite is skipped, with the reason printed, when it cannot be). */
function mountReadOnly(): { base: string; mnt: string; skip: string | null } {
  if (process.getuid?.() !== 0) return { base: '', mnt: '', skip: 'not root: cannot mount a tmpfs' };
  const dir = mkdtempSync(join(tmpdir(), 'sp-rofs-'));
  const point = join(dir, 'mnt');
  mkdirSync(point);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', point], { stdio: 'pipe' });
    return { base: dir, mnt: point, skip: null };
  } catch (err) {
    return { base: dir, mnt: '', skip: `mount -t tmpfs -o ro failed: ${(err as Error).message.split('\n')[0]}` };
  }
}
const { base, mnt, skip } = mountReadOnly();
if (skip !== null) console.log(`skipping the read-only file system tests: ${skip}`);

afterAll(async () => {
  if (mnt !== '') execFileSync('umount', [mnt]);
  if (base !== '') await rm(base, { recursive: true, force: true });
});

describe.skipIf(skip !== null)('a workspace on a read-only file system', () => {
  it.each([
    ['run', ['run']],
    ['backfill', ['backfill', '--from', '2020-01-02', '--to', '2020-01-03']],
    ['scheduler', ['scheduler', '--config', 'CONFIG']],
  ])('%s → SP_ERR_WORKSPACE_UNWRITABLE naming EROFS (was SP_ERR_INTERNAL, ENOENT)', (_name, args) => {
    const config = join(base, 'schedules.json');
    writeFileSync(config, JSON.stringify({ schedules: [{ pipeline: 'daily', cron: '30 18 * * 1-5' }] }));
    const r = runCli([...args.map((a) => (a === 'CONFIG' ? config : a)), '-w', mnt, '--json'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(1);
    expect(r.json.error?.code, r.json.error?.message).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    expect(r.json.error?.message).toContain('EROFS');
  });
});
