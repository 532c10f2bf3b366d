/** Redis gone between stockpipe's connection check and the queue's own connections (found under load,
 * 2026-12-07): `run --executor bullmq` and `tune --executor bullmq` waited for ever, ioredis retrying,
 * and a SIGTERM did not end them. They now fail with SP_ERR_REDIS_UNREACHABLE after
 * pipeline.redis_timeout_s. A stand-in server plays the Redis that vanishes: no redis-server needed. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCliAsync } from './helpers/cli.js';
import { startVanishingRedis } from './helpers/redis.js';
import { tempDir } from './helpers/temp.js';
import { tempWorkspace } from './helpers/workspace.js';

describe('the queue executor when Redis vanishes right after the check', () => {
  it.each([['closes', 'close'], ['stops answering', 'silent']] as const)('Redis that %s: run and tune end with SP_ERR_REDIS_UNREACHABLE within the timeout, no stack trace', async (_what, mode) => {
    const ws = await tempWorkspace(`queue-vanish-${mode}`);
    // Beside the workspace, not in it: a folder of other files and none of a workspace's is refused by tune (no data to tune on).
    const config = join(await tempDir(`queue-vanish-config-${mode}`), 'redis-timeout.json');
    writeFileSync(config, '{"pipeline": {"redis_timeout_s": 1}}');
    for (const args of [['run', 'train'], ['tune', '--trials', '2']]) {
      const redis = await startVanishingRedis(mode);
      try {
        // Killed after 30 s: the command that waited for ever fails the test here.
        const r = await runCliAsync([...args, '--executor', 'bullmq', '-w', ws, '--config', config, '--json'], { env: { STOCKPIPE_REDIS_URL: redis.url }, timeoutMs: 30_000 });
        expect(r.signal, `${args[0]} did not end: ${r.stderr.slice(-400)}`).toBeNull();
        expect([r.code, r.json.error?.code], r.stderr.slice(-400)).toEqual([1, 'SP_ERR_REDIS_UNREACHABLE']);
        expect(r.json.error?.message).toContain("answered the check, then not the queue's connections within 1 s");
        expect(r.stderr).not.toMatch(/\n\s+at /);
      } finally {
        await redis.stop();
      }
    }
  }, 120_000);
});
