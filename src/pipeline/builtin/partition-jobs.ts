/** @module pipeline/builtin/partition-jobs
 * What the partitioned tasks share on a queue executor (docs/scale-out.md): the changed symbol
 * buckets grouped into at most `pipeline.partitions` jobs, the jobs run side by side (each into a
 * stage folder of its own execution, with its own log and progress; a failed one stops the others),
 * and the commit child — the coordinator's, run locally as every local command is. The tasks'
 * planning and their commands are features-partitioned and ingest-partitioned. */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../../core/errors.js';
import { writeFileAtomic } from '../../core/fs.js';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/log.js';
import type { Workspace } from '../../core/workspace.js';
import type { WorkerRecord } from '../../registry/pipeline.js';
import { type CommandExecutor, type CommandRun, EXECUTION_TOKEN, LocalExecutor } from '../executor.js';
import type { TaskContext } from '../types.js';

/** What the task needs of its pipeline environment (builtin/tasks' PipelineEnv has it). */
export interface PartitionEnv {
  ws: Workspace;
  config: Config;
  globalArgs: readonly string[];
  env: NodeJS.ProcessEnv;
  mainScript: string;
}

/** Splits the changed buckets into at most `n` groups of consecutive buckets, as even as they come. */
export function bucketGroups(buckets: readonly number[], n: number): number[][] {
  const k = Math.max(1, Math.min(n, buckets.length));
  const out: number[][] = [];
  for (let i = 0; i < k; i++) out.push(buckets.slice(Math.floor((i * buckets.length) / k), Math.floor(((i + 1) * buckets.length) / k)));
  return out.filter((g) => g.length > 0);
}

/** A partition's name: its buckets, e.g. `b00.01`. */
export const partitionLabel = (g: readonly number[]): string => `b${g.map((b) => String(b).padStart(2, '0')).join('.')}`;

export interface PartitionJobs {
  task: string;
  /** Goes into each job's id (a hash of the plan): a resumed run re-attaches to the same partitions only if it plans the same work. */
  key: string;
  groups: readonly number[][];
  /** The folder of the run's stages (removed by the caller when the task ends). */
  stageRoot: string;
  /** The command of a partition: its buckets and its stage folder (per execution: it holds EXECUTION_TOKEN). */
  args: (group: readonly number[], stage: string) => string[];
}

/** Runs every partition as a job; returns their runs in group order and each run's stage folder (its `stage` data). */
export async function runPartitionJobs(ctx: TaskContext, ex: CommandExecutor, penv: PartitionEnv, p: PartitionJobs): Promise<{ runs: CommandRun[]; stages: string[]; workers: WorkerRecord[] }> {
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const fractions = new Array<number>(p.groups.length).fill(0);
  let finished = 0;
  const report = (): void => ctx.progress({ fraction: fractions.reduce((a, b) => a + b, 0) / p.groups.length, note: `${finished}/${p.groups.length} partitions done` });
  let first: unknown = null;
  try {
    const settled = await Promise.allSettled(p.groups.map(async (g, i): Promise<CommandRun> => {
      const partition = partitionLabel(g);
      try {
        const r = await ex.run({
          runId: ctx.runId, task: p.task, partition, key: p.key, attempt: ctx.attempt, signal: stop.signal, processes: ctx.processes,
          args: [...p.args(g, join(p.stageRoot, `${partition}-${EXECUTION_TOKEN}`)), ...penv.globalArgs],
          logPath: penv.ws.taskLog(ctx.runId, `${p.task}.${partition}`),
          onProgress: (pr) => {
            if (pr.fraction !== undefined) fractions[i] = pr.fraction;
            report();
          },
        });
        fractions[i] = 1;
        finished++;
        report();
        return r;
      } catch (err) {
        first ??= err;
        stop.abort(); // one partition failed: the task fails, the others need not finish
        throw err;
      }
    }));
    if (first !== null) throw first;
    const runs = settled.map((s) => (s as PromiseFulfilledResult<CommandRun>).value);
    const stages = runs.map((r) => r.data.stage);
    if (!stages.every((s): s is string => typeof s === 'string')) throw new StockpipeError('SP_ERR_TASK_FAILED', `a ${p.task} partition answered without its stage folder`);
    return { runs, stages, workers: runs.map((r) => r.worker).filter((w): w is WorkerRecord => w !== null) };
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/**
 * The commit: `doc` written to the stage root as `<name>-a<attempt>.json`, then `stockpipe <command>
 * --commit-stage FILE` in a child process of the runner (the coordinator's); returns its --json data.
 */
export async function runCommit(ctx: TaskContext, penv: PartitionEnv, o: { command: string; stageRoot: string; name: string; doc: unknown }): Promise<Record<string, unknown>> {
  await mkdir(o.stageRoot, { recursive: true });
  const path = join(o.stageRoot, `${o.name}-a${ctx.attempt}.json`);
  await writeFileAtomic(path, `${JSON.stringify(o.doc, null, 2)}\n`);
  const commit = await new LocalExecutor(penv.mainScript, penv.env).run({
    runId: ctx.runId, task: o.command, partition: 'commit', attempt: ctx.attempt, args: [o.command, '--commit-stage', path, ...penv.globalArgs],
    logPath: ctx.logPath, signal: ctx.signal, processes: ctx.processes,
  });
  return commit.data;
}

/**
 * Removes a task's stage folder once the task has ended. A fenced-out execution (a frozen worker's
 * process that woke after its job went to another worker) may still be writing its own stage there,
 * and rm then meets a folder refilled under it (ENOTEMPTY). That must not fail a task whose commit is
 * done: its retry would answer from the cache, without the partitions' worker records. rm is retried
 * a little; what is left is `stockpipe vacuum`'s (it removes the stage folders of finished runs).
 */
export async function removeStageRoot(stageRoot: string, log: Logger): Promise<void> {
  try {
    await rm(stageRoot, { recursive: true, force: true, maxRetries: 3, retryDelay: 50 });
  } catch (err) {
    log.warn({ stage: stageRoot, err: (err as Error).message }, 'could not remove the stage folder (a late execution may still write there): `stockpipe vacuum` removes it');
  }
}
