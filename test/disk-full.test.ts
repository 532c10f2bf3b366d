/** A full file system (a 3 MB tmpfs, mounted as root): ingest, features and validate fail with
 * SP_ERR_DISK_FULL naming the folder, the previous outputs stay intact and no temp file is left; a
 * store that cannot even be opened (its shared-memory file cannot be made) is SP_ERR_DISK_FULL too.
 * Skips with a printed reason when not root or when the mount fails. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { readdir, readFile, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../src/core/fs.js';
import { Workspace } from '../src/core/workspace.js';
import { openRegistry, type Registry } from '../src/registry/store.js';
import { runCli } from './helpers/cli.js';


function sp(args: string[]): { status: number; stderr: string; error?: { code: string; message: string; hint: string } } {
  const r = runCli([...args, '--json']);
  return { status: r.code ?? -1, stderr: r.stderr, error: r.jsonOrNull?.error as { code: string; message: string; hint: string } | undefined };
}

/** Mounts the tmpfs now (the suite is skipped, with the reason printed, when it cannot be). */
function mountSmallDisk(): { base: string; mnt: string; skip: string | null } {
  if (process.getuid?.() !== 0) return { base: '', mnt: '', skip: 'not root: cannot mount a tmpfs' };
  const dir = mkdtempSync(join(tmpdir(), 'sp-diskfull-'));
  const point = join(dir, 'mnt');
  mkdirSync(point);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'tmpfs', point], { stdio: 'pipe' });
    return { base: dir, mnt: point, skip: null };
  } catch (err) {
    return { base: dir, mnt: '', skip: `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}` };
  }
}
const { base, mnt, skip } = mountSmallDisk();
if (skip !== null) console.log(`skipping the full-disk tests: ${skip}`);

afterAll(async () => {
  if (mnt !== '') execFileSync('umount', [mnt]);
  if (base !== '') await rm(base, { recursive: true, force: true });
});

/** Every temp file (…tmp-<pid>-…) under a folder. */
async function temps(dir: string): Promise<string[]> {
  const names = (await readdir(dir, { recursive: true })) as string[];
  return names.filter((n) => /\.tmp-\d+/.test(n));
}

/** Every file under a folder (recursively) with its sha256. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of ((await readdir(dir, { recursive: true })) as string[]).sort()) {
    if ((await stat(join(dir, n))).isFile()) out[n] = await sha256File(join(dir, n));
  }
  return out;
}

describe.skipIf(skip !== null)('a full file system', () => {
  const ws = (): string => join(mnt, 'ws');
  let held: Registry | undefined;
  afterAll(() => held?.close());
  beforeAll(async () => {
    for (const step of [['fetch', '--symbols', '5', '--years', '1'], ['ingest'], ['features', '--window', '5'], ['validate', '--fail-on', 'never']]) {
      const r = sp([...step, '-w', ws()]);
      expect(r.status, r.stderr).toBe(0);
    }
    // A store another process holds open (as `serve` does) keeps its shared-memory file, so the
    // commands below open it and fail where their outputs go; the last case closes it.
    held = openRegistry(new Workspace(ws()), { readonly: true });
    held.listRuns({ limit: 1 });
    // Leave 4 KB: smaller than any of the outputs below.
    const s = await statfs(mnt);
    await writeFile(join(mnt, 'filler'), Buffer.alloc(Number(s.bavail) * Number(s.bsize) - 4096));
  }, 120_000);

  // [command, folder named by the error; the table files (store/ and the tables/ view) must be unchanged]
  const cases: [string[], string][] = [
    [['ingest', '--force'], 'store'],
    [['features', '--force', '--window', '5'], 'store'],
    [['validate', '--set-reference', '--fail-on', 'never'], 'validation'],
  ];
  it.each(cases)('%j → SP_ERR_DISK_FULL naming %s; previous outputs intact, no temp file', async (args, folder) => {
    const watched = folder === 'store' ? ['store', 'tables'] : [folder];
    const before = await Promise.all(watched.map((d) => snapshot(join(ws(), d))));
    const r = sp([...args, '-w', ws()]);
    expect(r.error?.code, r.stderr).toBe('SP_ERR_DISK_FULL');
    expect(r.status).toBe(1);
    expect(r.error!.message).toContain(join(ws(), folder));
    expect(r.error!.hint).toMatch(/Free at least .*bytes/);
    expect(await Promise.all(watched.map((d) => snapshot(join(ws(), d))))).toEqual(before);
    expect(await temps(ws())).toEqual([]);
    expect(JSON.parse(await readFile(join(ws(), 'tables', 'prices.report.json'), 'utf8'))).toHaveProperty('rows_kept');
  });

  it('a store nobody holds open cannot be opened on the full disk → SP_ERR_DISK_FULL naming the workspace', async () => {
    held?.close();
    held = undefined;
    const before = await snapshot(join(ws(), 'store'));
    const r = sp(['ingest', '--force', '-w', ws()]);
    expect(r.error?.code, r.stderr).toBe('SP_ERR_DISK_FULL');
    expect(r.error!.message).toContain(ws());
    expect(await snapshot(join(ws(), 'store'))).toEqual(before);
  });
});
