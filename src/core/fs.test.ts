import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkUserOutput, checkWorkspacePath, readdirOrEmpty, readFileOrNull, removeStaleTemps, removeStaleTempsIn, statOrNull, tempPathFor, withAtomicOutput, withScratch, writeFileAtomic, writeFilesAtomic } from './fs.js';
import { Workspace } from './workspace.js';

// rename fails for one named target when `failRenameOf` is set (a commit failing half-way).
const inject = vi.hoisted(() => ({ failRenameOf: null as string | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  return {
    ...real,
    rename: async (from: string, to: string) => {
      if (inject.failRenameOf !== null && to === inject.failRenameOf) throw Object.assign(new Error(`EIO: i/o error, rename '${from}' -> '${to}'`), { code: 'EIO' });
      return real.rename(from, to);
    },
  };
});

let dir: string;
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sp-fs-')); });
afterEach(async () => { await rm(dir, { recursive: true, force: true }); });

describe('atomic outputs', () => {
  it('a file standing where the output folder should be → SP_ERR_WORKSPACE_UNWRITABLE naming it; nothing written', async () => {
    await writeFile(join(dir, 'features'), 'not a folder');
    await expect(writeFileAtomic(join(dir, 'features', 'x.json'), '{}')).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE', message: expect.stringContaining(join(dir, 'features')) });
    await expect(withAtomicOutput(join(dir, 'features', 'x.parquet'), async () => 1)).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE' });
    expect(await readFile(join(dir, 'features'), 'utf8')).toBe('not a folder');
  });

  it.skipIf(!existsSync('/proc/self'))('a folder where no file can be made (/proc) → SP_ERR_WORKSPACE_UNWRITABLE naming it, before the producer runs', async () => {
    const produce = vi.fn(async () => 1);
    await expect(withAtomicOutput('/proc/sp-export.csv', produce)).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE', message: expect.stringContaining('cannot create a file in /proc') });
    expect(produce).not.toHaveBeenCalled();
  });

  it('a full disk under a user\'s --out is hinted another file for --out, not another --workspace', async () => {
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    const target = join(dir, 'out.csv');
    await expect(withAtomicOutput(target, async () => { throw enospc; }, '--out')).rejects.toMatchObject({ code: 'SP_ERR_DISK_FULL', hint: expect.stringContaining('give --out a file on a larger disk') });
    await expect(withAtomicOutput(target, async () => { throw enospc; })).rejects.toMatchObject({ code: 'SP_ERR_DISK_FULL', hint: expect.stringContaining('pass --workspace on a larger disk') });
  });

  it('a scratch file (withScratch) is deleted when the command ends, fails, or a signal ends it', async () => {
    const scratch = join(dir, 'export-1-a.ndjson');
    expect(await withScratch(scratch, async (p) => { await writeFile(p, 'rows'); return 7; })).toBe(7);
    expect(existsSync(scratch)).toBe(false);
    await expect(withScratch(scratch, async (p) => { await writeFile(p, 'rows'); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(existsSync(scratch)).toBe(false);
    // Ctrl-C while the export's output is written: the signal's handler deletes it (a listener of the test's own keeps the process alive).
    const keep = (): void => {};
    process.on('SIGINT', keep);
    try {
      await withScratch(scratch, async (p) => {
        await writeFile(p, 'rows');
        process.emit('SIGINT', 'SIGINT');
        expect(existsSync(p)).toBe(false);
      });
    } finally {
      process.off('SIGINT', keep);
    }
  });

  it('writes through a temp file and leaves no temp behind on failure', async () => {
    await writeFileAtomic(join(dir, 'a', 'b.txt'), 'one');
    expect(await readFile(join(dir, 'a', 'b.txt'), 'utf8')).toBe('one');
    await expect(withAtomicOutput(join(dir, 'a', 'b.txt'), async (tmp) => { await writeFile(tmp, 'half'); throw new Error('boom'); })).rejects.toThrow('boom');
    expect(await readFile(join(dir, 'a', 'b.txt'), 'utf8')).toBe('one');
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(join(dir, 'a'))).toEqual(['b.txt']);
  });

  it.each([200, 222, 223, 240, 255])('writes a file whose name is %i bytes (the temp name stays within 255 bytes)', async (bytes) => {
    for (const unit of ['n', 'é']) {
      const name = `${unit.repeat(Math.floor((bytes - 4) / Buffer.byteLength(unit)))}.csv`;
      const target = join(dir, name);
      await withAtomicOutput(target, async (tmp) => {
        expect(Buffer.byteLength(basename(tmp))).toBeLessThanOrEqual(255);
        await writeFile(tmp, 'x');
      });
      await writeFileAtomic(target, 'y');
      expect(await readFile(target, 'utf8')).toBe('y');
      // A dead writer's temp of the same long name is found and removed by the next write.
      const stale = basename(tempPathFor(target)).replace(`.tmp-${process.pid}-`, '.tmp-999999999-');
      await writeFile(join(dir, stale), 'stale');
      expect(await removeStaleTemps(target)).toEqual([stale]);
      await rm(target);
    }
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('several outputs written together (all or none)', () => {
  const files = (d: string, tag: string) => ['reference-v2.json', 'reference.json', 'report-1.json', 'latest.json'].map((n) => ({ path: join(d, n), data: `${tag} ${n}` }));
  const snapshot = async (d: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const n of (await readdir(d)).sort()) out[n] = await readFile(join(d, n), 'utf8').catch(() => '<folder>');
    return out;
  };
  const prepare = async (): Promise<string> => {
    const d = join(dir, 'validation');
    await mkdir(d);
    await writeFile(join(d, 'reference.json'), 'old reference.json');
    await writeFile(join(d, 'latest.json'), 'old latest.json');
    return d;
  };
  afterEach(() => { inject.failRenameOf = null; });

  it('writes every file, replacing the previous ones, and leaves no temp file', async () => {
    const d = await prepare();
    await writeFilesAtomic(files(d, 'new'));
    expect(await snapshot(d)).toEqual({ 'latest.json': 'new latest.json', 'reference-v2.json': 'new reference-v2.json', 'reference.json': 'new reference.json', 'report-1.json': 'new report-1.json' });
  });

  // [what goes wrong, set up the failure, expected error code]
  const failures: [string, (d: string) => Promise<void>, string][] = [
    ['a folder stands where latest.json goes', async (d) => { await rm(join(d, 'latest.json')); await mkdir(join(d, 'latest.json', 'x'), { recursive: true }); }, 'SP_ERR_WORKSPACE_UNWRITABLE'],
    ['the commit fails at the third rename (rolled back)', async (d) => { inject.failRenameOf = join(d, 'report-1.json'); }, 'EIO'],
    ['the commit fails at the last rename (rolled back)', async (d) => { inject.failRenameOf = join(d, 'latest.json'); }, 'EIO'],
  ];
  it.each(failures)('%s → nothing changes, no temp file left', async (_what, setUp, code) => {
    const d = await prepare();
    await setUp(d);
    const before = await snapshot(d);
    const err = await writeFilesAtomic(files(d, 'new')).then(() => null, (e: unknown) => e);
    expect(err).not.toBeNull();
    expect((err as { code?: string }).code).toBe(code); // EIO: not the user's, passed through as it was
    expect(await snapshot(d)).toEqual(before);
  });
});

describe('checkWorkspacePath', () => {
  it('takes a folder, a missing one, and a link to a folder', async () => {
    await mkdir(join(dir, 'ws'));
    await symlink(join(dir, 'ws'), join(dir, 'link'));
    for (const p of ['ws', 'missing', 'link']) await expect(checkWorkspacePath(join(dir, p))).resolves.toBeUndefined();
  });

  // Probed: fetch on a link whose disk is not mounted said "cannot write to DIR: EEXIST" hinting permissions; reads read it as empty.
  it('refuses a symbolic link to a folder that is gone, naming where it points', async () => {
    await symlink('gone', join(dir, 'link'));
    await expect(checkWorkspacePath(join(dir, 'link'))).rejects.toMatchObject({
      code: 'SP_ERR_WORKSPACE_UNWRITABLE', message: `the workspace ${join(dir, 'link')} is a symbolic link to ${join(dir, 'gone')}, which does not exist`,
    });
  });

  it('refuses a file, and a path under one', async () => {
    await writeFile(join(dir, 'f'), 'x');
    for (const p of ['f', 'f/sub']) await expect(checkWorkspacePath(join(dir, p))).rejects.toMatchObject({ code: 'SP_ERR_WORKSPACE_UNWRITABLE' });
  });
});

describe('checkUserOutput', () => {
  // Probed: `export prices --out pipe.csv` onto a FIFO renamed a regular file over it, exit 0; `cat pipe.csv` waited forever.
  it('refuses an --out that is a FIFO (or a link to one), naming it; the FIFO stays; a regular file, a new name and a folder pass', async () => {
    const ws = new Workspace(join(dir, 'ws'));
    const fifo = join(dir, 'pipe.csv');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    await symlink(fifo, join(dir, 'link.csv'));
    for (const out of [fifo, join(dir, 'link.csv')]) {
      await expect(checkUserOutput(ws, out)).rejects.toMatchObject({ code: 'SP_ERR_USAGE', message: expect.stringContaining(`--out ${out} is a FIFO (named pipe), not a regular file`), hint: expect.stringContaining('--out ./export.csv') });
    }
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    await writeFile(join(dir, 'old.csv'), 'x');
    await mkdir(join(dir, 'folder.csv'));
    for (const name of ['old.csv', 'new.csv', 'folder.csv']) await expect(checkUserOutput(ws, join(dir, name))).resolves.toBeUndefined();
  });
});

describe('statOrNull', () => {
  const setup = async (): Promise<void> => {
    await writeFile(join(dir, 'file'), 'x');
    await mkdir(join(dir, 'folder'));
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
  };
  // [case, path under the temp folder, 'file' | 'dir' | null | the error code it throws]
  const cases: Array<[string, string, 'file' | 'dir' | null | string]> = [
    ['a file', 'file', 'file'],
    ['a folder', 'folder', 'dir'],
    ['nothing there (ENOENT)', 'missing', null],
    ['a path through a file (ENOTDIR)', 'file/inside', null],
    ['a symlink loop (ELOOP) is an error, not a missing file', 'loop-a', 'ELOOP'],
    ['a name too long (ENAMETOOLONG) is an error', 'n'.repeat(300), 'ENAMETOOLONG'],
  ];
  it.each(cases)('%s', async (_name, rel, want) => {
    await setup();
    const p = join(dir, rel);
    if (want === null) return expect(await statOrNull(p)).toBeNull();
    if (want === 'file' || want === 'dir') {
      const st = await statOrNull(p);
      return expect(want === 'file' ? st?.isFile() : st?.isDirectory()).toBe(true);
    }
    await expect(statOrNull(p)).rejects.toMatchObject({ code: want });
  });

  const root = process.getuid?.() === 0;
  if (root) console.log('statOrNull EACCES case skipped: running as root, which reads any folder');
  it.skipIf(root)('a folder without search permission (EACCES) is an error, not a missing file', async () => {
    await mkdir(join(dir, 'closed'));
    await writeFile(join(dir, 'closed', 'f'), 'x');
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'closed'), 0o000);
    try {
      await expect(statOrNull(join(dir, 'closed', 'f'))).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      await chmod(join(dir, 'closed'), 0o700);
    }
  });
});

describe('readFileOrNull and readdirOrEmpty (absent → null / [], every other error thrown with its code)', () => {
  // [helper, path under the temp folder, what it gives, or the error code it throws]
  const cases: Array<[string, (p: string) => Promise<unknown>, string, unknown]> = [
    ['readFileOrNull', readFileOrNull, 'file', 'x'],
    ['readFileOrNull', readFileOrNull, 'missing', null],
    ['readFileOrNull', readFileOrNull, 'file/inside', null],
    ['readFileOrNull', readFileOrNull, 'folder', { code: 'EISDIR' }],
    ['readFileOrNull', readFileOrNull, 'loop-a', { code: 'ELOOP' }],
    ['readFileOrNull', readFileOrNull, 'n'.repeat(300), { code: 'ENAMETOOLONG' }],
    ['readdirOrEmpty', readdirOrEmpty, 'folder', ['f']],
    ['readdirOrEmpty', readdirOrEmpty, 'missing', []],
    ['readdirOrEmpty', readdirOrEmpty, 'file', []],
    ['readdirOrEmpty', readdirOrEmpty, 'loop-a', { code: 'ELOOP' }],
    ['readdirOrEmpty', readdirOrEmpty, 'n'.repeat(300), { code: 'ENAMETOOLONG' }],
  ];
  it.each(cases)('%s(%s)', async (_name, fn, rel, want) => {
    await writeFile(join(dir, 'file'), 'x');
    await mkdir(join(dir, 'folder'));
    await writeFile(join(dir, 'folder', 'f'), 'y');
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    const p = join(dir, rel);
    if (want !== null && typeof want === 'object' && !Array.isArray(want)) await expect(fn(p)).rejects.toMatchObject(want);
    else expect(await fn(p)).toEqual(want);
  });

  const root = process.getuid?.() === 0;
  if (root) console.log('readFileOrNull/readdirOrEmpty EACCES cases skipped: running as root, which reads any file');
  it.skipIf(root).each([
    ['readFileOrNull', readFileOrNull, 'f'],
    ['readdirOrEmpty', readdirOrEmpty, ''],
  ])('%s: no permission (EACCES) is an error, not a missing file', async (_name, fn, inner) => {
    await mkdir(join(dir, 'closed'));
    await writeFile(join(dir, 'closed', 'f'), 'x');
    const { chmod } = await import('node:fs/promises');
    await chmod(join(dir, 'closed'), 0o000);
    try {
      await expect(fn(join(dir, 'closed', inner))).rejects.toMatchObject({ code: 'EACCES' });
    } finally {
      await chmod(join(dir, 'closed'), 0o700);
    }
  });
});

// A pid that is certainly dead: a process that ran and was reaped.
const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;

describe('a killed writer\'s temps are swept by the next write of the output', () => {
  // Probed: a validate or ingest killed (kill -9) while writing tmp/validate-drift-prices.json or tables/prices.report.json
  // left its `.<name>.tmp-<pid>-<stamp>` there for good (tmp/ is no folder the run start searches); so did validate's
  // outputs written together (`….tmp-<pid>-<stamp>-0`, and `…-0-prev`), anywhere, whose names the run start did not read as temps.
  // One of the last hour is kept: on a workspace shared by several machines its pid may be a live writer's of another.
  it.each([
    ['writeFileAtomic', (target: string) => writeFileAtomic(target, 'new')],
    ['writeFilesAtomic', (target: string) => writeFilesAtomic([{ path: target, data: 'new' }])],
  ])('%s: a dead pid\'s temps of over an hour ago go, a live one\'s and a recent one stay', async (_name, write) => {
    const target = join(dir, 'tmp', 'validate-drift-prices.json');
    await mkdir(join(dir, 'tmp'));
    await writeFile(target, 'old');
    const stem = '.validate-drift-prices.json.tmp-';
    const [gone, kept] = [[`${stem}${deadPid}-mx1abc`, `${stem}${deadPid}-mx1abc-0`, `${stem}${deadPid}-mx1abc-0-prev`], [`${stem}${process.ppid}-mx1abc`, `${stem}${deadPid}-mx1abd`]];
    const hoursAgo = new Date(Date.now() - 2 * 3600_000);
    for (const n of [...gone!, kept![0]!]) {
      await writeFile(join(dir, 'tmp', n), 'half');
      await utimes(join(dir, 'tmp', n), hoursAgo, hoursAgo);
    }
    await writeFile(join(dir, 'tmp', kept![1]!), 'half');
    await write(target);
    expect((await readdir(join(dir, 'tmp'))).sort()).toEqual([...kept!, 'validate-drift-prices.json'].sort());
    expect(await readFile(target, 'utf8')).toBe('new');
  });
});

describe('removeStaleTempsIn (run start: dead processes\' temp outputs anywhere in the workspace)', () => {
  // One case a line: where the temp is, whose pid wrote it, whether it is removed.
  it.each([
    { path: `tables/.prices.parquet.tmp-${deadPid}-mx1abc`, pid: 'dead', removed: true },
    { path: `store/prices/.s000001-000-abc.parquet.tmp-${deadPid}-k2`, pid: 'dead', removed: true },
    { path: `features/.features.parquet.tmp-${deadPid}-k2`, pid: 'dead, in the old features/ folder (not stockpipe\'s any more)', removed: false },
    { path: `validation/.latest.json.tmp-${deadPid}-k2`, pid: 'dead', removed: true },
    { path: `models/m1.tmp-${deadPid}/model.json`, pid: 'dead', removed: true },
    { path: `raw/synthetic/data.tmp-${deadPid}/A.csv`, pid: 'dead', removed: true },
    { path: `pipeline/.run.lock.tmp-${deadPid}-zz`, pid: 'dead', removed: true },
    { path: `validation/.latest.json.tmp-${deadPid}-k2-0`, pid: 'dead, several files written together', removed: true },
    { path: `validation/.latest.json.tmp-${deadPid}-k2-0-prev`, pid: 'dead, the backup of several files written together', removed: true },
    { path: `tables/.prices.parquet.tmp-${process.pid}-mx1abc`, pid: 'this process', removed: false },
    { path: `tables/.prices.parquet.tmp-1-mx1abc`, pid: 'live (pid 1)', removed: false },
    { path: `runs/r1/.x.tmp-${deadPid}-a`, pid: 'dead, under runs/ (logs: not searched)', removed: false },
    { path: `raw/synthetic/data/.A.csv.tmp-${deadPid}-a`, pid: 'dead, below the third level', removed: false },
    { path: `tables/prices.parquet`, pid: 'not a temp', removed: false },
    { path: `.source.json.tmp-${deadPid}-k2`, pid: 'dead, source.json\'s at the top', removed: true },
    // A --workspace that is also someone's folder: only stockpipe's own folders are searched.
    { path: `notes.txt.tmp-${deadPid}`, pid: 'dead, not stockpipe\'s (top)', removed: false },
    { path: `Documents/thesis.tex.tmp-${deadPid}`, pid: 'dead, not stockpipe\'s (a folder of its own)', removed: false },
    { path: `tmp/duckdb/x.tmp-${deadPid}`, pid: 'dead, under tmp/ (DuckDB\'s)', removed: false },
  ])('$path ($pid) → removed: $removed', async ({ path, removed }) => {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), 'x');
    const segs = path.split('/');
    const tempEntry = join(dir, ...segs.slice(0, segs.findIndex((x) => x.includes('.tmp-')) + 1)); // the temp file or folder
    expect(await removeStaleTempsIn(new Workspace(dir))).toEqual(removed ? [tempEntry] : []);
    expect(existsSync(join(dir, path))).toBe(!removed);
  });
});
