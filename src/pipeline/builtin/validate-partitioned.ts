/** @module pipeline/builtin/validate-partitioned
 * The validate task on a queue executor (docs/scale-out.md): when the check is incremental (the
 * workspace's reference, an earlier report of an older snapshot, only appends or restates since),
 * the whole-table passes (rows per date, per-symbol groups, drift bin counts) run as at most
 * `pipeline.partitions` jobs over groups of the table's buckets (`validate --plan … --buckets …
 * --stage …`), and the runner's child `validate --commit-stage COMMIT.json` adds them up, checks the
 * new rows and writes the report — the same report as a local run. Otherwise (a first check, a new
 * reference, a full re-check) validate is one job. */
import { join } from 'node:path';
import { hashJson, writeFileAtomic } from '../../core/fs.js';
import { planValidatePartitions } from '../../validate/partitions.js';
import type { CommandExecutor } from '../executor.js';
import type { TaskContext, TaskResult, TaskSummary } from '../types.js';
import { bucketGroups, type PartitionEnv, removeStageRoot, runCommit, runPartitionJobs } from './partition-jobs.js';

export function partitionedValidate(penv: PartitionEnv, ex: CommandExecutor, whole: (ctx: TaskContext) => Promise<TaskResult>, toResult: (data: TaskSummary) => TaskResult): (ctx: TaskContext) => Promise<TaskResult> {
  return async (ctx) => {
    const ws = penv.ws;
    const plan = await planValidatePartitions(ws, penv.config.validate.table);
    if (plan === null || plan.buckets.length === 0) return whole(ctx);
    const stageRoot = ws.stageDir(ctx.runId, 'validate');
    try {
      const planPath = join(stageRoot, `plan-a${ctx.attempt}.json`);
      await writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`);
      const { stages, workers } = await runPartitionJobs(ctx, ex, penv, {
        task: 'validate',
        key: hashJson(plan).slice(0, 10),
        groups: bucketGroups(plan.buckets, penv.config.pipeline.partitions),
        stageRoot,
        args: (g, stage) => ['validate', '--plan', planPath, '--buckets', g.join(','), '--stage', stage],
      });
      const data = await runCommit(ctx, penv, { command: 'validate', stageRoot, name: 'commit', doc: { version: 1, commit_key: `${ctx.runId}.validate`, plan, stages } });
      return { summary: data, ...toResult(data), workers };
    } finally {
      await removeStageRoot(stageRoot, ctx.log);
    }
  };
}
