import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { redisTarget, redisUrlOf } from './connection.js';
import { errorReason, jobIdOf, reasonError } from './protocol.js';

const code = (f: () => unknown): string => {
  try {
    f();
  } catch (err) {
    return (err as StockpipeError).code;
  }
  return 'no error';
};

describe('redisTarget', () => {
  it('reads host, port, db, user and password, and masks the password', () => {
    const t = redisTarget('redis://app:s3cr%40t@10.0.0.5:6380/2');
    expect(t.options).toMatchObject({ host: '10.0.0.5', port: 6380, db: 2, username: 'app', password: 's3cr@t', maxRetriesPerRequest: null });
    expect(t.shown).toBe('redis://app:***@10.0.0.5:6380/2');
    expect(t.shown).not.toContain('s3cr');
  });
  it('defaults the port to 6379 and the db to none; rediss:// is TLS', () => {
    expect(redisTarget('redis://localhost').options).toMatchObject({ host: 'localhost', port: 6379, db: undefined });
    expect(redisTarget('rediss://h:1').options.tls).toEqual({});
  });
  it('takes a unix socket with an optional db', () => {
    expect(redisTarget('unix:///run/redis/redis.sock?db=3').options).toMatchObject({ path: '/run/redis/redis.sock', db: 3 });
  });
  it('takes a unix socket\'s user and password before its path, and masks the password', () => {
    const t = redisTarget('unix://app:s3cr%40t@/run/redis/redis.sock?db=2');
    expect(t.options).toMatchObject({ path: '/run/redis/redis.sock', db: 2, username: 'app', password: 's3cr@t' });
    expect(t.shown).not.toContain('s3cr');
    expect(redisTarget('unix://:pw@/run/redis.sock').options).toMatchObject({ path: '/run/redis.sock', password: 'pw' });
  });
  it('refuses what is not a Redis URL with SP_ERR_CONFIG_INVALID', () => {
    for (const bad of ['not a url', 'http://h:6379', 'unix://', 'redis://h/abc', 'redis://h/-1']) expect(code(() => redisTarget(bad))).toBe('SP_ERR_CONFIG_INVALID');
  });
  it('never quotes a password in its errors, also of a URL that does not parse or has no host', () => {
    for (const bad of ['redis://:s3cret@host:99999/0', 'redis//user:s3cret@host:6379', 's3cret', 'redis:/user:s3cret@host', 'rediss:s3cret@host']) {
      let message = '';
      try {
        redisTarget(bad);
      } catch (err) {
        message = `${(err as StockpipeError).code}: ${(err as StockpipeError).message}`;
      }
      expect(message, bad).toMatch(/^SP_ERR_CONFIG_INVALID: /);
      expect(message, bad).not.toContain('s3cret');
    }
    // Without a host and with a database number, as before: the local server.
    expect(redisTarget('redis:/3')).toMatchObject({ shown: 'redis://', options: { host: '127.0.0.1', db: 3 } });
  });
  it('needs a URL from the environment or the config (the environment wins)', () => {
    expect(code(() => redisUrlOf({}, undefined, 'the bullmq executor'))).toBe('SP_ERR_USAGE');
    expect(redisUrlOf({ STOCKPIPE_REDIS_URL: 'redis://a' }, 'redis://b', 'x')).toBe('redis://a');
    expect(redisUrlOf({}, 'redis://b', 'x')).toBe('redis://b');
    // An empty variable is unset (as for the config): pipeline.redis_url is used (it was "needs Redis").
    expect(redisUrlOf({ STOCKPIPE_REDIS_URL: '' }, 'redis://b', 'x')).toBe('redis://b');
    expect(code(() => redisUrlOf({ STOCKPIPE_REDIS_URL: '' }, undefined, 'x'))).toBe('SP_ERR_USAGE');
  });
});

describe('job protocol', () => {
  it('gives deterministic ids: the same run, task, partition, attempt and key give the same id', () => {
    expect(jobIdOf('r1', 'features', 'b00.01', 1, 'k')).toBe('r1.features.b00.01.a1.k');
    expect(jobIdOf('r1', 'train', null, 2)).toBe('r1.train.all.a2');
    expect(jobIdOf('r:1', 'a b', null, 1)).toBe('r_1.a_b.all.a1'); // BullMQ ids must not hold ':'
  });
  it('keeps an error code through the failed reason, and reads foreign reasons as SP_ERR_TASK_FAILED', () => {
    const e = reasonError(errorReason(new StockpipeError('SP_ERR_JOB_SUPERSEDED', 'lost', { hint: 'h' })), 'j');
    expect([e.code, e.message, e.hint]).toEqual(['SP_ERR_JOB_SUPERSEDED', 'lost', 'h']);
    expect(reasonError('job stalled more than allowable limit', 'j').code).toBe('SP_ERR_TASK_FAILED');
    expect(reasonError(errorReason(new Error('plain')), 'j').code).toBe('SP_ERR_TASK_FAILED');
  });
});
