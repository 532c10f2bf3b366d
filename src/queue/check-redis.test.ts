/** checkRedis against a real redis-server (test/helpers/redis) that wants a password: a wrong or
 * missing one, or an unknown ACL user, is said as such, with a hint about the URL's credentials. */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS_SKIP, startRedis, type TestRedis } from '../../test/helpers/redis.js';
import { StockpipeError } from '../core/errors.js';
import { getLog } from '../core/log.js';
import { checkRedis, redisTarget } from './connection.js';

describe.skipIf(REDIS_SKIP !== null)('checkRedis with a password', () => {
  let redis: TestRedis;
  let sock: string;
  let port: number;
  beforeAll(async () => {
    // A free TCP port (a password in a URL needs a host: redis://:PASSWORD@127.0.0.1:PORT).
    port = await new Promise<number>((res) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => res(p));
      });
    });
    redis = await startRedis({ port });
    sock = join(redis.dir, 'redis.sock');
    const cli = (...args: string[]): void => {
      const r = spawnSync('redis-cli', ['-s', sock, ...args], { encoding: 'utf8' });
      expect(r.stdout.trim()).toBe('OK');
    };
    cli('ACL', 'SETUSER', 'app', 'on', '>apppw', '~*', '&*', '+@all');
    cli('CONFIG', 'SET', 'requirepass', 'rightpw');
  });
  afterAll(async () => {
    await redis?.stop();
  });

  const failure = async (url: string): Promise<StockpipeError> => {
    const err = await checkRedis(redisTarget(url), getLog('test')).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(StockpipeError);
    return err as StockpipeError;
  };

  it('says the server refused the credentials, not "Connection is closed."', async () => {
    for (const [url, reason] of [
      [`redis://:wrongpw@127.0.0.1:${port}/0`, /WRONGPASS/],
      [`redis://nobody:apppw@127.0.0.1:${port}/0`, /WRONGPASS/],
      [`redis://127.0.0.1:${port}/0`, /NOAUTH/],
    ] as const) {
      const err = await failure(url);
      expect(err.code, url).toBe('SP_ERR_REDIS_UNREACHABLE');
      expect(err.message, url).toMatch(reason);
      expect(err.message, url).toContain('refused');
      expect(err.message, url).not.toContain('wrongpw');
      expect(err.hint, url).toMatch(/user and password/);
    }
  });

  it('nothing listening: says to start Redis and run the command again, not to resume a run it never started', async () => {
    const err = await failure(`unix://${join(tmpdir(), `sp-no-redis-${process.pid}.sock`)}`);
    expect(err.code).toBe('SP_ERR_REDIS_UNREACHABLE');
    // Why, as the connection said it (it read "Connection is closed." for a socket or port where nothing listens).
    expect(err.message).toMatch(/: connect ENOENT .*sp-no-redis-\d+\.sock$/);
    expect((await failure('redis://127.0.0.1:1/0')).message).toMatch(/: connect ECONNREFUSED 127\.0\.0\.1:1$/);
    expect(err.hint).toContain('run the same command again');
    expect(err.hint).not.toContain('--resume');
  });

  it('connects with the right password or ACL user', async () => {
    const log = getLog('test');
    await expect(checkRedis(redisTarget(`redis://:rightpw@127.0.0.1:${port}/0`), log)).resolves.toMatchObject({ maxmemoryPolicy: 'noeviction' });
    await expect(checkRedis(redisTarget(`redis://app:apppw@127.0.0.1:${port}/0`), log)).resolves.toMatchObject({ maxmemoryPolicy: 'noeviction' });
  });
});
