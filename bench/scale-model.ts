/** @module bench/scale-model
 * A model, not a measurement: how long a job set takes on M machines that take jobs from one queue
 * (list scheduling, largest first) and share one file system of a given bandwidth (max-min fair
 * shares, compute and I/O overlapped within a job: a fluid simulation), plus the coordinator's
 * serial parts. Also the features buckets of the benchmark dataset (rows per store bucket, from the
 * synthetic generator's plan, not from generated files). Pure; bench/queue.bench.ts feeds it. */
import { bucketOf, BUCKETS } from '../src/store/partition.js';
import { syntheticDayCount, type SyntheticOptions } from '../src/sources/synthetic/options.js';
import { planSymbols } from '../src/sources/synthetic/plan.js';

export interface ModelJob {
  /** Seconds the job takes alone on one machine with the file system to itself (fixed cost included). */
  compute: number;
  /** Bytes it moves through the shared file system (read + written). */
  bytes: number;
}

/** When each machine is busy: the makespan, and how much of it the bandwidth cap stretched. */
export interface Simulated {
  seconds: number;
  /** Seconds while at least one running job was held back by its bandwidth share. */
  bandwidthBoundSeconds: number;
}

/**
 * Runs `jobs` on `machines` (one job at a time each), largest compute first, every job starting
 * `dispatchS` after its machine freed (the queue's round trip). `bandwidth` bytes/s is shared
 * max-min fairly by the running jobs (Infinity: no cap).
 */
export function simulate(jobs: readonly ModelJob[], machines: number, bandwidth: number, dispatchS = 0): Simulated {
  const todo = [...jobs].sort((a, b) => b.compute - a.compute);
  type Running = { job: ModelJob; left: number; startAt: number };
  const running: Running[] = [];
  let t = 0;
  let capped = 0;
  while (todo.length > 0 || running.length > 0) {
    while (running.length < machines && todo.length > 0) running.push({ job: todo.shift()!, left: 1, startAt: t + dispatchS });
    const active = running.filter((r) => r.startAt <= t);
    // Max-min fair shares: each running job wants bytes/compute per second; the rest is split evenly.
    const rate = new Map<Running, number>();
    let room = bandwidth;
    let n = active.length;
    let held = false;
    for (const r of [...active].sort((a, b) => a.job.bytes / a.job.compute - b.job.bytes / b.job.compute)) {
      const want = r.job.bytes / r.job.compute;
      const got = Math.min(want, room / n);
      if (got < want * (1 - 1e-9)) held = true;
      room -= got;
      n--;
      rate.set(r, r.job.bytes === 0 ? 1 / r.job.compute : got / r.job.bytes); // fraction of the job per second
    }
    // Next event: a job ends, or a dispatched job starts.
    let dt = Infinity;
    for (const r of active) dt = Math.min(dt, r.left / rate.get(r)!);
    for (const r of running) if (r.startAt > t) dt = Math.min(dt, r.startAt - t);
    for (const r of active) r.left -= rate.get(r)! * dt;
    t += dt;
    if (held) capped += dt;
    for (let i = running.length - 1; i >= 0; i--) if (running[i]!.startAt <= t && running[i]!.left <= 1e-9) running.splice(i, 1);
  }
  return { seconds: t, bandwidthBoundSeconds: capped };
}

/** Rows per store bucket (store/partition's bucketOf over tickers) of a synthetic dataset, largest first. */
export function bucketRows(opts: SyntheticOptions): number[] {
  const rows = new Array<number>(BUCKETS).fill(0);
  for (const p of planSymbols(opts, syntheticDayCount(opts.years))) rows[bucketOf(p.ticker)]! += p.length;
  return rows.sort((a, b) => b - a);
}

/** Ordinary least squares y = a + b·x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): { intercept: number; slope: number } {
  const n = xs.length;
  const mx = xs.reduce((s, x) => s + x, 0) / n;
  const my = ys.reduce((s, y) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { intercept: my - slope * mx, slope };
}
