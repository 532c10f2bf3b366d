/** @module pipeline/builtin/ingest-partitioned
 * The ingest task on a queue executor (docs/scale-out.md): the runner plans which symbol buckets
 * have source files to read (etl/ingest-partitions: the files whose size or mtime changed since the
 * catalog's ingest state — the partitions' cache keys — or every bucket for a first or a full
 * ingest), groups them into at most `pipeline.partitions` jobs that parse their buckets' files into
 * stage folders (`ingest --plan … --buckets … --stage …`), then commits every stage as ONE prices
 * snapshot in its own child process (`ingest --commit-stage COMMIT.json`, keyed by the run: a
 * replay commits nothing new). A zip source (read whole) runs as one plain `ingest` job. */
import { join } from 'node:path';
import { hashJson, writeFileAtomic } from '../../core/fs.js';
import { planIngestPartitions } from '../../etl/ingest-partitions.js';
import { openRegistry } from '../../registry/store.js';
import type { CommandExecutor } from '../executor.js';
import type { TaskContext, TaskResult, TaskSummary } from '../types.js';
import { bucketGroups, type PartitionEnv, removeStageRoot, runCommit, runPartitionJobs } from './partition-jobs.js';

/** `whole`: the task as one job (the zip case), as the local executor would run it. */
export function partitionedIngest(penv: PartitionEnv, ex: CommandExecutor, sourceId: (ctx: TaskContext) => string, whole: (ctx: TaskContext) => Promise<TaskResult>, toResult: (data: TaskSummary) => TaskResult): (ctx: TaskContext) => Promise<TaskResult> {
  return async (ctx) => {
    const ws = penv.ws;
    const reg = openRegistry(ws, { readonly: true });
    let planned: Awaited<ReturnType<typeof planIngestPartitions>>;
    try {
      planned = await planIngestPartitions(ws, reg, { sourceId: sourceId(ctx), strict: penv.config.ingest.strict });
    } finally {
      reg.close();
    }
    const { plan, previous } = planned;
    if (plan.cached && previous !== null) {
      // The last ingest read these very files: its report, as `ingest` answers.
      const summary = { ...previous, cached: true } as unknown as TaskSummary;
      return { summary, ...toResult(summary) };
    }
    if (plan.single) return whole(ctx);
    const stageRoot = ws.stageDir(ctx.runId, 'ingest');
    try {
      // The partitions read the plan from the shared workspace.
      const planPath = join(stageRoot, `plan-a${ctx.attempt}.json`);
      await writeFileAtomic(planPath, `${JSON.stringify(plan, null, 2)}\n`);
      const groups = bucketGroups(plan.changed_buckets, penv.config.pipeline.partitions);
      const { stages, workers } = groups.length === 0
        ? { stages: [], workers: [] }
        : await runPartitionJobs(ctx, ex, penv, {
          task: 'ingest',
          key: hashJson(plan).slice(0, 10),
          groups,
          stageRoot,
          args: (g, stage) => ['ingest', '--plan', planPath, '--buckets', g.join(','), '--stage', stage],
        });
      const data = await runCommit(ctx, penv, { command: 'ingest', stageRoot, name: 'commit', doc: { version: 1, commit_key: `${ctx.runId}.ingest`, plan, stages } });
      return { summary: data, ...toResult(data), workers };
    } finally {
      await removeStageRoot(stageRoot, ctx.log);
    }
  };
}
