/** @module bench/measure
 * Runs a command as a child process and measures wall time and peak RSS (GNU time when present). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';

export interface Measured {
  seconds: number;
  peak_rss_mb: number | null;
  stdout: string;
  stderr: string;
  status: number;
}

const GNU_TIME = '/usr/bin/time';

export function measure(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Measured {
  const useTime = existsSync(GNU_TIME);
  const t0 = performance.now();
  const r = useTime
    ? spawnSync(GNU_TIME, ['-f', '__PEAK_KB__ %M', cmd, ...args], { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 28 })
    : spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  let stderr = r.stderr ?? '';
  let peak: number | null = null;
  const m = /__PEAK_KB__ (\d+)/.exec(stderr);
  if (m) {
    peak = Math.round(Number(m[1]) / 1024);
    stderr = stderr.replace(m[0], '');
  }
  return { seconds: Math.round(seconds * 1000) / 1000, peak_rss_mb: peak, stdout: r.stdout ?? '', stderr, status: r.status ?? -1 };
}

/** The machine, for BENCHMARKS.md. */
export function machine(): Record<string, unknown> {
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    load_avg_1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}
