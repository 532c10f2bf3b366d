/** @module pipeline/subprocess
 * Runs a stockpipe command as a child process for a task (as Airflow runs a task in its own
 * process): `node <main> <args> --json`, stderr appended to the task's log file (the child logs at
 * info there), the one --json document on stdout parsed into the task's summary (and its data written
 * at the end of the log), its error code kept. Abort (timeout, Ctrl-C)
 * sends SIGTERM, then SIGKILL. The child gets the runner's pid (STOCKPIPE_RUNNER_PID) and dies with
 * it (core/runner-watch); each child pid is reported to `processes` for the run lock. */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { finished } from 'node:stream';
import { clip, ERROR_CODES, StockpipeError, type ErrorCode } from '../core/errors.js';
import { getLog } from '../core/log.js';
import type { ProcessTracker } from './types.js';

export interface CommandDoc {
  ok: boolean;
  data?: Record<string, unknown>;
  error?: { code: string; message: string; hint?: string };
}

export interface SubprocessOptions {
  /** The CLI entry (dist/cli/task-main.js; main.js works too). */
  mainScript: string;
  args: readonly string[];
  logPath: string;
  signal: AbortSignal;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Each stderr line, for the live view's progress note. */
  onLine?: (line: string) => void;
  killGraceMs?: number;
  /** Told each child pid when it starts and when it is gone (the run lock records them). */
  processes?: ProcessTracker;
  /** Who writes this process's lines in the log: `runner` (default), or the queue worker that runs it. */
  label?: string;
}

/** How much of a command's result (its --json `data`, one line) the task log keeps. */
export const RESULT_LOG_CHARS = 4000;

/** The result as one line of JSON, cut at RESULT_LOG_CHARS (core/errors' clip, saying where the whole of it is). */
export function resultText(data: Record<string, unknown>): string {
  const text = JSON.stringify(data);
  return text.length <= RESULT_LOG_CHARS ? text : `${clip(text, RESULT_LOG_CHARS)}; the whole result is the task's summary: runs show`;
}

/** An argument as a shell word: bare when safe, else single-quoted, so that the log's command line can be pasted (a workspace path with a space). */
const shellWord = (s: string): string => (/^[A-Za-z0-9._,:/=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

/** Runs the command; resolves with its `data`, or throws its StockpipeError (code kept). */
export function runCommandProcess(opts: SubprocessOptions): Promise<Record<string, unknown>> {
  mkdirSync(dirname(opts.logPath), { recursive: true });
  const log = createWriteStream(opts.logPath, { flags: 'a' });
  // A log that cannot be written (a full disk) must neither crash this process (an 'error' event
  // without a listener throws) nor decide the task: its outcome is the command's --json document.
  log.on('error', (err) => getLog('subprocess').warn({ err, log: opts.logPath }, 'cannot write the task log'));
  const label = opts.label ?? 'runner';
  log.write(`${new Date().toISOString()} [${label}] $ stockpipe ${opts.args.map(shellWord).join(' ')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [opts.mainScript, ...opts.args, '--json'], {
      cwd: opts.cwd, env: { ...(opts.env ?? process.env), STOCKPIPE_TASK_CHILD: '1', STOCKPIPE_RUNNER_PID: String(process.pid) }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const pid = child.pid;
    if (pid !== undefined) opts.processes?.started(pid);
    let stdout = '';
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      log.write(s);
      if (!opts.onLine) return;
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.trim() !== '') opts.onLine(l);
    });
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), opts.killGraceMs ?? 5000);
    };
    opts.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err) => {
      opts.signal.removeEventListener('abort', onAbort);
      log.end();
      finished(log, () => reject(new StockpipeError('SP_ERR_TASK_FAILED', `cannot start stockpipe ${opts.args[0]}: ${err.message}`, { cause: err })));
    });
    child.on('close', (code, sig) => {
      if (pid !== undefined) opts.processes?.ended(pid);
      clearTimeout(killTimer);
      opts.signal.removeEventListener('abort', onAbort);
      let doc: CommandDoc | null = null;
      try {
        const last = stdout.trim().split('\n').pop();
        doc = last ? (JSON.parse(last) as CommandDoc) : null;
      } catch {
        doc = null; // not a JSON document: reported below as a crash
      }
      // The error's code goes in the log too: a queued job's execution that lost its job (its worker froze
      // past the lock) fails where neither BullMQ nor the runner records why (SP_ERR_JOB_SUPERSEDED).
      // What the command answered goes in the log too (as Airflow logs a task's returned value).
      const result = code === 0 && doc?.ok ? `${new Date().toISOString()} [${label}] result: ${resultText(doc.data ?? {})}\n` : '';
      log.end(`${result}${new Date().toISOString()} [${label}] exit ${code ?? sig}${doc?.ok === false && doc.error ? ` ${doc.error.code}` : ''}\n`);
      // Settled once these lines are in the file: the runner's next line (succeeded, failed, retrying) goes after them.
      finished(log, () => {
        if (code === 0 && doc?.ok) return resolve(doc.data ?? {});
        if (doc && !doc.ok && doc.error) {
          const c = (doc.error.code in ERROR_CODES ? doc.error.code : 'SP_ERR_TASK_FAILED') as ErrorCode;
          return reject(new StockpipeError(c, doc.error.message, { hint: doc.error.hint }));
        }
        reject(new StockpipeError('SP_ERR_TASK_FAILED', `stockpipe ${opts.args[0]} ${sig ? `was killed by ${sig}` : `exited with ${code} and no result`}`, {
          hint: `Read its log: ${opts.logPath}`,
        }));
      });
    });
  });
}
