/** @module test/helpers/redis
 * A real `redis-server` (Debian's package; .ci/run installs it) for the scale-out tests: started
 * by the test on a unix socket in a temp folder (nothing listens on TCP unless asked), with
 * `maxmemory-policy noeviction` and AOF (appendfsync always, so a restart keeps every job), stopped
 * by its pid. `REDIS_SKIP` is the printed reason when the binary is absent: those tests are skipped.
 * And a stand-in that passes the connection check and then vanishes (`startVanishingRedis`). */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
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

/** A server that answers the first connection like a Redis (stockpipe's check: INFO, SELECT) and then
 * is gone for every later one: it closes them (`close`, as a Redis that died: ioredis reconnects) or
 * never answers them (`silent`, as a Redis that hangs). No redis-server needed. */
export async function startVanishingRedis(mode: 'close' | 'silent'): Promise<{ url: string; stop: () => Promise<void> }> {
  const info = 'redis_version:7.0.0\r\nmaxmemory_policy:noeviction\r\naof_enabled:1\r\nloading:0\r\n';
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined); // the client went first
    if (++connections > 1) {
      if (mode === 'close') sock.destroy();
      return;
    }
    // RESP arrays of bulk strings: the command name is each array's first element.
    sock.on('data', (buf) => {
      for (const m of buf.toString('latin1').matchAll(/\*\d+\r\n\$\d+\r\n([^\r]*)\r\n/g)) {
        sock.write(m[1]!.toUpperCase() === 'INFO' ? `$${Buffer.byteLength(info)}\r\n${info}\r\n` : '+OK\r\n');
      }
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => {
      for (const s of sockets) s.destroy();
      return new Promise((res) => server.close(() => res()));
    },
  };
}
