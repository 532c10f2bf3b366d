/** @module bench/queue-rig
 * What bench/queue runs against: its own redis-server (TCP on 127.0.0.1, a free port, AOF everysec,
 * noeviction) and real `stockpipe worker` processes, each stopped by its pid (SIGTERM, then SIGKILL). */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
export const CLI = join(ROOT, 'dist', 'bin', 'main.js');

export interface Server {
  url: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const port = (s.address() as { port: number }).port;
  await new Promise((res) => s.close(res));
  return port;
}

export async function startRedis(dir: string): Promise<Server> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec', '--maxmemory-policy', 'noeviction', '--logfile', join(dir, 'redis.log')], { stdio: 'ignore' });
  const t0 = Date.now();
  while (spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG') {
    if (child.exitCode !== null || Date.now() - t0 > 10_000) throw new Error(`redis-server did not start (log: ${join(dir, 'redis.log')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop: () => stopChild(child, 5000) };
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    child.kill('SIGTERM');
  });
}

export function env(redisUrl: string, ws: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, STOCKPIPE_REDIS_URL: redisUrl, STOCKPIPE_WORKSPACE: ws };
}

/** Starts `n` workers and waits until each listens. */
export async function startWorkers(n: number, args: string[], redisUrl: string, ws: string): Promise<ChildProcess[]> {
  const out: ChildProcess[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, [CLI, 'worker', ...args, '--quiet'], { env: env(redisUrl, ws), stdio: ['ignore', 'ignore', 'pipe'] });
    out.push(child);
    let err = '';
    child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
    const t0 = Date.now();
    while (!err.includes('taking jobs')) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) {
        await stopWorkers(out);
        throw new Error(`worker did not start: ${err}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return out;
}

export const stopWorkers = (ws: ChildProcess[]): Promise<unknown> => Promise.all(ws.map((w) => stopChild(w, 15_000)));

export function flush(redisUrl: string): void {
  spawnSync('redis-cli', ['-u', redisUrl, 'flushall'], { encoding: 'utf8' });
}
