/** @module dashboard/launch
 * Starts `stockpipe run|backfill …` as a detached CLI child (the server never runs a pipeline in
 * its own process) and waits until the child has started its work — found in the store by the
 * child's pid and start time — or has ended: then its --json document decides (an error such as the
 * runner's SP_ERR_PIPELINE_LOCKED becomes the request's error). The child's stdout and stderr go to
 * <workspace>/pipeline/launches/<name>.log; it outlives the server. What to look for is the caller's. */
import { spawn } from 'node:child_process';
import { open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ERROR_CODES, StockpipeError, type ErrorCode } from '../core/errors.js';
import { ensureWritableDir } from '../core/fs.js';
import { processStartTime } from '../core/proc.js';
import type { Workspace } from '../core/workspace.js';

/** How the server starts the CLI: its entry script, the environment and global flags (--config, --threads …) it was started with. */
export interface LaunchOptions {
  /** dist/cli/main.js. */
  cliMain: string;
  env: Record<string, string | undefined>;
  /** Global flags passed on to the child (the workspace is added). */
  globalArgs: string[];
  /** The server's working folder (where a stockpipe.config.json is looked for). */
  cwd: string;
}

/** The child as the store knows it: what its runner recorded (params runner_pid, runner_start). */
export interface ChildIdentity {
  pid: number;
  start: string | null;
}

/** The child's --json document. */
interface CliDoc {
  ok: boolean;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; hint?: string };
}

export interface Launched<T> {
  pid: number;
  /** The child's output file. */
  log: string;
  /** What `find` returned; null when the child ended before it found anything (then `data` is set). */
  found: T | null;
  /** The child's --json data when it ended first (a run so quick it finished, a backfill of skipped days). */
  data: Record<string, unknown> | null;
}

let seq = 0;

/** The last stdout line that is a `{ok, …}` document (stderr lines are pino JSON without `ok`). */
function lastDoc(text: string): CliDoc | null {
  const lines = text.trimEnd().split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!.trim();
    if (!line.startsWith('{')) continue;
    try {
      const doc = JSON.parse(line) as unknown;
      if (doc !== null && typeof doc === 'object' && typeof (doc as CliDoc).ok === 'boolean') return doc as CliDoc;
    } catch {
      // a partial or non-JSON line: look further up
    }
  }
  return null;
}

const isCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

/**
 * Spawns `node cliMain ...args --json --quiet --workspace <root> ...globalArgs`, detached, and polls
 * `find` (every `pollMs`) until it returns something, the child ends, or `timeoutMs` passes.
 */
export async function launchCli<T>(ws: Workspace, launch: LaunchOptions, args: readonly string[], find: (child: ChildIdentity) => T | null | Promise<T | null>, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<Launched<T>> {
  const name = `${new Date().toISOString().replace(/[:.]/g, '')}-${process.pid}-${++seq}-${args[0] ?? 'cli'}`;
  const log = ws.launchLog(name);
  // A workspace the server may only read (served from a read-only volume): SP_ERR_WORKSPACE_UNWRITABLE, not a 500 'internal error'.
  await ensureWritableDir(dirname(log));
  const out = await open(log, 'w');
  let exited: { code: number | null; signal: string | null } | null = null;
  let spawnError: Error | null = null;
  let pid: number;
  try {
    const child = spawn(process.execPath, [launch.cliMain, ...args, '--json', '--quiet', '--workspace', ws.root, ...launch.globalArgs], {
      detached: true, stdio: ['ignore', out.fd, out.fd], env: launch.env, cwd: launch.cwd,
    });
    child.once('error', (err) => { spawnError = err; exited ??= { code: null, signal: null }; });
    child.once('exit', (code, signal) => { exited = { code, signal }; });
    child.unref();
    if (child.pid === undefined) await new Promise((r) => setImmediate(r));
    if (child.pid === undefined) throw new StockpipeError('SP_ERR_LAUNCH_FAILED', `could not start ${launch.cliMain}: ${(spawnError as Error | null)?.message ?? 'no pid'}`);
    pid = child.pid;
  } finally {
    await out.close();
  }
  const me: ChildIdentity = { pid, start: processStartTime(pid) };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  const what = `stockpipe ${args.join(' ')}`;
  for (;;) {
    const ended = exited as { code: number | null; signal: string | null } | null;
    const found = await find(me);
    if (found !== null) return { pid, log, found, data: null };
    if (ended !== null) {
      const doc = lastDoc(await readFile(log, 'utf8'));
      if (doc?.ok === true) return { pid, log, found: null, data: doc.data ?? {} };
      if (doc?.error && isCode(doc.error.code)) throw new StockpipeError(doc.error.code, doc.error.message, { hint: doc.error.hint });
      const why = spawnError === null ? (ended.signal ?? `code ${ended.code}`) : (spawnError as Error).message;
      throw new StockpipeError('SP_ERR_LAUNCH_FAILED', `${what} (pid ${pid}) exited (${why}) without a result; its output is in ${log}`);
    }
    if (Date.now() > deadline) {
      throw new StockpipeError('SP_ERR_LAUNCH_FAILED', `${what} (pid ${pid}) has neither started its run nor ended after ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s; it keeps going; its output is in ${log}`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 25));
  }
}
