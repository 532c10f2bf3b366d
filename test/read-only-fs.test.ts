/** A workspace on a read-only file system (a tmpfs mounted `ro`, as root; found by probing with a
 * read-only bind mount): `run`, `backfill` and `scheduler` fail with SP_ERR_WORKSPACE_UNWRITABLE
 * naming EROFS. They said SP_ERR_INTERNAL "ENOENT: no such file or directory, mkdir …/pipeline":
 * Node's recursive mkdir reports ENOENT there. Skips with a printed reason when not root or when the
 * mount fails. */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { runCli } from './helpers/cli.js';
import { polyJson, registerModel } from './helpers/models.js';
import { fetchContext, silentLog } from './helpers/workspace.js';
import { silentProgress } from '../src/core/progress.js';
import { Workspace } from '../src/core/workspace.js';
import { ingest } from '../src/etl/ingest.js';
import { syntheticSource } from '../src/sources/synthetic.js';

/**
 * Why the suites cannot run here (not root, or mount refused), or null. A probe mount is made and
 * removed at once: the suites mount in their beforeAll, so a run that filters their tests out (-t)
 * leaves no mount behind (a mount made when the file was imported stayed when no hook ran).
 */
function mountSkip(): string | null {
  if (process.getuid?.() !== 0) return 'not root: cannot mount a tmpfs';
  const dir = mkdtempSync(join(tmpdir(), 'sp-rofs-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
    return null;
  } catch (err) {
    return `mount -t tmpfs -o ro failed: ${(err as Error).message.split('\n')[0]}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const skip = mountSkip();
if (skip !== null) console.log(`skipping the read-only file system and volume tests: ${skip}`);

/** Folders made by this file, each a mount point once mounted: unmounted and removed after its suite. */
async function unmountAll(points: { base: string; mnt: string }[]): Promise<void> {
  for (const p of points.splice(0)) {
    if (p.mnt !== '') execFileSync('umount', [p.mnt]);
    await rm(p.base, { recursive: true, force: true });
  }
}

describe.skipIf(skip !== null)('a workspace on a read-only file system', () => {
  const made: { base: string; mnt: string }[] = [];
  let mnt = '';
  let base = '';
  beforeAll(() => {
    base = mkdtempSync(join(tmpdir(), 'sp-rofs-'));
    const point = join(base, 'mnt');
    mkdirSync(point);
    made.push({ base, mnt: '' });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', point], { stdio: 'pipe' });
    made[0]!.mnt = mnt = point;
  });
  afterAll(() => unmountAll(made));

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

/** A workspace built on a writable folder, then seen through a read-only bind mount of it (a `:ro`
 * volume of a container, a read-only snapshot). Its store is in WAL mode, and SQLite cannot open such
 * a store read-only when the -shm file beside it is absent and cannot be created: `serve`, `models
 * list` and every read failed with SP_ERR_REGISTRY "unable to open database file (SQLITE_CANTOPEN)". */
describe.skipIf(skip !== null)('a workspace served from a read-only volume', () => {
  const made: { base: string; mnt: string }[] = [];
  const bound = { src: '', mnt: '' };
  beforeAll(() => {
    const dir = mkdtempSync(join(tmpdir(), 'sp-robind-'));
    bound.src = join(dir, 'ws');
    const point = join(dir, 'mnt');
    mkdirSync(bound.src);
    mkdirSync(point);
    made.push({ base: dir, mnt: '' });
    execFileSync('mount', ['--bind', bound.src, point], { stdio: 'pipe' });
    made[0]!.mnt = point;
    execFileSync('mount', ['-o', 'remount,ro,bind', point], { stdio: 'pipe' });
    bound.mnt = point;
  });
  afterAll(() => unmountAll(made));

  it('serves its champion, lists and exports, refuses writes with SP_ERR_WORKSPACE_UNWRITABLE, and sees a new champion written through the writable path', async () => {
    const { src, mnt } = bound;
    await registerModel(src, 'poly-ro', polyJson(), { alias: 'champion' });
    expect(existsSync(join(src, 'stockpipe.db-wal')), 'the writer closed: no -wal left').toBe(false);
    expect(() => writeFileSync(join(mnt, 'probe'), 'x')).toThrow(/EROFS/);

    const list = runCli(['models', 'list', '-w', mnt, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect((list.json.data as { id: string }[]).map((m) => m.id)).toEqual(['poly-ro']);

    const holder = new ChampionHolder(mnt, silentLog);
    await holder.refresh();
    const { app } = await buildApp({ workspace: mnt, holder, accessLog: null, version: 'test' });
    try {
      const p = await app.inject('/predict?vol_moving_avg=12345&adj_close_rolling_med=25');
      expect(p.statusCode, p.body).toBe(200);
      expect(Number.isInteger(Number(p.body))).toBe(true);
      expect(p.headers['x-model-id']).toBe('poly-ro');
      // A download's scratch file goes to the system's temp folder: the workspace's tmp/ cannot be made.
      const csv = await app.inject('/export/forecasts?format=csv');
      expect(csv.statusCode, csv.body).toBe(200);
      expect(csv.body.split('\n')[0]).toContain('model_id');

      // Another process writes the store through the writable path: the server's copy is read again.
      await registerModel(src, 'poly-ro-2', polyJson(2), { alias: 'champion' });
      await holder.refresh();
      const q = await app.inject('/predict?vol_moving_avg=12345&adj_close_rolling_med=25');
      expect(q.headers['x-model-id']).toBe('poly-ro-2');
    } finally {
      await app.close();
    }

    const promote = runCli(['models', 'promote', 'poly-ro', '--alias', 'staging', '-w', mnt, '--json']);
    expect(promote.code, promote.stderr).toBe(1);
    expect(promote.json.error?.code, promote.json.error?.message).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    expect(existsSync(join(src, 'tmp')), 'nothing written under the workspace').toBe(false);
  });

  it('features --as-of --out reads its store and writes the file outside (it failed with SP_ERR_INTERNAL: mkdir tmp/features-as-of-<pid>); vacuum --dry-run lists, vacuum refuses', async () => {
    const src = join(bound.src, 'as-of');
    mkdirSync(src);
    const { manifest } = await syntheticSource({ seed: 7, symbols: 3, years: 1, start: '2010-01-04' }).fetch(fetchContext(src));
    await ingest({ ws: new Workspace(src), lanes: 1, manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    const out = join(mkdtempSync(join(tmpdir(), 'sp-ro-out-')), 'f.parquet');
    const r = runCli(['features', '--as-of', '1', '--out', out, '-w', join(bound.mnt, 'as-of'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    const tmp = join(src, 'tmp');
    expect((existsSync(tmp) ? readdirSync(tmp) : []).filter((n) => n.startsWith('features-as-of-')), 'nothing written under the workspace').toEqual([]);
    await rm(dirname(out), { recursive: true, force: true });
    // vacuum --dry-run writes nothing either: it lists what a vacuum would do (it failed with SP_ERR_WORKSPACE_UNWRITABLE).
    const dry = runCli(['vacuum', '--dry-run', '-w', join(bound.mnt, 'as-of'), '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect((dry.json.data as { dry_run: boolean; kept_snapshots: number[] })).toMatchObject({ dry_run: true, kept_snapshots: [1] });
    const wet = runCli(['vacuum', '-w', join(bound.mnt, 'as-of'), '--json']);
    expect(wet.json.error?.code).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
  });

  /** A workspace `name` in the bound folder (read-only under the mount) whose champion is `id`. */
  async function seeded(name: string, id: string): Promise<{ src: string; mnt: string }> {
    const src = join(bound.src, name);
    mkdirSync(src);
    await registerModel(src, id, polyJson(), { alias: 'champion' });
    return { src, mnt: join(bound.mnt, name) };
  }

  /** Holds the store open through the writable path, as a server there does: the -wal and -shm files stay. */
  function holdOpen(src: string): Database.Database {
    const other = new Database(join(src, 'stockpipe.db'), { readonly: true });
    other.prepare('SELECT count(*) FROM model_versions').get();
    expect(existsSync(join(src, 'stockpipe.db-wal'))).toBe(true);
    return other;
  }

describe('whose store another process holds open', () => {
  /** A server of the writable path (any process holding the store open) keeps the writer from folding its -wal file into the main
   * file on close: the commits stay in the -wal file. The served copy was read again only when the main file changed, so the
   * read-only server kept the old champion for as long as that process ran. */
  it('sees a new champion that is still in the -wal file', async () => {
    const { src, mnt } = await seeded('held', 'poly-held');
    const holder = new ChampionHolder(mnt, silentLog);
    await holder.refresh();
    expect(holder.current?.id).toBe('poly-held');
    const other = holdOpen(src);
    try {
      await registerModel(src, 'poly-held-2', polyJson(2), { alias: 'champion' });
      expect(existsSync(join(src, 'stockpipe.db-wal')), 'the commit is still in the -wal file').toBe(true);
      await holder.refresh();
      expect(holder.current?.id).toBe('poly-held-2');
    } finally {
      holder.close();
      other.close();
    }
  });
});

describe('whose store has a -wal file beside it (its writer still open)', () => {
  /** SQLite opened the store read-only without a word and the command's first write failed as a damaged store. */
  it('refuses a write with SP_ERR_WORKSPACE_UNWRITABLE, not SP_ERR_REGISTRY', async () => {
    const { src, mnt } = await seeded('walwrite', 'poly-w');
    const other = holdOpen(src);
    try {
      const tag = runCli(['models', 'tag', 'champion', 'k=v', '-w', mnt, '--json']);
      expect(tag.code, tag.stderr).toBe(1);
      expect(tag.json.error?.code, tag.json.error?.message).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
      expect(tag.stderr).not.toContain('could not record');
    } finally {
      other.close();
    }
  });
});

describe('with a store at an older schema and a -wal file beside it', () => {
  /** The older store was migrated by a short writable connection first, which cannot be had there: every read failed with
   * SP_ERR_WORKSPACE_UNWRITABLE. A store without a -wal file was already migrated in a copy in memory. */
  it('is read, migrated in memory, with the commits in the -wal file', async () => {
    const { src, mnt } = await seeded('walold', 'poly-old');
    const file = join(src, 'stockpipe.db');
    const other = holdOpen(src);
    try {
      await registerModel(src, 'poly-old-2', polyJson(2), { alias: 'champion' });
      // The newest migration undone (a store an older stockpipe wrote), after the writer's last open migrated it.
      const undo = new Database(file);
      undo.exec(`ALTER TABLE backfills DROP COLUMN runner_pid; ALTER TABLE backfills DROP COLUMN runner_host; ALTER TABLE backfills DROP COLUMN runner_start;
        DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`);
      undo.close();
      expect(existsSync(`${file}-wal`), 'the second model is in the -wal file').toBe(true);
      const list = runCli(['models', 'list', '-w', mnt, '--json']);
      expect(list.code, list.stderr).toBe(0);
      expect((list.json.data as { id: string }[]).map((m) => m.id).sort()).toEqual(['poly-old', 'poly-old-2']);
    } finally {
      other.close();
    }
    const left = new Database(file, { readonly: true });
    expect(left.prepare("SELECT count(*) AS n FROM pragma_table_info('backfills') WHERE name = 'runner_pid'").get()).toEqual({ n: 0 });
    left.close();
  });
});
});
