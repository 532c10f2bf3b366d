/** @module pipeline/builtin/forecast-partitioned
 * The forecast task on a queue executor (docs/scale-out.md): the runner resolves the model once,
 * at most `pipeline.partitions` jobs each predict the symbols of a group of buckets into a stage
 * folder (`forecast --plan … --buckets … --stage …`; each reads the whole features table, so every
 * feature is what a whole run sees), and the runner's child `forecast --commit-stage COMMIT.json`
 * writes them all in one registry transaction under a run named by the commit's key (a replay
 * writes nothing new). */
import { join } from 'node:path';
import { hashJson, writeFileAtomic } from '../../core/fs.js';
import { planForecastPartitions } from '../../ml/forecast-partitions.js';
import type { CommandExecutor } from '../executor.js';
import type { TaskContext, TaskResult, TaskSummary } from '../types.js';
import { bucketGroups, type PartitionEnv, removeStageRoot, runCommit, runPartitionJobs } from './partition-jobs.js';

export function partitionedForecast(penv: PartitionEnv, ex: CommandExecutor, toResult: (data: TaskSummary) => TaskResult): (ctx: TaskContext) => Promise<TaskResult> {
  return async (ctx) => {
    const ws = penv.ws;
    const plan = planForecastPartitions(ws, { until: ctx.logicalDate ?? undefined });
    const stageRoot = ws.stageDir(ctx.runId, 'forecast');
    try {
      const planPath = join(stageRoot, `plan-a${ctx.attempt}.json`);
      await writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`);
      const { stages, workers } = await runPartitionJobs(ctx, ex, penv, {
        task: 'forecast',
        key: hashJson(plan).slice(0, 10),
        groups: bucketGroups(plan.buckets, penv.config.pipeline.partitions),
        stageRoot,
        args: (g, stage) => ['forecast', '--plan', planPath, '--buckets', g.join(','), '--stage', stage],
      });
      const data = await runCommit(ctx, penv, { command: 'forecast', stageRoot, name: 'commit', doc: { version: 1, commit_key: `${ctx.runId}.forecast${ctx.logicalDate === null ? '' : `.${ctx.logicalDate}`}`, plan, stages } });
      return { summary: data, ...toResult(data), workers };
    } finally {
      await removeStageRoot(stageRoot, ctx.log);
    }
  };
}
