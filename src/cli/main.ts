#!/usr/bin/env node
/** @module cli/main
 * The stockpipe command line: builds the parser from the command declarations (cli/commands/,
 * cli/options), assembles the config, prints the output (human or one --json document) and maps
 * errors to exit codes (0 ok, 1 failed, 2 usage). Runs only as the entry point (or from
 * cli/task-main); importing it runs nothing. The only place that sets the exit code. */
// First, for its side effect: a pipeline task's process watches its runner from here on.
import './task-child.js';
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Help, Option } from 'commander';
import { z } from '../core/zod.js';
import { explicitFetchKeys, loadConfig, readConfigFile } from '../core/config.js';
import { StockpipeError, toStockpipeError } from '../core/errors.js';
import { configureLog, getLog } from '../core/log.js';
import type { ResourceContext } from '../core/os-errors.js';
import { checkWorkspacePath } from '../core/fs.js';
import { expandHome, Workspace, workspaceMarks } from '../core/workspace.js';
import { createProgress } from '../core/progress.js';
import { forTerminal } from '../core/terminal.js';
import { duckdbResourceError, storeFileError } from '../db/duckdb-errors.js';
import { COMMANDS, GROUPS } from './commands/index.js';
import type { CommandContext } from './context.js';
import { GlobalOptions, outputMode, type Globals, type OutputMode } from './globals.js';
import { commandLine, recordCommandRun } from './command-run.js';
import { fieldInfo, fieldsOf, flagsOf, helpOf, kebab, parseOptions, type CommandSpec, type Prepared } from './options.js';

/** package.json's version (src/cli/ and dist/cli/ both sit two folders below it). */
export function readVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  throw new StockpipeError('SP_ERR_INTERNAL', 'package.json has no version');
}

/** What one invocation shares: how to print, the version, and what a machine failure's message
 * names (known once the config is). */
interface Session {
  mode: OutputMode;
  version: string;
  resource: ResourceContext;
}

function printError(s: Session, err: StockpipeError): void {
  if (s.mode.json) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: err.toJSON() })}\n`);
  } else {
    process.stderr.write(forTerminal(`${err.code}: ${err.message}\n  hint: ${err.hint}\n`));
  }
  if (s.mode.debug && err.stack) process.stderr.write(`${err.stack}\n${err.cause instanceof Error ? `cause: ${err.cause.stack}\n` : ''}`);
}

/** What a recorded command's run keeps of its command line: the command, each option and argument given. */
function runParams(spec: CommandSpec<Globals>, opts: Record<string, unknown>, args: readonly unknown[]): Record<string, unknown> {
  const params: Record<string, unknown> = { command: spec.name };
  Object.keys(spec.args?.shape ?? {}).forEach((k, i) => {
    if (args[i] !== undefined) params[`arg.${k}`] = args[i];
  });
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== false) params[`option.${kebab(k)}`] = v;
  return params;
}

/** Builds the context, runs one command (recording its run when it writes), prints its result. */
async function execute(s: Session, spec: CommandSpec<Globals>, g: Globals, cmd: Prepared<Globals>, globalFlags: Record<string, unknown>, params: Record<string, unknown>): Promise<void> {
  const name = spec.name.split(' ').pop()!;
  const { json, debug } = s.mode;
  // A task's process (the runner's child) logs at info: its lines are the task's log, as in Airflow.
  configureLog({ level: debug ? 'debug' : g.quiet ? 'error' : process.env.STOCKPIPE_TASK_CHILD === '1' ? 'info' : 'warn' });
  // A queued job's command (a worker's child: STOCKPIPE_JOB_ID) reads the config the runner named with --config, or
  // none as the runner did: the worker's folder's ./stockpipe.config.json gave it settings the runner never had.
  const file = readConfigFile(g.config, process.cwd(), { implicit: process.env.STOCKPIPE_JOB_ID === undefined });
  const flags = { ...globalFlags, ...cmd.config };
  const flagNames = { workspace: '--workspace', threads: '--threads', memory_limit: '--memory-limit', ...cmd.flagNames };
  const config = loadConfig({ file, env: process.env, flags, flagNames, origin: g.config ?? 'stockpipe.config.json' }); // flags and STOCKPIPE_* variables are named by loadConfig
  const ws = new Workspace(expandHome(config.workspace, homedir()), { threads: config.threads, memoryLimit: config.memory_limit });
  s.resource = { workspace: ws.root, memoryLimit: ws.memoryLimit, threads: ws.threads };
  await checkWorkspacePath(ws.root);
  // A command that reads or acts on the workspace's data made the folder of a mistyped --workspace (a store,
  // tmp/duckdb/ in it) and then failed as on an empty workspace, hinting the step before it.
  if (spec.existing === true && !existsSync(ws.root)) throw missingWorkspace(ws.root, g, file, spec.name);
  // Pointed at another folder (`-w ~`), it wrote a store there and failed as on an empty workspace (vacuum succeeded).
  if (spec.existing === true) {
    const other = otherFiles(ws.root);
    if (other !== null) throw missingWorkspace(ws.root, g, file, spec.name, other);
  }
  const taskChild = process.env.STOCKPIPE_TASK_CHILD === '1';
  const ctx: CommandContext = {
    config,
    ws,
    log: getLog(name),
    // A pipeline task's child prints plain progress lines to its log (the runner's live view shows them).
    progress: createProgress({ quiet: g.quiet || (json && !taskChild), intervalMs: taskChild ? 1000 : 5000 }),
    json,
    quiet: g.quiet,
    env: process.env,
    homeDir: homedir(),
    now: () => new Date(),
    explicitFetch: explicitFetchKeys({ file, env: process.env, flags }),
  };
  const invoke = () => cmd.run(ctx, { globals: g, version: s.version });
  const result = spec.records === undefined ? await invoke()
    : await recordCommandRun(ws, { kind: spec.records, name: commandLine(spec.name, params), params, env: process.env, log: ctx.log }, invoke);
  if (result.printed) return;
  if (json) process.stdout.write(`${JSON.stringify({ ok: true, data: result.data })}\n`);
  else if (!g.quiet) process.stdout.write(`${forTerminal(result.human)}\n`);
}

/** The entries of a folder that holds files but nothing of a workspace's (core/workspace workspaceMarks); null for
 * a workspace, an empty folder (or one of hidden files only: made with mkdir for a new workspace) or one not readable here. */
function otherFiles(root: string): string[] | null {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => !n.startsWith('.'));
  } catch {
    return null; // not listable: what the command reads says why
  }
  if (names.length === 0 || names.some((n) => workspaceMarks.has(n))) return null;
  return names.sort();
}

/** SP_ERR_WORKSPACE_NOT_FOUND for a command whose workspace folder does not exist (or, `other`, holds other files and
 * none of a workspace's), naming where the path came from. */
function missingWorkspace(root: string, g: Globals, file: Record<string, unknown>, command: string, other?: string[]): StockpipeError {
  const from = g.workspace !== undefined ? '--workspace'
    : process.env.STOCKPIPE_WORKSPACE !== undefined && process.env.STOCKPIPE_WORKSPACE !== '' ? 'STOCKPIPE_WORKSPACE'
    : file.workspace !== undefined ? `the config file's "workspace"` : 'the default, ./stockpipe-data';
  if (other !== undefined) {
    return new StockpipeError('SP_ERR_WORKSPACE_NOT_FOUND', `no workspace at ${root} (from ${from}): the folder holds other files (${other.slice(0, 3).join(', ')}${other.length > 3 ? `, and ${other.length - 3} more` : ''}) and none of a stockpipe workspace's (stockpipe.db, source.json, tables/, …), and ${command} needs a workspace's data; nothing was written there`, {
      hint: 'Check --workspace (or STOCKPIPE_WORKSPACE, the config file\'s "workspace") for a typo; `stockpipe fetch -w NEW_FOLDER` or `stockpipe run train -w NEW_FOLDER` starts a new workspace.',
    });
  }
  return new StockpipeError('SP_ERR_WORKSPACE_NOT_FOUND', `no workspace at ${root} (from ${from}): the folder does not exist, and ${command} needs a workspace's data`, {
    hint: 'Check --workspace (or STOCKPIPE_WORKSPACE, the config file\'s "workspace") for a typo; `stockpipe fetch` or `stockpipe run train` starts a new workspace there.',
  });
}

function addOptions(cmd: Command, schema: z.ZodObject): void {
  for (const f of fieldsOf(schema)) {
    const opt = new Option(flagsOf(f));
    // The help line is worked out when help is shown (commander reads `description` only then):
    // every option of every command read its default from the config schema at each start (≈ 15 ms).
    let help: string | undefined;
    Object.defineProperty(opt, 'description', { get: () => (help ??= helpOf(f)), enumerable: true, configurable: true });
    if (f.shape === 'repeats') opt.argParser((v: string, acc: string[] | undefined) => [...(acc ?? []), v]);
    cmd.addOption(opt);
  }
}

function helpAfter(spec: Pick<CommandSpec<Globals>, 'notes' | 'examples'>): string {
  const notes = spec.notes === undefined ? '' : `\n${spec.notes}\n`;
  return `${notes}\nExamples:\n${spec.examples.map((e) => `  $ ${e}`).join('\n')}`;
}

export function buildProgram(s: Session = { mode: outputMode(process.argv), version: readVersion(), resource: {} }): Command {
  const program = new Command('stockpipe')
    .description('Daily market bars → Parquet → validated, pandas-exact features → models → registry → API and dashboard, run by a pipeline runner with schedules and monitoring.')
    .version(s.version)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeErr: (text) => { if (!s.mode.json) process.stderr.write(text); } });
  // A command's options are added when it is dispatched (or a help lists it), not here: building
  // every command's option schemas cost each start ≈ 20 ms. The help configuration is set before
  // the commands are made, which copy it.
  const deferred = new Map<Command, CommandSpec<Globals>>();
  const materialize = (cmd: Command): void => {
    const spec = deferred.get(cmd);
    if (spec === undefined) return;
    deferred.delete(cmd);
    addOptions(cmd, spec.options);
  };
  program.configureHelp({
    visibleOptions(cmd) {
      materialize(cmd);
      return Help.prototype.visibleOptions.call(this, cmd);
    },
    visibleCommands(cmd) {
      for (const sub of cmd.commands) materialize(sub);
      return Help.prototype.visibleCommands.call(this, cmd);
    },
  });
  addOptions(program, GlobalOptions);
  const groups = new Map<string, Command>();
  for (const spec of COMMANDS) {
    const words = spec.name.split(' ');
    const leaf = words.pop()!;
    let parent = program;
    for (const w of words) {
      let group = groups.get(w);
      if (group === undefined) {
        group = program.command(w).description(GROUPS[w]?.summary ?? '');
        group.addHelpText('after', helpAfter({ examples: GROUPS[w]?.examples ?? [] }));
        groups.set(w, group);
      }
      parent = group;
    }
    const cmd = parent.command(leaf, { isDefault: spec.isDefault === true }).description(spec.summary);
    // An array argument (the last one) takes the rest of the command line: `models tag <id> [tags...]`.
    // A described argument gets a line under "Arguments:", with its default.
    for (const [k, a] of Object.entries(spec.args?.shape ?? {})) {
      const f = fieldInfo(k, a as z.ZodType);
      cmd.argument(a instanceof z.ZodArray ? `[${k}...]` : (a as z.ZodType).safeParse(undefined).success ? `[${k}]` : `<${k}>`, f.description === '' ? undefined : helpOf(f));
    }
    deferred.set(cmd, spec);
    cmd.addHelpText('after', helpAfter(spec));
    cmd.action(async () => {
      const globals = parseOptions(GlobalOptions, program.opts(), 'Run `stockpipe --help` to see the global options (--threads, --memory-limit, …) and their values.');
      const prepared = spec.prepare(cmd.opts(), cmd.processedArgs);
      await execute(s, spec, globals, prepared, globalFlags(globals), runParams(spec, cmd.opts(), cmd.processedArgs as unknown[]));
    });
  }
  for (const cmd of [program, ...groups.values()]) {
    sayWhatIsMissing(cmd);
    cmd.hook('preSubcommand', (_parent, sub) => materialize(sub));
  }
  return program;
}

/** `stockpipe` or a group (`stockpipe models`) without a command: commander prints the help and
 * exits with the placeholder message "(outputHelp)"; this names what is missing instead. */
function sayWhatIsMissing(cmd: Command): void {
  cmd.exitOverride((err) => {
    if (err.code !== 'commander.help' || err.exitCode === 0) throw err;
    const path = cmd.parent ? `stockpipe ${cmd.name()}` : 'stockpipe';
    const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help');
    // `stockpipe help nosuch` takes the same path (commander finds no command to show the help of).
    if (cmd.args[0] === 'help' && cmd.args[1] !== undefined) {
      throw new StockpipeError('SP_ERR_USAGE', `unknown command '${cmd.args[1]}'`, { hint: `Commands: ${names.join(', ')}. Run \`${path} --help\` to see what each one does.` });
    }
    throw new StockpipeError('SP_ERR_USAGE', `${path} needs a ${cmd.parent ? 'subcommand' : 'command'}: ${names.join(', ')}`, { hint: `Run \`${path} --help\` to see what each one does.` });
  });
}

/** The config flags the global options set (--workspace, --threads, --memory-limit). */
function globalFlags(g: Globals): Record<string, unknown> {
  return { workspace: g.workspace, threads: g.threads, memory_limit: g.memoryLimit };
}

/** Runs one command line (argv as process.argv: node, script, args…); resolves to its exit code. */
export async function main(argv: string[]): Promise<number> {
  const s: Session = { mode: outputMode(argv.slice(2)), version: readVersion(), resource: {} };
  const program = buildProgram(s);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) return 0;
      // One line, as every error message: commander puts its suggestion on a line of its own ("…\n(Did you mean train?)").
      printError(s, new StockpipeError('SP_ERR_USAGE', err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')));
      return 2;
    }
    // A full disk, a read-only workspace, too many open files or too little memory is the user's to fix.
    // A store file deleted mid-read (a vacuum at the same time) is the snapshot gone, not a bug; one
    // damaged outside stockpipe is the table unreadable.
    const e = (err instanceof StockpipeError ? undefined : (duckdbResourceError(err, s.resource) ?? storeFileError(err))) ?? toStockpipeError(err);
    printError(s, e);
    return e.exitCode;
  }
}

/** Runs the command line of this process and sets its exit code. */
export function runMain(argv: string[] = process.argv): void {
  // `stockpipe … | head`: a closed stdout is the reader's choice, not a crash.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/** This file is the process's script (`node dist/cli/main.js`, or the `stockpipe` bin link). */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch (err) {
    // A script path that does not resolve (node -e, a REPL) is not this file.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

if (isEntryPoint()) runMain();
