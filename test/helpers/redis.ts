/** @module test/helpers/redis
 * A real `redis-server` (Debian's package; .ci/run installs it) for the scale-out tests: started
 * by the test on a unix socket in a temp folder (nothing listens on TCP unless asked), with
 * `maxmemory-policy noeviction` and AOF (appendfsync always, so a restart keeps every job), stopped
 * by its pid. `REDIS_SKIP` is the printed reason when the binary is absent: those tests are skipped. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tempDirSync } from './temp.js';

const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
export const REDIS_BIN = which.status === 0 ? which.stdout.trim() : null;
/** Null when redis-server is installed; else why the Redis tests are skipped. */
export const REDIS_SKIP: string | null = REDIS_BIN === null ? 'redis-server is not installed (Debian package redis-server; .ci/run installs it): the scale-out tests are skipped' : null;
if (REDIS_SKIP !== null) console.log(`skipped: ${REDIS_SKIP}`);

export interface TestRedis {
  /** STOCKPIPE_REDIS_URL for it. */
  url: string;
  dir: string;
  pid(): number;
  /** Stops it (SIGTERM, then SIGKILL) and waits until it is gone. */
  stop(): Promise<void>;
  /** Kills it (SIGKILL: no shutdown save) and starts it again on the same socket, data folder and AOF. */
  restart(opts?: { downMs?: number }): Promise<void>;
}

export interface RedisOptions {
  /** Also listen on this TCP address (for workers in other network namespaces); port 0 = none. */
  bind?: string;
  port?: number;
  /** false: no AOF (a restart loses every job). */
  aof?: boolean;
}

/** Starts redis-server; throws when REDIS_SKIP is set (guard the test with it). */
export async function startRedis(o: RedisOptions = {}): Promise<TestRedis> {
  if (REDIS_BIN === null) throw new Error(REDIS_SKIP!);
  const dir = tempDirSync('redis');
  const sock = join(dir, 'redis.sock');
  const args = [
    '--port', String(o.port ?? 0), ...(o.port ? ['--bind', o.bind ?? '127.0.0.1', '--protected-mode', 'no'] : []),
    '--unixsocket', sock, '--unixsocketperm', '700', '--dir', dir, '--save', '', '--maxmemory-policy', 'noeviction',
    '--appendonly', o.aof === false ? 'no' : 'yes', '--appendfsync', 'always', '--daemonize', 'no', '--logfile', join(dir, 'redis.log'),
  ];
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn(REDIS_BIN!, args, { stdio: 'ignore' });
    const t0 = Date.now();
    while (!existsSync(sock) || spawnSync('redis-cli', ['-s', sock, 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG') {
      if (Date.now() - t0 > 10_000) throw new Error(`redis-server did not start within 10 s (log: ${join(dir, 'redis.log')})`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const gone = (c: ChildProcess, sig: NodeJS.Signals): Promise<void> => new Promise((res) => {
    if (c.exitCode !== null || c.signalCode !== null) return res();
    const t = setTimeout(() => c.kill('SIGKILL'), 5000);
    c.once('exit', () => { clearTimeout(t); res(); });
    c.kill(sig);
  });
  await launch();
  return {
    url: `unix://${sock}`,
    dir,
    pid: () => child.pid!,
    stop: () => gone(child, 'SIGTERM'),
    restart: async (r = {}) => {
      await gone(child, 'SIGKILL');
      await new Promise((res) => setTimeout(res, r.downMs ?? 200));
      await launch();
    },
  };
}
