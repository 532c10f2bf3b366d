/** @module pipeline/task-log
 * A pipeline run's task log file as `runs logs` and the dashboard's log routes read it: what is wrong
 * when it cannot be read (deleted after the run, or something else standing at its path) and the
 * read itself, which never waits on a FIFO. The runner writes the logs (pipeline/subprocess). */
import { notRegular, openRegularFile, statOrNull } from '../core/fs.js';
import { StockpipeError } from '../core/errors.js';

const GONE = 'is gone: removed after the run (or the workspace was moved)';

/** Why the log at `file` cannot be read, or null when it is a regular file. */
export async function taskLogProblem(file: string): Promise<string | null> {
  const st = await statOrNull(file);
  if (st === null) return GONE;
  return st.isFile() ? null : `is ${notRegular(st).message}`;
}

/** SP_ERR_RUN_NOT_FOUND for task `task` of run `id` whose log at `file` cannot be read. */
function logError(file: string, task: string, id: string, problem: string, cause?: unknown): StockpipeError {
  return new StockpipeError('SP_ERR_RUN_NOT_FOUND', `the log of task '${task}' of run '${id}' (${file}) ${problem}`, { hint: 'The run\'s tasks, states and errors stay in the store: `stockpipe runs show ' + id + '`.', cause });
}

/** Checks that the log at `file` is a regular file (SP_ERR_RUN_NOT_FOUND saying what stands there otherwise). */
export async function checkTaskLog(file: string, task: string, id: string): Promise<void> {
  const problem = await taskLogProblem(file);
  if (problem !== null) throw logError(file, task, id, problem);
}

/** The whole log at `file` as text (SP_ERR_RUN_NOT_FOUND saying what is wrong when it cannot be read). */
export async function readTaskLog(file: string, task: string, id: string): Promise<string> {
  try {
    // One open that refuses what is no regular file without waiting (a FIFO): no stat before it.
    const fh = await openRegularFile(file);
    try {
      return await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // openRegularFile's own refusal has no code: its message is notRegular's.
    const problem = code === 'ENOENT' || code === 'ENOTDIR' ? GONE : code === undefined ? `is ${(err as Error).message}` : `could not be read (${code})`;
    throw logError(file, task, id, problem, err);
  }
}
