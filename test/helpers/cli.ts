/** @module test/helpers/cli
 * The one way tests run the built CLI (dist/bin/main.js, the bundle tools/build-cli writes): synchronously (`runCli`) or as a child
 * to signal or read while it runs (`startCli`). Leaves building dist/ to `npm test`'s tsc and bundle steps. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
export const CLI = join(DIST, 'bin', 'main.js');

/** The --json document: `{ok:true,data}` or `{ok:false,error}` (`data` is undefined on errors). */
export interface CliDoc<D = Record<string, any>> {
  ok: boolean;
  data: D;
  error?: { code: string; message: string; hint?: string };
}

export interface CliResult<D = CliDoc['data']> {
  /** Exit code; null when the process ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The parsed --json document; throws (showing stdout/stderr) when stdout holds none. */
  readonly json: CliDoc<D>;
  /** The parsed document, or null when stdout holds none. */
  jsonOrNull: CliDoc<D> | null;
}

export interface CliOptions {
  /** Added to the hermetic base env ({PATH, HOME}); the test runner's env is not inherited. */
  env?: Record<string, string>;
  cwd?: string;
  /** SIGKILL the child after this long (a command that must not hang). */
  timeoutMs?: number;
}

function parseDoc(stdout: string): CliDoc | null {
  const text = stdout.trim();
  if (text === '') return null;
  for (const candidate of [text, text.split('\n').pop() ?? '']) {
    try {
      const doc = JSON.parse(candidate) as unknown;
      if (doc !== null && typeof doc === 'object' && 'ok' in doc) return doc as CliDoc;
    } catch {
      // not this candidate; the next one is the last line
    }
  }
  return null;
}

function result<D>(code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string): CliResult<D> {
  const doc = parseDoc(stdout) as CliDoc<D> | null;
  return {
    code, signal, stdout, stderr, jsonOrNull: doc,
    get json(): CliDoc<D> {
      if (doc === null) throw new Error(`no --json document on stdout (exit ${code}, signal ${signal})\nstdout: ${stdout.slice(-2000)}\nstderr: ${stderr.slice(-2000)}`);
      return doc;
    },
  };
}

export function cliEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env };
}

/** Runs the CLI to completion. */
/** The longest a runCli child may take unless the caller says otherwise. */
const RUN_CLI_TIMEOUT_MS = 300_000;

export function runCli<D = CliDoc['data']>(args: string[], opts: CliOptions = {}): CliResult<D> {
  // A synchronous child blocks the test worker, so vitest's own timeout cannot end a child that hangs: this one does
  // (SIGKILL; the result then has its signal and the test fails instead of the suite never finishing).
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: cliEnv(opts.env), encoding: 'utf8', maxBuffer: 256 << 20, timeout: opts.timeoutMs ?? RUN_CLI_TIMEOUT_MS, killSignal: 'SIGKILL' });
  if (r.error && !r.signal) throw r.error;
  return result<D>(r.status, r.signal, r.stdout, r.stderr);
}

export interface StartedCli {
  child: ChildProcess;
  /** Resolves when the child has exited and its pipes are closed. */
  done: Promise<CliResult>;
  /** Output so far. */
  stdout(): string;
  stderr(): string;
}

/** Starts the CLI as a child (for serve, kill and concurrency tests); the caller stops it by pid/child. */
export function startCli(args: string[], opts: CliOptions = {}): StartedCli {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd ?? ROOT, env: cliEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
  const done = new Promise<CliResult>((res, rej) => {
    child.on('error', rej);
    child.on('close', (code, signal) => { clearTimeout(timer); res(result(code, signal, stdout, stderr)); });
  });
  return { child, done, stdout: () => stdout, stderr: () => stderr };
}

/** Runs the CLI to completion without blocking the event loop (when the test serves HTTP meanwhile). */
export function runCliAsync(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return startCli(args, opts).done;
}

/** Resolves with the first stdout line of a started CLI that parses as JSON and passes `accept`. */
export function waitForJsonLine<T = Record<string, unknown>>(cli: StartedCli, accept: (doc: T) => boolean = () => true, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((res, rej) => {
    let buf = '';
    const timer = setTimeout(() => { cleanup(); rej(new Error(`no matching JSON line within ${timeoutMs} ms; stderr: ${cli.stderr().slice(-2000)}`)); }, timeoutMs);
    const onData = (b: Buffer): void => {
      buf += b.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        try {
          const doc = JSON.parse(line) as T;
          if (accept(doc)) { cleanup(); res(doc); return; }
        } catch {
          // a non-JSON line (human output); keep reading
        }
      }
    };
    const onClose = (code: number | null): void => { cleanup(); rej(new Error(`CLI exited (${code}) before a matching JSON line; stderr: ${cli.stderr().slice(-2000)}`)); };
    function cleanup(): void {
      clearTimeout(timer);
      cli.child.stdout!.off('data', onData);
      cli.child.off('close', onClose);
    }
    cli.child.stdout!.on('data', onData);
    cli.child.on('close', onClose);
  });
}

/**
 * `runCliAsync` with at most `limit` of its children running at once (the rest wait their turn), for
 * files that run independent CLI calls side by side without starting them all together.
 */
export function cliPool(limit: number): (args: string[], opts?: CliOptions) => Promise<CliResult> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (args, opts = {}) => {
    // A finished child hands its slot straight to the next waiter (the count stays).
    if (running >= limit) await new Promise<void>((r) => waiting.push(r));
    else running++;
    try {
      return await runCliAsync(args, opts);
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}
