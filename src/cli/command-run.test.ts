import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { Workspace } from '../core/workspace.js';
import { currentRunScope } from '../registry/run-scope.js';
import { openRegistry } from '../registry/store.js';
import { commandLine, parentRunOf, recordCommandRun } from './command-run.js';

let dir: string;
const log = pino({ level: 'silent' });
const runs = (ws: Workspace) => {
  const reg = openRegistry(ws, { readonly: true });
  try {
    return reg.all<{ run_id: string; kind: string; name: string; parent_run_id: string | null; status: string; error: string | null }>('test', 'SELECT run_id, kind, name, parent_run_id, status, error FROM runs ORDER BY rowid');
  } finally {
    reg.close();
  }
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-command-run-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('command runs', () => {
  it('records a finished run with its params, and a failed one with the error code, passing both outcomes through', async () => {
    const ws = new Workspace(dir);
    const params = { command: 'features', 'option.window': '20' };
    expect(await recordCommandRun(ws, { kind: 'features', name: commandLine('features', params), params, env: {}, log }, async () => {
      expect(currentRunScope()?.kind).toBe('features');
      return 42;
    })).toBe(42);
    const reg0 = openRegistry(ws);
    reg0.startRun({ kind: 'pipeline', run_id: 'p1', name: 'train' });
    reg0.close();
    const boom = new StockpipeError('SP_ERR_FEATURES_MISSING', 'no features');
    await expect(recordCommandRun(ws, { kind: 'train', name: 'train', params: { command: 'train' }, env: { STOCKPIPE_PARENT_RUN_ID: 'p1', STOCKPIPE_PARENT_TASK: 'train' }, log }, async () => {
      throw boom;
    })).rejects.toBe(boom);
    expect(currentRunScope()).toBeNull();
    // A parent the store does not hold is kept as a param, not a dangling link.
    await recordCommandRun(ws, { kind: 'ingest', name: 'ingest', params: {}, env: { STOCKPIPE_PARENT_RUN_ID: 'gone' }, log }, async () => undefined);
    const [ok, , failed, stray] = runs(ws);
    expect(stray).toMatchObject({ kind: 'ingest', parent_run_id: null, status: 'finished' });
    expect(ok).toMatchObject({ kind: 'features', name: 'features --window 20', parent_run_id: null, status: 'finished', error: null });
    expect(failed).toMatchObject({ kind: 'train', parent_run_id: 'p1', status: 'failed', error: 'SP_ERR_FEATURES_MISSING: no features' });
    const reg = openRegistry(ws, { readonly: true });
    try {
      // the options given, and the process (as a pipeline runner's), so a killed command's run reads abandoned
      const { runner_pid, runner_host, runner_start, ...given } = reg.getRun(ok!.run_id)!.params;
      expect(given).toEqual(params);
      expect([runner_pid, runner_host]).toEqual([String(process.pid), hostname()]);
      expect(runner_start === null || typeof runner_start === 'string').toBe(true);
      expect(reg.getRun(failed!.run_id)!.params['pipeline.task']).toBe('train');
      expect(reg.getRun(stray!.run_id)!.params['pipeline.parent_run_id']).toBe('gone');
    } finally {
      reg.close();
    }
  });

  it('leaves no run for a usage error (exit 2: the command never started)', async () => {
    const ws = new Workspace(dir);
    await recordCommandRun(ws, { kind: 'fetch', name: 'fetch', params: {}, env: {}, log }, async () => undefined);
    const usage = new StockpipeError('SP_ERR_USAGE', '--folds must be 0..9');
    await expect(recordCommandRun(ws, { kind: 'train', name: 'train --folds 12', params: { 'option.folds': '12' }, env: {}, log }, async () => {
      throw usage;
    })).rejects.toBe(usage);
    expect(runs(ws).map((r) => r.kind)).toEqual(['fetch']);
  });

  it('creates no store in a workspace that does not exist (a failed first command)', async () => {
    const ws = new Workspace(join(dir, 'absent'));
    await expect(recordCommandRun(ws, { kind: 'ingest', name: 'ingest', params: {}, env: {}, log }, async () => {
      throw new Error('x');
    })).rejects.toThrow('x');
    expect(await import('node:fs').then((fs) => fs.existsSync(ws.root))).toBe(false);
  });

  it('takes the parent run only from a well-formed STOCKPIPE_PARENT_RUN_ID', () => {
    expect(parentRunOf({})).toBeNull();
    expect(parentRunOf({ STOCKPIPE_PARENT_RUN_ID: 'abc123' })).toBe('abc123');
    expect(parentRunOf({ STOCKPIPE_PARENT_RUN_ID: "x'; DROP" })).toBeNull();
    expect(commandLine('models promote', { command: 'models promote', 'arg.id': 'm1', 'option.alias': 'champion', 'option.force': true })).toBe('models promote m1 --alias champion --force');
  });
});
