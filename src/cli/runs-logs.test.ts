import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureOf } from '../../test/helpers/failure.js';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { noLogReason } from '../pipeline/live-view.js';
import { createPipelineRun, updateTaskRun } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import type { CommandContext } from './context.js';
import { runsCancelCommand, runsLogsCommand } from './runs.js';

describe('runs logs: why a task has no log', () => {
  it('tells a task that never started from one that ran in the runner and skipped, or succeeded quickly', () => {
    expect(noLogReason({ status: 'queued', attempts: 0 })).toBe('it never started');
    expect(noLogReason({ status: 'skipped', attempts: 0 })).toBe('it never started');
    expect(noLogReason({ status: 'cancelled', attempts: 0 })).toBe('it never started');
    expect(noLogReason({ status: 'skipped', attempts: 1 })).toMatch(/ran in the runner and decided to skip/);
    expect(noLogReason({ status: 'succeeded', attempts: 1 })).toMatch(/quick in-process or cached task that succeeded/);
    expect(noLogReason({ status: 'cached', attempts: 0 })).toMatch(/cached task/);
  });
});

describe('runs logs ID TASK', () => {
  it('reads a task log, names a command run as such with the pipeline task that has its log, and says a folder is no log', async () => {
    const dir = await tempDir('runs-logs');
    const ws = new Workspace(dir);
    const ctx = { ws, now: () => new Date() } as unknown as CommandContext;
    const reg = openRegistry(ws);
    let pipe: string;
    try {
      pipe = createPipelineRun(reg, { pipeline: 'train', tasks: ['ingest', 'train'], params: { edges: [['ingest', 'train']] } });
      await mkdir(join(dir, 'logs', pipe), { recursive: true });
      await writeFile(join(dir, 'logs', pipe, 'ingest.log'), '{"msg":"ingest done"}\n');
      await mkdir(join(dir, 'logs', pipe, 'train.log'));
      updateTaskRun(reg, pipe, 'ingest', { status: 'succeeded', attempts: 1, log_path: join(dir, 'logs', pipe, 'ingest.log') });
      updateTaskRun(reg, pipe, 'train', { status: 'succeeded', attempts: 1, log_path: join(dir, 'logs', pipe, 'train.log') });
      reg.startRun({ kind: 'train', run_id: 'c-in-pipeline', name: 'train', parent_run_id: pipe });
      reg.logParams('c-in-pipeline', { 'pipeline.task': 'train' });
      reg.startRun({ kind: 'ingest', run_id: 'c-alone', name: 'ingest' });
    } finally {
      reg.close();
    }
    expect((await runsLogsCommand(ctx, pipe, 'ingest')).data.log).toBe('{"msg":"ingest done"}\n');
    // A command run: what it is, and where its log is when a pipeline task ran it.
    const inPipeline = await failureOf(runsLogsCommand(ctx, 'c-in-pipeline', 'train'));
    expect(inPipeline.code).toBe('SP_ERR_RUN_NOT_FOUND');
    expect(inPipeline.message).toMatch(/^run c-in-pipeline is a train command run, not a pipeline run/);
    expect(inPipeline.hint).toContain(`stockpipe runs logs ${pipe} train`);
    const alone = await failureOf(runsLogsCommand(ctx, 'c-alone', 'ingest'));
    expect([alone.code, alone.message.startsWith('run c-alone is an ingest command run'), alone.hint]).toEqual(['SP_ERR_RUN_NOT_FOUND', true, 'Its params and lineage: `stockpipe runs show c-alone`.']);
    expect((await failureOf(runsLogsCommand(ctx, 'no-such-run', 'train'))).message).toMatch(/^no pipeline run 'no-such-run'/);
    const folder = await failureOf(runsLogsCommand(ctx, pipe, 'train'));
    expect([folder.code, folder.message]).toEqual(['SP_ERR_RUN_NOT_FOUND', `the log of task 'train' of run '${pipe}' (${join(dir, 'logs', pipe, 'train.log')}) is not a regular file (a folder)`]);
  });
});

describe('runs cancel ID of a command run', () => {
  // Probed: `runs cancel <the train run a pipeline ran>` said "no pipeline run '<id>'" and hinted
  // `runs list --kind all`, which lists that very run; nothing said which run to cancel.
  it('says what the run is and names the pipeline run to cancel, or how a command alone is stopped', async () => {
    const dir = await tempDir('runs-cancel');
    const ws = new Workspace(dir);
    const ctx = { ws, now: () => new Date() } as unknown as CommandContext;
    const reg = openRegistry(ws);
    let pipe: string;
    try {
      pipe = createPipelineRun(reg, { pipeline: 'train', tasks: ['train'], params: { edges: [] } });
      reg.startRun({ kind: 'train', run_id: 'c-in-pipeline', name: 'train', parent_run_id: pipe });
      reg.logParams('c-in-pipeline', { 'pipeline.task': 'train' });
      reg.startRun({ kind: 'ingest', run_id: 'c-alone', name: 'ingest' });
    } finally {
      reg.close();
    }
    const inPipeline = await failureOf(runsCancelCommand(ctx, 'c-in-pipeline', 0));
    expect([inPipeline.code, inPipeline.message]).toEqual(['SP_ERR_RUN_NOT_FOUND', 'run c-in-pipeline is a train command run, not a pipeline run: `runs cancel` stops pipeline runs']);
    expect(inPipeline.hint).toBe(`It runs as task train of pipeline run ${pipe}: \`stockpipe runs cancel ${pipe}\` stops that run.`);
    const alone = await failureOf(runsCancelCommand(ctx, 'c-alone', 0));
    expect([alone.message, alone.hint]).toEqual(['run c-alone is an ingest command run, not a pipeline run: `runs cancel` stops pipeline runs', 'Stop it as any command: Ctrl-C in the terminal that runs it.']);
    const reg2 = openRegistry(ws);
    try {
      reg2.endRun('c-in-pipeline', 'finished');
    } finally {
      reg2.close();
    }
    expect((await failureOf(runsCancelCommand(ctx, 'c-in-pipeline', 0))).hint).toBe(`It is finished (task train of pipeline run ${pipe}): there is nothing to cancel.`);
    expect((await failureOf(runsCancelCommand(ctx, 'no-such-run', 0))).message).toMatch(/^no pipeline run 'no-such-run'/);
  });
});
