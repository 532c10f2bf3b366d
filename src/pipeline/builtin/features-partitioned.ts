/** @module pipeline/builtin/features-partitioned
 * The features task on a queue executor (docs/scale-out.md): the runner plans which symbol buckets
 * changed since the features were built (features/partitions: a bucket whose prices files are
 * unchanged keeps its features files — its cache key), groups the changed ones into at most
 * `pipeline.partitions` jobs, lets workers compute each group into a stage folder of its own
 * (`features --buckets … --stage …`), then commits every stage as one snapshot in its own child
 * process (`features --commit-stage PLAN.json`, keyed by the run: a replay commits nothing new).
 * The fan-out and the commit child are ./partition-jobs; the run's stage folder is removed once the task ends. */
import { readFile } from 'node:fs/promises';
import { hashJson } from '../../core/fs.js';
import { type FeaturePartitionPlan, planFeaturePartitions } from '../../features/partitions.js';
import { openRegistry } from '../../registry/store.js';
import type { CommandExecutor } from '../executor.js';
import type { TaskContext, TaskResult, TaskSummary } from '../types.js';
import { bucketGroups, type PartitionEnv, removeStageRoot, runCommit, runPartitionJobs } from './partition-jobs.js';

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
    const stageRoot = ws.stageDir(ctx.runId, 'features');
    try {
      const { stages, workers } = await runPartitionJobs(ctx, ex, penv, {
        task: 'features',
        key: hashJson(plan).slice(0, 10),
        groups: bucketGroups(plan.changed_buckets, penv.config.pipeline.partitions),
        stageRoot,
        args: (g, stage) => ['features', '--buckets', g.join(','), '--stage', stage, '--prices-snapshot', String(plan.prices_snapshot), '--lineage', String(plan.lineage_id), '--window', String(plan.window), ...(extended ? ['--extended'] : [])],
      });
      const data = await runCommit(ctx, penv, { command: 'features', stageRoot, name: 'plan', doc: { version: 1, commit_key: `${ctx.runId}.features`, plan, stages } });
      return { summary: data, ...toResult(data), workers };
    } finally {
      await removeStageRoot(stageRoot, ctx.log);
    }
  };
}
