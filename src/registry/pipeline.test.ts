import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listAlerts, markAlertDelivered, recordAlert } from './alerts.js';
import { createBackfill, endBackfill, getBackfill, listBackfills, recordBackfillDays, reopenBackfill, unfinishedBackfill } from './backfills.js';
import { abandonedRunIds, cacheLookup, cacheStore, countPipelineRuns, createPipelineRun, getPipelineRun, latestRunForDate, latestUnfinishedRun, listPipelineRuns, recordRunner, reopenPipelineRun, runOfRunner, updateTaskRun, type RunnerGoneCheck } from './pipeline.js';
import { openRegistry, type Registry } from './store.js';

let ws: string;
let reg: Registry;
let t: number;
beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-pipe-store-'));
  t = Date.parse('2024-01-01T00:00:00.000Z');
  reg = openRegistry(ws, { now: () => new Date((t += 1000)) });
});
afterEach(async () => {
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

describe('pipeline run history', () => {
  it('plans, updates, lists and reads back a run with its tasks', () => {
    const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch', 'ingest'], params: { force: false } });
    updateTaskRun(reg, id, 'fetch', { status: 'succeeded', attempts: 1, seconds: 1.5, outputs: [{ path: 'raw/x', sha256: 'ab', bytes: 3 }], summary: { files: 2 } });
    updateTaskRun(reg, id, 'ingest', { status: 'failed', attempts: 3, error_code: 'SP_ERR_INPUT_MALFORMED', error: 'bad line' });
    reg.endRun(id, 'failed', 'ingest failed');
    const run = getPipelineRun(reg, id)!;
    expect(run.pipeline).toBe('train');
    expect(run.tasks.map((x) => [x.task, x.status, x.attempts])).toEqual([['fetch', 'succeeded', 1], ['ingest', 'failed', 3]]);
    expect(run.tasks[0]!.outputs[0]!.sha256).toBe('ab');
    expect(run.tasks[0]!.summary).toEqual({ files: 2 });
    expect(run.task_counts).toEqual({ succeeded: 1, failed: 1 });
    expect(run.params.force).toBe('false');
    expect(listPipelineRuns(reg)[0]!.task_counts).toEqual({ succeeded: 1, failed: 1 });
    expect(countPipelineRuns(reg, { status: 'failed' })).toBe(1);
    expect(latestUnfinishedRun(reg, 'train')?.run_id).toBe(id);
    reopenPipelineRun(reg, id, ['ingest']);
    expect(getPipelineRun(reg, id)!.status).toBe('running');
    expect(getPipelineRun(reg, id)!.tasks[1]!.status).toBe('queued');
    expect(getPipelineRun(reg, 'nope')).toBeNull();
  });

  // A stored 'running' run reads 'abandoned' only when its recorded runner is gone; one case a line.
  const DEAD = 999_001;
  const gone: RunnerGoneCheck = (r) => r.pid === DEAD;
  it.each([
    { name: 'runner gone, run left running', runner: { pid: DEAD, host: 'h', start: '1' }, end: null, read: 'abandoned' },
    { name: 'runner alive', runner: { pid: 42, host: 'h', start: '1' }, end: null, read: 'running' },
    { name: 'no runner recorded (older runs)', runner: null, end: null, read: 'running' },
    { name: 'runner gone, run ended failed', runner: { pid: DEAD, host: 'h', start: '1' }, end: 'failed', read: 'failed' },
    { name: 'runner gone, run finished', runner: { pid: DEAD, host: 'h', start: '1' }, end: 'finished', read: 'finished' },
  ] as const)('run status as read: $name → $read', ({ runner, end, read }) => {
    const other = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'] });
    reg.endRun(other, 'cancelled'); // a neighbour the status filter must leave out
    const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'] });
    if (runner) recordRunner(reg, id, runner);
    if (end) reg.endRun(id, end);
    expect(getPipelineRun(reg, id, gone)!.status).toBe(read);
    expect(listPipelineRuns(reg, { gone }).find((r) => r.run_id === id)!.status).toBe(read);
    expect(listPipelineRuns(reg, { status: read, gone }).map((r) => r.run_id)).toEqual([id]);
    expect(countPipelineRuns(reg, { status: read, gone })).toBe(1);
    expect(abandonedRunIds(reg, gone)).toEqual(read === 'abandoned' ? [id] : []);
    if (read === 'abandoned') expect(latestUnfinishedRun(reg, 'train')?.run_id).toBe(id); // still resumable
  });

  it('finds the run a scheduled process began by its pid and host, started since it was spawned, with its status as read', () => {
    const old = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'] });
    recordRunner(reg, old, { pid: DEAD, host: 'h', start: '0' }); // an earlier run by a process of the same pid
    reg.endRun(old, 'finished');
    const since = new Date(t).toISOString();
    const command = reg.startRun({ kind: 'train', name: 'daily' }); // a command run of that process is no pipeline run
    recordRunner(reg, command, { pid: DEAD, host: 'h', start: '1' });
    const id = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'] });
    recordRunner(reg, id, { pid: DEAD, host: 'h', start: '1' });
    expect(runOfRunner(reg, 'daily', { pid: DEAD, host: 'h' }, since, gone)).toEqual({ run_id: id, status: 'abandoned' });
    expect(runOfRunner(reg, 'daily', { pid: DEAD, host: 'other' }, since, gone)).toBeNull();
    expect(runOfRunner(reg, 'train', { pid: DEAD, host: 'h' }, since, gone)).toBeNull();
    expect(runOfRunner(reg, 'daily', { pid: 7, host: 'h' }, since, gone)).toBeNull();
    reg.endRun(id, 'failed');
    expect(runOfRunner(reg, 'daily', { pid: DEAD, host: 'h' }, since, gone)).toEqual({ run_id: id, status: 'failed' });
  });

  // [the pipeline's runs, oldest first (status each ended with)] → which one `run --resume` picks (index, or null).
  it.each([
    [['failed'], 0],
    [['finished', 'cancelled'], 1],
    [['cancelled', 'finished'], null], // superseded: a second `run --resume` after the first finished resumed the stale one
    [['failed', 'cancelled', 'finished'], null],
    [['finished', 'running'], 1], // killed (its runner gone)
    [['finished'], null],
  ] as const)('latestUnfinishedRun over %j → %s', (statuses, pick) => {
    const ids = statuses.map((st) => {
      const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'] });
      if (st !== 'running') reg.endRun(id, st);
      return id;
    });
    createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'] }); // another pipeline's run does not supersede
    expect(latestUnfinishedRun(reg, 'train')?.run_id ?? null).toBe(pick === null ? null : ids[pick]);
  });

  it('a resumed run records its new runner and reads running again', () => {
    const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'] });
    recordRunner(reg, id, { pid: DEAD, host: 'h', start: null });
    expect(getPipelineRun(reg, id, gone)!.status).toBe('abandoned');
    reopenPipelineRun(reg, id, ['fetch']);
    recordRunner(reg, id, { pid: 43, host: 'h', start: null });
    expect(getPipelineRun(reg, id, gone)!.status).toBe('running');
  });

  it('a runner that ends its run after the reader read it running, and exits before the reader looks for it, leaves its status, not abandoned', () => {
    // The reader is paused between its read of 'running' and its look for the runner (a busy machine):
    // meanwhile the runner commits 'cancelled' and exits. The look finds it gone; the status it stored wins.
    const id = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], params: { backfill: 'b1' } });
    recordRunner(reg, id, { pid: DEAD, host: 'h', start: '1' });
    let ended = false;
    const endsThenGone: RunnerGoneCheck = (r) => {
      if (!ended) {
        reg.endRun(id, 'cancelled', 'cancelled');
        ended = true;
      }
      return r.pid === DEAD;
    };
    expect(getPipelineRun(reg, id, endsThenGone)!.status).toBe('cancelled');
    for (const list of [() => listPipelineRuns(reg, { gone: endsThenGone }), () => listPipelineRuns(reg, { status: 'cancelled', gone: endsThenGone })]) {
      reopenPipelineRun(reg, id, ['fetch']);
      ended = false;
      expect(list().find((r) => r.run_id === id)?.status).toBe('cancelled');
    }
    reopenPipelineRun(reg, id, ['fetch']);
    ended = false;
    expect(countPipelineRuns(reg, { status: 'abandoned', gone: endsThenGone })).toBe(0);
    // Still left running once the runner is gone: abandoned, as before.
    reopenPipelineRun(reg, id, ['fetch']);
    expect(getPipelineRun(reg, id, gone)!.status).toBe('abandoned');
  });

  it('refuses an unknown task status', () => {
    const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'] });
    expect(() => updateTaskRun(reg, id, 'fetch', { status: 'bogus' as 'queued' })).toThrow(expect.objectContaining({ code: 'SP_ERR_REGISTRY', cause: expect.objectContaining({ code: 'SQLITE_CONSTRAINT_CHECK' }) }));
  });

  it('cache entries are keyed by task and key; storing again replaces', () => {
    const id = createPipelineRun(reg, { pipeline: 'train', tasks: ['fetch'] });
    expect(cacheLookup(reg, 'fetch', 'k1')).toBeNull();
    cacheStore(reg, { task: 'fetch', cache_key: 'k1', run_id: id, outputs: [{ path: 'a', sha256: '1', bytes: 1 }], summary: null });
    cacheStore(reg, { task: 'fetch', cache_key: 'k1', run_id: id, outputs: [{ path: 'a', sha256: '2', bytes: 1 }], summary: { n: 1 } });
    expect(cacheLookup(reg, 'fetch', 'k1')?.outputs[0]!.sha256).toBe('2');
    expect(cacheLookup(reg, 'ingest', 'k1')).toBeNull();
  });

  it('alerts are recorded, marked delivered and listed newest first', () => {
    const a = recordAlert(reg, { kind: 'task_failed', severity: 'error', message: 'ingest failed', pipeline: 'train', details: { task: 'ingest' } });
    recordAlert(reg, { kind: 'drift', severity: 'warning', message: 'psi 0.3' });
    markAlertDelivered(reg, a.id, { webhook: 'ok' });
    const list = listAlerts(reg);
    expect(list.map((x) => x.kind)).toEqual(['drift', 'task_failed']);
    expect(list[1]!.delivered).toEqual({ webhook: 'ok' });
    expect(listAlerts(reg, { kind: 'drift' })).toHaveLength(1);
  });

  it('records a logical date and backfill with the run (and the runner in the same transaction); finds the newest run of a date', () => {
    const plain = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'] });
    expect(getPipelineRun(reg, plain)!.logical_date).toBeNull();
    const a = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-03', backfill_id: 'b1', runner: { pid: 42, host: 'h', start: null } });
    reg.endRun(a, 'failed');
    const b = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-03' });
    const run = getPipelineRun(reg, a)!;
    expect([run.logical_date, run.backfill_id, run.params.runner_pid]).toEqual(['2024-07-03', 'b1', '42']);
    expect(listPipelineRuns(reg).map((r) => [r.logical_date, r.backfill_id])).toEqual([['2024-07-03', null], ['2024-07-03', 'b1'], [null, null]]);
    expect(listPipelineRuns(reg, { backfill: 'b1' }).map((r) => r.run_id)).toEqual([a]);
    expect(countPipelineRuns(reg, { backfill: 'b1' })).toBe(1);
    expect(latestRunForDate(reg, 'daily', '2024-07-03')?.run_id).toBe(b);
    expect(latestRunForDate(reg, 'train', '2024-07-03')).toBeNull();
    expect(latestRunForDate(reg, 'daily', '2024-07-05')).toBeNull();
    // A --from/--to slice of a day is not the day's run: it ran part of the pipeline only.
    const slice = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-03', params: { from: null, to: 'fetch' } });
    reg.endRun(slice, 'finished');
    expect(latestRunForDate(reg, 'daily', '2024-07-03')?.run_id).toBe(b);
    const onlySlice = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-05', params: { from: 'fetch', to: null } });
    reg.endRun(onlySlice, 'finished');
    expect(latestRunForDate(reg, 'daily', '2024-07-05')).toBeNull();
    const whole = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-05', params: { from: null, to: null } });
    expect(latestRunForDate(reg, 'daily', '2024-07-05')?.run_id).toBe(whole);
  });

  it('backfills: days queued, recorded with counts, ended, found again while unfinished', () => {
    createBackfill(reg, { backfill_id: 'b1', pipeline: 'daily', from: '2024-07-02', to: '2024-07-05', days: ['2024-07-02', '2024-07-03', '2024-07-05'] });
    const run = createPipelineRun(reg, { pipeline: 'daily', tasks: ['fetch'], logical_date: '2024-07-02', backfill_id: 'b1' });
    recordBackfillDays(reg, 'b1', [{ date: '2024-07-02', run_id: run, status: 'succeeded', seconds: 1 }, { date: '2024-07-03', run_id: null, status: 'failed', seconds: 0.5 }], { succeeded: 1, failed: 1, skipped: 0 });
    endBackfill(reg, 'b1', 'failed', 'day 2024-07-03 failed');
    const b = getBackfill(reg, 'b1')!;
    expect([b.status, b.days_total, b.days_succeeded, b.days_failed, b.days_skipped]).toEqual(['failed', 3, 1, 1, 0]);
    expect(b.days.map((d) => [d.date, d.status])).toEqual([['2024-07-02', 'succeeded'], ['2024-07-03', 'failed'], ['2024-07-05', 'queued']]);
    expect(unfinishedBackfill(reg, 'daily', '2024-07-02', '2024-07-05')?.backfill_id).toBe('b1');
    expect(unfinishedBackfill(reg, 'daily', '2024-07-02', '2024-07-08')).toBeNull();
    reopenBackfill(reg, 'b1');
    recordBackfillDays(reg, 'b1', [{ date: '2024-07-03', run_id: null, status: 'skipped', seconds: 0 }, { date: '2024-07-05', run_id: null, status: 'succeeded', seconds: 0 }], { succeeded: 2, failed: 0, skipped: 1 });
    endBackfill(reg, 'b1', 'finished');
    expect(unfinishedBackfill(reg, 'daily', '2024-07-02', '2024-07-05')).toBeNull();
    expect(listBackfills(reg).map((x) => [x.backfill_id, x.status, x.days_succeeded, x.days_skipped])).toEqual([['b1', 'finished', 2, 1]]);
    expect(getBackfill(reg, 'nope')).toBeNull();
  });
});
