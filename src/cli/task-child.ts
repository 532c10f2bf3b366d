/** @module cli/task-child
 * Imported first by cli/main, for its side effect: a pipeline task's process (the runner sets
 * STOCKPIPE_TASK_CHILD=1 and STOCKPIPE_RUNNER_PID) starts watching its runner before the rest of
 * the program (DuckDB, the tree engine, …) is even loaded, so it dies with the runner at any
 * moment (core/runner-watch). A runner without STOCKPIPE_RUNNER_PID: its IPC channel only. */
import { setTaskKey } from '../core/commit-guard.js';
import { dieNow, watchRunner } from '../core/runner-watch.js';
import { installJobFence } from '../queue/fence.js';

if (process.env.STOCKPIPE_TASK_CHILD === '1') {
  const runnerPid = Number(process.env.STOCKPIPE_RUNNER_PID);
  if (Number.isInteger(runnerPid) && runnerPid > 0) watchRunner(runnerPid);
  else if (process.channel) {
    process.channel.unref();
    process.once('disconnect', dieNow);
  }
}

// A task run by a queue worker commits only while its execution holds the job (queue/fence); a
// task run here is named by its task key, so that running it again registers no second model.
if (!installJobFence(process.env) && process.env.STOCKPIPE_TASK_CHILD === '1' && process.env.STOCKPIPE_TASK_KEY) setTaskKey(process.env.STOCKPIPE_TASK_KEY);
delete process.env.STOCKPIPE_TASK_KEY; // the processes this one starts run work of their own
