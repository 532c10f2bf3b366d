/** End-to-end CLI tests: the built binary (dist/bin/main.js, built by `npm test`'s tsc and bundle steps),
 * asserting on --json documents, exit codes and error codes. */
import { chmod, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeQuirkFixture } from './fixtures/quirks.js';
import { runCli as sp } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';

describe('stockpipe CLI', () => {
  it('--help lists the commands and each command has an example', () => {
    const r = sp(['--help']);
    expect(r.code).toBe(0);
    for (const c of ['fetch', 'ingest', 'features']) {
      expect(r.stdout).toContain(c);
      const h = sp([c, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/Examples?:/);
    }
  });

  it('fetch → ingest → features on a Kaggle-layout folder, global options after the command name', async () => {
    const fx = await writeQuirkFixture();
    const ws = await tempWorkspace();
    const f = sp(['fetch', '--source', `dir:${fx.dir}`, '--json', '--workspace', ws]);
    expect(f.code, f.stderr).toBe(0);
    expect(f.json.ok).toBe(true);
    expect(f.json.data).toMatchObject({ source: 'dir', path: fx.dir, files: 13, cached: false });
    expect(typeof f.json.data!.bytes).toBe('number');
    const i = sp(['--json', '-w', ws, 'ingest']);
    expect(i.code, i.stderr).toBe(0);
    expect(i.json.data).toMatchObject({ files: 12, rows_read: fx.expected.rows_read, rows_kept: fx.expected.rows_kept, rows_dropped: fx.expected.rows_dropped, symbols: 10, symbols_without_metadata: 5, duplicates: 2, date_min: '2016-08-10', date_max: '2023-04-13', cached: false });
    expect(i.json.data!.output).toBe(join(ws, 'tables', 'prices'));
    expect(typeof i.json.data!.seconds).toBe('number');
    const fe = sp(['features', '--window', '5', '--workspace', ws, '--json']);
    expect(fe.code, fe.stderr).toBe(0);
    expect(fe.json.data).toMatchObject({ rows: 216, symbols: 10, window: 5, output: join(ws, 'tables', 'features') });
    // Human output goes to stdout, logs to stderr; a second run is cached and says so.
    const again = sp(['ingest', '--workspace', ws]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('unchanged (cached)');
    expect(again.stdout).toContain(`rows read ${fx.expected.rows_read}`);
  });

  it('unknown source → exit 2 with SP_ERR_SOURCE_UNKNOWN and a hint, nothing written', async () => {
    const ws = await tempWorkspace();
    const r = sp(['fetch', '--source', 'ftp://x', '--json', '--workspace', join(ws, 'w')]);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'SP_ERR_SOURCE_UNKNOWN' } });
    expect(r.json.error!.hint).toContain('dir:PATH');
    expect(await readdir(ws)).toEqual([]);
    const human = sp(['fetch', '--source', 'ftp://x', '--workspace', join(ws, 'w')]);
    expect(human.code).toBe(2);
    expect(human.stderr).toMatch(/^SP_ERR_SOURCE_UNKNOWN: .*\n {2}hint: /);
    expect(human.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace without --debug
  });

  it('missing directory → exit 1 with SP_ERR_SOURCE_NOT_FOUND naming the path', async () => {
    const ws = await tempWorkspace();
    const r = sp(['fetch', '--source', 'dir:/no/such/folder', '--json', '--workspace', ws]);
    expect(r.code).toBe(1);
    expect(r.json.error!.code).toBe('SP_ERR_SOURCE_NOT_FOUND');
    expect(r.json.error!.message).toContain('/no/such/folder');
  });

  it('unwritable workspace → exit 1 with SP_ERR_WORKSPACE_UNWRITABLE', async () => {
    const fx = await writeQuirkFixture();
    const parent = await tempWorkspace();
    const file = join(parent, 'not-a-dir');
    await writeFile(file, 'x');
    const r = sp(['fetch', '--source', `dir:${fx.dir}`, '--json', '--workspace', join(file, 'ws')]);
    expect(r.code).toBe(1);
    expect(r.json.error!.code).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    if (process.getuid?.() !== 0) {
      const ro = join(parent, 'ro');
      await mkdir(ro);
      await chmod(ro, 0o555);
      const r2 = sp(['fetch', '--source', `dir:${fx.dir}`, '--json', '--workspace', ro]);
      expect(r2.json.error!.code).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    }
  });

  it('usage errors → exit 2 with SP_ERR_USAGE (also as JSON)', () => {
    const r = sp(['ingest', '--bogus', '--json']);
    expect(r.code).toBe(2);
    expect(r.json.error!.code).toBe('SP_ERR_USAGE');
    const unknown = sp(['nosuchcommand', '--json']);
    expect(unknown.code).toBe(2);
    expect(unknown.json.error!.code).toBe('SP_ERR_USAGE');
  });

  it('ingest before fetch → SP_ERR_NO_RAW_DATA; features before ingest → SP_ERR_PRICES_MISSING', async () => {
    const ws = await tempWorkspace();
    expect(sp(['ingest', '--json', '-w', ws]).json.error!.code).toBe('SP_ERR_NO_RAW_DATA');
    expect(sp(['features', '--json', '-w', ws]).json.error!.code).toBe('SP_ERR_PRICES_MISSING');
    const bad = sp(['features', '--window', '1', '--json', '-w', ws]);
    expect(bad.code).toBe(2);
    expect(bad.json.error!.code).toBe('SP_ERR_FEATURES_WINDOW'); // the code docs/errors.md names for --window
  });

  it('config file and STOCKPIPE_* env are validated and flags win', async () => {
    const ws = await tempWorkspace();
    await writeFile(join(ws, 'stockpipe.config.json'), JSON.stringify({ features: { window: 0 } }));
    const r = sp(['features', '--json'], { cwd: ws });
    expect(r.code).toBe(2);
    expect(r.json.error!.code).toBe('SP_ERR_FEATURES_WINDOW');
    expect(r.json.error!.message).toContain('features.window');
    await writeFile(join(ws, 'stockpipe.config.json'), JSON.stringify({ nonsense: 1 }));
    expect(sp(['features', '--json'], { cwd: ws }).json.error!.code).toBe('SP_ERR_CONFIG_INVALID');
    // A queued job's command (a worker's child, STOCKPIPE_JOB_ID) reads the runner's --config or none, never the
    // worker's folder's file: it took settings the runner never had (a fetch failed with SP_ERR_SOURCE_MISMATCH).
    const job = sp(['runs', 'list', '--json', '-w', ws], { cwd: ws, env: { STOCKPIPE_JOB_ID: 'run.fetch.all.a1' } });
    expect(job.code, job.stdout + job.stderr).toBe(0);
    await writeFile(join(ws, 'stockpipe.config.json'), JSON.stringify({ workspace: 'from-file' }));
    // None of the three folders exists: the error names the one used and where its path came from.
    const env = sp(['ingest', '--json'], { cwd: ws, env: { STOCKPIPE_WORKSPACE: 'from-env' } });
    expect(env.json.error!.code).toBe('SP_ERR_WORKSPACE_NOT_FOUND');
    expect(env.json.error!.message).toContain(`${join(ws, 'from-env')} (from STOCKPIPE_WORKSPACE)`);
    const flag = sp(['ingest', '--json', '-w', 'from-flag'], { cwd: ws, env: { STOCKPIPE_WORKSPACE: 'from-env' } });
    expect(flag.json.error!.code).toBe('SP_ERR_WORKSPACE_NOT_FOUND');
    expect(flag.json.error!.message).toContain(`${join(ws, 'from-flag')} (from --workspace)`);
    expect(await stat(join(ws, 'from-file')).catch(() => null)).toBeNull();
  });

  it('a command that needs a workspace refuses a folder of other files (-w ~) and writes nothing there; an empty folder is a new workspace', async () => {
    const home = await tempWorkspace();
    await mkdir(join(home, 'Documents'));
    await writeFile(join(home, 'notes.txt'), 'mine');
    await writeFile(join(home, '.profile'), 'mine');
    // It wrote stockpipe.db there and failed as on an empty workspace (`vacuum` succeeded).
    for (const cmd of ['validate', 'vacuum']) {
      const r = sp([cmd, '--json', '-w', home]);
      expect([r.code, r.json.error?.code], r.stdout).toEqual([2, 'SP_ERR_WORKSPACE_NOT_FOUND']);
      expect(r.json.error!.message).toContain(`${home} (from --workspace): the folder holds other files (Documents, notes.txt)`);
      expect(r.json.error!.hint).toContain('stockpipe fetch -w NEW_FOLDER');
    }
    expect((await readdir(home)).sort()).toEqual(['.profile', 'Documents', 'notes.txt']);
    const empty = await tempWorkspace();
    await writeFile(join(empty, '.DS_Store'), '');
    expect(sp(['vacuum', '--json', '-w', empty]).json.ok).toBe(true);
  });
});
