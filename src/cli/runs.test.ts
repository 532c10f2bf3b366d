import { describe, expect, it } from 'vitest';
import { failureOf } from '../../test/helpers/failure.js';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { createBackfill } from '../registry/backfills.js';
import { createPipelineRun } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import type { CommandContext } from './context.js';
import { listedRuns, noRunsText, runsCancelCommand, runsListCommand, runsLogsCommand, runsShowCommand } from './runs.js';

describe('runs list, an empty page', () => {
  it('says why: past the last run, nothing matching the filters, or nothing yet (with the pipeline to run)', () => {
    expect(noRunsText({ pipeline: 'train' }, 1)).toBe('no runs on this page (1 in all): use a smaller --offset');
    expect(noRunsText({ pipeline: 'train', status: 'failed' }, 0)).toBe('no failed train pipeline runs');
    expect(noRunsText({ backfill: 'b1' }, 0)).toBe('no pipeline runs in backfill b1');
    expect(noRunsText({ pipeline: 'daily' }, 0)).toBe('no daily pipeline runs yet: try `stockpipe run daily`');
    expect(noRunsText({}, 0)).toBe('no pipeline runs yet: try `stockpipe run train`');
  });
});

describe('runs list, the first line', () => {
  // Probed: `runs list --limit 1 --offset 1` printed "6 runs (newest 1)" above the second newest run.
  it('says which runs are shown: all, the newest N, or N after the newest --offset', () => {
    expect(listedRuns(1, 1)).toBe('1 run');
    expect(listedRuns(6, 6)).toBe('6 runs');
    expect(listedRuns(6, 2)).toBe('6 runs (newest 2)');
    expect(listedRuns(6, 1, 1)).toBe('6 runs (1 shown, after the newest 1)');
    expect(listedRuns(6, 2, 4)).toBe('6 runs (2 shown, after the newest 4)');
  });
});

describe('runs list --backfill', () => {
  it('takes the start of an id that runs list shows (8 characters); an unknown one is an error, not "no runs"', async () => {
    const ws = new Workspace(await tempDir('runs-list'));
    const ctx = { ws, now: () => new Date() } as unknown as CommandContext;
    const reg = openRegistry(ws);
    try {
      for (const [id, day] of [['3f2a9c41d07e4b55a1c2', '2024-05-01'], ['3f2a9c41ffff0000aaaa', '2024-05-02'], ['9d00e5b7aa114c2d8e3f', '2024-05-03']] as const) {
        createBackfill(reg, { backfill_id: id, pipeline: 'daily', from: day, to: day, days: [day] });
        createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], params: { edges: [] }, logical_date: day, backfill_id: id });
      }
    } finally {
      reg.close();
    }
    const of = async (backfill: string): Promise<string[]> => ((await runsListCommand(ctx, { backfill })).data.runs as { logical_date: string | null }[]).map((r) => r.logical_date ?? '');
    expect(await of('9d00e5b7aa114c2d8e3f')).toEqual(['2024-05-03']);
    expect(await of('9d00e5b7')).toEqual(['2024-05-03']);
    expect(await of('3f2a9c41d0')).toEqual(['2024-05-01']);
    const several = await failureOf(of('3f2a9c41'));
    expect([several.code, several.message]).toEqual(['SP_ERR_USAGE', expect.stringContaining('starts the ids of several backfills')]);
    const unknown = await failureOf(of('0000beef'));
    expect([unknown.code, unknown.message.startsWith("no backfill '0000beef'")]).toEqual(['SP_ERR_RUN_NOT_FOUND', true]);
    // The backfill id runs list shows, given to runs show|logs|cancel: it said "no run" and hinted runs list.
    const show = await failureOf(runsShowCommand(ctx, '9d00e5b7'));
    expect([show.code, show.message, show.hint]).toEqual(['SP_ERR_RUN_NOT_FOUND', `no run '9d00e5b7' in ${ws.registryPath}: it starts the id of a backfill, not of a run`,
      '`stockpipe runs list --backfill 9d00e5b7` lists its runs, one per day; `stockpipe runs show RUN_ID` shows one.']);
    const cancel = await failureOf(runsCancelCommand(ctx, '9d00e5b7aa114c2d8e3f', 0));
    expect([cancel.message, cancel.hint]).toEqual([`no pipeline run '9d00e5b7aa114c2d8e3f' in ${ws.registryPath}: it is the id of a backfill, not of a run`,
      '`stockpipe runs list --backfill 9d00e5b7` lists its runs, one per day; `stockpipe runs cancel RUN_ID` of its running one stops the backfill.']);
    expect((await failureOf(runsLogsCommand(ctx, '9d00e5b7', 'fetch'))).hint).toContain('`stockpipe runs logs RUN_ID TASK` shows a day');
    // Several backfills start so: no backfill named.
    expect((await failureOf(runsShowCommand(ctx, '3f2a9c41'))).message).toBe(`no run '3f2a9c41' in ${ws.registryPath}`);
  });
});

describe('runs list --parent', () => {
  // Probed: `runs list --parent <a mistyped id>` printed "no runs", as for a run without children.
  it('an id no run has is SP_ERR_RUN_NOT_FOUND naming the newest runs (as runs show, runs logs); a run without children lists none', async () => {
    const ws = new Workspace(await tempDir('runs-parent'));
    const ctx = { ws, now: () => new Date() } as unknown as CommandContext;
    const empty = await failureOf(runsListCommand(ctx, { parent: 'nope' }));
    expect([empty.code, empty.hint]).toEqual(['SP_ERR_RUN_NOT_FOUND', 'No run is recorded in this workspace yet.']);
    const reg = openRegistry(ws);
    let pipe = '';
    try {
      reg.startRun({ kind: 'fetch', run_id: 'c-old', name: 'fetch', started_at: '2026-01-01T00:00:00.000Z' });
      reg.endRun('c-old', 'finished');
      pipe = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], params: { edges: [] }, started_at: '2026-01-02T00:00:00.000Z' });
    } finally {
      reg.close();
    }
    expect((await runsListCommand(ctx, { parent: pipe })).data).toEqual({ kind: 'all', runs: [], total: 0 });
    const unknown = await failureOf(runsListCommand(ctx, { parent: 'nope' }));
    expect([unknown.code, unknown.message]).toEqual(['SP_ERR_RUN_NOT_FOUND', `no run 'nope' in ${ws.registryPath}`]);
    expect(unknown.hint).toBe(`The newest: ${pipe} (pipeline daily, running, started 2026-01-02T00:00:00.000Z); c-old (fetch, finished, started 2026-01-01T00:00:00.000Z); \`stockpipe runs list --kind all\` lists every run.`);
    expect((await failureOf(runsShowCommand(ctx, 'nope'))).hint).toBe(unknown.hint);
    expect((await failureOf(runsLogsCommand(ctx, 'nope', 'fetch'))).hint).toBe(`The newest pipeline runs: ${pipe} (pipeline daily, running, started 2026-01-02T00:00:00.000Z); \`stockpipe runs list\` lists them.`);
  });
});
