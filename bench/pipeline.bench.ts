/** @module bench/pipeline
 * `npm run bench -- pipeline`: the runner's own overhead per task — empty in-process tasks, so
 * what is timed is planning, the store writes (queued → running → succeeded, one transaction
 * each), log lines and scheduling — for a chain and for independent tasks, and a fully cached
 * re-run (hash inputs, look up the cache, check outputs). Baseline: calling the same empty
 * functions in a plain loop. Store on a temp folder (SQLite WAL). Every task gets its own log file,
 * and creating a file is most of a task's cost on this disk (≈ 0.1–0.5 ms). */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
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

export async function runPipelineBench(argv: string[]): Promise<unknown> {
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
