import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive, processCmdline, processGone, processStartTime } from './proc.js';

const linux = process.platform === 'linux';
if (!linux) console.log('proc.test: zombie and start-time cases skipped: they need /proc (Linux)');
const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
const holders: ReturnType<typeof spawn>[] = [];
afterAll(() => { for (const h of holders) h.kill('SIGKILL'); });

/** A zombie: `sleep 0` forked by a shell that then execs `sleep 30`, which never reaps it. */
async function zombie(): Promise<number> {
  const h = spawn('sh', ['-c', 'sleep 0 & exec sleep 30'], { stdio: 'ignore' });
  holders.push(h);
  for (let i = 0; i < 500; i++) {
    try {
      const kids = readFileSync(`/proc/${h.pid}/task/${h.pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
      const z = kids.find((k) => readFileSync(`/proc/${k}/stat`, 'utf8').includes(') Z '));
      if (z !== undefined) return z;
    } catch {
      // not there yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('no zombie appeared');
}

describe('processAlive', () => {
  // One case a line: a pid → alive?
  it.each([
    { name: 'this process', pid: async () => process.pid, alive: true },
    { name: 'a reaped child', pid: async () => deadPid, alive: false },
    { name: 'pid 0', pid: async () => 0, alive: false },
    { name: 'a negative pid (a process group)', pid: async () => -1, alive: false },
    { name: 'not a number', pid: async () => Number.NaN, alive: false },
    ...(linux ? [{ name: 'a zombie (exited, not reaped)', pid: zombie, alive: false }] : []),
  ])('$name → $alive', async ({ pid, alive }) => {
    expect(processAlive(await pid())).toBe(alive);
  });
});

describe.runIf(linux)('process identity', () => {
  it('start time and command line identify this process; another start time is another process', () => {
    const start = processStartTime(process.pid);
    expect(start).toMatch(/^\d+$/);
    expect(processGone(process.pid, start)).toBe(false);
    expect(processGone(process.pid, `${start}0`)).toBe(true); // a reused pid
    expect(processGone(deadPid)).toBe(true);
    expect(processCmdline(process.pid)?.[0]).toBe(process.argv0 === 'node' ? processCmdline(process.pid)?.[0] : process.argv0);
    expect(processCmdline(deadPid)).toBeNull();
  });
});
