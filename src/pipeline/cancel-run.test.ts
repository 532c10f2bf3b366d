import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { processStartTime } from '../core/proc.js';
import type { PipelineRunDetails } from '../registry/pipeline.js';
import { cancelRun } from './cancel-run.js';

/** A stored run whose runner is `runner` (this test process by default: alive, with its real start time). */
function run(status: PipelineRunDetails['status'], runner: Record<string, string | null> = {}): PipelineRunDetails {
  return {
    run_id: 'r1', pipeline: 'train', status, logical_date: null, backfill_id: 'b1', tasks: [], task_counts: {}, seconds: null,
    params: { runner_pid: String(process.pid), runner_host: hostname(), runner_start: processStartTime(process.pid), ...runner },
  } as unknown as PipelineRunDetails;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as StockpipeError).code;
  }
  return 'none';
}

describe('cancelRun', () => {
  it('sends SIGTERM to the recorded runner of a running run', () => {
    const sent: [number, string][] = [];
    const out = cancelRun(run('running'), { kill: (pid, s) => sent.push([pid, s]) });
    expect(sent).toEqual([[process.pid, 'SIGTERM']]);
    expect(out).toEqual({ run_id: 'r1', pipeline: 'train', backfill_id: 'b1', pid: process.pid });
  });

  it.each([
    ['a finished run', run('finished')],
    ['a cancelled run', run('cancelled')],
    ['an abandoned run', run('abandoned')],
    ['a runner on another host', run('running', { runner_host: `${hostname()}-elsewhere` })],
    ['no recorded runner', run('running', { runner_pid: null })],
    ['a recycled pid (another start time)', run('running', { runner_start: '1' })],
  ])('refuses %s with SP_ERR_RUN_NOT_RUNNING and signals nothing', (_name, r) => {
    const sent: number[] = [];
    expect(codeOf(() => cancelRun(r, { kill: (pid) => sent.push(pid) }))).toBe('SP_ERR_RUN_NOT_RUNNING');
    expect(sent).toEqual([]);
  });
});
