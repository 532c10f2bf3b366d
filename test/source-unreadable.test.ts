/** A source this user may not read (found by probing as an unprivileged user): the dir: source skips a
 * file or subfolder it cannot read (a `lost+found`, another user's mode-600 file) with its reason, as it
 * does a broken symlink, and refuses an unreadable folder with SP_ERR_SOURCE_NOT_FOUND; both were
 * SP_ERR_INTERNAL (scandir EACCES), and an unreadable file passed fetch to fail ingest, which said it
 * "was a readable file when the source was fetched". Root reads anything, so as root the CLI runs as
 * `nobody` (uid 65534). A zip: archive it may not read was SP_ERR_ZIP_CORRUPT, "Download the archive again". */
import { spawnSync } from 'node:child_process';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cliEnv, type CliDoc, ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { buildZip } from './helpers/zip-writer.js';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const H = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
const BARS = `${H}2020-01-02,1,1,1,1,1,10\n2020-01-03,1,1,1,1,1,11\n`;

/** The CLI as an unprivileged user (nobody when the tests run as root). */
function sp(args: string[], home: string): CliDoc {
  const r = spawnSync(process.execPath, [CLI, ...args, '--json', '--threads', '1'], {
    cwd: ROOT, env: cliEnv({ HOME: home }), encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL',
    ...(asRoot ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as CliDoc;
}

/** A folder the CLI's user owns (as root: chowned to nobody), inside a base it can reach. */
async function ownFolder(base: string, name: string): Promise<string> {
  const dir = join(base, name);
  await mkdir(dir);
  if (asRoot) await chown(dir, NOBODY, NOBODY);
  return dir;
}

/** Gives the modes back, so that the temp folder can be removed by a user who is not root. */
async function readable(data: string): Promise<void> {
  await chmod(data, 0o755);
  await chmod(join(data, 'stocks', 'BBB.csv'), 0o644);
  await chmod(join(data, 'lost+found'), 0o755);
}

async function dataFolder(base: string): Promise<string> {
  const data = join(base, 'data');
  for (const d of ['stocks', 'etfs', 'lost+found']) await mkdir(join(data, d), { recursive: true });
  await writeFile(join(data, 'stocks', 'AAA.csv'), BARS);
  await writeFile(join(data, 'stocks', 'BBB.csv'), BARS);
  await writeFile(join(data, 'etfs', 'EEE.csv'), BARS);
  await writeFile(join(data, 'lost+found', 'CCC.csv'), BARS);
  await chmod(join(data, 'stocks', 'BBB.csv'), 0o000);
  await chmod(join(data, 'lost+found'), 0o000);
  return data;
}

describe('a dir: source this user may not read all of', () => {
  it('an unreadable file or subfolder is skipped with its reason; the rest is fetched and ingested', async () => {
    const base = await tempDir('unreadable');
    await chmod(base, 0o755);
    const data = await dataFolder(base);
    const home = await ownFolder(base, 'home');
    try {
      for (const checksum of [[], ['--checksum']]) {
        const ws = await ownFolder(base, `ws${checksum.length}`);
        const fetched = sp(['fetch', '--source', `dir:${data}`, ...checksum, '-w', ws], home);
        expect(fetched.error, JSON.stringify(fetched.error)).toBeUndefined();
        expect(fetched.data.files).toBe(2);
        expect(fetched.data.skipped).toEqual([
          { path: 'lost+found', reason: 'cannot be read (EACCES)' },
          { path: 'stocks/BBB.csv', reason: 'cannot be read (EACCES)' },
        ]);
        const ingested = sp(['ingest', '-w', ws], home);
        expect(ingested.error, JSON.stringify(ingested.error)).toBeUndefined();
        expect(ingested.data.symbols).toBe(2);
      }
    } finally {
      await readable(data);
    }
  });

  it('the folder itself unreadable → SP_ERR_SOURCE_NOT_FOUND naming it, nothing fetched', async () => {
    const base = await tempDir('unreadable');
    await chmod(base, 0o755);
    const data = await dataFolder(base);
    await chmod(data, 0o311);
    const ws = await ownFolder(base, 'ws');
    try {
      const r = sp(['fetch', '--source', `dir:${data}`, '-w', ws], await ownFolder(base, 'home'));
      expect(r.error?.code, JSON.stringify(r.error)).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect(r.error?.message).toContain(data);
      expect(sp(['ingest', '-w', ws], base).error?.code).toBe('SP_ERR_NO_RAW_DATA');
    } finally {
      await readable(data);
    }
  });
});

describe('a zip: archive this user may not read', () => {
  it('→ SP_ERR_SOURCE_NOT_FOUND naming it (not SP_ERR_ZIP_CORRUPT), at fetch and at ingest', async () => {
    const base = await tempDir('unreadable');
    await chmod(base, 0o755);
    const zip = join(base, 'archive.zip');
    await writeFile(zip, buildZip([{ name: 'stocks/AAA.csv', data: Buffer.from(BARS) }]));
    const home = await ownFolder(base, 'home');
    const ws = await ownFolder(base, 'ws');
    try {
      await chmod(zip, 0o000);
      const r = sp(['fetch', '--source', `zip:${zip}`, '-w', ws], home);
      expect(r.error?.code, JSON.stringify(r.error)).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect(r.error?.message).toContain(zip);
      await chmod(zip, 0o644);
      expect(sp(['fetch', '--source', `zip:${zip}`, '-w', ws], home).error).toBeUndefined();
      await chmod(zip, 0o000);
      const ingested = sp(['ingest', '-w', ws], home);
      expect(ingested.error?.code, JSON.stringify(ingested.error)).toBe('SP_ERR_SOURCE_NOT_FOUND');
      expect(ingested.error?.message).toContain(zip);
    } finally {
      await chmod(zip, 0o644);
    }
  });
});

/** Every folder and file under `dir` made read-only (a-w), or writable for its owner again. */
function setWritable(dir: string, writable: boolean): void {
  spawnSync('chmod', ['-R', writable ? 'u+w' : 'a-w', dir]);
}

describe('a workspace this user may only read (its modes, not a read-only mount)', () => {
  it('the commands that only read work from a copy of the registry in memory (they said SP_ERR_REGISTRY SQLITE_READONLY_DIRECTORY)', async () => {
    const base = await tempDir('readonly-ws');
    await chmod(base, 0o755);
    const home = await ownFolder(base, 'home');
    const out = await ownFolder(base, 'out');
    const ws = await ownFolder(base, 'ws');
    expect(sp(['fetch', '--source', 'synthetic', '--symbols', '3', '--years', '1', '-w', ws], home).error).toBeUndefined();
    expect(sp(['ingest', '-w', ws], home).error).toBeUndefined();
    setWritable(ws, false);
    try {
      const snaps = sp(['snapshots', '-w', ws], home);
      expect(snaps.error, JSON.stringify(snaps.error)).toBeUndefined();
      expect((snaps.data.snapshots as { table: string }[]).map((s) => s.table)).toEqual(['prices']);
      const exported = sp(['export', 'prices', '--out', join(out, 'prices.csv'), '-w', ws], home);
      expect(exported.error, JSON.stringify(exported.error)).toBeUndefined();
      expect(exported.data.rows).toBe(snaps.data.snapshots[0].rows);
      const models = sp(['models', 'list', '-w', ws], home);
      expect(models.error, JSON.stringify(models.error)).toBeUndefined();
      // A command that writes still says so.
      expect(sp(['features', '-w', ws], home).error?.code).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    } finally {
      setWritable(ws, true);
    }
  });
});
