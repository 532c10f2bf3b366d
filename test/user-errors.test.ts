/** Failures that are the user's, through the built CLI: bad config files and numbers get usage or
 * config codes (exit 2), a memory limit too small to run gets SP_ERR_OUT_OF_MEMORY (exit 1) with
 * the previous outputs intact, and validate writes all of its outputs or none (hardening issue 12). */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { sha256File } from '../src/core/fs.js';
import { ParsePool } from '../src/etl/parse-pool.js';
import { runCliAsync, type CliOptions } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';
import { columnList, commitQuery, PRICE_COLUMNS, viewSource } from './helpers/store.js';


interface Run {
  status: number;
  stderr: string;
  error?: { code: string; message: string; hint: string };
}

/** Runs the CLI without blocking, so that the independent cases below run side by side (it.concurrent). */
async function sp(args: string[], opts: CliOptions = {}): Promise<Run> {
  const r = await runCliAsync([...args, '--json'], opts);
  return { status: r.code ?? -1, stderr: r.stderr, error: r.jsonOrNull?.error as Run['error'] };
}

const temp = (): Promise<string> => tempWorkspace('usererr');

/** Names and contents (a folder shows as '<folder>') of a folder, for before/after comparisons. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const n of (await readdir(dir).catch(() => [] as string[])).sort()) out[n] = await readFile(join(dir, n), 'utf8').catch(() => '<folder>');
  return out;
}

describe('config files that are not a JSON object', () => {
  // [what, file bytes, expected code]
  const cases: [string, Buffer, string][] = [
    ['null', Buffer.from('null'), 'SP_ERR_CONFIG_INVALID'],
    ['[]', Buffer.from('[]'), 'SP_ERR_CONFIG_INVALID'],
    ['42', Buffer.from('42'), 'SP_ERR_CONFIG_INVALID'],
    ['"x"', Buffer.from('"x"'), 'SP_ERR_CONFIG_INVALID'],
    ['{', Buffer.from('{'), 'SP_ERR_CONFIG_INVALID'],
    ['empty', Buffer.alloc(0), 'SP_ERR_CONFIG_INVALID'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), 'SP_ERR_CONFIG_INVALID'],
    ['{"features": {"window": 0}}', Buffer.from('{"features": {"window": 0}}'), 'SP_ERR_FEATURES_WINDOW'],
  ];
  it.concurrent.each(cases.map(([what, bytes, code]) => [what, code, bytes] as const))('%s → %s, exit 2', async (_what, code, bytes) => {
    const dir = await temp();
    await writeFile(join(dir, 'c.json'), bytes);
    const r = await sp(['features', '-c', join(dir, 'c.json'), '-w', join(dir, 'ws')]);
    expect(r.error?.code, r.stderr).toBe(code);
    expect(r.status).toBe(2);
    expect(r.error!.message).toContain(join(dir, 'c.json'));
  });

  it.concurrent('a BOM before a valid object is read (the workspace it names is used)', async () => {
    const dir = await temp();
    await writeFile(join(dir, 'c.json'), Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ workspace: join(dir, 'from-bom') }))]));
    const r = await sp(['features', '-c', join(dir, 'c.json')]);
    expect(r.error?.code, r.stderr).toBe('SP_ERR_WORKSPACE_NOT_FOUND');
    expect(r.error!.message).toContain(`${join(dir, 'from-bom')} (from the config file's "workspace")`);
  });
});

describe('numbers at and beyond their domain', () => {
  // [args, environment, expected code]; all are usage/config errors: exit 2 before any work.
  const cases: [string[], Record<string, string>, string][] = [
    [['features', '--window', '0'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features', '--window', '1'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features', '--window', '-1'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features', '--window', '1.5'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features', '--window', '1e9'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features', '--window', 'abc'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features'], { STOCKPIPE_WINDOW: '1001' }, 'SP_ERR_FEATURES_WINDOW'],
    // The global flags are usage errors, as every option's bad value is; their variables and the file are config errors.
    [['features', '--threads', '-1'], {}, 'SP_ERR_USAGE'],
    [['features', '--threads', '1.5'], {}, 'SP_ERR_USAGE'],
    [['ingest', '--threads', '100000'], {}, 'SP_ERR_USAGE'],
    [['features', '--threads', '1e3'], {}, 'SP_ERR_USAGE'],
    [['features', '--memory-limit', 'banana'], {}, 'SP_ERR_USAGE'],
    [['validate', '--memory-limit', '-1GB'], {}, 'SP_ERR_USAGE'],
    // Probed after issue 12: Number() took '' as 0 and '0x10' as 16; unbounded values misbehaved.
    [['features', '--threads', ''], {}, 'SP_ERR_USAGE'],
    [['features', '--threads', '0x10'], {}, 'SP_ERR_USAGE'],
    [['features', '--window', '0x1e'], {}, 'SP_ERR_FEATURES_WINDOW'],
    [['features'], { STOCKPIPE_THREADS: ' ' }, 'SP_ERR_CONFIG_INVALID'],
    [['features'], { STOCKPIPE_THREADS: '0x10' }, 'SP_ERR_CONFIG_INVALID'],
    [['features'], { STOCKPIPE_MEMORY_LIMIT: 'banana' }, 'SP_ERR_CONFIG_INVALID'],
    [['features', '--memory-limit', '99999999999TB'], {}, 'SP_ERR_USAGE'],
    [['serve', '--port', ''], {}, 'SP_ERR_USAGE'],
    [['serve', '--port', '0x1F90'], {}, 'SP_ERR_USAGE'],
    [['serve', '--port', 'abc'], {}, 'SP_ERR_USAGE'],
    [['serve', '--poll-ms', '0'], {}, 'SP_ERR_USAGE'],
    [['serve', '--poll-ms', '1e12'], {}, 'SP_ERR_USAGE'],
    // An empty --host listened on every interface (Node's default for an empty host).
    [['serve', '--host', '', '--port', '0'], {}, 'SP_ERR_USAGE'],
    [['serve', '--host', ' ', '--port', '0'], {}, 'SP_ERR_USAGE'],
    [['serve', '--workers', '0'], {}, 'SP_ERR_USAGE'],
    [['serve', '--workers', '65'], {}, 'SP_ERR_USAGE'],
    [['serve', '--workers', '1.5'], {}, 'SP_ERR_USAGE'],
    [['serve', '--workers', 'abc'], {}, 'SP_ERR_USAGE'],
    [['models', 'list', '--limit', '-1'], {}, 'SP_ERR_USAGE'],
    [['models', 'list', '--limit', '99999999999999999999'], {}, 'SP_ERR_USAGE'],
    [['runs', 'list', '--limit', '0'], {}, 'SP_ERR_USAGE'],
    [['runs', 'list', '--offset', '-5'], {}, 'SP_ERR_USAGE'],
    [['run', 'train', '--wait', '0x10'], {}, 'SP_ERR_USAGE'],
    [['train', '--test-from', '2020-02-30'], {}, 'SP_ERR_USAGE'],
    [['train', '--learning-rate', ''], {}, 'SP_ERR_USAGE'],
    [['models', 'at', '2020-02-30'], {}, 'SP_ERR_USAGE'],
    [['models', 'at', '99999-01-01'], {}, 'SP_ERR_USAGE'],
    [['models', 'at', '1'], {}, 'SP_ERR_USAGE'],
    [['models', 'promote', 'x', '--alias', 'my alias'], {}, 'SP_ERR_USAGE'],
    [['models', 'promote', 'x', '--alias', 'a'.repeat(200)], {}, 'SP_ERR_USAGE'],
    // A pipeline name that no pipeline and no recorded run has (was an empty list, as if none had run yet).
    [['runs', 'list', '--pipeline', 'nope'], {}, 'SP_ERR_PIPELINE_UNKNOWN'],
  ];
  it.concurrent.each(cases)('%j %j → %s, exit 2', async (args, env, code) => {
    const ws = await temp();
    const r = await sp([...args, '-w', ws], { env });
    expect(r.error?.code, r.stderr).toBe(code);
    expect(r.status).toBe(2);
    expect(await readdir(ws)).toEqual([]);
  });

  // The message names where the value came from: the flag, or the variable.
  it.concurrent.each([
    [['features', '--threads', '0x10'], {}, 'SP_ERR_USAGE', '--threads'],
    [['features', '--memory-limit', 'lots'], {}, 'SP_ERR_USAGE', '--memory-limit'],
    [['features'], { STOCKPIPE_THREADS: 'x' }, 'SP_ERR_CONFIG_INVALID', 'STOCKPIPE_THREADS'],
  ])('%j %j → %s naming %s', async (args, env, code, named) => {
    const ws = await temp();
    const r = await sp([...args, '-w', ws], { env });
    expect(r.error?.code, r.stderr).toBe(code);
    expect(r.error?.message).toContain(named);
  });

  // [what, --workspace relative to a temp folder holding a file 'f']: read commands took a file for an empty workspace, serve served it.
  it.concurrent.each([
    ['a file', 'f', 'models list'],
    ['a file', 'f', 'serve --port 0'],
    ['a path under a file', 'f/sub', 'runs list'],
    ['a file', 'f', 'fetch --symbols 2 --years 1'],
  ])('--workspace that is %s (%s), %s → SP_ERR_WORKSPACE_UNWRITABLE, exit 1', async (_what, rel, cmd) => {
    const dir = await temp();
    await writeFile(join(dir, 'f'), 'not a folder');
    const r = await sp([...cmd.split(' '), '-w', join(dir, rel)]);
    expect(r.error?.code, r.stderr).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    expect(r.status).toBe(1);
  });

  it('--threads 0 (parse in the main thread) with a zip source → SP_ERR_CONFIG_INVALID', () => {
    expect(() => new ParsePool({ root: '/x.zip', layout: 'zip', files: [], threads: 0 })).toThrow(expect.objectContaining({ code: 'SP_ERR_CONFIG_INVALID' }));
  });
});

describe('with data: memory too small, validate all or none', () => {
  let ws: string;
  beforeAll(async () => {
    ws = await temp();
    for (const step of [['fetch', '--symbols', '5', '--years', '1'], ['ingest'], ['features', '--window', '5']]) {
      const r = await sp([...step, '-w', ws]);
      expect(r.status, r.stderr).toBe(0);
    }
  });

  // A memory limit DuckDB cannot even start a query in: accepted by the config, reported as OOM.
  const oom: [string[], string][] = [
    [['ingest', '--force'], 'tables/prices/_snapshot.json'],
    [['features', '--force'], 'tables/features/_snapshot.json'],
    [['validate'], 'tables/prices/_snapshot.json'],
    [['train'], 'tables/features/_snapshot.json'],
  ];
  // One at a time: every case runs on the shared workspace.
  it.each(oom)('%j --memory-limit 1KB → SP_ERR_OUT_OF_MEMORY naming the limit; %s intact', async (args, kept) => {
    const before = await sha256File(join(ws, kept));
    const r = await sp([...args, '-w', ws, '--memory-limit', '1KB']);
    expect(r.error?.code, r.stderr).toBe('SP_ERR_OUT_OF_MEMORY');
    expect(r.status).toBe(1);
    expect(r.error!.hint).toContain('1KB');
    expect(await sha256File(join(ws, kept))).toBe(before);
  });

  // [what, run a validate first?, args]: a folder stands where latest.json goes → nothing written.
  const partial: [string, boolean, string[]][] = [
    ['first validate (a new reference-v1)', false, []],
    ['validate --set-reference (a new reference-v2)', true, ['--set-reference']],
  ];
  // Each case in its own workspace: side by side.
  it.concurrent.each(partial)('%s with a folder in place of latest.json → no output at all', async (_what, first, args) => {
    const w = await temp();
    // The same prices, committed as this workspace's own snapshot.
    await commitQuery(w, 'prices', `SELECT ${columnList(PRICE_COLUMNS)} FROM ${viewSource(ws, 'prices')}`);
    if (first) expect((await sp(['validate', '-w', w, '--fail-on', 'never'])).status).toBe(0);
    const dir = join(w, 'validation');
    await rm(join(dir, 'latest.json'), { force: true });
    await mkdir(join(dir, 'latest.json', 'in-the-way'), { recursive: true });
    const before = await snapshot(dir);
    const r = await sp(['validate', '-w', w, '--fail-on', 'never', ...args]);
    expect(r.error?.code, r.stderr).toBe('SP_ERR_WORKSPACE_UNWRITABLE');
    expect(r.error!.message).toContain(join(dir, 'latest.json'));
    expect(await snapshot(dir)).toEqual(before);
  });

  // Probed: both together checked against FILE and wrote no new version, with exit 0.
  it('validate --set-reference --reference FILE → SP_ERR_USAGE (exit 2), nothing written', async () => {
    const w = await temp();
    await commitQuery(w, 'prices', `SELECT ${columnList(PRICE_COLUMNS)} FROM ${viewSource(ws, 'prices')}`);
    expect((await sp(['validate', '-w', w, '--fail-on', 'never'])).status).toBe(0);
    const dir = join(w, 'validation');
    const before = await snapshot(dir);
    const r = await sp(['validate', '-w', w, '--set-reference', '--reference', join(dir, 'reference-v1.json')]);
    expect([r.status, r.error?.code], r.stderr).toEqual([2, 'SP_ERR_USAGE']);
    expect(r.error!.message).toMatch(/^--set-reference and --reference do not go together/);
    expect(await snapshot(dir)).toEqual(before);
  });
});

describe('names from the data printed for people', () => {
  it('a file name with an escape sequence is shown with ? for its control characters, in the summary and in an error, never sent to the terminal', async () => {
    const dir = await temp();
    const src = join(dir, 'src');
    await mkdir(join(src, 'stocks'), { recursive: true });
    // The terminal's title set to "pwned" (OSC 0 … BEL), then red text (CSI 31 m); line 4 is malformed.
    await writeFile(join(src, 'stocks', 'A\u001b]0;pwned\u0007\u001b[31m.csv'), 'Date,Open,High,Low,Close,Adj Close,Volume\n2020-01-02,1,2,1,2,2,100\n2020-01-03,1,2,1,2,2,100\n2020-01-06,1,2,x\n');
    const ws = join(dir, 'ws');
    await writeFile(join(dir, 'strict.json'), '{"ingest": {"strict": true}}');
    expect((await runCliAsync(['fetch', '--source', `dir:${src}`, '-w', ws, '--json'])).code).toBe(0);
    const failed = await runCliAsync(['ingest', '--strict', '-w', ws]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('SP_ERR_INPUT_MALFORMED: ');
    expect(failed.stderr).toContain('A?]0;pwned??[31m.csv:4');
    const kept = await runCliAsync(['ingest', '-w', ws]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toContain('malformed: stocks/A?]0;pwned??[31m.csv:4');
    // a pipeline run's progress lines (stderr, not a TTY here) name the failed task's error the same way
    const run = await runCliAsync(['run', 'train', '-w', join(dir, 'ws2'), '--source', `dir:${src}`, '-c', join(dir, 'strict.json')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ingest +failed .*SP_ERR_INPUT_MALFORMED: .*A\?\]0;pwned\?\?\[31m\.csv:4/);
    for (const out of [failed.stderr, kept.stdout, run.stderr]) expect([out.includes('\u001b'), out.includes('\u0007')]).toEqual([false, false]);
  });
});
