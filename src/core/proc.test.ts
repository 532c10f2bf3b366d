import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { processAlive, processCmdline, processGone, processStartTime } from './proc.js';

const linux = process.platform === 'linux';
if (!linux) console.log('proc.test: zombie and identity cases skipped: they need /proc (Linux)');
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
    { name: 'this process', pid: async (): Promise<number> => process.pid, alive: true },
    { name: 'a reaped child', pid: async (): Promise<number> => deadPid, alive: false },
    { name: 'pid 0', pid: async (): Promise<number> => 0, alive: false },
    { name: 'a negative pid (a process group)', pid: async (): Promise<number> => -1, alive: false },
    { name: 'not a number', pid: async (): Promise<number> => Number.NaN, alive: false },
    ...(linux ? [{ name: 'a zombie (exited, not reaped)', pid: zombie, alive: false }] : []),
  ])('$name → $alive', async ({ pid, alive }) => {
    expect(processAlive(await pid())).toBe(alive);
  });
});

describe.runIf(linux)('process identity', () => {
  it('start time and command line identify a process; another start time is another process', async () => {
    const marker = `sp-proc-test-${process.pid}`;
    const h = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { stdio: 'ignore' });
    holders.push(h);
    await new Promise((r) => h.once('spawn', r));
    const start = processStartTime(h.pid!);
    expect(start).toMatch(/^\d+$/);
    expect(processGone(h.pid!, start)).toBe(false);
    expect(processGone(h.pid!, `${start}0`)).toBe(true); // the pid reused by a later process
    expect(processGone(deadPid)).toBe(true);
    expect(processCmdline(h.pid!)).toContain(marker);
    expect(processCmdline(deadPid)).toBeNull();
  });
});
