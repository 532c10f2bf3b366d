import { describe, expect, it } from 'vitest';
import { forwardedEnv } from './executor.js';

describe('forwardedEnv', () => {
  it("forwards a runner's STOCKPIPE_* settings with a job, never its secrets (a job's data sits in Redis)", () => {
    const env = {
      STOCKPIPE_SYMBOLS: '40', STOCKPIPE_REDIS_URL: 'redis://:pw@h:6379', STOCKPIPE_API_TOKEN: 't', STOCKPIPE_SMTP_PASSWORD: 'p',
      STOCKPIPE_ALERT_WEBHOOK: 'https://hooks.example/services/SECRET', STOCKPIPE_TASK_CHILD: '1', STOCKPIPE_JOB_ID: 'j', HOME: '/root',
    };
    expect(forwardedEnv(env)).toEqual({ STOCKPIPE_SYMBOLS: '40' });
  });
});
