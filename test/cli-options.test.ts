/** The command line built from the command declarations (cli/commands, cli/options): every
 * command's --help (exit 0, its examples, each default once), usage errors (code, exit 2), the
 * --json document of one command through the built binary, and importing cli/main runs nothing. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tempWorkspace } from './helpers/workspace.js';
import { RUN_KINDS } from '../src/registry/schema.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const CLI = join(ROOT, 'dist', 'bin', 'main.js');

afterEach(() => {
  vi.restoreAllMocks();
});

describe('importing cli/main', () => {
  it('runs nothing: no output, no exit code', async () => {
    const before = process.exitCode;
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const mod = await import('../src/cli/main.js');
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r)); // a started main() would have printed by now
    expect(typeof mod.main).toBe('function');
    expect(out).not.toHaveBeenCalled();
    expect(err).not.toHaveBeenCalled();
    expect(process.exitCode).toBe(before);
  });
});

/** Runs main() in this process with stdout and stderr captured. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import('../src/cli/main.js');
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
    err += String(s);
    return true;
  });
  const code = await main(['node', 'stockpipe', ...args]);
  vi.restoreAllMocks();
  return { code, out, err };
}

const { COMMANDS, GROUPS } = await import('../src/cli/commands/index.js');
const { fieldsOf, shownDefault } = await import('../src/cli/options.js');
const { GlobalOptions } = await import('../src/cli/globals.js');

/** The text between "Options:" and "Examples:", whitespace collapsed (help lines wrap at 80). */
const optionsSection = (help: string): string => help.slice(help.indexOf('Options:'), help.indexOf('Examples:')).replace(/\s+/g, ' ');

describe('--help of every command', () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))('%s --help: exit 0, its examples, each default once, no spec references', async (name, spec) => {
    const r = await cli([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Examples:');
    for (const e of spec.examples) expect(r.out).toContain(`$ ${e}`);
    expect(r.out).not.toMatch(/SPEC|§/);
    const opts = optionsSection(r.out);
    const defaults = fieldsOf(spec.options).map(shownDefault).filter((d) => d !== undefined);
    expect(opts.match(/default/g)?.length ?? 0).toBe(defaults.length);
    for (const d of defaults) expect(opts).toContain(`default: ${d}`);
  });

  it.each(Object.entries(GROUPS))('%s --help (a group): exit 0, its examples, each naming one of its subcommands', async (group, { examples }) => {
    const r = await cli([group, '--help']);
    expect(r.code).toBe(0);
    expect(examples.length).toBeGreaterThan(0);
    expect(r.out).toContain('Examples:');
    const subcommands = COMMANDS.filter((c) => c.name.startsWith(`${group} `)).map((c) => c.name.split(' ')[1]);
    for (const e of examples) {
      expect(r.out).toContain(`$ ${e}`);
      const [prog, g, sub] = e.split(/\s+/);
      expect([prog, g]).toEqual(['stockpipe', group]);
      if (sub !== undefined && sub !== '#') expect(subcommands).toContain(sub);
    }
  });

  it('backfill --help: its pipeline argument and its default', async () => {
    const r = await cli(['backfill', '--help']);
    expect(r.out.slice(r.out.indexOf('Arguments:'), r.out.indexOf('Options:')).replace(/\s+/g, ' ')).toMatch(/pipeline .*\(default: daily\)/);
  });

  it('stockpipe --help: the global options, each default once', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    const opts = r.out.slice(r.out.indexOf('Options:'), r.out.indexOf('Commands:')).replace(/\s+/g, ' ');
    const defaults = fieldsOf(GlobalOptions).map(shownDefault).filter((d) => d !== undefined);
    expect(defaults).toEqual(['./stockpipe-data', './stockpipe.config.json when present', 'all cores', '1GB']);
    expect(opts.match(/default/g)?.length ?? 0).toBe(defaults.length);
    for (const d of defaults) expect(opts).toContain(`default: ${d}`);
  });

  it.each([['fetch'], ['run']])('%s --help: --source names every source', async (name) => {
    const r = await cli([name, '--help']);
    const source = optionsSection(r.out).split('--source')[1]!;
    for (const s of ['synthetic', 'dir:PATH', 'zip:PATH', 'kaggle', 'yahoo']) expect(source).toContain(s);
  });
});

describe('usage errors', () => {
  // [args, code]: each fails while parsing, before any config or workspace is read.
  const cases: [string[], string][] = [
    [['train', '--kind', 'xgboost'], 'SP_ERR_USAGE'],
    [['train', '--task', 'daily'], 'SP_ERR_USAGE'],
    [['validate', '--table', 'bars'], 'SP_ERR_USAGE'],
    [['validate', '--fail-on', 'sometimes'], 'SP_ERR_USAGE'],
    [['train', '--seed', '1.5'], 'SP_ERR_USAGE'],
    [['train', '--seed', 'abc'], 'SP_ERR_USAGE'],
    [['train', '--trees', '1e2'], 'SP_ERR_USAGE'],
    [['train', '--learning-rate', 'fast'], 'SP_ERR_USAGE'],
    [['serve', '--port', '0x10'], 'SP_ERR_USAGE'],
    [['models', 'list', '--threads', '1e3'], 'SP_ERR_USAGE'],
    [['--threads', '0x10', 'models', 'list'], 'SP_ERR_USAGE'],
    [['models', 'list', '--threads', '257'], 'SP_ERR_USAGE'],
    [['models', 'list', '--memory-limit', 'lots'], 'SP_ERR_USAGE'],
    [['models', 'list', '--limit', 'x'], 'SP_ERR_USAGE'],
    [['runs', 'list', '--offset', '-'], 'SP_ERR_USAGE'],
    [['runs', 'list', '--status', 'weird'], 'SP_ERR_USAGE'],
    [['runs', 'list', '--kind', 'bogus'], 'SP_ERR_USAGE'],
    [['run', '--wait', 'abc'], 'SP_ERR_USAGE'],
    [['fetch', '--symbols', ','], 'SP_ERR_USAGE'],
    [['train', '--task', 'forecast', '--kind', 'rf'], 'SP_ERR_USAGE'],
    // The cv protocol fits log1p(Volume): raw would be recorded but not trained on.
    [['train', '--target', 'raw'], 'SP_ERR_USAGE'],
    [['ingest', '--bogus'], 'SP_ERR_USAGE'],
    [['models', 'show'], 'SP_ERR_USAGE'],
    // The API's limit too (POST /models/:id/promote).
    [['models', 'promote', 'abc', '--note', 'x'.repeat(501)], 'SP_ERR_USAGE'],
    [['nosuchcommand'], 'SP_ERR_USAGE'],
  ];
  it.each(cases)('%j → %s, exit 2, one JSON document', async (args, code) => {
    const r = await cli([...args, '--json']);
    expect(r.code).toBe(2);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false, error: { code } });
  });

  // Probed: `-w "$DIR"` with DIR unset said "workspace: Too small: expected string to have >=1 characters [from a
  // command-line flag]"; `-w "$DIR "` made a folder named with the space (a new empty workspace).
  it.each([
    [['models', 'list', '-w', ''], "--workspace must not be empty (got '')"],
    [['fetch', '--workspace= '], '--workspace must not start or end with a space'],
    [['runs', 'list', '-w', '/tmp/ws '], '--workspace must not start or end with a space'],
  ])('%j → SP_ERR_USAGE naming --workspace, exit 2', async (args, message) => {
    const r = await cli([...args, '--json']);
    expect(r.code).toBe(2);
    const { error } = JSON.parse(r.out) as { error: { code: string; message: string } };
    expect(error.code).toBe('SP_ERR_USAGE');
    expect(error.message.startsWith(message)).toBe(true);
  });

  // Commander's own message here is its placeholder "(outputHelp)".
  it.each([
    [[], 'stockpipe needs a command', ['fetch', 'train', 'models', 'runs', 'lineage']],
    [['models'], 'stockpipe models needs a subcommand', ['list', 'show', 'promote', 'compare', 'at', 'history', 'tag']],
    [['lineage'], 'stockpipe lineage needs a subcommand', ['model', 'run', 'snapshot']],
  ])('%j without its command: SP_ERR_USAGE naming the commands, exit 2, the help on stderr', async (args, what, names) => {
    const j = await cli([...args, '--json']);
    expect(j.code).toBe(2);
    expect(j.out.trim().split('\n')).toHaveLength(1);
    const { error } = JSON.parse(j.out) as { error: { code: string; message: string; hint: string } };
    expect(error.code).toBe('SP_ERR_USAGE');
    expect(error.message).not.toContain('outputHelp');
    expect(error.message.startsWith(`${what}: `)).toBe(true);
    for (const n of names) expect(error.message.slice(what.length + 2).split(', ')).toContain(n);
    expect(error.hint).toContain(`${['stockpipe', ...args].join(' ')} --help`);
    const h = await cli(args);
    expect(h.code).toBe(2);
    expect(h.out).toBe('');
    expect(h.err).toContain('Commands:');
    expect(h.err).toContain(`SP_ERR_USAGE: ${what}: `);
  });

  // `help X` with no command X: commander's path is the same as a missing command's; it names X.
  it.each([[['help', 'nosuch']], [['models', 'help', 'nosuch']]])('%j: SP_ERR_USAGE unknown command, not "needs a command"', async (args) => {
    const j = await cli([...args, '--json']);
    expect(j.code).toBe(2);
    const { error } = JSON.parse(j.out) as { error: { code: string; message: string } };
    expect(error.code).toBe('SP_ERR_USAGE');
    expect(error.message).toBe("unknown command 'nosuch'");
  });

  // Probed: commander's suggestion came on a line of its own ("…'trian'\n(Did you mean train?)"), in --json too.
  it.each([
    [['trian'], "unknown command 'trian' (Did you mean train?)"],
    [['models', 'lst'], "unknown command 'lst' (Did you mean list?)"],
  ])('%j: a one-line message with the suggestion', async (args, message) => {
    const j = await cli([...args, '--json']);
    expect(j.code).toBe(2);
    const { error } = JSON.parse(j.out) as { error: { code: string; message: string } };
    expect([error.code, error.message]).toEqual(['SP_ERR_USAGE', message]);
  });

  it('in human mode the code and hint go to stderr', async () => {
    const r = await cli(['validate', '--table', 'bars']);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/SP_ERR_USAGE: --table must be one of: prices, features .*\n {2}hint: /);
  });

  // Probed: --learning-rate 500 (the engine takes up to 1000) trained and registered a diverged booster: a day-ahead
  // model whose Volume skill read -1.656207706358428e+33, a volume gbdt with R2 -1.453e+73.
  it.each([
    [['--learning-rate', '500']],
    [['--task', 'forecast', '--learning-rate', '1.5']],
    [['--learning-rate', '0']],
  ])('train %j: SP_ERR_TRAIN_PARAMS naming --learning-rate and its range, nothing trained', async (args) => {
    const ws = await tempWorkspace('sp-cliopt-');
    try {
      const r = await cli(['train', ...args, '--json', '-w', ws]);
      expect(r.code).toBe(2);
      const { error } = JSON.parse(r.out) as { error: { code: string; message: string } };
      expect(error.code).toBe('SP_ERR_TRAIN_PARAMS');
      expect(error.message).toMatch(/^--learning-rate must be a number in \(0, 1\]/);
      expect(existsSync(join(ws, 'models'))).toBe(false);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });

  // Probed: the baselines fit no trees, and a tree option beside them was ignored without a word.
  it.each([
    [['--kind', 'polyreg', '--learning-rate', '0.3', '--trees', '5'], '--trees, --learning-rate'],
    [['--kind', 'naive', '--max-depth', '3', '--objective', 'l2', '--boost-from', 'mean', '--target', 'log1p'], '--max-depth, --target, --objective, --boost-from'],
    // rf takes --trees, --max-depth and --target; gbdt's options beside it were ignored too (its leaves go down to one row whatever --min-data-in-leaf said).
    [['--kind', 'rf', '--trees', '5', '--max-depth', '3', '--target', 'log1p', '--min-data-in-leaf', '50', '--early-stopping', '0'], '--min-data-in-leaf, --early-stopping'],
  ])('train %j: SP_ERR_USAGE naming the tree options the kind does not take, nothing trained', async (args, named) => {
    const ws = await tempWorkspace('sp-cliopt-');
    try {
      const r = await cli(['train', ...args, '--json', '-w', ws]);
      expect(r.code).toBe(2);
      const { error } = JSON.parse(r.out) as { error: { code: string; message: string; hint: string } };
      expect(error.code).toBe('SP_ERR_USAGE');
      expect(error.message).toContain(`${named} would be ignored`);
      expect(error.hint).toContain(`Drop ${named}`);
      expect(existsSync(join(ws, 'models'))).toBe(false);
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });
});

describe('a workspace folder that does not exist (a typo)', () => {
  // Probed: these made the folder with a stockpipe.db (monitor, export forecasts also tmp/duckdb/), then failed as on an
  // empty workspace hinting the step before, or said "kept snapshots: none" / wrote an empty export, exit 0.
  const existing = COMMANDS.filter((c) => c.existing === true).map((c) => c.name);
  it('is refused by the commands that read or act on its data, and only by them', () => {
    expect(existing.sort()).toEqual(['evaluate', 'export', 'features', 'forecast', 'ingest', 'models promote', 'models tag', 'monitor', 'train', 'tune', 'vacuum', 'validate']);
  });

  it.each([
    [['validate']], [['validate', '--as-of', '1']], [['monitor']], [['vacuum']], [['evaluate']], [['forecast']], [['features']], [['ingest']],
    [['train']], [['tune']], [['export', 'forecasts', '--out', 'OUT/f.csv']], [['models', 'promote', 'abc']], [['models', 'tag', 'abc', 'k=v']],
  ])('%j → SP_ERR_WORKSPACE_NOT_FOUND (exit 2), nothing created', async (args) => {
    const dir = await tempWorkspace('sp-cliopt-typo-');
    try {
      const typo = join(dir, 'typo');
      const r = await cli([...args.map((a) => a.replace('OUT', dir)), '--json', '-w', typo]);
      expect(r.code, r.out).toBe(2);
      const { error } = JSON.parse(r.out) as { error: { code: string; message: string; hint: string } };
      expect(error.code).toBe('SP_ERR_WORKSPACE_NOT_FOUND');
      expect(error.message).toContain(`no workspace at ${typo} (from --workspace)`);
      expect(error.hint).toContain('STOCKPIPE_WORKSPACE');
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the built binary', () => {
  it('prints the same --json document for `models at` on an empty workspace', async () => {
    const ws = await tempWorkspace('sp-cliopt-');
    try {
      const r = spawnSync(process.execPath, [CLI, 'models', 'at', '2024-05-01', '--json', '-w', ws], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: ws } });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toBe('{"ok":true,"data":{"alias":"champion","at":"2024-05-01T00:00:00.000Z","model_id":null,"since":null,"reason":null}}\n');
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  });

  it('takes a workspace of ~/… as the home folder\'s (a config file\'s or --workspace=~/… reaches no shell), not a folder named ~', async () => {
    const home = await tempWorkspace('sp-cliopt-home-');
    try {
      const cwd = join(home, 'cwd');
      await mkdir(cwd);
      const r = spawnSync(process.execPath, [CLI, 'fetch', '--source', 'synthetic', '--symbols', '2', '--years', '1', '--json', '--workspace=~/ws'], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: home } });
      expect(r.status, r.stderr).toBe(0);
      expect(existsSync(join(home, 'ws', 'raw'))).toBe(true);
      expect(await readdir(cwd)).toEqual([]);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('--version prints package.json\'s version', async () => {
    const { version } = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = spawnSync(process.execPath, [CLI, '--version'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});

describe('runs list --kind', () => {
  it('offers every kind a command records (RUN_KINDS is the list its choices come from)', () => {
    const recorded = COMMANDS.flatMap((c) => (c.records === undefined ? [] : [c.records]));
    expect(recorded.length).toBeGreaterThan(5);
    for (const k of recorded) expect(RUN_KINDS as readonly string[], k).toContain(k);
  });
});
