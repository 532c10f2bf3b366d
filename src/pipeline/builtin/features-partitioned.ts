/** @module pipeline/builtin/features-partitioned
 * The features task on a queue executor (docs/scale-out.md): the runner plans which symbol buckets
 * changed since the features were built (features/partitions: a bucket whose prices files are
 * unchanged keeps its features files — its cache key), groups the changed ones into at most
 * `pipeline.partitions` jobs, lets workers compute each group into a stage folder of its own
 * (`features --buckets … --stage …`), then commits every stage as one snapshot in its own child
 * process (`features --commit-stage PLAN.json`, keyed by the run: a replay commits nothing new).
 * A failed partition stops the others; the run's stage folder is removed once the task ends. */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StockpipeError } from '../../core/errors.js';
import { hashJson, writeFileAtomic } from '../../core/fs.js';
import { type FeaturePartitionPlan, planFeaturePartitions } from '../../features/partitions.js';
import type { WorkerRecord } from '../../registry/pipeline.js';
import { openRegistry } from '../../registry/store.js';
import type { Config } from '../../core/config.js';
import type { Workspace } from '../../core/workspace.js';
import { type CommandExecutor, type CommandRun, EXECUTION_TOKEN, LocalExecutor } from '../executor.js';
import type { TaskContext, TaskResult, TaskSummary } from '../types.js';

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

export function partitionedFeatures(penv: PartitionEnv, ex: CommandExecutor, extended: boolean, toResult: (data: TaskSummary) => TaskResult): (ctx: TaskContext) => Promise<TaskResult> {
  return async (ctx) => {
    const ws = penv.ws;
    const reg = openRegistry(ws, { readonly: true });
    let plan: FeaturePartitionPlan;
    try {
      plan = planFeaturePartitions(ws, reg, { window: penv.config.features.window, extended, force: ctx.forced === true });
    } finally {
      reg.close();
    }
    if (plan.cached) {
      // Built from this prices snapshot with these settings: the last report, as `features` answers.
      const report = JSON.parse(await readFile(ws.featuresReport, 'utf8')) as TaskSummary;
      return { summary: { ...report, cached: true }, ...toResult(report) };
    }
    const groups = bucketGroups(plan.changed_buckets, penv.config.pipeline.partitions);
    const stageRoot = ws.stageDir(ctx.runId, 'features');
    // The plan in each job's id: a resumed run re-attaches to the same partitions only if it plans the same work.
    const key = hashJson(plan).slice(0, 10);
    const stop = new AbortController();
    const onAbort = (): void => stop.abort();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    const fractions = new Array<number>(groups.length).fill(0);
    let finished = 0;
    const report = (): void => ctx.progress({ fraction: fractions.reduce((a, b) => a + b, 0) / groups.length, note: `${finished}/${groups.length} partitions done` });
    let first: unknown = null;
    try {
      const settled = await Promise.allSettled(groups.map(async (g, i): Promise<CommandRun> => {
        const partition = partitionLabel(g);
        try {
          const r = await ex.run({
            runId: ctx.runId, task: 'features', partition, key, attempt: ctx.attempt, signal: stop.signal, processes: ctx.processes,
            args: ['features', '--buckets', g.join(','), '--stage', join(stageRoot, `${partition}-${EXECUTION_TOKEN}`), '--prices-snapshot', String(plan.prices_snapshot),
              '--lineage', String(plan.lineage_id), '--window', String(plan.window), ...(extended ? ['--extended'] : []), ...penv.globalArgs],
            logPath: ws.taskLog(ctx.runId, `features.${partition}`),
            onProgress: (p) => {
              if (p.fraction !== undefined) fractions[i] = p.fraction;
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
      if (!stages.every((s): s is string => typeof s === 'string')) throw new StockpipeError('SP_ERR_TASK_FAILED', 'a features partition answered without its stage folder');
      // The commit: the coordinator's, in a child process of its own (as every local command runs).
      await mkdir(stageRoot, { recursive: true });
      const planPath = join(stageRoot, `plan-a${ctx.attempt}.json`);
      await writeFileAtomic(planPath, `${JSON.stringify({ version: 1, commit_key: `${ctx.runId}.features`, plan, stages }, null, 2)}\n`);
      const commit = await new LocalExecutor(penv.mainScript, penv.env).run({
        runId: ctx.runId, task: 'features', partition: 'commit', attempt: ctx.attempt, args: ['features', '--commit-stage', planPath, ...penv.globalArgs],
        logPath: ctx.logPath, signal: ctx.signal, processes: ctx.processes,
      });
      const workers = runs.map((r) => r.worker).filter((w): w is WorkerRecord => w !== null);
      return { summary: commit.data, ...toResult(commit.data), workers };
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      await rm(stageRoot, { recursive: true, force: true });
    }
  };
}
