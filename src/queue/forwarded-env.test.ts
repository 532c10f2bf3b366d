import { describe, expect, it } from 'vitest';
import { currentJobKey, setCommitFence } from '../core/commit-guard.js';
import { forwardedEnv } from './executor.js';
import { installJobFence } from './fence.js';

describe('forwardedEnv', () => {
  it("forwards a runner's STOCKPIPE_* settings with a job, never its secrets (a job's data sits in Redis)", () => {
    const env = {
      STOCKPIPE_SYMBOLS: '40', STOCKPIPE_REDIS_URL: 'redis://:pw@h:6379', STOCKPIPE_API_TOKEN: 't', STOCKPIPE_SMTP_PASSWORD: 'p',
      STOCKPIPE_ALERT_WEBHOOK: 'https://hooks.example/services/SECRET', STOCKPIPE_TASK_CHILD: '1', STOCKPIPE_JOB_ID: 'j', STOCKPIPE_TASK_KEY: 'r.train.k', HOME: '/root',
    };
    expect(forwardedEnv(env)).toEqual({ STOCKPIPE_SYMBOLS: '40' });
  });

  it("a job's process registers under its task's key (the same across the job's attempts), else under the job's id", () => {
    const job = { STOCKPIPE_JOB_ID: 'r.train.all.a2', STOCKPIPE_JOB_TOKEN: 't', STOCKPIPE_JOB_REGISTRY: '/nowhere/stockpipe.db' };
    try {
      expect(installJobFence({ ...job, STOCKPIPE_TASK_KEY: 'r.train.k' })).toBe(true);
      expect(currentJobKey()).toBe('r.train.k');
      expect(installJobFence(job)).toBe(true);
      expect(currentJobKey()).toBe('r.train.all.a2');
    } finally {
      setCommitFence(null, null);
    }
  });
});
