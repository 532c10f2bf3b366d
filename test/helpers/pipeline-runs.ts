/** @module test/helpers/pipeline-runs
 * Seeds the registry with realistic pipeline runs of the 7-task train pipeline (fetch → ingest →
 * validate → features → train → evaluate → register) and their task log files, as the runner
 * would leave them: one finished run (fetch cached, features retried once) and one still running. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPipelineRun, updateTaskRun, type TaskPatch } from '../../src/registry/pipeline.js';
import { openRegistry } from '../../src/registry/store.js';

export const TRAIN_TASKS = ['fetch', 'ingest', 'validate', 'features', 'train', 'evaluate', 'register'] as const;
export const TRAIN_EDGES: [string, string][] = TRAIN_TASKS.slice(1).map((t, i) => [TRAIN_TASKS[i]!, t]);

async function writeLog(ws: string, runId: string, task: string, lines: string[]): Promise<string> {
  const rel = join('logs', runId, `${task}.log`);
  await mkdir(join(ws, 'logs', runId), { recursive: true });
  await writeFile(join(ws, rel), `${lines.join('\n')}\n`);
  return rel;
}

/** Returns the ids of the finished run and of the running one. */
export async function seedPipelineRuns(ws: string): Promise<{ finished: string; running: string }> {
  const reg = openRegistry(ws);
  try {
    const finished = createPipelineRun(reg, { pipeline: 'train', tasks: TRAIN_TASKS, params: { edges: TRAIN_EDGES, symbols: 20 } });
    const done: Record<string, TaskPatch> = {
      fetch: { status: 'cached', attempts: 0, seconds: 0.01, cache_key: 'k-fetch' },
      ingest: { status: 'succeeded', attempts: 1, seconds: 0.8, rows_in: 10_000, rows_out: 9_990 },
      validate: { status: 'succeeded', attempts: 1, seconds: 0.2, rows_in: 9_990, rows_out: 9_990 },
      features: { status: 'succeeded', attempts: 2, seconds: 1.4, rows_in: 9_990, rows_out: 9_990, error_code: null },
      train: { status: 'succeeded', attempts: 1, seconds: 3.1, rows_in: 9_400 },
      evaluate: { status: 'succeeded', attempts: 1, seconds: 0.4 },
      register: { status: 'succeeded', attempts: 1, seconds: 0.05 },
    };
    for (const [task, patch] of Object.entries(done)) {
      const log_path = await writeLog(ws, finished, task, [`{"level":30,"msg":"${task} started"}`, ...(task === 'features' ? ['{"level":40,"msg":"attempt 1 failed: worker exited; retrying"}'] : []), `{"level":30,"msg":"${task} done"}`]);
      updateTaskRun(reg, finished, task, { ...patch, log_path, started_at: reg.timestamp(), ended_at: reg.timestamp() });
    }
    reg.endRun(finished, 'finished');

    const running = createPipelineRun(reg, { pipeline: 'train', tasks: TRAIN_TASKS, params: { edges: TRAIN_EDGES } });
    for (const task of TRAIN_TASKS.slice(0, 4)) {
      updateTaskRun(reg, running, task, { status: task === 'fetch' ? 'cached' : 'succeeded', attempts: 1, seconds: 0.3, log_path: await writeLog(ws, running, task, [`${task} ok`]) });
    }
    updateTaskRun(reg, running, 'train', { status: 'running', attempts: 1, started_at: reg.timestamp(), log_path: await writeLog(ws, running, 'train', ['training…']) });
    return { finished, running };
  } finally {
    reg.close();
  }
}

/** Finishes the running run as the runner would. */
export function finishRun(ws: string, runId: string): void {
  const reg = openRegistry(ws);
  try {
    for (const task of ['train', 'evaluate', 'register']) updateTaskRun(reg, runId, task, { status: 'succeeded', attempts: 1, seconds: 0.5 });
    reg.endRun(runId, 'finished');
  } finally {
    reg.close();
  }
}
