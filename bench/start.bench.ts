/** @module bench/start
 * `npm run bench -- start`: what a new user waits for. Clones this repo to a temp folder, times
 * `npm install`, then `npm start` until the API answers (cold: empty workspace; warm: the second
 * time, everything cached), stopping the server after each. Uses port 8000 on 127.0.0.1. */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { machine } from './measure.js';

const ROOT = resolve(new URL('..', import.meta.url).pathname);

async function timeStart(cwd: string): Promise<{ seconds: number; tasks: string }> {
  const t0 = performance.now();
  const child = spawn('npm', ['start'], { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b.toString(); });
  child.stderr!.on('data', () => {});
  const served = await new Promise<boolean>((res) => {
    const poll = setInterval(async () => {
      try {
        const r = await fetch('http://127.0.0.1:8000/ready');
        if (r.ok) { clearInterval(poll); res(true); }
      } catch { /* not listening yet */ }
    }, 100);
    child.once('exit', () => { clearInterval(poll); res(false); });
    setTimeout(() => { clearInterval(poll); res(false); }, 600_000);
  });
  const seconds = (performance.now() - t0) / 1000;
  process.kill(-child.pid!, 'SIGTERM');
  await new Promise((r) => child.once('exit', r));
  if (!served) throw new Error(`npm start did not serve:\n${out}`);
  const summary = /^run \S+ \(train\) .*$/m.exec(out)?.[0] ?? '';
  return { seconds: Math.round(seconds * 10) / 10, tasks: summary };
}

export async function runStartBench(): Promise<unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'sp-start-'));
  try {
    spawnSync('git', ['clone', '-q', ROOT, dir], { stdio: 'inherit' });
    const t0 = performance.now();
    const inst = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' });
    if (inst.status !== 0) throw new Error(`npm install failed: ${inst.stderr}`);
    const install = Math.round((performance.now() - t0) / 100) / 10;
    const cold = await timeStart(dir);
    const warm = await timeStart(dir);
    return { bench: 'start', machine: machine(), npm_install_s: install, npm_start_cold: cold, npm_start_warm: warm };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
