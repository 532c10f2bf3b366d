/** @module bench/pipeline
 * `npm run bench -- pipeline`: the runner's own overhead per task — empty in-process tasks, so
 * what is timed is planning, the store writes (queued → running → succeeded, one transaction
 * each), log lines and scheduling — for a chain and for independent tasks, and a fully cached
 * re-run (hash inputs, look up the cache, check outputs). Baseline: calling the same empty
 * functions in a plain loop. Store on a temp folder (SQLite WAL). Every task gets its own log file,
 * and creating a file is most of a task's cost on this disk (≈ 0.1–0.5 ms).
 * `npm run bench -- pipeline backfill`: a 250-day backfill of a `daily`-shaped pipeline (8 trivial
 * in-process tasks) — every day run, then the same backfill again (every day skipped) — reporting
 * the runner's bookkeeping per day: wall time minus the time spent inside the tasks. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { tradingDays } from '../src/core/calendar.js';
import { runBackfill } from '../src/pipeline/backfill.js';
import { runPipeline } from '../src/pipeline/runner.js';
import type { Pipeline, TaskSpec } from '../src/pipeline/types.js';
import { openRegistry } from '../src/registry/store.js';
import { machine } from './measure.js';
import { Workspace } from '../src/core/workspace.js';

const log = pino({ level: 'silent' });

function pipeline(n: number, shape: 'chain' | 'wide', cache: 'never' | 'hash', input?: string): Pipeline {
  const tasks: TaskSpec[] = Array.from({ length: n }, (_, i) => ({
    name: `t${i}`, version: '1', cache, deps: shape === 'chain' && i > 0 ? [`t${i - 1}`] : [],
    inputs: input ? [input] : [], run: async () => ({}),
  }));
  return { name: `bench-${shape}`, description: '', tasks };
}

async function time(ws: string, p: Pipeline, concurrency: number): Promise<{ seconds: number; tasks_per_s: number; statuses: Record<string, number> }> {
  const reg = openRegistry(ws);
  try {
    const t0 = performance.now();
    const out = await runPipeline({ ws: new Workspace(ws), pipeline: p, registry: reg, log, concurrency });
    const s = (performance.now() - t0) / 1000;
    const statuses: Record<string, number> = {};
    for (const t of out.tasks) statuses[t.status] = (statuses[t.status] ?? 0) + 1;
    return { seconds: Math.round(s * 1000) / 1000, tasks_per_s: Math.round(p.tasks.length / s), statuses };
  } finally {
    reg.close();
  }
}

/** The `daily` pipeline's shape with trivial tasks that time themselves (taskMs adds up their time). */
function dailyShape(input: string, clock: { taskMs: number }): Pipeline {
  const t = (name: string, deps: string[], extra: Partial<TaskSpec> = {}): TaskSpec => ({
    name, version: '1', deps, ...extra,
    run: async (ctx) => {
      const t0 = performance.now();
      const out = { summary: { date: ctx.logicalDate } };
      clock.taskMs += performance.now() - t0;
      return out;
    },
  });
  return {
    name: 'daily', description: '', tasks: [
      t('fetch', [], { cache: 'never' }),
      t('ingest', ['fetch'], { inputs: [input] }),
      t('validate', ['ingest'], { inputs: [input] }),
      t('features', ['validate'], { inputs: [input] }),
      t('forecast-model', ['features'], { cache: 'never' }),
      t('forecast', ['forecast-model'], { inputs: [input], dated: true }),
      t('monitor', ['forecast'], { cache: 'never', dated: true }),
      t('retrain-if-needed', ['monitor'], { cache: 'never', dated: true }),
    ],
  };
}

/** 250 trading days of `daily` in a fresh workspace: every day run, then again (every day skipped). */
async function backfillBench(days: number): Promise<unknown> {
  const list = tradingDays('2023-01-03', days);
  type Round = { ms: number; taskMs: number; statuses: Record<string, number>; medianDayMs: number; p90DayMs: number };
  const rounds: { first: Round; second: Round }[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const ws = await mkdtemp(join(tmpdir(), 'sp-bench-backfill-'));
    try {
      await writeFile(join(ws, 'input.txt'), 'x'.repeat(1 << 20));
      const reg = openRegistry(ws);
      try {
        const clock = { taskMs: 0 };
        const p = dailyShape('input.txt', clock);
        const go = async (): Promise<Round> => {
          clock.taskMs = 0;
          // Each day's wall time minus its tasks' time (the spread shows the other core's load).
          const perDay: number[] = [];
          let last = performance.now();
          let lastTask = 0;
          const t0 = last;
          const out = await runBackfill({
            ws: new Workspace(ws), pipeline: p, registry: reg, log, days: list, from: list[0]!, to: list.at(-1)!,
            onDay: () => {
              const now = performance.now();
              perDay.push(now - last - (clock.taskMs - lastTask));
              last = now;
              lastTask = clock.taskMs;
            },
          });
          const ms = performance.now() - t0;
          const statuses: Record<string, number> = {};
          for (const d of out.days) statuses[d.status] = (statuses[d.status] ?? 0) + 1;
          perDay.sort((a, b) => a - b);
          const q = (f: number): number => Math.round(perDay[Math.floor(f * (perDay.length - 1))]! * 1000) / 1000;
          return { ms, taskMs: clock.taskMs, statuses, medianDayMs: q(0.5), p90DayMs: q(0.9) };
        };
        const first = await go();
        const second = await go();
        rounds.push({ first, second });
      } finally {
        reg.close();
      }
    } finally {
      await rm(ws, { recursive: true, force: true });
    }
  }
  const per = (r: { ms: number; taskMs: number }): number => Math.round(((r.ms - r.taskMs) / days) * 1000) / 1000;
  const best = (pick: (r: (typeof rounds)[number]) => Round) => {
    const r = rounds.map(pick).sort((a, b) => per(a) - per(b))[0]!;
    return {
      seconds: Math.round(r.ms) / 1000, task_ms: Math.round(r.taskMs * 1000) / 1000, overhead_ms_per_day: per(r), median_day_ms: r.medianDayMs, p90_day_ms: r.p90DayMs,
      days: r.statuses, all_rounds_ms_per_day: rounds.map(pick).map(per),
    };
  };
  return { days, tasks_per_day: 8, 'every day runs (8 in-process tasks a day)': best((r) => r.first), 'again: every day skipped': best((r) => r.second) };
}

export async function runPipelineBench(argv: string[]): Promise<unknown> {
  if (argv[0] === 'backfill') return { bench: 'pipeline backfill', machine: machine(), results: await backfillBench(Number(argv[1] ?? 250)) };
  const n = Number(argv[0] ?? 2000);
  const ws = await mkdtemp(join(tmpdir(), 'sp-bench-pipe-'));
  try {
    await writeFile(join(ws, 'input.txt'), 'x'.repeat(1 << 20));
    const fns = pipeline(n, 'wide', 'never').tasks;
    const t0 = performance.now();
    for (const t of fns) await t.run({} as never);
    const baselineUs = ((performance.now() - t0) * 1000) / n;
    // Warm-up (JIT, SQLite pages, the file system's first directories): not measured.
    await time(ws, pipeline(n, 'chain', 'never'), 1);
    const results: Record<string, unknown> = {};
    for (const [label, p, c] of [
      ['chain, no cache', pipeline(n, 'chain', 'never'), 1],
      ['independent, concurrency 2', pipeline(n, 'wide', 'never'), 2],
      ['independent, concurrency 8', pipeline(n, 'wide', 'never'), 8],
      ['chain, 1 MB input hashed, first run', pipeline(n, 'chain', 'hash', 'input.txt'), 1],
      ['chain, 1 MB input hashed, all cached', pipeline(n, 'chain', 'hash', 'input.txt'), 1],
    ] as const) {
      const best = [];
      for (let rep = 0; rep < (label.includes('first run') ? 1 : 3); rep++) best.push(await time(ws, p, c));
      results[label] = best.sort((a, b) => a.seconds - b.seconds)[0];
    }
    return { bench: 'pipeline', machine: machine(), tasks: n, plain_loop_us_per_task: Math.round(baselineUs * 100) / 100, results };
  } finally {
    await rm(ws, { recursive: true, force: true });
  }
}
