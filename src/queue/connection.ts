/** @module queue/connection
 * Where the queue lives: STOCKPIPE_REDIS_URL (or pipeline.redis_url) parsed into ioredis options
 * (`redis://[user:pass@]host[:port][/db]`, `rediss://…` for TLS, `unix://[user:pass@]/path/redis.sock[?db=N]`),
 * shown with the password masked, and the server checked for what BullMQ needs: reachable, and
 * `maxmemory-policy noeviction` (an evicting Redis silently drops jobs). AOF off is allowed but
 * warned about: a restart then loses queued jobs (the runner reports SP_ERR_QUEUE_JOB_LOST). */
import { Redis, type RedisOptions } from 'ioredis';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

export interface RedisTarget {
  /** The URL with any password masked (for messages and logs). */
  shown: string;
  options: RedisOptions;
}

/** Parses a Redis URL; SP_ERR_CONFIG_INVALID names what is wrong. */
export function redisTarget(given: string): RedisTarget {
  // A unix socket's user and password come before its path (`unix://:PASSWORD@/run/redis.sock`), where
  // the URL parser refuses credentials without a host: read it as if it had one (the host is not used).
  const url = given.replace(/^unix:\/\/([^/@]*)@\//, 'unix://$1@localhost/');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not quoted: it may hold a password the URL parser could not find (`redis://:pass@host:99999`), as config errors never quote it.
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', 'STOCKPIPE_REDIS_URL is not a URL (its value is not shown: it may hold a password)', { hint: 'Use redis://host:6379/0, rediss://host:6380 or unix:///path/redis.sock.' });
  }
  // A redis URL without a host (`redis:/user:pass@host`, a slash short) has its credentials in the path: shown without it.
  const noHost = u.protocol !== 'unix:' && u.host === '';
  const masked = new URL(url);
  if (masked.password !== '') masked.password = '***';
  const shown = noHost ? `${u.protocol}//` : masked.toString();
  const base: RedisOptions = {
    maxRetriesPerRequest: null, // BullMQ's blocking commands must wait through a reconnect
    retryStrategy: (times) => Math.min(100 * times, 2000),
    connectionName: 'stockpipe',
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  };
  const dbOf = (s: string | null): number | undefined => {
    if (s === null || s === '') return undefined;
    if (!/^\d{1,4}$/.test(s)) {
      if (noHost) throw new StockpipeError('SP_ERR_CONFIG_INVALID', `STOCKPIPE_REDIS_URL ${shown}: no host, and what follows is no database number (not shown: it may hold a password)`, { hint: 'Write redis://[user:password@]host[:port][/db], with two slashes.' });
      throw new StockpipeError('SP_ERR_CONFIG_INVALID', `STOCKPIPE_REDIS_URL ${shown}: the database must be a whole number such as 0 (got '${s}')`);
    }
    return Number(s);
  };
  if (u.protocol === 'unix:') {
    if (u.pathname === '' || u.pathname === '/') throw new StockpipeError('SP_ERR_CONFIG_INVALID', `STOCKPIPE_REDIS_URL ${shown} names no socket path`, { hint: 'Use unix:///absolute/path/redis.sock.' });
    return { shown, options: { ...base, path: decodeURIComponent(u.pathname), db: dbOf(u.searchParams.get('db')) } };
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new StockpipeError('SP_ERR_CONFIG_INVALID', `STOCKPIPE_REDIS_URL ${shown}: unsupported scheme '${u.protocol}'`, { hint: 'Use redis://, rediss:// or unix://.' });
  }
  const port = u.port === '' ? 6379 : Number(u.port);
  return {
    shown,
    options: { ...base, host: u.hostname || '127.0.0.1', port, db: dbOf(u.pathname.replace(/^\//, '')), ...(u.protocol === 'rediss:' ? { tls: {} } : {}) },
  };
}

/** The Redis URL from the environment (wins) or the config; SP_ERR_USAGE when neither is set. */
export function redisUrlOf(env: NodeJS.ProcessEnv, configured: string | undefined, what: string): string {
  // An empty variable is unset, as the config reads every STOCKPIPE_* one (core/config): it hid pipeline.redis_url.
  const url = env.STOCKPIPE_REDIS_URL === '' ? configured : (env.STOCKPIPE_REDIS_URL ?? configured);
  if (url === undefined || url === '') {
    throw new StockpipeError('SP_ERR_USAGE', `${what} needs Redis: set STOCKPIPE_REDIS_URL (or pipeline.redis_url)`, { hint: 'e.g. STOCKPIPE_REDIS_URL=redis://127.0.0.1:6379/0; docs/scale-out.md.' });
  }
  return url;
}

/** What the server said about itself. */
export interface RedisInfo {
  version: string;
  maxmemoryPolicy: string;
  aof: boolean;
}

/** The hint of a Redis that cannot be reached when a command starts (nothing is queued yet). */
export const UNREACHABLE_HINT = 'Start Redis or fix STOCKPIPE_REDIS_URL (redis://host:port/db or unix:///path/redis.sock), then run the same command again; docs/scale-out.md.';

/**
 * Connects once (failing within `timeoutMs`), reads INFO and checks the eviction policy:
 * SP_ERR_REDIS_UNREACHABLE or SP_ERR_REDIS_CONFIG; warns when AOF is off.
 */
export async function checkRedis(t: RedisTarget, log: Logger, timeoutMs = 5000): Promise<RedisInfo> {
  const c = new Redis({ ...t.options, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  // Kept for the message: a refused AUTH (a wrong or missing password, an unknown user) comes as an
  // 'error' event, and connect() then rejects with only "Connection is closed.".
  let refused: Error | undefined;
  c.on('error', (err: Error) => {
    refused = err;
  });
  try {
    await c.connect();
    // ioredis only warns when its SELECT fails, and then uses database 0: the jobs would go elsewhere.
    const db = t.options.db ?? 0;
    if (db !== 0) {
      await c.select(db).catch((err: Error) => {
        throw new StockpipeError('SP_ERR_REDIS_CONFIG', `Redis at ${t.shown} has no database ${db}: ${err.message}`, { hint: 'Give a database number the server has (its `databases` setting: 0 to 15 by default) in STOCKPIPE_REDIS_URL or pipeline.redis_url.' });
      });
    }
    const info = await c.info();
    const field = (k: string): string => new RegExp(`^${k}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
    const out = { version: field('redis_version'), maxmemoryPolicy: field('maxmemory_policy'), aof: field('aof_enabled') === '1' };
    if (out.maxmemoryPolicy !== '' && out.maxmemoryPolicy !== 'noeviction') {
      throw new StockpipeError('SP_ERR_REDIS_CONFIG', `Redis at ${t.shown} has maxmemory-policy ${out.maxmemoryPolicy}: it may evict queued jobs`, { hint: 'Set `maxmemory-policy noeviction` (redis.conf or CONFIG SET); docs/scale-out.md.' });
    }
    if (!out.aof) log.warn({ redis: t.shown }, 'Redis has appendonly off: a Redis restart loses queued jobs (a pipeline run or a tuning study then fails with SP_ERR_QUEUE_JOB_LOST; `run --resume` or `tune --resume STUDY` continues it)');
    return out;
  } catch (err) {
    if (err instanceof StockpipeError) throw err;
    const why = [refused, err as Error].find((e) => e !== undefined && /^(NOAUTH|WRONGPASS|NOPERM)\b/.test(e.message));
    if (why !== undefined) {
      throw new StockpipeError('SP_ERR_REDIS_UNREACHABLE', `Redis at ${t.shown} refused stockpipe's connection (its user or password): ${why.message}`, {
        cause: why,
        hint: `Give the user and password the server expects in STOCKPIPE_REDIS_URL: ${t.options.path === undefined ? 'redis://:PASSWORD@host:port/db (requirepass) or redis://USER:PASSWORD@host:port/db' : 'unix://:PASSWORD@/path/redis.sock (requirepass) or unix://USER:PASSWORD@/path/redis.sock'} (an ACL user, which needs the queue keys and commands, e.g. \`~stockpipe:* +@all\`); docs/scale-out.md.`,
      });
    }
    // connect() rejects with "Connection is closed." whatever stopped it; the 'error' event has why
    // (connect ECONNREFUSED 127.0.0.1:6379, connect ENOENT /path/redis.sock, connect ETIMEDOUT).
    const reason = (err as Error).message === 'Connection is closed.' && refused !== undefined ? refused : (err as Error);
    // Checked before anything is queued: the table's hint (a run lost Redis midway: `run --resume`) names a run that may not exist.
    throw new StockpipeError('SP_ERR_REDIS_UNREACHABLE', `cannot reach Redis at ${t.shown}: ${reason.message}`, {
      cause: reason,
      hint: UNREACHABLE_HINT,
    });
  } finally {
    c.disconnect();
  }
}
