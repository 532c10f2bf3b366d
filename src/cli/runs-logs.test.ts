import { describe, expect, it } from 'vitest';
import { noLogReason } from '../pipeline/live-view.js';

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
