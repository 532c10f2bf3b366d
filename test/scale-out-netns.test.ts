/** @module test/scale-out-netns
 * Two `stockpipe worker`s on "other machines": each in its own network namespace, reaching the
 * host's redis-server over a veth pair (TCP), on the same workspace path (the shared file system a
 * NFS mount would give). `run train --executor bullmq` runs on the host; while the train job runs,
 * the namespace of the worker holding it is cut off (its veth set down on the host side). Its job is
 * redelivered to the other worker once its 2 s lock expires, the run finishes, and exactly one model
 * version is registered (the job fence). Root and iproute2 only: else skipped with the reason.
 * Names and subnets carry this process's pid, so parallel runs never clash. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliDoc, cliEnv, runCli, startCli } from './helpers/cli.js';
import { REDIS_SKIP, startRedis, type TestRedis } from './helpers/redis.js';
import { tempDirSync } from './helpers/temp.js';

function skipReason(): string | null {
  if (REDIS_SKIP !== null) return REDIS_SKIP;
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'not root on Linux: network namespaces need it; the netns scale-out test is skipped';
  const ip = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (ip.error !== undefined || ip.status !== 0) return `\`ip netns\` is not usable (${ip.error?.message ?? ip.stderr.trim()}): the netns scale-out test is skipped`;
  return null;
}
const SKIP = skipReason();
if (SKIP !== null) console.log(`skipped: ${SKIP}`);

const PREFIX = 'stockpipe'; // the config's default pipeline.queue
const SMALL = { STOCKPIPE_SYMBOLS: '40', STOCKPIPE_YEARS: '3' };

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || r.error?.message}`);
}
/** Best effort (cleanup): the thing may already be gone. */
function ipQuiet(...args: string[]): void {
  spawnSync('ip', args, { encoding: 'utf8' });
}

interface Net {
  ns: string;
  /** The host's end of the veth pair (cut it to cut the namespace off) and the namespace's end. */
  hostIf: string;
  nsIf: string;
  hostAddr: string;
  nsAddr: string;
}

/** Two /30 subnets in 10.200.0.0/16 picked from the pid (skipping any address already on the host). */
function subnets(): [string, string][] {
  const used = spawnSync('ip', ['-o', '-4', 'addr', 'show'], { encoding: 'utf8' }).stdout;
  for (let k = 0; k < 8192; k++) {
    const base = ((process.pid + k) % 8192) * 8; // 8 addresses: two /30 blocks
    const addr = (n: number): string => `10.200.${(base + n) >> 8}.${(base + n) & 255}`;
    const pair: [string, string][] = [[addr(1), addr(2)], [addr(5), addr(6)]];
    if (!pair.flat().some((a) => used.includes(`${a}/`))) return pair;
  }
  throw new Error('no free /30 pair in 10.200.0.0/16');
}

const nets: Net[] = [];
const procs: ChildProcess[] = [];
let redis: TestRedis | undefined;
let ws: string;
let port: number;

beforeAll(async () => {
  if (SKIP !== null) return;
  ws = tempDirSync('netns-ws');
  const blocks = subnets();
  for (const [k, [hostAddr, nsAddr]] of blocks.entries()) {
    const tag = `${process.pid}${'ab'[k]}`;
    const n: Net = { ns: `sp-q${tag}`, hostIf: `vh${tag}`, nsIf: `vn${tag}`, hostAddr, nsAddr };
    nets.push(n); // registered before it exists: afterAll removes whatever part was made
    ip('netns', 'add', n.ns);
    ip('link', 'add', n.hostIf, 'type', 'veth', 'peer', 'name', n.nsIf);
    ip('link', 'set', n.nsIf, 'netns', n.ns);
    ip('addr', 'add', `${hostAddr}/30`, 'dev', n.hostIf);
    ip('link', 'set', n.hostIf, 'up');
    ip('netns', 'exec', n.ns, 'ip', 'addr', 'add', `${nsAddr}/30`, 'dev', n.nsIf);
    ip('netns', 'exec', n.ns, 'ip', 'link', 'set', n.nsIf, 'up');
    ip('netns', 'exec', n.ns, 'ip', 'link', 'set', 'lo', 'up');
  }
  port = 20_000 + (process.pid % 20_000);
  // Redis on the host, listening on both host-side addresses (and its unix socket, which the runner uses).
  redis = await startRedis({ bind: nets.map((n) => n.hostAddr).join(' '), port });
}, 60_000);

afterAll(async () => {
  for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? null : new Promise((r) => p.once('exit', r)))));
  await redis?.stop();
  for (const n of nets) {
    ipQuiet('link', 'del', n.hostIf); // takes its peer with it
    ipQuiet('netns', 'del', n.ns);
  }
});

interface NsWorker {
  net: Net;
  child: ChildProcess;
  pid: number;
  stderr(): string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>;
}

/** `ip netns exec NS node dist/bin/main.js worker …` with the Redis URL of its host address. */
async function startNsWorker(net: Net): Promise<NsWorker> {
  const child = spawn('ip', ['netns', 'exec', net.ns, process.execPath, CLI, 'worker', '--lock-seconds', '2', '--json'], {
    env: cliEnv({ STOCKPIPE_REDIS_URL: `redis://${net.hostAddr}:${port}/0`, STOCKPIPE_WORKSPACE: ws }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', (b: Buffer) => { err += b.toString(); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((res) => child.on('close', (code, signal) => res({ code, signal, stdout: out })));
  const t0 = Date.now();
  let m: RegExpExecArray | null;
  while ((m = /worker \S+-(\d+)-[0-9a-f]{4}: taking jobs/.exec(err)) === null) {
    if (child.exitCode !== null) throw new Error(`worker in ${net.ns} exited (${child.exitCode}): ${err}`);
    if (Date.now() - t0 > 30_000) throw new Error(`worker in ${net.ns} not ready within 30 s: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { net, child, pid: Number(m[1]), stderr: () => err, done };
}

async function stopNsWorker(w: NsWorker): Promise<void> {
  if (w.child.exitCode !== null || w.child.signalCode !== null) return;
  w.child.kill('SIGTERM');
  const t = setTimeout(() => w.child.kill('SIGKILL'), 10_000);
  await w.done;
  clearTimeout(t);
}

describe.skipIf(SKIP !== null)('scale-out across network namespaces', () => {
  it('a worker cut off mid-job: its job is redelivered to the other worker after its lock expires, the run finishes, one model version', async () => {
    const workers = [await startNsWorker(nets[0]!), await startNsWorker(nets[1]!)];
    const watch = new Redis({ path: redis!.url.replace('unix://', ''), maxRetriesPerRequest: 1 });
    let cut: Net | null = null;
    let holder: NsWorker | undefined;
    try {
      // ingest and features fan out as 2 partition jobs each (pipeline.partitions; 8 by default): the cut comes at train.
      const conf = join(tempDirSync('netns-conf'), 'stockpipe.config.json');
      writeFileSync(conf, JSON.stringify({ pipeline: { partitions: 2 } }));
      const run = startCli(['run', 'train', '--executor', 'bullmq', '--config', conf, '--json'], { env: { ...SMALL, STOCKPIPE_WORKSPACE: ws, STOCKPIPE_REDIS_URL: redis!.url }, timeoutMs: 120_000 });
      procs.push(run.child);
      // Wait for the train job to be taken, then cut off the namespace of the worker that took it.
      let trainJob = '';
      const t0 = Date.now();
      while (holder === undefined) {
        if (run.child.exitCode !== null) throw new Error(`the run ended before train was taken: ${run.stdout().slice(-2000)} ${run.stderr().slice(-2000)}`);
        if (Date.now() - t0 > 90_000) throw new Error('train was not taken within 90 s');
        const active = await watch.lrange(`${PREFIX}:tasks:active`, 0, -1);
        trainJob = active.find((id) => id.endsWith('.train.all.a1')) ?? '';
        const by = trainJob === '' ? null : await watch.hget(`${PREFIX}:tasks:${trainJob}`, 'pb');
        const pid = by === null ? null : Number(/-(\d+)-[0-9a-f]{4}$/.exec(by)?.[1]);
        holder = workers.find((w) => w.pid === pid);
        if (holder === undefined) await new Promise((r) => setTimeout(r, 50));
      }
      ip('link', 'set', holder.net.hostIf, 'down');
      cut = holder.net;
      const other = workers.find((w) => w !== holder)!;

      const r = await run.done;
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      const doc = r.json as CliDoc<{ run_id: string; status: string }>;
      expect(doc.data.status).toBe('finished');
      const env = { STOCKPIPE_WORKSPACE: ws };
      const shown = runCli(['runs', 'show', doc.data.run_id, '--json'], { env }).json.data as { tasks: { task: string; workers: { pid: number; claims?: number }[] }[] };
      const train = shown.tasks.find((t) => t.task === 'train')!;
      expect(train.workers).toHaveLength(1);
      expect(train.workers[0]!.pid).toBe(other.pid);
      expect(train.workers[0]!.claims).toBeGreaterThanOrEqual(2);
      const models = runCli(['models', 'list', '--json'], { env }).json.data as unknown[];
      expect(models).toHaveLength(1);
      // Both executions append to the task's log: who ran, and whether the first one was fenced.
      const trainLog = readFileSync(join(ws, 'runs', doc.data.run_id, 'train.log'), 'utf8').split('\n').filter((l) => /\[runner\]|SUPERSEDED|registered/i.test(l));
      console.log(`netns: train.log:\n${trainLog.map((l) => `  ${l.slice(0, 300)}`).join('\n')}`);
      console.log(`netns: cut ${cut.ns} (worker ${holder.pid}) while it ran ${trainJob}; redelivered to worker ${other.pid} (claims ${train.workers[0]!.claims}); run ${doc.data.run_id} finished; ${models.length} model version`);
    } finally {
      if (cut !== null) ipQuiet('link', 'set', cut.hostIf, 'up');
      watch.disconnect();
      await Promise.all(workers.map(stopNsWorker));
      // What the cut-off worker made of it (its child committed first, or was fenced; its late report refused).
      if (holder !== undefined) console.log(`netns: the cut-off worker said:\n${holder.stderr().split('\n').filter((l) => /train|lock|supersed/i.test(l)).map((l) => `  ${l.slice(0, 300)}`).join('\n')}`);
    }
  }, 150_000);
});
